"""Memory and open file handles stay flat over 1,000 simulated calls (sim line at speed 0)."""

from __future__ import annotations

import gc
import json
import os
import tracemalloc
from pathlib import Path

import pytest

from tests.calls.conftest import call_rig, run

CALLS = 1000
WARMUP = 100


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_memory_and_file_handles_flat_over_1000_calls(tmp_path: Path, prompts_dir: Path) -> None:
    async def main() -> dict[str, int]:
        async with call_rig(tmp_path, prompts_dir, rings_before_answer="1") as rig:
            figures: dict[str, int] = {}
            odd: list[str] = []
            scripts = [
                [["wait", 0.3], ["keys", "*"], ["wait", 0.3], ["hangup", "event"]],
                [["wait", 0.3], ["keys", "9"], ["hangup", "busy"]],
            ]
            for i in range(CALLS):
                if i == WARMUP:
                    gc.collect()
                    tracemalloc.start()
                    figures["fds_before"] = _fds()
                    figures["mem_before"] = tracemalloc.get_traced_memory()[0]
                # DTMF caller ID: the sim makes it cheaply (FSK synthesis would dominate the run time)
                row = await rig.incoming(f"040{i:07d}", script=scripts[i % 2], standard="dtmf")
                if row["outcome"] != "menu" or row["keys"] != "*9"[i % 2]:
                    odd.append(json.dumps(row))
                rig.bus_events.clear()  # the test's own log of the bus, not the product's
            gc.collect()
            figures["fds_after"] = _fds()
            figures["mem_after"] = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            (n,) = rig.store.call(
                lambda: rig.store.conn.execute("SELECT COUNT(*) FROM calls WHERE ended_at IS NOT NULL").fetchone())
            assert n == CALLS
            # the sim caller's keys are audio through the DSP; a rare one lost under heavy load is reported,
            # a pattern is a bug
            assert len(odd) <= CALLS // 200, odd[:3]
            figures["odd_calls"] = len(odd)
            assert len(rig.calls.pop_latency_ms) <= 1000
            return figures

    f = run(main(), timeout=1700)
    assert f["fds_after"] <= f["fds_before"] + 2, f
    # the store's page cache and SQLite statements are outside tracemalloc; Python objects must not pile up
    assert f["mem_after"] - f["mem_before"] < 2_000_000, f
