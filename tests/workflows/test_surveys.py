"""The survey engine: SMS conversations (garbage, late and duplicate replies, timeout), keypad, figures."""
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from appliance.errors import ValidationError
from appliance.notifications.requests import accept_request
from appliance.store.db import Store
from appliance.surveys import (
    SurveyBusy,
    active_survey,
    answer,
    apply_survey,
    expire_sessions,
    finish,
    get_session,
    open_session_for,
    start_session,
    survey_figures,
)
from appliance.surveys.parse import parse_scale, parse_yes_no
from tests.workflows.conftest import ANNA, SETTINGS, Box, add_contact

SURVEY = {
    "survey_id": "sat-2026",
    "version": 1,
    "title": "Satisfaction",
    "channels": ["sms", "keypad"],
    "questions": [
        {"id": "q1", "kind": "scale", "text": {"en": "How was your visit?", "fi": "Miten käyntisi sujui?"}},
        {"id": "q2", "kind": "yes_no", "text": {"en": "Would you come again?", "fi": "Tulisitko uudelleen?"}},
        {"id": "q3", "kind": "text", "text": {"en": "Anything else?", "fi": "Muuta kerrottavaa?"}},
    ],
}


def define(store: Store, survey: dict | None = None) -> None:
    with store.transaction():
        apply_survey(store, survey or SURVEY)


def start_by_notification(store: Store, nid: str = "n-1", **data: object) -> str:
    with store.transaction():
        return accept_request(
            store, SETTINGS,
            {"notification_id": nid, "channel": "sms", "contact_id": "c-anna", "survey_id": "sat-2026", **data},
            f"env-{nid}",
        ).status


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("4", 4), (" 5 ", 5), ("４", 4), ("four", 4), ("Neljä", 4), ("fyra", 4), ("四", 4), ("五", 5),
        ("I'd say 3", 3), ("3/5", 3), ("3 out of 5", 3), ("kolme!", 3), ("två", 2), ("一", 1),
        ("0", None), ("6", None), ("7", None), ("3 or 4", None), ("good", None), ("", None), ("👍", None),
    ],
)
def test_scale_replies_in_four_languages(raw: str, value: int | None) -> None:
    assert parse_scale(raw, 1, 5) == value


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("yes", True), ("Yes!", True), ("kyllä", True), ("Joo", True), ("ja", True), ("是", True), ("是的", True),
        ("1", True), ("no", False), ("EI", False), ("nej", False), ("不", False), ("不是", False), ("否", False),
        ("2", False), ("maybe", None), ("3", None), ("", None),
    ],
)
def test_yes_no_replies_in_four_languages(raw: str, value: bool | None) -> None:
    assert parse_yes_no(raw) is value if value is not None else parse_yes_no(raw) is None


def test_sms_conversation_with_garbage_duplicate_late_replies(box: Box) -> None:
    store = box.store
    define(store)
    add_contact(store, "c-anna", ANNA, language="fi")
    assert start_by_notification(store, text="Hei! Lyhyt kysely käynnistäsi.") == "queued"
    first = box.sent(ANNA)
    assert [m["text"] for m in first] == [
        "Hei! Lyhyt kysely käynnistäsi.",
        "Lab 3 (1/3): Miten käyntisi sujui? Vastaa 1-5.",
    ]
    assert {m["language"] for m in first} == {"fi"} and {m["purpose"] for m in first} == {"survey"}

    # garbage: asked once more
    handled = box.receive(ANNA, "mitä?")
    assert handled is not None and handled.kind == "survey" and "asked again" in handled.detail
    assert box.sent(ANNA)[-1]["text"].startswith("Emme ymmärtäneet vastaustasi. Lab 3 (1/3)")
    # readable
    assert box.receive(ANNA, "neljä").kind == "survey"  # type: ignore[union-attr]
    assert box.sent(ANNA)[-1]["text"] == "Lab 3 (2/3): Tulisitko uudelleen? Vastaa KYLLÄ tai EI."
    # the same message routed twice changes nothing
    message_id = store.conn.execute("SELECT MAX(id) FROM sms_messages WHERE box = 'inbox'").fetchone()[0]
    assert box.router.route(store, message_id) is None
    # garbage twice on one question: skipped, goes on
    box.receive(ANNA, "hmm")
    box.receive(ANNA, "en tiedä")
    assert box.sent(ANNA)[-1]["text"] == "Lab 3 (3/3): Muuta kerrottavaa?"
    box.receive(ANNA, "Kiitos, hyvä palvelu")
    assert box.sent(ANNA)[-1]["text"] == "Lab 3: kiitos vastauksistasi."
    replies = box.events("survey_reply")
    assert len(replies) == 1
    reply = replies[0]
    assert reply["complete"] is True and reply["channel"] == "sms" and reply["contact_id"] == "c-anna"
    assert reply["answers"] == [
        {"question_id": "q1", "value": 4},
        {"question_id": "q3", "value": "Kiitos, hyvä palvelu"},
    ]
    # a late reply is a plain message, not an answer, and changes no reply
    sent_before = len(box.sent(ANNA))
    late = box.receive(ANNA, "5")
    assert late is not None and late.kind == "sms_in"
    assert len(box.sent(ANNA)) == sent_before and len(box.events("survey_reply")) == 1


