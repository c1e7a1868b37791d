"""Complaints from SMS, desk (function and CLI) and voice, through to the outcome SMS; anonymous ones."""
# ruff: noqa: RUF001

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.complaints import (
    apply_update,
    complaint_figures,
    complaint_keyword,
    get_complaint,
    history,
    list_complaints,
    open_complaint,
)
from appliance.errors import ValidationError
from appliance.store.db import Store
from tests.helpers import run_cli
from tests.workflows.conftest import ANNA, Box, add_contact

REFERENCE = re.compile(r"^C-[2-9A-HJ-KMNP-Z]{5}$")


def update(store: Store, complaint_id: str, status: str, envelope: str, **extra: object) -> str:
    with store.transaction():
        return apply_update(
            store, {"complaint_id": complaint_id, "status": status, **extra}, envelope,
            lab="Lab 3", quiet_hours="21:00-08:00", timezone="Europe/Helsinki",
            now=datetime(2026, 11, 3, 10, 0, tzinfo=UTC),
        )


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("COMPLAINT the queue was long", ("en", "the queue was long")),
        ("complaint: rude staff", ("en", "rude staff")),
        ("Valitus jono oli pitkä", ("fi", "jono oli pitkä")),
        ("KLAGOMÅL lång kö", ("sv", "lång kö")),
        ("klagomål: lång kö", ("sv", "lång kö")),
        ("投诉排队太久", ("zh", "排队太久")),
        ("投诉：排队太久", ("zh", "排队太久")),
        ("I have a complaint", None),
        ("Valitukset", None),
    ],
)
def test_keyword_is_the_first_word_any_case(text: str, found: tuple[str, str] | None) -> None:
    assert complaint_keyword(text) == found


def test_sms_complaint_through_to_the_outcome_sms(box: Box) -> None:
    store = box.store
    add_contact(store, "c-anna", ANNA, language="sv")
    handled = box.receive(ANNA, "Klagomål: jag väntade en timme")
    assert handled is not None and handled.kind == "complaint" and REFERENCE.match(handled.detail)
    reference = handled.detail
    (complaint,) = list_complaints(store)
    assert (complaint.channel, complaint.status, complaint.contact_id, complaint.number, complaint.language) == (
        "sms", "received", "c-anna", ANNA, "sv"
    )
    assert complaint.text == "jag väntade en timme"
    ack = box.sent(ANNA)[-1]
    assert reference in ack["text"] and ack["text"].startswith("Lab 3: vi har tagit emot ditt klagomål")
    assert (ack["language"], ack["purpose"]) == ("sv", "complaint_ack")
    event = box.events("complaint")[0]
    assert event == {
        "complaint_id": complaint.complaint_id, "reference": reference, "channel": "sms", "anonymous": False,
        "status": "received", "language": "sv", "created_at": complaint.created_at,
        "text": "jag väntade en timme", "contact_id": "c-anna", "number": ANNA,
    }

    assert update(store, complaint.complaint_id, "Under investigation", "e1") == "applied"
    assert update(store, complaint.complaint_id, "corrective-action", "e2",
                  corrective_action="More staff in the mornings") == "applied"
    assert len(box.sent(ANNA)) == 1  # nothing told before closing
    update(store, complaint.complaint_id, "closed", "e3", outcome="Vi har anställt en till.")
    outcome = box.sent(ANNA)[-1]
    assert outcome["text"] == f"Lab 3: ditt klagomål {reference} har behandlats: Vi har anställt en till."
    assert (outcome["language"], outcome["purpose"]) == ("sv", "complaint_outcome")
    assert outcome["not_before"] is None  # 12:00 in Helsinki: not in the quiet hours
    closed = get_complaint(store, reference)
    assert closed is not None and closed.status == "closed" and closed.closed_at
    steps = [h["status"] for h in history(store, complaint.complaint_id)]
    assert steps[:4] == ["received", "under_investigation", "corrective_action", "closed"]
    # a repeated close does not tell them twice
    update(store, complaint.complaint_id, "closed", "e4", outcome="Vi har anställt en till.")
    assert len(box.sent(ANNA)) == 2


def test_outcome_not_sent_when_the_central_says_so_or_at_night(store: Store) -> None:
    quiet = open_complaint(store, channel="desk", text="Long wait", number=ANNA, language="fi", lab="Lab 3")
    update(store, quiet.complaint_id, "closed", "e1", outcome="Done", notify_complainant=False)
    texts = [r[0] for r in store.conn.execute("SELECT purpose FROM sms_messages ORDER BY id")]
    assert texts == ["complaint_ack"]
    assert "notify_complainant false" in history(store, quiet.complaint_id)[-1]["note"]

    night = open_complaint(store, channel="desk", text="Rude", number=ANNA, language="fi", lab="Lab 3")
    with store.transaction():
        apply_update(store, {"complaint_id": night.complaint_id, "status": "closed", "outcome": "Anteeksi."}, "e2",
                     lab="Lab 3", quiet_hours="21:00-08:00", timezone="Europe/Helsinki",
                     now=datetime(2026, 11, 3, 21, 30, tzinfo=UTC))  # 23:30 in Helsinki
    (not_before,) = store.conn.execute(
        "SELECT not_before FROM sms_messages WHERE purpose = 'complaint_outcome'"
    ).fetchone()
    assert not_before == "2026-11-04T06:00:00.000Z"  # 08:00 in Helsinki (EET)


