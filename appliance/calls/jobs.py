"""Outbound call jobs: asked for by any process, dialed by the daemon's call part.

``appliance calls dial`` (another process) or the page calls :func:`queue_dial`;
the daemon's :class:`~appliance.calls.service.CallsService` claims queued jobs
(:func:`claim_next`), tries the numbers in order and appends each attempt's
``calls.id`` (:func:`add_attempt`) as it dials, so the asking process can print
the ids as they are made (:func:`get_job`).

Call-backs: call requests from the central (``call_requests``, filled by
``channel: "call"`` notifications) are listed for the desk by
:func:`pending_callbacks`; dialing one reports on the ``call_request`` stream.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from appliance.store.db import utcnow
from appliance.store.outbox import EventOutbox

if TYPE_CHECKING:
    from appliance.store.db import Store

log = logging.getLogger(__name__)

WAKEUP_CALL_JOBS = "call_jobs"
CALL_REQUEST_STREAM = "call_request"
MAX_NUMBERS = 8  # numbers of one contact tried in one job
MAX_QUEUED_JOBS = 100  # a runaway script cannot queue a day of dialing


@dataclass(frozen=True)
class CallJob:
    job_id: int
    numbers: list[str]
    contact_id: str | None
    notification_id: str | None
    status: str
    outcome: str | None
    attempts: list[int]
    error: str | None


def queue_dial(
    store: Store,
    numbers: list[str],
    *,
    contact_id: str | None = None,
    notification_id: str | None = None,
    requested_by: str = "cli",
) -> int:
    """Queue an outbound call to ``numbers`` (E.164, tried in order); returns the job id."""
    from appliance.errors import QueueFull

    if not numbers:
        raise ValueError("nothing to dial: no number")
    numbers = list(dict.fromkeys(numbers))[:MAX_NUMBERS]
    now = utcnow()
    with store.transaction(durable=True):
        (queued,) = store.conn.execute(
            "SELECT COUNT(*) FROM call_jobs WHERE status IN ('queued', 'dialing')"
        ).fetchone()
        if queued >= MAX_QUEUED_JOBS:
            raise QueueFull(f"{queued} outbound calls already wait; try again later")
        cur = store.conn.execute(
            "INSERT INTO call_jobs(numbers, contact_id, notification_id, requested_by, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (json.dumps(numbers), contact_id, notification_id, requested_by, now, now),
        )
        store.signal_after_commit(WAKEUP_CALL_JOBS)
    return int(cur.lastrowid or 0)


def _job(row: tuple[Any, ...]) -> CallJob:
    job_id, numbers, contact_id, notification_id, status, outcome, attempts, error = row
    return CallJob(job_id, json.loads(numbers), contact_id, notification_id, status, outcome,
                   json.loads(attempts), error)


_JOB_COLS = "id, numbers, contact_id, notification_id, status, outcome, attempts, error"


def get_job(store: Store, job_id: int) -> CallJob | None:
    row = store.conn.execute(f"SELECT {_JOB_COLS} FROM call_jobs WHERE id = ?", (job_id,)).fetchone()
    return _job(row) if row else None


def claim_next(store: Store) -> CallJob | None:
    """The oldest queued job, now marked ``dialing``; None when none waits."""
    # polled every second: a plain read first, the write lock only when a job waits
    if store.conn.execute("SELECT 1 FROM call_jobs WHERE status = 'queued' LIMIT 1").fetchone() is None:
        return None
    with store.transaction():
        row = store.conn.execute(
            f"SELECT {_JOB_COLS} FROM call_jobs WHERE status = 'queued' ORDER BY id LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        store.conn.execute("UPDATE call_jobs SET status = 'dialing', updated_at = ? WHERE id = ?",
                           (utcnow(), row[0]))
    job = _job(row)
    return CallJob(job.job_id, job.numbers, job.contact_id, job.notification_id, "dialing", None, [], None)


def add_attempt(store: Store, job_id: int, call_id: int) -> None:
    with store.transaction(durable=True):
        (attempts,) = store.conn.execute("SELECT attempts FROM call_jobs WHERE id = ?", (job_id,)).fetchone()
        ids = [*json.loads(attempts), call_id]
        store.conn.execute("UPDATE call_jobs SET attempts = ?, updated_at = ? WHERE id = ?",
                           (json.dumps(ids), utcnow(), job_id))


def finish_job(store: Store, job: CallJob, outcome: str, error: str | None = None) -> None:
    """End a job; a call request from the central gets its ``call_request`` event in the same commit."""
    status = "done" if error is None else "failed"
    with store.transaction(durable=True):
        store.conn.execute(
            "UPDATE call_jobs SET status = ?, outcome = ?, error = ?, updated_at = ? WHERE id = ?",
            (status, outcome, error, utcnow(), job.job_id),
        )
        if job.notification_id:
            store.conn.execute(
                "UPDATE call_requests SET status = ?, updated_at = ? WHERE notification_id = ?",
                ("done" if outcome == "answered" else "failed", utcnow(), job.notification_id),
            )
            data: dict[str, Any] = {"notification_id": job.notification_id, "status": "done"
                                    if outcome == "answered" else "failed", "outcome": outcome}
            if job.contact_id:
                data["contact_id"] = job.contact_id
            attempts = get_job(store, job.job_id)
            if attempts is not None:
                data["call_ids"] = attempts.attempts
            EventOutbox(store).append(CALL_REQUEST_STREAM, data)


def cancel_if_queued(store: Store, job_id: int, error: str) -> bool:
    """Fail a job nobody claimed (the daemon is not running); True if it was still queued."""
    with store.transaction():
        n = store.conn.execute(
            "UPDATE call_jobs SET status = 'failed', error = ?, updated_at = ? WHERE id = ? AND status = 'queued'",
            (error, utcnow(), job_id),
        ).rowcount
    return bool(n)


def fail_interrupted(store: Store) -> int:
    """Jobs left ``dialing`` by a crash: failed, so nobody waits on them for ever (at start-up)."""
    with store.transaction():
        return store.conn.execute(
            "UPDATE call_jobs SET status = 'failed', error = 'daemon restarted', updated_at = ? "
            "WHERE status = 'dialing'", (utcnow(),)
        ).rowcount


def pending_callbacks(store: Store) -> list[dict[str, Any]]:
    """Call requests from the central waiting for the desk to call back, oldest first."""
    rows = store.conn.execute(
        "SELECT r.notification_id, r.contact_id, r.number, r.language, r.text, r.not_before, r.expires_at, "
        "r.created_at FROM call_requests r LEFT JOIN contacts c ON c.contact_id = r.contact_id "
        "WHERE r.status = 'pending' AND (r.expires_at IS NULL OR r.expires_at > ?) "
        "AND (c.contact_id IS NULL OR (c.consent_call = 1 AND c.deleted = 0)) ORDER BY r.created_at",
        (utcnow(),),
    ).fetchall()
    keys = ("notification_id", "contact_id", "number", "language", "text", "not_before", "expires_at", "created_at")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def queue_callback(store: Store, notification_id: str) -> int:
    """Dial a call request (the desk pressed "call back"); returns the job id."""
    if fail_withdrawn_requests(store):  # consent withdrawn since the list was drawn: not dialled
        log.info("call requests failed: their contact withdrew call consent or was deleted")
    row = store.conn.execute(
        "SELECT contact_id, number FROM call_requests WHERE notification_id = ? AND status = 'pending'",
        (notification_id,),
    ).fetchone()
    if row is None:
        raise ValueError(f"no pending call request {notification_id!r}")
    contact_id, number = row
    with store.transaction():
        store.conn.execute("UPDATE call_requests SET status = 'dialing', updated_at = ? WHERE notification_id = ?",
                           (utcnow(), notification_id))
        return queue_dial(store, [number], contact_id=contact_id, notification_id=notification_id,
                          requested_by="call_request")


def fail_withdrawn_requests(store: Store) -> int:
    """Pending call requests of a contact who has since withdrawn call consent (or was deleted): failed,
    with a ``call_request`` report naming why; how many."""
    rows = store.conn.execute(
        "SELECT r.notification_id, r.contact_id, c.deleted FROM call_requests r "
        "JOIN contacts c ON c.contact_id = r.contact_id "
        "WHERE r.status = 'pending' AND (c.consent_call = 0 OR c.deleted = 1) LIMIT 1000"
    ).fetchall()
    if not rows:
        return 0
    with store.transaction():
        for notification_id, contact_id, deleted in rows:
            reason = "contact_deleted" if deleted else "no_consent"
            store.conn.execute("UPDATE call_requests SET status = 'failed', updated_at = ? WHERE notification_id = ?",
                               (utcnow(), notification_id))
            EventOutbox(store).append(CALL_REQUEST_STREAM, {"notification_id": notification_id, "status": "failed",
                                                            "reason": reason, "contact_id": contact_id})
    return len(rows)


def request_for(store: Store, notification_id: str) -> dict[str, Any] | None:
    """What a call request asks to say (``text``), in which ``language``, and the keypad survey to run
    (``survey_id``, or None)."""
    row = store.conn.execute(
        "SELECT text, language, survey_id FROM call_requests WHERE notification_id = ?", (notification_id,)
    ).fetchone()
    return {"text": row[0], "language": row[1], "survey_id": row[2]} if row else None
