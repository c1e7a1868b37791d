"""Opt-out and opt-in words, help, and every later send blocked with a recorded reason."""
# ruff: noqa: RUF001

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.consent import classify, is_opted_out, queue_sms, send_block_reason
from appliance.consent.core import PURPOSES
from appliance.notifications.requests import accept_request
from appliance.store.db import Store
from sync.envelope import schema_problem
from tests.helpers import run_cli
from tests.workflows.conftest import ANNA, SETTINGS, Box, add_contact

BARE = "+46701234567"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("STOP", "opt_out"), ("stop", "opt_out"), ("Stop.", "opt_out"), ("Stop. Thank you", "opt_out"),
        ("stop please", "opt_out"), ("STOP!!!", "opt_out"), ("  Stop \n", "opt_out"), ("END", "opt_out"),
        ("cancel", "opt_out"), ("Unsubscribe", "opt_out"), ("QUIT", "opt_out"), ("STOPALL", "opt_out"),
        ("opt out", "opt_out"), ("Revoke", "opt_out"), ("LOPETA", "opt_out"), ("lopeta kiitos", "opt_out"),
        ("STOPP", "opt_out"), ("Avsluta", "opt_out"), ("SLUTA", "opt_out"), ("sluta tack", "opt_out"),
        ("退订", "opt_out"), ("退订。", "opt_out"), ("T", "opt_out"), ("td", "opt_out"),
        ("START", "opt_in"), ("yes", "opt_in"), ("UNSTOP", "opt_in"), ("Aloita", "opt_in"),
        ("STARTA", "opt_in"), ("订阅", "opt_in"),
        ("HELP", "help"), ("info", "help"), ("APUA", "help"), ("Hjälp", "help"), ("帮助", "help"),
        # not keywords: a code after the word, a sentence, other words
        ("STOP 1234", None), ("stop 12345", None), ("Please stop calling me about results", None),
        ("Don't stop", None), ("stopped", None), ("Thanks", None), ("", None), ("🛑", None),
    ],
)
def test_which_texts_are_keywords(text: str, kind: str | None) -> None:
    found = classify(text)
    assert (found.kind if found else None) == kind


@pytest.mark.parametrize(
    ("word", "language", "confirmation", "back", "back_confirmation"),
    [
        ("STOP", "en", "Lab 3: you will get no more messages from us.", "START", "Lab 3: you will receive"),
        ("LOPETA", "fi", "Lab 3: et saa enää viestejä meiltä.", "ALOITA", "Lab 3: saat taas viestejämme."),
        ("SLUTA", "sv", "Lab 3: du får inga fler meddelanden från oss.", "STARTA", "Lab 3: du får våra"),
        ("退订", "zh", "Lab 3：您已退订", "订阅", "Lab 3：您已重新订阅"),
    ],
)
def test_opt_out_and_back_in_for_a_bare_number(
    box: Box, word: str, language: str, confirmation: str, back: str, back_confirmation: str
) -> None:
    handled = box.receive(BARE, word)
    assert handled is not None and handled.kind == "opt_out"
    assert is_opted_out(box.store, BARE)
    (sent,) = box.sent(BARE)
    assert sent["text"].startswith(confirmation) and sent["language"] == language and sent["purpose"] == "consent"
    (event,) = box.events("consent")
    assert event["number"] == BARE and event["granted"] is False and event["channel"] == "sms"
    assert event["source"] == "sms_keyword" and "contact_id" not in event
    assert schema_problem("up_consent", event) is None
    # a second STOP: no second confirmation
    assert box.receive(BARE, word.lower() + ".").kind == "opt_out"  # type: ignore[union-attr]
    assert len(box.sent(BARE)) == 1
    # back in
    assert box.receive(BARE, back).kind == "opt_in"  # type: ignore[union-attr]
    assert not is_opted_out(box.store, BARE)
    assert box.sent(BARE)[-1]["text"].startswith(back_confirmation)
    assert [e["granted"] for e in box.events("consent")] == [False, True]


def test_contact_opt_out_blocks_everything_and_the_queued_message(box: Box) -> None:
    store = box.store
    add_contact(store, "c-anna", ANNA, language="fi")
    with store.transaction():
        queued = accept_request(
            store, SETTINGS, {"notification_id": "n-1", "contact_id": "c-anna", "channel": "sms",
                              "template": "results_ready"}, "env-1",
        )
    assert queued.status == "queued"
    handled = box.receive(ANNA, "Lopeta. Kiitos!")
    assert handled is not None and handled.kind == "opt_out"
    event = box.events("consent")[0]
    assert event["contact_id"] == "c-anna"
    # the already-queued notification is failed with the reason, reported up
    (first,) = [m for m in box.sent(ANNA) if m["purpose"] == "notification"]
    assert first["status"] == "failed" and first["error"] == "opted_out"
    status = [e for e in box.events("sms_status") if e.get("reason") == "opted_out"]
    assert status and status[0]["notification_id"] == "n-1" and status[0]["status"] == "failed"
    # only the confirmation is queued
    assert [m["purpose"] for m in box.sent(ANNA, status="queued")] == ["consent"]
    # every purpose is now blocked with a recorded reason
    assert {p: send_block_reason(store, ANNA, p) for p in PURPOSES if p != "consent"} == {
        p: "opted_out" for p in PURPOSES if p != "consent"
    }
    # a later notification from the central is refused and reported
    with store.transaction():
        later = accept_request(
            store, SETTINGS, {"notification_id": "n-2", "contact_id": "c-anna", "channel": "sms", "text": "Hi"},
            "env-2",
        )
    assert (later.status, later.reason) == ("refused", "opted_out")
    assert box.events("sms_status")[-1] == {"notification_id": "n-2", "status": "failed", "reason": "opted_out",
                                            "contact_id": "c-anna"}
    blocked = queue_sms(store, ANNA, "campaign text", purpose="campaign", language="fi")
    assert blocked.message_id is None and blocked.blocked == "opted_out"


