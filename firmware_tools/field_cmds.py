"""``appliance-tools prompts|capture|trace``: voice prompts, line recordings, readable AT traces."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

from appliance.errors import DeviceError, UsageError
from firmware_tools import audio


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prompts", help="build voice-menu prompts from text, import recorded ones, check levels",
                       description="Prompts live in DIR/<lang>/<name>.wav (8 kHz mono 16-bit, peak "
                       f"{audio.PROMPT_LEVEL_DB} dBFS): the layout the call flow reads (menu.prompts_dir).")
    from firmware_tools.main import _Parser

    psub = p.add_subparsers(dest="prompts_command", metavar="ACTION", parser_class=_Parser)
    b = psub.add_parser("build", help="speak texts with espeak-ng into DIR/<lang>/<name>.wav")
    b.add_argument("--dir", required=True, type=Path)
    b.add_argument("--texts", type=Path, help="TOML: [<lang>] <name> = \"text\" (default: the built-in menu's)")
    b.add_argument("--lang", action="append", help="only these languages (repeat)")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_prompts_build)
    i = psub.add_parser("import", help="convert a recorded WAV/MP3 (any rate) into DIR/<lang>/<name>.wav")
    i.add_argument("file", type=Path)
    i.add_argument("--dir", required=True, type=Path)
    i.add_argument("--lang", required=True)
    i.add_argument("--name", required=True)
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_prompts_import)
    c = psub.add_parser("check", help="level-check every prompt under DIR")
    c.add_argument("--dir", required=True, type=Path)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_prompts_check)

    cap = sub.add_parser("capture", help="record line audio from a voice modem to WAV and decode it",
                         description="Goes off-hook on the voice modem, records --seconds of line audio into "
                         "--out (8 kHz 16-bit WAV), hangs up, then runs 'appliance dsp decode' on it.")
    cap.add_argument("--port", required=True)
    cap.add_argument("--baudrate", type=int, default=115200)
    cap.add_argument("--seconds", type=float, default=10.0)
    cap.add_argument("--out", required=True, type=Path)
    cap.add_argument("--country", default=None)
    cap.set_defaults(func=cmd_capture)

    tr = sub.add_parser("trace", help="run a modem through pyserial's spy:// and write a readable log",
                        description="Runs the probe's commands (or, with --daemon SECONDS, the daemon itself) "
                        "on PORT through spy:// and writes a readable, time-stamped log to --out with phone "
                        "numbers masked and PDUs and audio summarised.")
    tr.add_argument("--port", required=True)
    tr.add_argument("--baudrate", type=int, default=115200)
    tr.add_argument("--out", required=True, type=Path)
    tr.add_argument("--daemon", type=float, metavar="SECONDS", help="trace 'appliance run' for SECONDS")
    tr.add_argument("--line", action="store_true", help="with --daemon: the port is the voice modem (line.port)")
    tr.add_argument("--config", help="with --daemon: the daemon's config file")
    tr.set_defaults(func=cmd_trace)


# -- prompts -------------------------------------------------------------------------------


def _default_texts() -> dict[str, dict[str, str]]:
    try:
        from appliance.calls.default_menu import FLOW_TEXTS  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise UsageError("no built-in menu texts in this version: give --texts FILE.toml") from None
    return {lang: dict(texts) for lang, texts in FLOW_TEXTS.items()}


def cmd_prompts_build(args: argparse.Namespace) -> int:
    import tomllib

    if args.texts:
        try:
            texts = tomllib.loads(args.texts.read_text())
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise UsageError(f"{args.texts}: {err}") from None
    else:
        texts = _default_texts()
    results = []
    for lang, names in texts.items():
        if args.lang and lang not in args.lang:
            continue
        if not isinstance(names, dict):
            raise UsageError(f"{args.texts}: [{lang}] must be a table of name = \"text\"")
        for name, text in names.items():
            out = args.dir / lang / f"{name}.wav"
            audio.speak(str(text), lang, out)
            results.append({"lang": lang, "name": name, "file": str(out), **audio.check_levels(out)})
    return _report(results, args.json)


def cmd_prompts_import(args: argparse.Namespace) -> int:
    if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,4})?", args.lang) or not re.fullmatch(r"[A-Za-z0-9_-]+", args.name):
        raise UsageError("--lang is a language code (en, fi, sv) and --name letters, digits, '_' or '-'")
    out = args.dir / args.lang / f"{args.name}.wav"
    source = audio.source_levels(args.file)
    audio.convert(args.file, out)
    result = {"lang": args.lang, "name": args.name, "file": str(out), "source": source, **audio.check_levels(out)}
    return _report([result], args.json)


def cmd_prompts_check(args: argparse.Namespace) -> int:
    results = [{"file": str(p), **audio.check_levels(p)} for p in sorted(args.dir.glob("*/*.wav"))]
    if not results:
        raise UsageError(f"no prompts in {args.dir}/<lang>/*.wav")
    return _report(results, args.json)


def _report(results: list[dict[str, Any]], as_json: bool) -> int:
    if as_json:
        json.dump(results, sys.stdout)
        sys.stdout.write("\n")
    else:
        for r in results:
            flag = "ok" if r["ok"] else "BAD"
            print(f"[{flag:>3}] {r['file']}: {r['seconds']:.1f} s, peak {r['peak_db']:.1f} dBFS, "
                  f"rms {r['rms_db']:.1f} dBFS" + (f" ({'; '.join(r['problems'])})" if r["problems"] else ""))
    return 0 if all(r["ok"] for r in results) else 1


# -- capture -------------------------------------------------------------------------------


def cmd_capture(args: argparse.Namespace) -> int:
    from firmware_tools.voice import RATE, open_voice

    modem, fmt = open_voice(args.port, args.baudrate)
    try:
        modem.command("AT+VLS=1")
        pcm, events = modem.receive(args.seconds, fmt)
    finally:
        modem.hang_up()
        modem.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(args.out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(audio.to_little_endian(pcm))
    print(f"recorded {len(pcm) / 2 / RATE:.1f} s ({fmt.name}) to {args.out}; modem events {''.join(events) or '-'}",
          file=sys.stderr)
    return decode_file(args.out, args.country)


def decode_file(path: Path, country: str | None) -> int:
    """``appliance dsp decode FILE --json``: its event lines on stdout."""
    cmd = [sys.executable, "-m", "appliance", "dsp", "decode", str(path), "--json"]
    if country:
        cmd += ["--country", country]
    return subprocess.run(cmd, check=False).returncode


# -- trace ---------------------------------------------------------------------------------

_HEXROW = re.compile(r"^\s*(\d+\.\d+)\s+(TX|RX)\s+[0-9A-F]{4}\s{2}((?:[0-9A-F]{2} ?)+)")
_PDU = re.compile(r"^[0-9A-Fa-f]{20,}$")


def readable_trace(hexdump: str) -> list[str]:
    """pyserial spy's hex dump as '<time> > command' / '< answer' lines, numbers masked."""
    from appliance.phone import mask_numbers_in

    runs: list[tuple[str, str, bytearray]] = []
    for line in hexdump.splitlines():
        m = _HEXROW.match(line)
        if not m:
            continue
        stamp, direction, hexes = m.groups()
        data = bytes.fromhex(hexes.replace(" ", ""))
        if runs and runs[-1][1] == direction:
            runs[-1][2].extend(data)
        else:
            runs.append((stamp, direction, bytearray(data)))
    out: list[str] = []
    for stamp, direction, chunk in runs:
        data = bytes(chunk)
        arrow = ">" if direction == "TX" else "<"
        binary = sum(1 for b in data if b < 9 or 13 < b < 32 or b > 126)
        if binary > max(4, len(data) // 4):
            out.append(f"{stamp} {arrow} <{len(data)} bytes of binary/audio>")
            continue
        for piece in re.split(r"[\r\n]+", data.decode("latin-1")):
            text = piece.strip()
            if not text:
                continue
            if text.startswith(">") and _PDU.match(text[1:].strip().rstrip("\x1a")):
                text = "> " + _pdu_summary(text[1:].strip())
            elif _PDU.match(text.rstrip("\x1a")):
                text = _pdu_summary(text)
            out.append(f"{stamp} {arrow} {mask_numbers_in(text)}")
    return out


def _pdu_summary(text: str) -> str:
    return f"<PDU, {len(text.rstrip(chr(26))) // 2} octets, hidden: it holds a phone number>"


def cmd_trace(args: argparse.Namespace) -> int:
    import asyncio

    from firmware_tools.probe import probe_port

    port = args.port.removeprefix("spy://")
    with tempfile.TemporaryDirectory(prefix="trace-") as tmp:
        raw = Path(tmp) / "spy.txt"
        url = f"spy://{port}?file={raw}"
        if args.daemon:
            key = "APPLIANCE_LINE__PORT" if args.line else "APPLIANCE_MODEM__PORT"
            env = {**os.environ, key: url}
            cmd = [sys.executable, "-m", "appliance", "run"] + (["--config", args.config] if args.config else [])
            proc = subprocess.Popen(cmd, env=env)
            try:
                time.sleep(args.daemon)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
            summary: dict[str, Any] = {"daemon_exit": proc.returncode}
        else:
            summary = asyncio.run(probe_port(url, args.baudrate))
        if not raw.exists():
            raise DeviceError(f"nothing was traced on {port}: {summary.get('error', 'the port was not opened')}")
        lines = readable_trace(raw.read_text(errors="replace"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(f"# appliance-tools trace of {port} (numbers masked)\n" + "\n".join(lines) + "\n")
    print(f"{len(lines)} lines to {args.out}; {json.dumps({k: v for k, v in summary.items() if k != 'imei'})}")
    return 0
