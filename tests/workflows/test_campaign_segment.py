"""Campaigns: the segment, the guardian rule, one message per number, the dry-run's counts and cost."""

from __future__ import annotations

import pytest

from appliance.campaigns import campaigns as camp
from appliance.campaigns.segment import Segment
from appliance.consent import set_sms_consent
from appliance.errors import ValidationError
from appliance.store.db import Store
from tests.workflows.sched_support import add_contact, events, outbox, utc

NOW = utc("2026-05-04T09:00")  # a Monday, 12:00 in Helsinki
SETTINGS = camp.CampaignSettings(timezone="Europe/Helsinki", quiet_hours="21:00-08:00", rate_per_minute=10,
                                 price_per_part=0.07, guardian_age=15, lab_name="Lab 3")
LONG_FI = "Influenssarokotukset alkavat maanantaina. " * 5  # 210 GSM-7 characters: 2 parts


@pytest.fixture
def people(store: Store) -> Store:
    add_contact(store, "C-01", "Aino", ["+358401000001"], birth_date="1950-06-01", sex="female", tags=["diabetes"])
    add_contact(store, "C-02", "Eino", ["+358401000002"], birth_date="1950-06-01", sex="male", tags=["diabetes"])
    add_contact(store, "C-03", "Saara", ["+358401000003"], birth_date="1990-01-01", sex="female", tags=["Diabetes"])
    add_contact(store, "C-04", "Li Wei", ["+358401000004"], language="zh", birth_date="1955-05-04", sex="female",
                tags=["diabetes", "pregnancy"])
    add_contact(store, "C-05", "Ei syntymäaikaa", ["+358401000005"], sex="female", tags=["diabetes"])
    add_contact(store, "C-06", "Family phone", ["+358401000001"], birth_date="1951-01-01", sex="female",
                tags=["diabetes"])  # shares Aino's number: one message for the number
    add_contact(store, "C-07", "Guardian", ["+358401000007"], language="sv", birth_date="1980-01-01")
    add_contact(store, "C-08", "Child", [], birth_date="2016-01-01", sex="female", tags=["asthma"], guardian="C-07")
    add_contact(store, "C-09", "No consent", ["+358401000009"], birth_date="1950-01-01", sex="female",
                tags=["diabetes"], consent_sms=False)
    add_contact(store, "C-10", "Opted out", ["+358401000010"], birth_date="1950-01-01", sex="female",
                tags=["diabetes"])
    with store.transaction():
        set_sms_consent(store, "+358401000010", False, source="sms_keyword", word="STOP")
    return store


def recipients(store: Store, segment: dict[str, object]) -> list[str]:
    return [r.contact_id for r in camp.select_recipients(store, SETTINGS, Segment.from_data(segment), NOW.date())]


def test_segments(people: Store) -> None:
    assert recipients(people, {"age_min": 65, "sex": "female", "tags_any": ["diabetes"]}) == [
        "C-01", "C-04", "C-09", "C-10"]  # C-06 shares C-01's number; C-05 has no birth date
    assert recipients(people, {"age_max": 40, "tags_any": ["DIABETES"]}) == ["C-03"]  # tags ignore case
    assert recipients(people, {"tags_all": ["diabetes", "pregnancy"]}) == ["C-04"]
    assert recipients(people, {"languages": ["zh"]}) == ["C-04"]
    assert recipients(people, {"age_max": 14}) == ["C-08"]  # a child, reached through the guardian
    [child] = camp.select_recipients(people, SETTINGS, Segment.from_data({"age_max": 14}), NOW.date())
    assert (child.number, child.language) == ("+358401000007", "sv")
    assert recipients(people, {"age_min": 75, "age_max": 75}) == ["C-01", "C-02"]  # C-06 (75) shares C-01's phone
    assert recipients(people, {"age_min": 71, "age_max": 71}) == ["C-04"]  # 71 on her birthday, 4 May
    with pytest.raises(ValidationError, match="unknown fields"):
        Segment.from_data({"age": 5})
    with pytest.raises(ValidationError, match="age_min is above age_max"):
        Segment.from_data({"age_min": 50, "age_max": 20})