def test_silence_times_out_with_the_answers_so_far(box: Box) -> None:
    store = box.store
    define(store)
    add_contact(store, "c-anna", ANNA, language="en")
    start_by_notification(store)
    box.receive(ANNA, "5")
    assert expire_sessions(store, timedelta(days=3)) == []  # not yet
    later = datetime.now(UTC) + timedelta(days=3, minutes=1)
    (session_id,) = expire_sessions(store, timedelta(days=3), now=later)
    reply = box.events("survey_reply")[0]
    assert reply["complete"] is False and reply["reason"] == "timeout"
    assert reply["answers"] == [{"question_id": "q1", "value": 5}]
    assert get_session(store, session_id).status == "incomplete"  # type: ignore[union-attr]
    finish(store, session_id, complete=True)  # idempotent: nothing more goes up
    assert len(box.events("survey_reply")) == 1
    late = box.receive(ANNA, "yes")
    assert late is not None and late.kind == "sms_in" and "ended" in late.detail


def test_never_two_open_surveys_for_one_contact(box: Box) -> None:
    store = box.store
    define(store)
    add_contact(store, "c-anna", ANNA, language="en")
    assert start_by_notification(store, "n-1") == "queued"
    assert start_by_notification(store, "n-2") == "refused"
    status = box.events("sms_status")[-1]
    assert status == {"notification_id": "n-2", "status": "failed", "reason": "survey_in_progress",
                      "contact_id": "c-anna"}
    with pytest.raises(SurveyBusy):
        start_session(store, "sat-2026", "sms", contact_id="c-anna", number=ANNA, language="en")
    # the keypad: the person is on the line now, the SMS conversation ends incomplete
    call = start_session(store, "sat-2026", "keypad", contact_id="c-anna", number=ANNA, language="en")
    assert call.channel == "call"
    assert box.events("survey_reply")[0]["reason"] == "superseded"
    assert open_session_for(store, contact_id="c-anna").session_id == call.session_id  # type: ignore[union-attr]


def test_keypad_run_for_the_phone_line(store: Store) -> None:
    define(store)
    survey = active_survey(store, "call")
    assert survey is not None and active_survey(store, "desk") is None
    session = start_session(store, survey.survey_id, "call", number="+358401110000", language="fi")
    assert session.current_question().text_for("fi") == "Miten käyntisi sujui?"  # type: ignore[union-attr]
    r = answer(store, session.session_id, "9")
    assert r.reask and not r.accepted
    r = answer(store, session.session_id, "4")
    assert r.accepted and r.next_question is not None and r.next_question.kind == "yes_no"
    r = answer(store, session.session_id, "2")
    assert r.accepted and r.value is False
    r = answer(store, session.session_id, "1")  # a text question on the keypad takes the keys
    assert r.finished
    assert answer(store, session.session_id, "3").closed


def test_figures_response_rate_and_means(store: Store) -> None:
    define(store)
    for i, (q1, q2) in enumerate([("5", "1"), ("3", "2"), (None, None)]):
        s = start_session(store, "sat-2026", "call", number=f"+35840111000{i}", language="en")
        if q1:
            answer(store, s.session_id, q1)
            answer(store, s.session_id, q2)
        finish(store, s.session_id, complete=False)
    figures = survey_figures(store, "sat-2026")
    fig = figures["surveys"]["sat-2026"]
    assert fig["sessions"] == 3 and fig["responded"] == 2 and fig["response_rate"] == pytest.approx(2 / 3, 1e-3)
    assert fig["questions"]["q1"]["mean"] == 4.0 and fig["questions"]["q2"]["yes_share"] == 0.5
    assert figures["mean_score"] == 4.0 and figures["responses"] == 2


def test_a_survey_definition_the_engine_cannot_run_is_refused(store: Store) -> None:
    bad = {**SURVEY, "survey_id": "bad", "channels": ["fax"]}
    with pytest.raises(ValidationError, match="fax"):
        define(store, bad)