def test_a_code_or_a_sentence_is_not_an_opt_out(box: Box) -> None:
    for text in ("STOP 1234", "please stop sending the results to my old number"):
        handled = box.receive(BARE, text)
        assert handled is not None and handled.kind == "sms_in"
    assert not is_opted_out(box.store, BARE) and box.sent(BARE) == [] and box.events("consent") == []


def test_yes_from_someone_who_never_opted_out_is_not_a_consent_change(box: Box) -> None:
    handled = box.receive(BARE, "YES")
    assert handled is not None and handled.kind == "sms_in" and box.events("consent") == []


def test_no_consent_blocks_what_the_lab_starts_itself(store: Store) -> None:
    add_contact(store, "c-no", ANNA, sms=False)
    assert send_block_reason(store, ANNA, "campaign") == "no_consent"
    assert send_block_reason(store, ANNA, "followup") == "no_consent"
    assert send_block_reason(store, ANNA, "complaint_ack") is None  # a reply to what they sent us
    assert send_block_reason(store, BARE, "campaign") is None
    with pytest.raises(ValueError, match="unknown SMS purpose"):
        send_block_reason(store, ANNA, "spam")


def test_help_answers_with_the_labs_contact_text(box: Box) -> None:
    assert box.receive(BARE, "HELP").kind == "help"  # type: ignore[union-attr]
    assert box.sent(BARE)[-1]["text"] == "Lab 3: Call 09 123 4567, Mon-Fri 8-16. Reply STOP to stop messages."
    assert box.receive(BARE, "apua").kind == "help"  # type: ignore[union-attr]
    assert box.sent(BARE)[-1]["text"].endswith("Vastaa LOPETA lopettaaksesi viestit.")
    box.receive(BARE, "stop")
    before = len(box.sent(BARE))
    handled = box.receive(BARE, "help")
    assert handled is not None and "opted_out" in handled.detail and len(box.sent(BARE)) == before


def test_cli_send_to_an_opted_out_number_needs_the_override(tmp_path: Path, data_store: Store) -> None:
    Box(data_store).receive(BARE, "STOP")
    refused = run_cli(tmp_path, "sms", "send", "--to", BARE, "--text", "Your results are ready")
    assert refused.returncode == 2 and "--override-opt-out" in refused.stderr and refused.stdout == ""
    forced = run_cli(tmp_path, "sms", "send", "--to", BARE, "--text", "Sorry: we need you to call us", "--json",
                     "--override-opt-out")
    assert forced.returncode == 0, forced.stderr
    assert "warning" in forced.stderr and "opted out" in forced.stderr
    message_id = json.loads(forced.stdout)["id"]
    purpose = data_store.conn.execute("SELECT purpose FROM sms_messages WHERE id = ?", (message_id,)).fetchone()
    assert purpose[0] == "manual_override"



def test_consent_withdrawn_at_the_central_blocks_the_queued_message(box: Box) -> None:
    store = box.store
    add_contact(store, "c-anna", ANNA, language="fi")
    with store.transaction():
        accept_request(store, SETTINGS, {"notification_id": "n-1", "contact_id": "c-anna", "channel": "sms",
                                         "template": "results_ready"}, "env-1")
    box.receive(ANNA, "VALITUS jono")  # an acknowledgement is a reply: it still goes
    add_contact(store, "c-anna", ANNA, language="fi", sms=False, version=2)
    by_purpose = {m["purpose"]: m for m in box.sent(ANNA)}
    assert (by_purpose["notification"]["status"], by_purpose["notification"]["error"]) == ("failed", "no_consent")
    assert by_purpose["complaint_ack"]["status"] == "queued"
    assert any(e.get("notification_id") == "n-1" and e.get("reason") == "no_consent"
               for e in box.events("sms_status"))


def test_a_deleted_contact_gets_nothing_more(box: Box) -> None:
    from appliance.contacts import apply_contact

    store = box.store
    add_contact(store, "c-anna", ANNA, language="fi")
    with store.transaction():
        accept_request(store, SETTINGS, {"notification_id": "n-1", "contact_id": "c-anna", "channel": "sms",
                                         "text": "Hei"}, "env-1")
        apply_contact(store, {"contact_id": "c-anna", "version": 2, "deleted": True}, "FI")
    (message,) = box.sent(ANNA)
    assert (message["status"], message["error"]) == ("failed", "contact_deleted")