def test_dry_run_counts_recipients_parts_and_cost(people: Store) -> None:
    definition = {"text": {"fi": LONG_FI, "zh": "流感疫苗接种周一开始。"},
                  "segment": {"age_min": 65, "sex": "female", "tags_any": ["diabetes"]}}
    result = camp.dry_run(people, SETTINGS, definition, NOW)
    assert result["matched"] == 4
    assert result["recipients"] == 2
    assert result["blocked"] == {"no_consent": 1, "opted_out": 1}
    assert result["by_language"] == {"fi": 1, "zh": 1}
    assert result["parts_per_message"] == {"fi": 2, "zh": 1}
    assert result["parts"] == 3
    assert result["cost"] == pytest.approx(0.21)
    assert result["minutes"] == 0.3
    assert outbox(people) == []  # a dry-run sends nothing


def test_each_recipient_exactly_once_blocked_ones_recorded(people: Store) -> None:
    definition = {"template": "education", "params": {"message": "Rokotukset alkavat."},
                  "segment": {"age_min": 65, "sex": "female", "tags_any": ["diabetes"]}}
    started = camp.start_campaign(people, SETTINGS, "flu-2026", definition, source="cli", now=NOW)
    assert (started["status"], started["recipients"], started["pending"]) == ("running", 4, 4)
    again = camp.start_campaign(people, SETTINGS, "flu-2026", definition, source="cli", now=NOW)
    assert again["recipients"] == 4  # idempotent: the same campaign, no second set of recipients
    results = []
    while (r := camp.send_next(people, SETTINGS, NOW)) is not None and r["status"] != "finished":
        results.append(r)
    assert sorted((r["number"], r["status"], r["reason"]) for r in results) == [
        ("+358401000001", "queued", None),
        ("+358401000004", "queued", None),
        ("+358401000009", "blocked", "no_consent"),
        ("+358401000010", "blocked", "opted_out"),
    ]
    assert camp.send_next(people, SETTINGS, NOW) is None  # finished: nothing more
    texts = {m["number"]: m["text"] for m in outbox(people)}
    assert texts == {
        "+358401000001": "Lab 3: Rokotukset alkavat.",
        "+358401000004": "Lab 3\uff1aRokotukset alkavat.",  # the Chinese template's full-width colon
    }
    summary = camp.campaign_summary(people, "flu-2026")
    assert (summary["status"], summary["queued"], summary["blocked"], summary["pending"]) == ("finished", 2, 2, 0)
    assert [e["status"] for e in events(people, "campaign")] == ["running", "finished"]


def test_a_campaign_past_its_expiry_sends_no_more(people: Store) -> None:
    definition = {"text": "Tervetuloa", "segment": {"tags_any": ["diabetes"]}}
    camp.start_campaign(people, SETTINGS, "c1", definition, source="cli", expires_at="2026-05-04T10:00:00Z", now=NOW)
    assert camp.send_next(people, SETTINGS, NOW)["status"] == "queued"  # type: ignore[index]
    late = camp.send_next(people, SETTINGS, utc("2026-05-04T10:00"))
    assert late is not None and late["status"] == "finished"
    s = camp.campaign_summary(people, "c1")
    assert (s["queued"], s["pending"], s["expired"]) == (1, 0, s["recipients"] - 1)


def test_cancel(people: Store) -> None:
    camp.start_campaign(people, SETTINGS, "c2", {"text": "x", "segment": {}}, source="cli", now=NOW)
    assert camp.cancel_campaign(people, "c2")
    assert not camp.cancel_campaign(people, "c2")
    assert camp.send_next(people, SETTINGS, NOW) is None
    assert outbox(people) == []


def test_bad_definitions_are_refused_before_anything_is_stored(people: Store) -> None:
    with pytest.raises(ValidationError, match="either text or template"):
        camp.start_campaign(people, SETTINGS, "bad", {"segment": {}}, source="cli", now=NOW)
    with pytest.raises(ValidationError, match="missing params message"):
        camp.start_campaign(people, SETTINGS, "bad", {"template": "education"}, source="cli", now=NOW)
    assert camp.list_campaigns(people) == []
