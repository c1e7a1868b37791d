"""The survey engine: one for SMS conversations, the phone keypad and the desk.

A *session* is one person taking one survey on one channel. ``start_session`` opens
it, ``answer`` feeds it one reply (an SMS text, a key, a desk entry), ``finish``
closes it and writes the one ``survey_reply`` uplink event (INTERFACES.md §3) in the
same transaction. Rules:

- One question at a time, in the session's language (``Question.text_for``).
- A reply the question's kind cannot read (``parse.py``) is asked once more; a second
  unreadable reply skips the question (no answer recorded for it) and goes on.
- Never two open sessions for the same person (number or contact; unique indexes in
  schema v5). Starting a second one: for ``sms`` it is refused (``SurveyBusy``: a
  conversation in progress is not cut by another); for ``call`` and ``desk`` the person
  is present now, so the older open session is finished incomplete and the new starts.
- A session with no reply for ``timeout`` (default 3 days, ``surveys.session_timeout_hours``)
  is finished with ``complete: false`` by ``expire_sessions``; a reply after that is
  not an answer (the inbound router keeps it as a plain message).

Everything here runs on the store thread; the SMS side (sending the questions) is in
``sms.py``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from appliance.errors import ValidationError
from appliance.store.outbox import EventOutbox
from appliance.surveys.parse import parse_answer
from appliance.timefmt import format_utc, utcnow

if TYPE_CHECKING:
    from appliance.store.db import Store

log = logging.getLogger(__name__)

SURVEY_REPLY_STREAM = "survey_reply"
CHANNELS = ("sms", "call", "desk")
DEFAULT_TIMEOUT = timedelta(days=3)


class SurveyBusy(ValidationError):
    """The person already has an open survey session."""

    def __init__(self, session_id: int) -> None:
        super().__init__(f"survey session {session_id} is still open for this person")
        self.session_id = session_id


def channel_name(channel: str) -> str:
    """``keypad`` is the same as ``call``; ValidationError for an unknown channel."""
    name = "call" if channel == "keypad" else channel
    if name not in CHANNELS:
        raise ValidationError(f"unknown survey channel {channel!r}; known are sms, call (keypad), desk")
    return name


@dataclass(frozen=True)
class Question:
    id: str
    kind: str  # scale, yes_no, text
    text: str | dict[str, str]
    scale_min: int = 1
    scale_max: int = 5

    def text_for(self, language: str | None) -> str:
        """The question in ``language`` (primary subtag), else English, else the first given."""
        if isinstance(self.text, str):
            return self.text
        tag = (language or "").lower()
        for key in (tag, tag.split("-", 1)[0], "en"):
            if key and key in self.text:
                return self.text[key]
        for key, value in self.text.items():
            if key.split("-", 1)[0].lower() == tag.split("-", 1)[0]:
                return value
        return next(iter(self.text.values()), "")


@dataclass(frozen=True)
class Survey:
    survey_id: str
    version: int
    title: str
    questions: list[Question]
    channels: tuple[str, ...] = CHANNELS
    active: bool = True

    @classmethod
    def from_definition(cls, data: dict[str, Any]) -> Survey:
        questions = [
            Question(
                id=str(q["id"]),
                kind=q["kind"],
                text=q["text"],
                scale_min=int(q.get("min", 1)),
                scale_max=int(q.get("max", 5)),
            )
            for q in data["questions"]
        ]
        title = data.get("title") or data["survey_id"]
        if isinstance(title, dict):
            title = title.get("en") or next(iter(title.values()), data["survey_id"])
        channels = tuple(dict.fromkeys(channel_name(c) for c in data.get("channels") or CHANNELS))
        return cls(
            survey_id=data["survey_id"],
            version=int(data["version"]),
            title=str(title),
            questions=questions,
            channels=channels,
            active=bool(data.get("active", True)),
        )


@dataclass
class SurveySession:
    session_id: int
    survey: Survey
    channel: str
    contact_id: str | None
    number: str | None
    language: str
    position: int
    reasked: bool
    answers: list[dict[str, Any]]
    status: str
    started_at: str
    last_activity_at: str
    notification_id: str | None = None

    def current_question(self) -> Question | None:
        if self.status != "open" or self.position >= len(self.survey.questions):
            return None
        return self.survey.questions[self.position]


@dataclass(frozen=True)
class AnswerResult:
    accepted: bool  # the reply was read and recorded
    reask: bool  # unreadable: the same question is asked once more
    next_question: Question | None  # what to ask now (None when finished)
    finished: bool
    value: Any = None
    skipped: bool = False  # unreadable twice: the question was left unanswered
    closed: bool = False  # the session was not open (late reply)
    position: int = 0  # index of next_question
    extra: dict[str, Any] = field(default_factory=dict)


# -- definitions ---------------------------------------------------------------------


def apply_survey(store: Store, data: dict[str, Any]) -> str:
    """Store a survey definition (``surveys`` downlink); an older or equal version is ignored."""
    Survey.from_definition(data)  # ValidationError for a definition the engine cannot run
    conn = store.conn
    row = conn.execute("SELECT version FROM surveys WHERE survey_id = ?", (data["survey_id"],)).fetchone()
    if row is not None and int(data["version"]) <= int(row[0]):
        return "ignored"
    conn.execute(
        "INSERT INTO surveys(survey_id, version, definition, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(survey_id) DO UPDATE SET version = excluded.version, "
        "definition = excluded.definition, updated_at = excluded.updated_at",
        (data["survey_id"], int(data["version"]), json.dumps(data, ensure_ascii=False, sort_keys=True), utcnow()),
    )
    return "applied"


def get_survey(store: Store, survey_id: str) -> Survey | None:
    row = store.conn.execute("SELECT definition FROM surveys WHERE survey_id = ?", (survey_id,)).fetchone()
    return None if row is None else Survey.from_definition(json.loads(row[0]))


def list_surveys(store: Store) -> list[Survey]:
    rows = store.conn.execute("SELECT definition FROM surveys ORDER BY updated_at DESC, survey_id").fetchall()
    return [Survey.from_definition(json.loads(r[0])) for r in rows]


def active_survey(store: Store, channel: str) -> Survey | None:
    """The newest active survey whose channels include ``channel`` (``keypad`` = ``call``)."""
    wanted = channel_name(channel)
    for survey in list_surveys(store):
        if survey.active and wanted in survey.channels:
            return survey
    return None


# -- sessions ------------------------------------------------------------------------

_SESSION_COLUMNS = (
    "session_id, survey_id, survey_version, channel, contact_id, number, language, position, reasked, "
    "answers, status, started_at, last_activity_at, notification_id, definition"
)


def _load(store: Store, where: str, params: tuple[Any, ...]) -> SurveySession | None:
    row = store.conn.execute(
        f"SELECT s.{_SESSION_COLUMNS.replace(', definition', '').replace(', ', ', s.')}, v.definition "
        f"FROM survey_sessions s LEFT JOIN surveys v ON v.survey_id = s.survey_id WHERE {where} "
        "ORDER BY s.session_id DESC LIMIT 1",
        params,
    ).fetchone()
    if row is None:
        return None
    if row[14] is None:
        raise ValidationError(f"survey {row[1]!r} of session {row[0]} is not defined")
    survey = Survey.from_definition(json.loads(row[14]))
    return SurveySession(
        session_id=int(row[0]),
        survey=survey,
        channel=row[3],
        contact_id=row[4],
        number=row[5],
        language=row[6],
        position=int(row[7]),
        reasked=bool(row[8]),
        answers=json.loads(row[9]),
        status=row[10],
        started_at=row[11],
        last_activity_at=row[12],
        notification_id=row[13],
    )


def get_session(store: Store, session_id: int) -> SurveySession | None:
    return _load(store, "s.session_id = ?", (session_id,))


def open_session_for(store: Store, *, number: str | None = None, contact_id: str | None = None) -> SurveySession | None:
    """The open session of this number (or contact), if any."""
    if number is not None:
        found = _load(store, "s.status = 'open' AND s.number = ?", (number,))
        if found is not None:
            return found
    if contact_id is not None:
        return _load(store, "s.status = 'open' AND s.contact_id = ?", (contact_id,))
    return None


def start_session(
    store: Store,
    survey_id: str,
    channel: str,
    *,
    contact_id: str | None = None,
    number: str | None = None,
    language: str,
    notification_id: str | None = None,
    supersede: bool | None = None,
) -> SurveySession:
    """Open a session (see the module rules for a person who already has one open)."""
    channel = channel_name(channel)
    survey = get_survey(store, survey_id)
    if survey is None:
        raise ValidationError(f"unknown survey {survey_id!r}")
    if supersede is None:
        supersede = channel != "sms"
    with store.transaction():
        for existing in {
            s.session_id: s
            for s in (
                open_session_for(store, number=number) if number else None,
                open_session_for(store, contact_id=contact_id) if contact_id else None,
            )
            if s is not None
        }.values():
            if not supersede:
                raise SurveyBusy(existing.session_id)
            log.info("survey session %d superseded by a new %s session", existing.session_id, channel)
            finish(store, existing.session_id, complete=False, reason="superseded")
        now = utcnow()
        cur = store.conn.execute(
            "INSERT INTO survey_sessions(survey_id, survey_version, channel, contact_id, number, language, "
            "notification_id, started_at, last_activity_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (survey.survey_id, survey.version, channel, contact_id, number, language or "", notification_id, now, now),
        )
        session_id = int(cur.lastrowid or 0)
    session = get_session(store, session_id)
    assert session is not None
    return session


def answer(store: Store, session_id: int, raw: str) -> AnswerResult:
    """Feed one reply to the session's current question (see the module rules)."""
    with store.transaction():
        session = get_session(store, session_id)
        if session is None:
            raise ValidationError(f"no survey session {session_id}")
        question = session.current_question()
        if question is None:
            return AnswerResult(False, False, None, True, closed=True, position=session.position)
        value = parse_answer(question.kind, raw, question.scale_min, question.scale_max)
        now = utcnow()
        if value is None and not session.reasked:
            store.conn.execute(
                "UPDATE survey_sessions SET reasked = 1, last_activity_at = ? WHERE session_id = ?",
                (now, session_id),
            )
            return AnswerResult(False, True, question, False, position=session.position)
        answers = list(session.answers)
        if value is not None:
            answers.append({"question_id": question.id, "value": value})
        position = session.position + 1
        store.conn.execute(
            "UPDATE survey_sessions SET position = ?, reasked = 0, answers = ?, last_activity_at = ? "
            "WHERE session_id = ?",
            (position, json.dumps(answers, ensure_ascii=False), now, session_id),
        )
        done = position >= len(session.survey.questions)
        if done:
            finish(store, session_id, complete=True)
        next_question = None if done else session.survey.questions[position]
        return AnswerResult(
            value is not None, False, next_question, done, value=value, skipped=value is None, position=position
        )


