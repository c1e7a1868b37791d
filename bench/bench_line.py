"""Phone-line drivers: CPU per active call, caller-ID latency, resources over many calls.

- CPU per active call: a call on the ``sim`` line (far end talking, our prompt playing,
  every frame through the DSP) and on the ``v253`` driver against its simulated modem
  (AT+VTR stream over a pty, DLE, G.711/16-bit conversion, DSP); as % of one core for
  one call in real time (process CPU time / line time).
- caller-ID latency: from the end of the caller-ID signal (sim: the last FSK/DTMF
  sample; v253: the modem's NMBR line written to the pty) to the ``caller_id`` event
  the driver hands on, p50 / p99.
- resources: RSS and open file descriptors before and after N simulated calls.

    .venv/bin/python bench/bench_line.py [--calls 1000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.line import signals
from appliance.line.base import EventKind
from appliance.line.sim import SimLine
from appliance.line.v253 import V253Line
from appliance.line.v253_sim import V253Simulator


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def sim_call_cpu(seconds: float) -> float:
    line = SimLine(country="FI", speed=0)
    await line.open()
    line.exchange.incoming("0401234567", script=[["speech", seconds + 5]])
    async for ev in line.events():
        if ev.kind == EventKind.RING:
            break
    await line.off_hook()
    t0, c0 = line.line_time, cpu()
    await line.play(signals.speech(4.0) * int(seconds / 4 + 1), barge_in=False)
    used, span = cpu() - c0, line.line_time - t0
    await line.close()
    return 100 * used / span


async def v253_call_cpu(seconds: float, profile: str) -> float:
    with V253Simulator(profile, country="US", speed=1.0) as sim:
        line = V253Line(sim.path, country="US")
        await line.open()
        sim.line("ring", number="0401234567", script=[["speech", seconds + 5]])
        async for ev in line.events():
            if ev.kind == EventKind.RING:
                break
        await line.off_hook()
        t0, c0 = line.line_time, cpu()
        await line.play(signals.speech(4.0) * int(seconds / 4 + 1), barge_in=False)
        used, span = cpu() - c0, line.line_time - t0
        await line.close()
    # the simulated modem runs in this process too: its share is included (an upper bound)
    return 100 * used / span


async def v253_cid_latency(n: int) -> list[float]:
    out = []
    with V253Simulator("cx93001", country="US", speed=8.0) as sim:
        line = V253Line(sim.path, country="US")
        await line.open()
        for _ in range(n):
            sim.line("ring", number="4075551212", name="JOHN DOE", rings=2)
            async for ev in line.events():
                if ev.kind == EventKind.CALLER_ID:
                    out.append(time.monotonic() - sim.last_cid_written)
                    break
            with sim._lock:
                sim.exchange.far_hangup("event")
        await line.close()
    return out


async def many_calls(n: int) -> tuple[float, float, int, int, float]:
    line = SimLine(country="FI", speed=0)
    await line.open()
    rss0, fd0 = rss_mb(), fds()
    t0 = time.monotonic()
    for i in range(n):
        line.exchange.incoming(f"04012{i:05d}", script=[["keys", "1"], ["hangup", "busy"]])
        async for ev in line.events():
            if ev.kind == EventKind.RING:
                await line.off_hook()
            elif ev.kind == EventKind.HANGUP:
                await line.on_hook()
                break
    took = time.monotonic() - t0
    rss1, fd1 = rss_mb(), fds()
    await line.close()
    return rss0, rss1, fd0, fd1, took


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--cid", type=int, default=20)
    args = parser.parse_args()
    print(f"CPU per active call (% of one core, {args.seconds:.0f} s of talking and a prompt playing):")
    print(f"  sim line                        {asyncio.run(sim_call_cpu(args.seconds)):6.2f} %")
    for profile in ("cx93001", "usr5637"):
        share = asyncio.run(v253_call_cpu(args.seconds, profile))
        print(f"  v253 {profile:8s} (+ its simulator) {share:6.2f} %")
    lat = asyncio.run(v253_cid_latency(args.cid))
    print(
        f"v253 caller-ID line -> event: p50 {1000 * statistics.median(lat):.1f} ms, "
        f"p99 {1000 * pct(lat, 0.99):.1f} ms ({len(lat)} calls; includes the {1000 * 0.3:.0f} ms wait for NAME "
        "only when no NAME comes)"
    )
    rss0, rss1, fd0, fd1, took = asyncio.run(many_calls(args.calls))
    print(
        f"{args.calls} simulated calls (ring, answer, key, busy hang-up) in {took:.1f} s: "
        f"RSS {rss0:.1f} -> {rss1:.1f} MB, open fds {fd0} -> {fd1}"
    )


if __name__ == "__main__":
    main()
