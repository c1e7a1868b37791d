"""The workflow pages: complaints (history, desk form), surveys (figures), follow-up calls.

They read and write through the workflow domain packages (docs/DOMAIN.md):
``complaints``, ``surveys``, ``contacts``, ``consent``, ``followups`` and
``calls.jobs``. A phone number never goes into a URL: forms post it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
from typing import TYPE_CHECKING, Any

from aiohttp import web

from appliance.contacts.store import find_by_number
from appliance.errors import QueueFull, ValidationError
from appliance.phone import to_e164

if TYPE_CHECKING:
    from appliance.store.db import Store

log = logging.getLogger(__name__)

CALL_OUTCOMES = ("answered", "no_answer", "busy", "declined")  # appliance.followups.followups.CALL_OUTCOMES
MISSED_DAYS = 7
LIST_LIMIT = 200


# -- store-thread reads ----------------------------------------------------------------------------


def complaints_view(store: Store, status: str | None) -> dict[str, Any]:
    from appliance.complaints import core

    rows = [c.as_dict() for c in core.list_complaints(store, status=status or None, limit=LIST_LIMIT)]
    for row in rows:
        row["history"] = core.history(store, row["complaint_id"])
    return {"rows": rows, "figures": core.complaint_figures(store), "statuses": core.STATUSES}


def surveys_view(store: Store) -> dict[str, Any]:
    from appliance.surveys import engine, figures

    surveys = {s.survey_id: s for s in engine.list_surveys(store)}
    return {"surveys": surveys, "figures": figures.survey_figures(store)}


def due_callbacks(store: Store) -> dict[str, Any]:
    """Call-backs due: call requests from the central, follow-up calls due, missed calls not yet
    called back, and every active follow-up schedule."""
    from appliance.calls import jobs

    requests = jobs.pending_callbacks(store)
    since = store.conn.execute(f"SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-{MISSED_DAYS} days')").fetchone()[0]
    missed = [
        dict(zip(("call_id", "number", "caller_name", "started_at"), r, strict=True))
        for r in store.conn.execute(
            "SELECT c.id, c.number, c.caller_name, c.started_at FROM calls c WHERE c.direction = 'in' "
            "AND c.outcome = 'missed' AND c.number IS NOT NULL AND c.started_at >= ? AND NOT EXISTS ("
            "SELECT 1 FROM calls o WHERE o.direction = 'out' AND o.number = c.number AND o.started_at > c.started_at"
            ") ORDER BY c.id DESC LIMIT ?",
            (since, LIST_LIMIT),
        )
    ]
    followups: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    with contextlib.suppress(ImportError, sqlite3.Error):
        from appliance.followups.followups import due_calls, list_followups

        followups = [f.as_dict() for f in list_followups(store, status="active", limit=LIST_LIMIT)]
        calls = due_calls(store, limit=LIST_LIMIT)
    for card in calls:  # how the desk's last dial of this attempt went, to help record the outcome
        row = store.conn.execute(
            "SELECT CASE WHEN ended_at IS NULL THEN 'calling' ELSE outcome END, started_at FROM calls "
            "WHERE direction = 'out' AND number = ? AND started_at >= ? ORDER BY id DESC LIMIT 1",
            (card["number"], card["due_at"] or ""),
        ).fetchone()
        card["last_call"] = {"outcome": row[0] or "failed", "started_at": row[1]} if row else None
    return {"requests": requests, "missed": missed, "followups": followups, "calls": calls,
            "outcomes": CALL_OUTCOMES}


def call_survey_context(store: Store, session: Any) -> dict[str, Any] | None:
    """The follow-up call a desk survey session was opened for (None for a plain desk survey)."""
    from appliance.followups.followups import get_followup

    if session is None or session.channel != "desk" or not session.notification_id:
        return None
    fu = get_followup(store, session.notification_id)
    if fu is None or fu.channel != "call":
        return None
    recorded = next((r for r in fu.reminders if r.get("session_id") == session.session_id), None)
    name = None
    if fu.contact_id:
        row = store.conn.execute("SELECT name FROM contacts WHERE contact_id = ?", (fu.contact_id,)).fetchone()
        name = row[0] if row else None
    return {"followup_id": fu.followup_id, "name": name, "status": fu.status, "attempt": fu.sent_count + 1,
            "max_times": fu.schedule.max_times, "recorded": recorded}


def open_desk_survey(store: Store, number: str | None, language: str) -> int | None:
    """A desk survey session for the caller (the active survey for channel desk); its id."""
    from appliance.surveys import engine

    survey = engine.active_survey(store, "desk")
    if survey is None:
        return None
    contact = find_by_number(store, number) if number else None
    session = engine.start_session(
        store, survey.survey_id, "desk", contact_id=contact.contact_id if contact else None, number=number,
        language=(contact.language if contact and contact.language else language),
    )
    return session.session_id


def survey_session(store: Store, session_id: int) -> Any:
    from appliance.surveys import engine

    return engine.get_session(store, session_id)


def survey_answer(store: Store, session_id: int, raw: str, settings: Any = None, staff: str = "") -> Any:
    """One desk answer; a follow-up call's survey completed records the attempt as answered."""
    from appliance.followups.followups import record_call_outcome
    from appliance.surveys import engine

    result = engine.answer(store, session_id, raw)
    if result.finished:
        engine.finish(store, session_id, True)
        session = engine.get_session(store, session_id)
        call = call_survey_context(store, session)
        if settings is not None and call and call["status"] == "active" and call["recorded"] is None:
            try:
                record_call_outcome(store, settings, call["followup_id"], "answered", staff=staff,
                                    session_id=session_id)
            except ValidationError as err:  # stopped by the central meanwhile: the answers went up anyway
                log.warning("survey session %d: follow-up call not recorded: %s", session_id, err)
    return result