def finish(store: Store, session_id: int, complete: bool, *, reason: str | None = None) -> None:
    """Close the session and write its one ``survey_reply`` event. A second call does nothing."""
    with store.transaction():
        session = get_session(store, session_id)
        if session is None or session.status != "open":
            return
        now = utcnow()
        status = "complete" if complete else "incomplete"
        store.conn.execute(
            "UPDATE survey_sessions SET status = ?, finished_at = ? WHERE session_id = ?",
            (status, now, session_id),
        )
        data: dict[str, Any] = {
            "survey_id": session.survey.survey_id,
            "survey_version": session.survey.version,
            "session_id": session_id,
            "contact_id": session.contact_id,
            "channel": session.channel,
            "language": session.language,
            "answers": session.answers,
            "complete": complete,
            "started_at": session.started_at,
            "finished_at": now,
        }
        if session.contact_id is None and session.number:
            data["number"] = session.number
        if session.notification_id:
            data["notification_id"] = session.notification_id
        if reason:
            data["reason"] = reason
        EventOutbox(store).append(SURVEY_REPLY_STREAM, data)
    log.info(
        "survey session %d (%s, %s) finished %s with %d answer(s)",
        session_id, session.survey.survey_id, session.channel, status, len(session.answers),
    )


def expire_sessions(store: Store, timeout: timedelta = DEFAULT_TIMEOUT, now: datetime | None = None) -> list[int]:
    """Finish (incomplete, reason ``timeout``) every open session silent for ``timeout``."""
    cutoff = format_utc((now or datetime.now(UTC)) - timeout)
    rows = store.conn.execute(
        "SELECT session_id FROM survey_sessions WHERE status = 'open' AND last_activity_at <= ? LIMIT 1000",
        (cutoff,),
    ).fetchall()
    for (session_id,) in rows:
        finish(store, int(session_id), complete=False, reason="timeout")
    return [int(r[0]) for r in rows]
