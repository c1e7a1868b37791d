"""Downlink: validate and apply a batch of messages from the central in one durable commit.

Each message runs in its own savepoint: a refused one (malformed JSON, wrong
schema, oversized, wrong site, unknown stream, a template param missing) rolls
back alone and leaves an ``error`` uplink event naming its ``id`` and the
reason; the others apply. The batch commits with ``durable=True`` and only then
does the caller PUBACK the messages, so what the broker forgets is on disk.
Applied envelope ids are recorded (``processed``) so a redelivery changes
nothing. ``ack`` messages move the outbox's watermarks and are not recorded
(applying a watermark twice changes nothing).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from appliance.campaigns.campaigns import CampaignSettings
from appliance.campaigns.intake import apply_campaign
from appliance.complaints import apply_update as apply_complaint_update
from appliance.contacts import apply_contact
from appliance.errors import StoreError, ValidationError
from appliance.followups.followups import FollowupSettings
from appliance.followups.intake import accept_scheduled_notification, after_notification, apply_followup_update
from appliance.notifications.requests import NotificationSettings, accept_request
from appliance.store.outbox import EventOutbox
from appliance.surveys import apply_survey
from appliance.sync import processed
from sync.envelope import DOWNLINK_STREAMS, Envelope, EnvelopeError, Topics, decode

if TYPE_CHECKING:
    from appliance.store.db import Store

log = logging.getLogger(__name__)

ERROR_STREAM = "error"
REFUSED_COUNTER_KEY = "sync.refused_downlinks"


@dataclass(frozen=True)
class Incoming:
    """One downlink message as received by the network thread."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int  # connection it arrived on: a PUBACK is only valid on that connection


@dataclass
class BatchResult:
    """What a batch did: outcomes per message, watermarks applied, refusals."""

    outcomes: list[str] = field(default_factory=list)
    acked: dict[str, int] = field(default_factory=dict)  # stream -> watermark applied
    events_acked: int = 0
    refused: int = 0


class DownlinkApplier:
    """Applies downlink messages for one site; every method runs on the store thread."""

    def __init__(
        self, store: Store, topics: Topics, settings: NotificationSettings, max_bytes: int,
        followup_settings: FollowupSettings | None = None, campaign_settings: CampaignSettings | None = None,
    ) -> None:
        self.followup_settings = followup_settings or FollowupSettings(
            timezone=settings.timezone, quiet_hours=settings.quiet_hours, lab_name=settings.lab_name
        )
        self.campaign_settings = campaign_settings or CampaignSettings(
            timezone=settings.timezone, quiet_hours=settings.quiet_hours, lab_name=settings.lab_name,
            guardian_age=settings.guardian_age,
        )
        self.store = store
        self.topics = topics
        self.settings = settings
        self.max_bytes = max_bytes
        self.outbox = EventOutbox(store)

    def apply_batch(self, messages: list[Incoming]) -> BatchResult:
        """Apply ``messages`` in order in one durable transaction (StoreError: nothing applied)."""
        result = BatchResult()
        watermarks: dict[str, int] = {}
        with self.store.transaction(durable=True):
            for message in messages:
                try:
                    with self.store.transaction():
                        outcome = self._apply_one(message, watermarks)
                except StoreError:
                    raise
                except (EnvelopeError, ValidationError) as err:
                    outcome = self._refuse(message, err)
                    result.refused += 1
                except Exception as err:
                    # A bug must not make the broker redeliver the same message forever.
                    log.exception("downlink %s: unexpected failure", message.topic)
                    outcome = self._refuse(
                        message, EnvelopeError(f"internal error: {type(err).__name__}: {err}")
                    )
                    result.refused += 1
                result.outcomes.append(outcome)
            for stream, seq in watermarks.items():
                row = self.store.conn.execute(
                    "SELECT acked_seq FROM event_streams WHERE stream = ?", (stream,)
                ).fetchone()
                if row is not None and seq > int(row[0]):  # an old watermark again changes nothing
                    result.events_acked += self.outbox.acknowledge(stream, seq)
            result.acked = watermarks
        return result

    def _apply_one(self, message: Incoming, watermarks: dict[str, int]) -> str:
        parts = self.topics.split(message.topic)
        if parts is None or parts[0] != self.topics.site or parts[1] != "down":
            raise EnvelopeError(f"message on unexpected topic {message.topic!r}")
        stream = parts[2]
        if stream not in DOWNLINK_STREAMS:
            raise EnvelopeError(
                f"unknown downlink stream {stream!r}; known are {', '.join(DOWNLINK_STREAMS)}"
            )
        envelope = decode(
            message.payload,
            direction="down",
            expect_site=self.topics.site,
            expect_type=stream,
            lenient_seq=True,
            max_bytes=self.max_bytes,
        )
        if stream == "ack":
            name, seq = envelope.data["stream"], int(envelope.data["seq"])
            watermarks[name] = max(seq, watermarks.get(name, 0))
            return "ack"
        if processed.seen(self.store, envelope.id) is not None:
            return "duplicate"
        try:
            outcome = self._dispatch(envelope)
        except EnvelopeError:
            raise
        except ValidationError as err:  # the data broke a rule beyond the schema: name the id
            raise EnvelopeError(f"bad {stream} data: {err}", envelope.id) from err
        processed.record(self.store, envelope.id, stream, envelope.seq, outcome)
        return outcome

    def _dispatch(self, envelope: Envelope) -> str:
        data = envelope.data
        if envelope.type == "contacts":
            return apply_contact(self.store, data, self.settings.country)
        if envelope.type == "notifications":
            if "schedule" in data:
                return accept_scheduled_notification(
                    self.store, self.settings, self.followup_settings, data, envelope.id
                )
            status = accept_request(self.store, self.settings, data, envelope.id).status
            after_notification(self.store, self.settings, self.followup_settings, data, status)
            return status
        if envelope.type == "followup_updates":
            return apply_followup_update(self.store, data)
        if envelope.type == "campaigns":
            return apply_campaign(self.store, self.campaign_settings, data, envelope.id)
        if envelope.type == "surveys":
            return apply_survey(self.store, data)
        if envelope.type == "complaint_updates":
            s = self.settings
            return apply_complaint_update(
                self.store, data, envelope.id, lab=s.lab_name, quiet_hours=s.quiet_hours, timezone=s.timezone
            )
        raise EnvelopeError(f"no handler for stream {envelope.type!r}", envelope.id)

    def _refuse(self, message: Incoming, err: Exception) -> str:
        """Leave an ``error`` event naming the envelope id and the reason; remember the id."""
        envelope_id = getattr(err, "envelope_id", None)
        reason = getattr(err, "reason", None) or str(err)
        parts = self.topics.split(message.topic)
        stream = parts[2] if parts else None
        if envelope_id is not None and processed.seen(self.store, envelope_id) is not None:
            return "duplicate"  # refused before: one error event is enough
        log.warning("downlink refused on %s (id %s): %s", message.topic, envelope_id, reason)
        self.outbox.append(
            ERROR_STREAM,
            {"id": envelope_id, "reason": reason, "topic": message.topic[:256], "stream": stream},
        )
        if envelope_id is not None:
            processed.record(self.store, envelope_id, stream or "?", None, "refused")
        self.store.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            (REFUSED_COUNTER_KEY,),
        )
        return "refused"


def refused_count(store: Store) -> int:
    row = store.conn.execute(
        "SELECT value FROM meta WHERE key = ?", (REFUSED_COUNTER_KEY,)
    ).fetchone()
    return int(row[0]) if row else 0