def survey_stop(store: Store, session_id: int) -> None:
    from appliance.surveys import engine

    engine.finish(store, session_id, False, reason="desk")


# -- handlers ------------------------------------------------------------------------------------


class WorkflowPages:
    """Route handlers mixed into :class:`~appliance.web.server.WebService`."""

    def add_workflow_routes(self: Any, app: web.Application) -> None:
        r = app.router
        r.add_get("/complaints", self.complaints_page)
        r.add_post("/complaints", self.complaint_submit)
        r.add_get("/surveys", self.surveys_page)
        r.add_get("/followups", self.followups_page)
        r.add_post("/followups/outcome", self.followup_outcome)
        r.add_post("/followups/callback", self.call_request_dial)
        r.add_post("/survey/start", self.survey_start)
        r.add_get("/survey/{session_id}", self.survey_page)
        r.add_post("/survey/{session_id}", self.survey_submit)

    async def complaints_page(self: Any, request: web.Request) -> web.Response:
        status = request.query.get("status", "")
        status = status if re.fullmatch(r"[a-z_]{3,30}", status) else ""
        view = await self.ctx.store.run(complaints_view, self.ctx.store, status)
        return self._render(request, "complaints.html", status=status, error="", **view)

    async def complaint_submit(self: Any, request: web.Request) -> web.StreamResponse:
        from appliance.complaints import core
        from appliance.web.server import USER

        body = await self._body(request)
        user = request[USER]
        anonymous = body.get("anonymous") in ("1", "on", True)
        number = None
        raw = str(body.get("number", "")).strip()
        try:
            if raw and not anonymous:
                number = to_e164(raw, self.ctx.config.site.country)
            complaint = await self.ctx.store.run(
                lambda: core.open_complaint(
                    self.ctx.store, channel="desk", text=str(body.get("text", "")), number=number,
                    anonymous=anonymous, language=str(body.get("language") or "") or None, staff=user.username,
                    lab=self.ctx.config.site.name or self.ctx.config.site.id,
                )
            )
        except ValidationError as err:
            view = await self.ctx.store.run(complaints_view, self.ctx.store, "")
            response = self._render(request, "complaints.html", status="", error=str(err), **view)
            response.set_status(400)
            return response
        await self._audit(request, "complaint", f"complaint {complaint.reference}")
        self.hub.poke()
        return self._done(request, {"reference": complaint.reference}, "/complaints")

    async def surveys_page(self: Any, request: web.Request) -> web.Response:
        view = await self.ctx.store.run(surveys_view, self.ctx.store)
        return self._render(request, "surveys.html", **view)

    async def followups_page(self: Any, request: web.Request) -> web.Response:
        view = await self.ctx.store.run(due_callbacks, self.ctx.store)
        return self._render(request, "followups.html", **view)

    async def followup_outcome(self: Any, request: web.Request) -> web.StreamResponse:
        """The desk records how a follow-up call attempt ended (answered, no answer, busy, declined)."""
        from appliance.followups.followups import FollowupSettings, record_call_outcome
        from appliance.web.server import USER

        body = await self._body(request)
        followup_id = str(body.get("followup_id", ""))[:160]
        outcome = str(body.get("outcome", ""))[:20]
        raw_session = str(body.get("session_id", "") or "")
        settings = FollowupSettings.from_config(self.ctx.config)
        try:
            if raw_session and not raw_session.isdigit():
                raise ValidationError(f"session_id: expected a number, got {raw_session[:20]!r}")
            result = await self.ctx.store.run(
                lambda: record_call_outcome(
                    self.ctx.store, settings, followup_id, outcome, staff=request[USER].username,
                    session_id=int(raw_session) if raw_session else None,
                )
            )
        except ValidationError as err:
            return web.json_response({"error": str(err)}, status=400)
        await self._audit(request, "followup_call", f"follow-up {followup_id}",
                          f"attempt {result['n']}: {outcome}; schedule {result['status']}")
        self.hub.poke()
        return self._done(request, result, "/followups")

    async def call_request_dial(self: Any, request: web.Request) -> web.StreamResponse:
        """Call back a call request from the central: the dial job carries the request, so its outcome
        (answered, busy, no answer) goes up on ``call_request`` and the request leaves the list."""
        from appliance.calls import jobs

        body = await self._body(request)
        notification_id = str(body.get("notification_id", ""))[:160]
        if self.ctx.config.line.driver == "none":
            return web.json_response({"error": "there is no phone line (line.driver = none)"}, status=409)
        try:
            job_id = await self.ctx.store.run(jobs.queue_callback, self.ctx.store, notification_id)
        except (QueueFull, ValueError) as err:
            return web.json_response({"error": str(err)}, status=409)
        await self._audit(request, "callback", f"call request {notification_id}", f"call job {job_id}")
        self.hub.poke()
        return self._done(request, {"job_id": job_id}, "/followups")

    async def survey_start(self: Any, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        followup_id = str(body.get("followup_id", "") or "")[:160]
        if followup_id:
            from appliance.followups.followups import start_call_survey

            try:
                call_session = await self.ctx.store.run(start_call_survey, self.ctx.store, followup_id)
            except ValidationError as err:
                return web.json_response({"error": str(err)}, status=409)
            await self._audit(request, "survey_start", f"session {call_session}", f"follow-up {followup_id}")
            raise web.HTTPSeeOther(f"/survey/{call_session}")
        raw = str(body.get("number", "")).strip()
        try:
            number = to_e164(raw, self.ctx.config.site.country) if raw else None
        except ValidationError as err:
            return web.json_response({"error": str(err)}, status=400)
        session_id = await self.ctx.store.run(open_desk_survey, self.ctx.store, number, "en")
        if session_id is None:
            return web.json_response({"error": "no active survey for the desk channel"}, status=409)
        await self._audit(request, "survey_start", f"session {session_id}")
        raise web.HTTPSeeOther(f"/survey/{session_id}")

    async def survey_page(self: Any, request: web.Request) -> web.Response:
        raw = request.match_info["session_id"]
        session = await self.ctx.store.run(survey_session, self.ctx.store, int(raw)) if raw.isdigit() else None
        if session is None:
            raise web.HTTPNotFound()
        question = session.current_question() if session.status == "open" else None
        call = await self.ctx.store.run(call_survey_context, self.ctx.store, session)
        return self._render(
            request, "survey.html", session=session, question=question,
            question_text=question.text_for(session.language) if question else "", call=call,
            outcomes=CALL_OUTCOMES,
        )

    async def survey_submit(self: Any, request: web.Request) -> web.StreamResponse:
        raw_id = request.match_info["session_id"]
        if not raw_id.isdigit() or await self.ctx.store.run(survey_session, self.ctx.store, int(raw_id)) is None:
            raise web.HTTPNotFound(text=f"no survey session {raw_id[:20]}")
        body = await self._body(request)
        if body.get("stop"):
            await self.ctx.store.run(survey_stop, self.ctx.store, int(raw_id))
            await self._audit(request, "survey_stop", f"session {raw_id}")
        else:
            from appliance.followups.followups import FollowupSettings
            from appliance.web.server import USER

            settings = FollowupSettings.from_config(self.ctx.config)
            result = await self.ctx.store.run(
                survey_answer, self.ctx.store, int(raw_id), str(body.get("answer", ""))[:500], settings,
                request[USER].username,
            )
            if result.finished and not result.closed:
                await self._audit(request, "survey_done", f"session {raw_id}")
        raise web.HTTPSeeOther(f"/survey/{raw_id}")

