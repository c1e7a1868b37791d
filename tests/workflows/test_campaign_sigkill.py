"""A campaign survives SIGKILL of the daemon sending it: resumed after the restart, each recipient once."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from appliance.store.db import Store
from tests.helpers import Daemon, run_cli
from tests.workflows.sched_support import add_contact

RECIPIENTS = 40
ENV = {
    "APPLIANCE_SITE__TIMEZONE": "UTC",
    "APPLIANCE_NOTIFICATIONS__QUIET_HOURS": "",
    "APPLIANCE_CAMPAIGNS__RATE_PER_MINUTE": "240",  # 4 a second: short, and the kill lands mid-campaign
    "APPLIANCE_FOLLOWUPS__POLL_INTERVAL": "0.2",
    "APPLIANCE_MODEM__SEND_INTERVAL": "0",
    "APPLIANCE_MODEM__SIM_CMGS_DELAY": "0.02",
}


def _counts(db: Path) -> tuple[dict[str, int], dict[str, int]]:
    """(outbox rows per number, recipients per status)."""
    store = Store.open(db)
    try:
        per_number = dict(store.conn.execute(
            "SELECT number, COUNT(*) FROM sms_messages WHERE box = 'outbox' GROUP BY number"
        ).fetchall())
        statuses = dict(store.conn.execute(
            "SELECT status, COUNT(*) FROM campaign_recipients GROUP BY status"
        ).fetchall())
    finally:
        store.close()
    return per_number, statuses


def _wait(predicate: object, timeout: float, what: str, daemon: Daemon) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}:\n{daemon.log()[-3000:]}")


def test_campaign_resumed_after_sigkill_each_recipient_exactly_once(tmp_path: Path) -> None:
    db = tmp_path / "appliance.db"
    store = Store.open(db)
    for i in range(RECIPIENTS):
        add_contact(store, f"C-{i:03}", f"Person {i}", [f"+35840300{i:04}"], tags=["diabetes"])
    store.close()
    started = run_cli(tmp_path, "campaigns", "start", "--id", "flu", "--text", "Rokotukset alkavat.",
                      "--segment", '{"tags_any": ["diabetes"]}', "--json", **ENV)
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout)["recipients"] == RECIPIENTS

    first = Daemon(tmp_path, **ENV).start()
    try:
        _wait(lambda: sum(_counts(db)[0].values()) >= 10, 60, "10 campaign SMS", first)
        assert first.proc is not None
        first.proc.send_signal(signal.SIGKILL)  # no chance to finish or park anything
        first.proc.wait(10)
    finally:
        first.kill()
    per_number, statuses = _counts(db)
    assert 10 <= sum(per_number.values()) < RECIPIENTS, "the kill should land mid-campaign"
    assert statuses.get("pending", 0) == RECIPIENTS - statuses.get("queued", 0)

    second = Daemon(tmp_path, **ENV).start()
    try:
        _wait(lambda: _counts(db)[1] == {"queued": RECIPIENTS}, 120, "the campaign to finish", second)
        listed = run_cli(tmp_path, "campaigns", "list", "--json", **ENV)
        _wait(lambda: json.loads(run_cli(tmp_path, "campaigns", "list", "--json", **ENV).stdout)[0]["status"]
              == "finished", 30, "the campaign's finished status", second)
    finally:
        second.terminate()
    assert listed.returncode == 0
    per_number, _ = _counts(db)
    assert len(per_number) == RECIPIENTS
    assert set(per_number.values()) == {1}  # every recipient exactly once, across the kill
