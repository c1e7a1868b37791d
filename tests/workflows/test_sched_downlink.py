"""Follow-ups and campaigns through the downlink applier: schemas, dispatch, refusals."""

from __future__ import annotations

from typing import Any

from appliance.store.db import Store
from appliance.sync.downlink import DownlinkApplier, Incoming
from sync.envelope import Topics, encode, make
from tests.workflows.sched_support import add_contact, events, notification_settings


def _apply(store: Store, stream: str, data: dict[str, Any]) -> str:
    applier = DownlinkApplier(store, Topics("lab/v1", "s1"), notification_settings(), 65536)
    env = make(stream, "s1", 1, data)
    [outcome] = applier.apply_batch([Incoming(f"lab/v1/s1/down/{stream}", encode(env), 1, 1, 1)]).outcomes
    return str(outcome)


def test_schedule_stop_and_campaign_over_the_downlink(store: Store) -> None:
    add_contact(store, "C-1", "Anna", ["+358401111111"], tags=["diabetes"])
    notification = {"notification_id": "N-1", "contact_id": "C-1", "channel": "sms", "template": "followup_reminder",
                    "schedule": {"first_after_days": 7, "every_days": 7, "max_times": 2}}
    assert _apply(store, "notifications", notification) == "scheduled"
    assert store.conn.execute("SELECT COUNT(*) FROM sms_messages").fetchone()[0] == 0  # nothing sent now
    assert _apply(store, "followup_updates", {"action": "stop", "followup_id": "N-1"}) == "applied"
    assert [e["status"] for e in events(store, "followup")] == ["scheduled", "stopped"]

    assert _apply(store, "campaigns", {"campaign_id": "K", "action": "dry_run", "text": "Hei",
                                       "segment": {"tags_any": ["diabetes"]}}) == "applied"
    assert _apply(store, "campaigns", {"campaign_id": "K", "text": "Hei", "segment": {"tags_any": ["diabetes"]}}) \
        == "applied"
    assert _apply(store, "campaigns", {"campaign_id": "K", "action": "cancel"}) == "applied"
    assert [(e["status"], e.get("recipients")) for e in events(store, "campaign")] == [
        ("dry_run", 1), ("running", 1), ("cancelled", None)]


def test_bad_messages_are_refused_with_one_error_event(store: Store) -> None:
    bad_schedule = {"notification_id": "N-2", "number": "+358401111111", "channel": "sms", "text": "x",
                    "schedule": {"first_after_days": 1, "max_times": 0}}
    assert _apply(store, "notifications", bad_schedule) == "refused"
    no_text = {"notification_id": "N-3", "number": "+358401111111", "channel": "sms",
               "schedule": {"first_after_days": 1, "max_times": 2}}
    assert _apply(store, "notifications", no_text) == "refused"
    assert _apply(store, "followup_updates", {"action": "stop"}) == "refused"  # whose?
    assert _apply(store, "campaigns", {"campaign_id": "K", "text": "x", "segment": {"age": 3}}) == "refused"
    assert _apply(store, "campaigns", {"campaign_id": "K", "template": "education"}) == "refused"  # no message
    assert len(events(store, "error")) == 5
