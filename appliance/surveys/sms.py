"""Surveys by SMS: the engine's conversation carried over text messages (store thread).

``start_sms_survey`` opens a session, sends the introduction (when given) and the first
question; ``answer_sms`` feeds a received text to the open session and sends what comes
next (the next question, the same one once more, or the thanks). Every SMS goes through
``consent.queue_sms`` (purpose ``survey``), in the session's language, which is stored
with each message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from appliance.consent.core import queue_sms, send_block_reason
from appliance.errors import ValidationError
from appliance.notifications.texts import say
from appliance.surveys.engine import (
    AnswerResult,
    Question,
    SurveyBusy,
    SurveySession,
    answer,
    finish,
    get_survey,
    start_session,
)

if TYPE_CHECKING:
    from appliance.store.db import Store


def question_text(question: Question, index: int, total: int, language: str, lab: str, *, reask: bool = False) -> str:
    """The SMS asking ``question`` (``index`` 0-based of ``total``), framed in ``language``."""
    if question.kind == "scale":
        hint = say("survey_hint_scale", language, low=question.scale_min, high=question.scale_max)
    elif question.kind == "yes_no":
        hint = say("survey_hint_yes_no", language)
    else:
        hint = ""
    text = say(
        "survey_question", language, lab=lab, number=index + 1, total=total,
        question=question.text_for(language), hint=hint,
    )
    return say("survey_reask", language) + text if reask else text


@dataclass(frozen=True)
class SmsSurveyStart:
    session: SurveySession | None
    blocked: str | None = None  # why nothing was started (opted_out, no_consent, survey_in_progress)


def start_sms_survey(
    store: Store,
    survey_id: str,
    number: str,
    *,
    language: str,
    lab: str,
    contact_id: str | None = None,
    intro: str | None = None,
    notification_id: str | None = None,
    not_before: str | None = None,
    expires_at: str | None = None,
) -> SmsSurveyStart:
    """Start ``survey_id`` with ``number`` by SMS: the intro (if any), then question 1."""
    survey = get_survey(store, survey_id)
    if survey is None:
        raise ValidationError(f"unknown survey {survey_id!r}")
    if not survey.questions:
        raise ValidationError(f"survey {survey_id!r} has no questions")
    reason = send_block_reason(store, number, "survey")
    if reason is not None:
        return SmsSurveyStart(None, reason)
    with store.transaction():
        try:
            session = start_session(
                store, survey_id, "sms", contact_id=contact_id, number=number, language=language,
                notification_id=notification_id,
            )
        except SurveyBusy:
            return SmsSurveyStart(None, "survey_in_progress")
        first = question_text(survey.questions[0], 0, len(survey.questions), language, lab)
        # the notification's id goes on the first message (the central's sms_status key)
        for i, text in enumerate([intro, first] if intro else [first]):
            queue_sms(
                store, number, text, purpose="survey", language=language, contact_id=contact_id,
                notification_id=notification_id if i == 0 else None, not_before=not_before,
                expires_at=expires_at,
            )
    return SmsSurveyStart(session)


def answer_sms(store: Store, session: SurveySession, raw: str, lab: str) -> AnswerResult:
    """Feed ``raw`` to ``session`` and send the next question, the re-ask or the thanks."""
    with store.transaction():
        result = answer(store, session.session_id, raw)
        number = session.number
        if number is None or result.closed:
            return result
        total = len(session.survey.questions)
        if result.next_question is not None:
            text = question_text(
                result.next_question, result.position, total, session.language, lab, reask=result.reask
            )
        else:
            text = say("survey_thanks", session.language, lab=lab)
        queue_sms(store, number, text, purpose="survey", language=session.language, contact_id=session.contact_id)
    return result


def stop_sms_survey(store: Store, session: SurveySession, reason: str) -> None:
    """End a conversation without sending anything more (opt-out, a complaint, ...)."""
    finish(store, session.session_id, complete=False, reason=reason)
