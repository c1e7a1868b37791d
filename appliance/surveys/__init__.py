"""Surveys: one engine for SMS, the phone keypad and the desk (DOMAIN.md "Surveys")."""

from appliance.surveys.engine import (
    SURVEY_REPLY_STREAM,
    AnswerResult,
    Question,
    Survey,
    SurveyBusy,
    SurveySession,
    active_survey,
    answer,
    apply_survey,
    expire_sessions,
    finish,
    get_session,
    get_survey,
    list_surveys,
    open_session_for,
    start_session,
)
from appliance.surveys.figures import survey_figures

__all__ = [
    "SURVEY_REPLY_STREAM",
    "AnswerResult",
    "Question",
    "Survey",
    "SurveyBusy",
    "SurveySession",
    "active_survey",
    "answer",
    "apply_survey",
    "expire_sessions",
    "finish",
    "get_session",
    "get_survey",
    "list_surveys",
    "open_session_for",
    "start_session",
    "survey_figures",
]
