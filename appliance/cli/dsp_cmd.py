"""``appliance dsp decode FILE.wav [--json] [--country XX]``: the line DSP over a recording.

JSON lines as INTERFACES.md §2 (``dtmf``, ``caller_id``, ``tone``), sorted by start.
Without ``--country`` the call-progress tones of every known country are tried and the
configured country (``line.tone_country``, else ``site.country``) wins ties.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from appliance.errors import DecodeError

ANY_COUNTRY = "any"


def register(subparsers: Any) -> None:
    dsp = subparsers.add_parser("dsp", help="line signal processing tools")
    dsp_sub = dsp.add_subparsers(dest="dsp_command", metavar="COMMAND", parser_class=type(dsp))
    decode = dsp_sub.add_parser("decode", help="print the DTMF digits, caller IDs and tones in a WAV file")
    decode.add_argument("file", metavar="FILE.wav", help="mono 16-bit PCM, mu-law or A-law WAV at 8 or 16 kHz")
    decode.add_argument("--json", action="store_true", help="one JSON object per line")
    decode.add_argument(
        "--country",
        metavar="XX",
        default=None,
        help="call-progress tone table to use (default: any known country, the configured one first)",
    )
    decode.add_argument("--config", metavar="F", default=argparse.SUPPRESS, help="TOML config file")
    decode.set_defaults(func=run_decode)
    dsp.set_defaults(func=lambda args: _usage(dsp))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _describe(event: dict[str, Any]) -> str:
    kind = event.get("type")
    if kind == "dtmf":
        what = f"DTMF {event['digit']}"
    elif kind == "tone":
        country = f" ({event['country']})" if "country" in event else ""
        what = f"tone {event['tone']}{country}"
    elif kind == "caller_id":
        parts = [f"{k}={event[k]}" for k in ("number", "name", "datetime", "format", "modulation") if k in event]
        what = "caller ID " + " ".join(parts)
    else:
        what = json.dumps(event)
    return f"{event.get('start', 0):9.3f} {event.get('end', 0):9.3f}  {what}"


def run_decode(args: argparse.Namespace) -> int:
    # imported here, and the config without the store: decoding a file needs neither
    from appliance.config import load_config
    from appliance.dsp.chain import LineDsp
    from appliance.dsp.wav import iter_pcm, read_info

    config = load_config(getattr(args, "config", None))
    prefer = config.line.tone_country or config.site.country
    country = None if args.country in (None, ANY_COUNTRY) else args.country
    try:
        f = open(args.file, "rb")  # noqa: SIM115 - closed below, after streaming
    except OSError as err:
        raise DecodeError(f"cannot read {args.file}: {err.strerror}") from None
    events: list[dict[str, Any]] = []
    with f:
        info = read_info(f)
        dsp = LineDsp(info.sample_rate, country=country, prefer=prefer, tone_tables=config.dsp.tones)
        for pcm in iter_pcm(f, info):
            events += dsp.feed(pcm)
        events += dsp.flush()
    events.sort(key=lambda e: (e.get("start", 0.0), e.get("end", 0.0)))
    out = sys.stdout
    if args.json:
        for event in events:
            out.write(json.dumps(event, ensure_ascii=False) + "\n")
    else:
        print(f"{args.file}: {info.sample_rate} Hz {info.encoding}, {info.duration:.3f} s", file=out)
        for event in events:
            print(_describe(event), file=out)
        if not events:
            print("no events", file=out)
    return 0
