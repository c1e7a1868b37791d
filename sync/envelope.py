"""The MQTT envelope (INTERFACES.md §3), shared by the appliance and the central.

Pure functions over bytes: :func:`decode` turns a payload into an
:class:`Envelope` or raises :class:`EnvelopeError` naming the envelope's ``id``
(when it could be read) and the reason; :func:`encode` is its inverse. The
JSON Schemas live in ``sync/schemas/`` (installed as package data) and are the
one definition of what each stream carries.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import best_match  # type: ignore[import-untyped]

from appliance.errors import ValidationError
from appliance.timefmt import format_utc, parse_time

__all__ = [  # parse_time is re-exported: its home is appliance.timefmt
    "DOWNLINK_STREAMS", "MAX_PAYLOAD_BYTES", "Envelope", "EnvelopeError", "Topics", "decode", "encode",
    "has_data_schema", "load_schema", "make", "parse_time", "schema_problem", "utc_timestamp",
]

ENVELOPE_VERSION = 1
MAX_PAYLOAD_BYTES = 64 * 1024  # a downlink or uplink payload larger than this is refused
MAX_REASON_CHARS = 300
STREAM_NAME = re.compile(r"^[a-z0-9_]{1,64}$")

# Downlink streams the appliance acts on; anything else is refused with an error event.
DOWNLINK_STREAMS = (
    "contacts", "notifications", "surveys", "complaint_updates", "ack",
    "followup_updates", "campaigns",  # follow-ups and education campaigns
)


class EnvelopeError(ValidationError):
    """A payload is not a valid envelope; ``envelope_id`` is its id when it could be read."""

    def __init__(self, reason: str, envelope_id: str | None = None) -> None:
        self.reason = reason[:MAX_REASON_CHARS]
        self.envelope_id = envelope_id
        super().__init__(self.reason if envelope_id is None else f"{envelope_id}: {self.reason}")


@dataclass(frozen=True)
class Envelope:
    """One decoded envelope."""

    v: int
    id: str
    type: str
    site: str
    seq: int | None
    ts: str | None
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "id": self.id,
            "type": self.type,
            "site": self.site,
            "seq": self.seq,
            "ts": self.ts,
            "data": self.data,
        }


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema ``sync/schemas/<name>.json``."""
    text = (resources.files("sync") / "schemas" / f"{name}.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator(name: str, lenient_seq: bool = False) -> Draft202012Validator:
    schema = load_schema(name)
    if lenient_seq:
        schema = dict(schema, required=[k for k in schema["required"] if k not in ("seq", "ts")])
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def has_data_schema(direction: str, stream: str) -> bool:
    try:
        load_schema(f"{direction}_{stream}")
    except FileNotFoundError:
        return False
    return True


def schema_problem(name: str, instance: Any, *, lenient_seq: bool = False) -> str | None:
    """The most relevant schema violation of ``instance`` as one short line, or None."""
    error = best_match(_validator(name, lenient_seq).iter_errors(instance))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(top)"
    message = error.message
    if len(message) > 160:
        message = message[:160] + "..."
    return f"{where}: {message}"


def decode(
    payload: bytes,
    *,
    direction: str,
    expect_site: str | None = None,
    expect_type: str | None = None,
    lenient_seq: bool = False,
    max_bytes: int = MAX_PAYLOAD_BYTES,
    check_data: bool = True,
) -> Envelope:
    """Validate ``payload`` as an envelope of ``direction`` ("up" or "down").

    Checks, in order: size, UTF-8 JSON object, the envelope schema, the site and
    type against the topic, then the stream's data schema when one exists.
    ``lenient_seq`` accepts an envelope without ``seq``/``ts`` (downlink from a
    central that does not number its messages).
    """
    if len(payload) > max_bytes:
        raise EnvelopeError(f"payload is {len(payload)} bytes, at most {max_bytes} allowed")
    try:
        doc = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise EnvelopeError(f"payload is not UTF-8 ({err.reason} at byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise EnvelopeError(
            f"payload is not JSON ({err.msg} at line {err.lineno} column {err.colno})"
        ) from None
    if not isinstance(doc, dict):
        raise EnvelopeError(f"payload is a JSON {type(doc).__name__}, not an object")
    raw_id = doc.get("id")
    envelope_id = raw_id if isinstance(raw_id, str) and 0 < len(raw_id) <= 128 else None
    # The hand-written check is the hot path (thousands/s at the central); jsonschema
    # only runs to explain what is wrong, so both always agree on the verdict.
    problem = None if _plainly_valid(doc, lenient_seq) else schema_problem("envelope", doc, lenient_seq=lenient_seq)
    if problem:
        raise EnvelopeError(f"bad envelope: {problem}", envelope_id)
    if expect_site is not None and doc["site"] != expect_site:
        raise EnvelopeError(
            f"envelope is for site {doc['site']!r}, this topic is {expect_site!r}", envelope_id
        )
    if expect_type is not None and doc["type"] != expect_type:
        raise EnvelopeError(
            f"envelope type {doc['type']!r} does not match topic stream {expect_type!r}",
            envelope_id,
        )
    if check_data and has_data_schema(direction, doc["type"]):
        problem = schema_problem(f"{direction}_{doc['type']}", doc["data"])
        if problem:
            raise EnvelopeError(f"bad {doc['type']} data: {problem}", envelope_id)
    return Envelope(
        v=doc["v"],
        id=doc["id"],
        type=doc["type"],
        site=doc["site"],
        seq=doc.get("seq"),
        ts=doc.get("ts"),
        data=doc["data"],
    )


_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_SITE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_MAX_SEQ = 9007199254740991


def _plainly_valid(doc: dict[str, Any], lenient_seq: bool) -> bool:
    """True when ``doc`` certainly satisfies envelope.json (False: let jsonschema explain)."""
    v, i, t, site, data = doc.get("v"), doc.get("id"), doc.get("type"), doc.get("site"), doc.get("data")
    if v != 1 or isinstance(v, bool) or not isinstance(v, int):
        return False
    if not isinstance(i, str) or not 0 < len(i) <= 128:
        return False
    if not isinstance(t, str) or not STREAM_NAME.match(t) or t.endswith("\n"):
        return False
    if not isinstance(site, str) or not _SITE.match(site) or site.endswith("\n"):
        return False
    if not isinstance(data, dict):
        return False
    if "seq" in doc or not lenient_seq:
        seq = doc.get("seq")
        if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= _MAX_SEQ:
            return False
    if "ts" in doc or not lenient_seq:
        ts = doc.get("ts")
        if not isinstance(ts, str) or not _TS.match(ts) or ts.endswith("\n"):
            return False
    return True


def make(
    stream: str,
    site: str,
    seq: int,
    data: dict[str, Any],
    *,
    envelope_id: str | None = None,
    ts: str | None = None,
) -> dict[str, Any]:
    """A new envelope as a dict (the central's downlink; the appliance uses its outbox rows)."""
    return {
        "v": ENVELOPE_VERSION,
        "id": envelope_id or str(uuid.uuid4()),
        "type": stream,
        "site": site,
        "seq": seq,
        "ts": ts or utc_timestamp(),
        "data": data,
    }


def encode(envelope: dict[str, Any]) -> bytes:
    """The compact UTF-8 JSON payload of an envelope."""
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def utc_timestamp(moment: datetime | None = None) -> str:
    """RFC 3339 UTC with milliseconds, the envelope's ``ts`` format."""
    return format_utc(moment or datetime.now(UTC))


class Topics:
    """Topic names under ``<prefix>/<site>/`` (INTERFACES.md §3)."""

    def __init__(self, prefix: str, site: str) -> None:
        self.prefix = prefix.rstrip("/")
        self.site = site
        self.root = f"{self.prefix}/{site}"

    def up(self, stream: str) -> str:
        return f"{self.root}/up/{stream}"

    def down(self, stream: str) -> str:
        return f"{self.root}/down/{stream}"

    @property
    def down_all(self) -> str:
        return f"{self.root}/down/#"

    @property
    def status(self) -> str:
        return f"{self.root}/status"

    def split(self, topic: str) -> tuple[str, str, str] | None:
        """``(site, direction, stream)`` of a topic under the prefix, or None."""
        if not topic.startswith(self.prefix + "/"):
            return None
        parts = topic[len(self.prefix) + 1 :].split("/")
        if len(parts) != 3 or parts[1] not in ("up", "down"):
            return None
        return parts[0], parts[1], parts[2]
