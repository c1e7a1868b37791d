"""Call-flow benchmark: false digits over every prompt, CPU per active call, caller-ID -> pop latency.

1. Every prompt the default menu builds (4 languages, espeak-ng) and the chime, beep
   and built-in hold audio, played into the line DSP as PCM and through G.711
   mu-law and A-law: DTMF digits found (must be 0) and call-progress tones found.
2. CPU per active call: the whole audio path of one answered call (the sim line's
   stream in, the line DSP, the prompt out, the call flow) while the caller waits
   for the desk with hold audio, as % of one core per second of call. The figure
   includes generating the simulated line's audio, so it is an upper bound.
3. Caller ID -> ``caller_pop``: from the line event (caller ID decoded from the
   audio) to the bus publish, with 1,000 contacts in the store, each standard.

    .venv/bin/python bench/bench_calls.py [--calls 60] [--call-seconds 120]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.calls.menu import load_menu
from appliance.calls.prompts import PromptLibrary, beep, chime, hold_audio
from appliance.codecs import g711
from appliance.dsp.chain import LineDsp
from tests.calls.conftest import CallRig, rig_config


def false_digits(prompts_dir: Path) -> None:
    lib = PromptLibrary(load_menu(None), prompts_dir)
    counts = lib.build_all()
    clips = [(f"{lang}/{name}", lib.pcm(name, lang)) for lang in lib.menu.languages for name in sorted(lib.all_names())]
    clips += [("chime", chime()), ("beep", beep())]
    clips += [(f"{lang}/hold", hold_audio("", lib, lang)[0]) for lang in lib.menu.languages]
    seconds = sum(len(p) for _, p in clips) / 16000
    print(f"prompts: {len(clips)} clips, {seconds:.0f} s of audio ({counts})", flush=True)
    for path, conv in (("pcm16", lambda p: p), ("G.711 mu-law", lambda p: g711.ulaw_decode(g711.ulaw_encode(p))),
                       ("G.711 A-law", lambda p: g711.alaw_decode(g711.alaw_encode(p)))):
        digits = tones = 0
        worst = []
        for name, pcm in clips:
            dsp = LineDsp(8000)
            events = dsp.feed(conv(pcm)) + dsp.flush()
            d = [e for e in events if e["type"] == "dtmf"]
            digits += len(d)
            tones += sum(e["type"] == "tone" for e in events)
            if d:
                worst.append(name)
        print(f"  {path:<13} false digits {digits}  tones {tones}  {'(' + ', '.join(worst) + ')' if worst else ''}",
              flush=True)


async def cpu_per_call(prompts_dir: Path, call_seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = rig_config(Path(tmp), rings_before_answer="1", desk_wait_max=str(call_seconds + 60))
        async with CallRig(cfg, prompts_dir) as rig:
            rig.sim.exchange.incoming("0401234567", None, script=[["wait", 1.0], ["keys", "0"]])
            await rig.wait_bus("line_state", lambda d: d["state"] == "waiting_for_desk")
            t0, c0 = rig.sim.line_time, time.process_time()
            w0 = time.perf_counter()
            while rig.sim.line_time - t0 < call_seconds:
                await asyncio.sleep(0.05)
            line_s, cpu = rig.sim.line_time - t0, time.process_time() - c0
            wall = time.perf_counter() - w0
            rig.sim.exchange.far_hangup("event")
            await rig.wait_bus("call_ended")
    print(f"CPU per active call (sim line at full speed, waiting for the desk with hold audio): "
          f"{100 * cpu / line_s:.2f} % of one core ({line_s:.0f} s of call in {cpu:.2f} s CPU, {wall:.2f} s wall)",
          flush=True)


async def pop_latency(prompts_dir: Path, calls: int, speed: float) -> None:
    from appliance.contacts import apply_contact

    with tempfile.TemporaryDirectory() as tmp:
        cfg = rig_config(Path(tmp), rings_before_answer="0", sim_speed=str(speed))
        async with CallRig(cfg, prompts_dir) as rig:
            rig.sim.speed = speed
            with rig.store.transaction():
                for i in range(1000):
                    apply_contact(rig.store, {"contact_id": f"c{i}", "version": 1, "contact": {
                        "name": f"Person {i}", "phones": [f"+3584012{i:05d}"], "language": "fi",
                        "consents": {"sms": True, "call": True, "recording": False}}}, "FI")
            for std in ("bell202", "v23", "dtmf"):
                rig.calls.pop_latency_ms.clear()
                for i in range(calls):
                    await rig.incoming(f"04012{(i * 37) % 1000:05d}", standard=std, max_rings=1)
                xs = sorted(rig.calls.pop_latency_ms)
                p99 = xs[min(len(xs) - 1, int(len(xs) * 0.99))]
                print(f"caller ID -> pop, {std:<7} (line at {speed:g}x real time, 1,000 contacts): "
                      f"p50 {statistics.median(xs):.1f} ms  p99 {p99:.1f} ms  max {xs[-1]:.1f} ms  n={len(xs)}",
                      flush=True)


async def pop_latency_direct(prompts_dir: Path, calls: int) -> None:
    """The caller-ID event handed to the calls part as the line part does, to the publish (no sim running)."""
    from appliance.contacts import apply_contact
    from appliance.line.base import EventKind, LineEvent

    with tempfile.TemporaryDirectory() as tmp:
        cfg = rig_config(Path(tmp), rings_before_answer="0")
        async with CallRig(cfg, prompts_dir) as rig:
            with rig.store.transaction():
                for i in range(1000):
                    apply_contact(rig.store, {"contact_id": f"c{i}", "version": 1, "contact": {
                        "name": f"Person {i}", "phones": [f"+3584012{i:05d}"], "language": "fi",
                        "consents": {"sms": True, "call": True, "recording": False}}}, "FI")
            rig.calls.pop_latency_ms.clear()
            for i in range(calls):
                n = len(rig.events("caller_pop"))
                rig.calls.on_line_event(LineEvent(EventKind.CALLER_ID, time.monotonic(), "dsp",
                                                  {"number": f"04012{(i * 37) % 1000:05d}", "format": "mdmf"}))
                while len(rig.events("caller_pop")) == n:
                    await asyncio.sleep(0.001)
                rig.calls.on_line_event(LineEvent(EventKind.RINGS_STOPPED, time.monotonic(), "device"))
                await rig.wait_bus("call_ended", lambda d, k=i: d["call_id"] == k + 1)
            xs = sorted(rig.calls.pop_latency_ms)
            p99 = xs[min(len(xs) - 1, int(len(xs) * 0.99))]
            print(f"caller-ID event -> pop, calls part alone (1,000 contacts): p50 {statistics.median(xs):.1f} ms  "
                  f"p99 {p99:.1f} ms  max {xs[-1]:.1f} ms  n={len(xs)}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=40, help="calls per caller-ID standard for the latency")
    ap.add_argument("--call-seconds", type=float, default=120.0, help="seconds of call for the CPU figure")
    ap.add_argument("--speed", type=float, default=20.0, help="the sim line's speed for the latency runs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as prompts:
        pdir = Path(prompts)
        false_digits(pdir)
        asyncio.run(cpu_per_call(pdir, args.call_seconds))
        asyncio.run(pop_latency_direct(pdir, 200))
        asyncio.run(pop_latency(pdir, args.calls, args.speed))


if __name__ == "__main__":
    main()