def test_voice_complaint_keeps_the_recording(store: Store) -> None:
    c = open_complaint(store, channel="voice", recording="/var/lib/appliance/rec/42.wav", number=ANNA,
                       language="en", lab="Lab 3")
    assert c.recording == "/var/lib/appliance/rec/42.wav" and c.text is None
    event = json.loads(store.conn.execute("SELECT data FROM events WHERE stream = 'complaint'").fetchone()[0])
    assert event["recording"] == "/var/lib/appliance/rec/42.wav" and event["channel"] == "voice"
    with pytest.raises(ValidationError):
        open_complaint(store, channel="voice")  # neither text nor recording
    with pytest.raises(ValidationError):
        open_complaint(store, channel="sms", text="x", number=ANNA, anonymous=True)
    with pytest.raises(ValidationError):
        open_complaint(store, channel="fax", text="x")


def test_anonymous_complaint_leaves_no_number_anywhere(
    data_store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "+358409876543"
    caplog.set_level(logging.DEBUG)
    c = open_complaint(data_store, channel="voice", recording="rec/7.wav", number=secret, contact_id="c-x",
                       anonymous=True, lab="Lab 3")
    d = open_complaint(data_store, channel="desk", text="Staff were rude", number=secret, anonymous=True)
    for complaint in (c, d):
        assert complaint.anonymous and complaint.number is None and complaint.contact_id is None
    events = [r[0] for r in data_store.conn.execute("SELECT data FROM events")]
    assert events and all("409876543" not in e and "c-x" not in e for e in events)
    complaint_events = [json.loads(r[0]) for r in data_store.conn.execute(
        "SELECT data FROM events WHERE stream = 'complaint'")]
    assert len(complaint_events) == 2
    assert all(e["anonymous"] is True and "number" not in e and "contact_id" not in e for e in complaint_events)
    assert data_store.conn.execute("SELECT COUNT(*) FROM sms_messages").fetchone()[0] == 0  # nobody to ack
    data_store.conn.execute("PRAGMA wal_checkpoint(FULL)")
    for f in tmp_path.glob("appliance.db*"):
        raw = f.read_bytes()
        assert b"409876543" not in raw and "409876543".encode("utf-16-le") not in raw, f
    assert "409876543" not in caplog.text and "c-x" not in caplog.text
    # the CLI too: --anonymous with a number is refused, without one it works
    refused = run_cli(tmp_path, "complaints", "add", "--text", "x", "--number", secret, "--anonymous")
    assert refused.returncode == 2 and "--anonymous" in refused.stderr
    ok = run_cli(tmp_path, "complaints", "add", "--text", "Dirty toilets", "--anonymous", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["anonymous"] is True and json.loads(ok.stdout)["number"] is None


def test_desk_cli_add_and_list(tmp_path: Path, data_store: Store) -> None:
    add_contact(data_store, "c-anna", ANNA, language="fi")
    out = run_cli(tmp_path, "complaints", "add", "--text", "Näytteenotto sattui", "--contact", "c-anna",
                  "--staff", "maija")
    assert out.returncode == 0, out.stderr
    reference = out.stdout.strip()
    assert REFERENCE.match(reference)
    out = run_cli(tmp_path, "complaints", "add", "--text", "Parking", "--number", "040 111 2222", "--json")
    second = json.loads(out.stdout)
    assert second["number"] == "+358401112222" and second["language"] == "en"
    listed = json.loads(run_cli(tmp_path, "complaints", "list", "--json").stdout)
    assert [r["reference"] for r in listed] == [second["reference"], reference]  # newest first
    required = {"complaint_id", "channel", "status", "anonymous", "contact_id", "created_at", "reference"}
    assert required <= set(listed[0])
    assert listed[1]["contact_id"] == "c-anna" and listed[1]["channel"] == "desk"
    acks = data_store.conn.execute("SELECT number, language, text FROM sms_messages ORDER BY id").fetchall()
    assert acks[0][:2] == (ANNA, "fi") and reference in acks[0][2]
    assert run_cli(tmp_path, "complaints", "add", "--text", "x", "--contact", "nobody").returncode == 2
    shown = json.loads(run_cli(tmp_path, "complaints", "show", reference, "--json").stdout)
    assert shown["history"][0]["status"] == "received"


def test_figures_by_channel_status_and_age(store: Store) -> None:
    a = open_complaint(store, channel="desk", text="a")
    open_complaint(store, channel="voice", recording="r.wav")
    update(store, a.complaint_id, "closed", "e1", outcome="ok")
    figures = complaint_figures(store, now=datetime.now(UTC))
    assert figures["by_channel"] == {"sms": 0, "voice": 1, "desk": 1}
    assert figures["by_status"]["closed"] == 1 and figures["by_status"]["received"] == 1
    assert figures["open_by_age"]["under_1d"] == 1 and figures["opened"] == 2 and figures["closed"] == 1


def test_an_update_for_a_complaint_opened_elsewhere_is_kept(store: Store) -> None:
    assert update(store, "central-77", "closed", "e1", outcome="x") == "unknown"
    assert store.conn.execute("SELECT status FROM complaint_status").fetchone()[0] == "closed"
