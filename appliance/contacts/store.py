"""Contacts: from the central system (upsert or delete by ``contact_id`` under the version
rule) and local ones made on this box for unknown callers and senders.

A change whose ``version`` is not newer than the stored one is ignored. A delete
keeps a tombstone (personal data cleared, version kept) so that a late, older
upsert cannot bring the contact back. Phones are stored in E.164; a contact with
a phone that does not parse is refused whole (the central must send numbers
that are numbers). Runs on the store thread, inside the caller's transaction.

A local contact (``create_local_contact``) gets an id ``local-<uuid>``, version 0 and
``local = 1``; the central may later send the same person under its own id (that is a
possible duplicate, flagged, never merged here).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from appliance.errors import ValidationError
from appliance.phone import to_e164
from appliance.sms.outbox import REPLY_PURPOSES, cancel_queued
from appliance.timefmt import utcnow

if TYPE_CHECKING:
    from appliance.store.db import Store


@dataclass(frozen=True)
class Contact:
    """A stored contact (DOMAIN.md "Contacts")."""

    contact_id: str
    version: int
    deleted: bool
    name: str
    language: str
    birth_date: str | None
    phones: list[str]
    consent_sms: bool
    consent_call: bool
    guardian_contact_id: str | None
    consent_recording: bool = False
    sex: str | None = None
    tags: tuple[str, ...] = ()
    local: bool = False

    @property
    def consents(self) -> dict[str, bool]:
        return {"sms": self.consent_sms, "call": self.consent_call, "recording": self.consent_recording}

    def age_on(self, day: date) -> int | None:
        """Whole years on ``day``, or None without a birth date."""
        if not self.birth_date:
            return None
        try:
            born = date.fromisoformat(self.birth_date)
        except ValueError:
            return None
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def normalise_phones(phones: list[str], region: str) -> list[str]:
    """E.164 forms, in order, without repeats; ValidationError names a bad one."""
    out: list[str] = []
    for raw in phones:
        number = to_e164(raw, region)
        if number not in out:
            out.append(number)
    return out


def apply_contact(store: Store, data: dict[str, Any], region: str) -> str:
    """Apply one ``contacts`` downlink; return "applied" or "ignored" (not newer)."""
    conn = store.conn
    contact_id, version = data["contact_id"], int(data["version"])
    row = conn.execute(
        "SELECT version, consent_sms FROM contacts WHERE contact_id = ?", (contact_id,)
    ).fetchone()
    if row is not None and version <= int(row[0]):
        return "ignored"
    now = utcnow()
    old_phones = [r[0] for r in conn.execute("SELECT number FROM contact_phones WHERE contact_id = ?", (contact_id,))]
    if data.get("deleted"):
        cancel_queued(store, "contact_deleted", contact_id=contact_id, keep_purposes=REPLY_PURPOSES)
        conn.execute("DELETE FROM contact_phones WHERE contact_id = ?", (contact_id,))
        conn.execute("DELETE FROM contact_notes WHERE contact_id = ?", (contact_id,))  # personal data too
        conn.execute(
            "INSERT INTO contacts(contact_id, version, deleted, updated_at) VALUES (?, ?, 1, ?) "
            "ON CONFLICT(contact_id) DO UPDATE SET version = excluded.version, deleted = 1, "
            "name = NULL, language = NULL, birth_date = NULL, sex = NULL, tags = '[]', "
            "consent_sms = 0, consent_call = 0, consent_recording = 0, guardian_contact_id = NULL, "
            "data = '{}', updated_at = excluded.updated_at",
            (contact_id, version, now),
        )
        return "applied"
    contact = data["contact"]
    phones = normalise_phones(contact["phones"], region)
    consents = contact["consents"]
    if row is not None and row[1] and not consents.get("sms"):
        # consent withdrawn at the central: what is still queued for this person does not go
        cancel_queued(store, "no_consent", numbers=old_phones, contact_id=contact_id, keep_purposes=REPLY_PURPOSES)
    values = (
        contact_id,
        version,
        contact["name"],
        contact["language"],
        contact.get("birth_date"),
        contact.get("sex"),
        json.dumps(contact.get("tags", []), ensure_ascii=False),
        *_consent_columns(consents),
        contact.get("guardian_contact_id"),
        json.dumps(contact, ensure_ascii=False, sort_keys=True),
        now,
    )
    conn.execute(
        "INSERT INTO contacts(contact_id, version, deleted, name, language, birth_date, sex, tags, "
        "consent_sms, consent_call, consent_recording, guardian_contact_id, data, updated_at) "
        "VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(contact_id) DO UPDATE SET version = excluded.version, deleted = 0, "
        "name = excluded.name, language = excluded.language, birth_date = excluded.birth_date, "
        "sex = excluded.sex, tags = excluded.tags, consent_sms = excluded.consent_sms, "
        "consent_call = excluded.consent_call, consent_recording = excluded.consent_recording, "
        "guardian_contact_id = excluded.guardian_contact_id, data = excluded.data, "
        "updated_at = excluded.updated_at",
        values,
    )
    _replace_phones(store, contact_id, phones)
    return "applied"


def _replace_phones(store: Store, contact_id: str, numbers: list[str]) -> None:
    """The contact's phone rows become ``numbers``, in order (the first is the preferred one)."""
    store.conn.execute("DELETE FROM contact_phones WHERE contact_id = ?", (contact_id,))
    store.conn.executemany(
        "INSERT INTO contact_phones(contact_id, position, number) VALUES (?, ?, ?)",
        [(contact_id, i, number) for i, number in enumerate(numbers)],
    )


_COLUMNS = (
    "contact_id, version, deleted, name, language, birth_date, consent_sms, consent_call, "
    "guardian_contact_id, consent_recording, sex, tags, local"
)


def _phones(store: Store, contact_id: str) -> list[str]:
    return [
        r[0]
        for r in store.conn.execute(
            "SELECT number FROM contact_phones WHERE contact_id = ? ORDER BY position", (contact_id,)
        )
    ]


def _contact(store: Store, row: tuple[Any, ...]) -> Contact:
    try:
        tags = tuple(str(t) for t in json.loads(row[11] or "[]"))
    except ValueError:
        tags = ()
    return Contact(
        contact_id=row[0],
        version=int(row[1]),
        deleted=bool(row[2]),
        name=row[3] or "",
        language=row[4] or "",
        birth_date=row[5],
        phones=_phones(store, row[0]),
        consent_sms=bool(row[6]),
        consent_call=bool(row[7]),
        guardian_contact_id=row[8],
        consent_recording=bool(row[9]),
        sex=row[10],
        tags=tags,
        local=bool(row[12]),
    )


def get_contact(store: Store, contact_id: str) -> Contact | None:
    """The stored contact (tombstones included, ``deleted`` set), or None."""
    row = store.conn.execute(f"SELECT {_COLUMNS} FROM contacts WHERE contact_id = ?", (contact_id,)).fetchone()
    return None if row is None else _contact(store, row)


def find_by_number(store: Store, e164: str) -> Contact | None:
    """The contact (not deleted, local ones too) with ``e164`` among its phones; the one whose
    preferred phone it is first, then the most recently changed."""
    row = store.conn.execute(
        f"SELECT {', '.join('c.' + c.strip() for c in _COLUMNS.split(','))} FROM contact_phones p "
        "JOIN contacts c ON c.contact_id = p.contact_id WHERE p.number = ? AND c.deleted = 0 "
        "ORDER BY p.position, c.updated_at DESC LIMIT 1",
        (e164,),
    ).fetchone()
    return None if row is None else _contact(store, row)


def list_contacts(store: Store, *, include_deleted: bool = False) -> list[Contact]:
    """Every contact, by name then id."""
    where = "" if include_deleted else " WHERE deleted = 0"
    rows = store.conn.execute(f"SELECT {_COLUMNS} FROM contacts{where} ORDER BY name, contact_id").fetchall()
    return [_contact(store, row) for row in rows]


def _checked_name_and_phones(name: str, phones: list[str], region: str) -> tuple[str, list[str]]:
    """A local contact's name (stripped, not empty) and phones in E.164 (at least one); else ValidationError."""
    name = name.strip()
    if not name:
        raise ValidationError("a contact needs a name")
    numbers = normalise_phones(phones, region)
    if not numbers:
        raise ValidationError("a contact needs at least one phone number")
    return name, numbers


def _consent_columns(given: dict[str, Any]) -> tuple[int, int, int]:
    """``consent_sms``, ``consent_call``, ``consent_recording`` as stored (one not given: withheld)."""
    return int(bool(given.get("sms"))), int(bool(given.get("call"))), int(bool(given.get("recording")))


def create_local_contact(
    store: Store,
    name: str,
    phones: list[str],
    language: str | None = None,
    *,
    region: str = "FI",
    consents: dict[str, bool] | None = None,
) -> Contact:
    """A contact made on this box (an unknown caller or sender saved at the desk).

    Phones are normalised to E.164 (ValidationError names a bad one). SMS consent is
    assumed for a person who wrote or called us, unless ``consents`` says otherwise.
    """
    name, numbers = _checked_name_and_phones(name, phones, region)
    given = {"sms": True, "call": True, "recording": False, **(consents or {})}
    contact_id = f"local-{uuid.uuid4()}"
    now = utcnow()
    with store.transaction():
        store.conn.execute(
            "INSERT INTO contacts(contact_id, version, deleted, name, language, consent_sms, consent_call, "
            "consent_recording, data, updated_at, local) VALUES (?, 0, 0, ?, ?, ?, ?, ?, '{}', ?, 1)",
            (contact_id, name, language or "", *_consent_columns(given), now),
        )
        _replace_phones(store, contact_id, numbers)
    contact = get_contact(store, contact_id)
    assert contact is not None
    return contact


def update_local_contact(
    store: Store,
    contact_id: str,
    name: str,
    phones: list[str],
    language: str | None = None,
    *,
    region: str = "FI",
    consents: dict[str, bool] | None = None,
) -> Contact:
    """Change a contact made on this box (name, phones, language, consents).

    A synced contact is the central system's: refused with a ValidationError that says so
    (the desk's note is the part of it this box may write, :func:`set_note`). Withdrawing
    SMS consent cancels what is still queued for the person, as a downlink would. The
    changed ``updated_at`` makes the duplicate scan look at the contact again.
    """
    current = get_contact(store, contact_id)
    if current is None or current.deleted:
        raise ValidationError(f"no contact {contact_id}")
    if not current.local:
        raise ValidationError(
            f"contact {contact_id} comes from the central system: its fields are read-only here; add a note instead"
        )
    name, numbers = _checked_name_and_phones(name, phones, region)
    given = {**current.consents, **(consents or {})}
    with store.transaction():
        if current.consent_sms and not given["sms"]:
            cancel_queued(
                store, "no_consent", numbers=current.phones, contact_id=contact_id, keep_purposes=REPLY_PURPOSES
            )
        store.conn.execute(
            "UPDATE contacts SET name = ?, language = ?, consent_sms = ?, consent_call = ?, consent_recording = ?, "
            "updated_at = ? WHERE contact_id = ?",
            (name, language or "", *_consent_columns(given), utcnow(), contact_id),
        )
        _replace_phones(store, contact_id, numbers)
    contact = get_contact(store, contact_id)
    assert contact is not None
    return contact


MAX_NOTE_CHARS = 1000


def set_note(store: Store, contact_id: str, note: str, author: str) -> None:
    """The desk's note on a contact, synced or local (empty removes it). Never goes to the central."""
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ValidationError(f"a note is at most {MAX_NOTE_CHARS} characters, this one has {len(note)}")
    current = get_contact(store, contact_id)
    if current is None or current.deleted:
        raise ValidationError(f"no contact {contact_id}")
    with store.transaction():
        if not note:
            store.conn.execute("DELETE FROM contact_notes WHERE contact_id = ?", (contact_id,))
            return
        store.conn.execute(
            "INSERT INTO contact_notes(contact_id, note, updated_by, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(contact_id) DO UPDATE SET note = excluded.note, updated_by = excluded.updated_by, "
            "updated_at = excluded.updated_at",
            (contact_id, note, author, utcnow()),
        )


def get_note(store: Store, contact_id: str) -> dict[str, str] | None:
    """``{"note", "updated_by", "updated_at"}`` or None."""
    row = store.conn.execute(
        "SELECT note, updated_by, updated_at FROM contact_notes WHERE contact_id = ?", (contact_id,)
    ).fetchone()
    return None if row is None else {"note": row[0], "updated_by": row[1], "updated_at": row[2]}


def duplicates_of(store: Store, contact_id: str) -> list[str]:
    """Contact ids flagged as possible duplicates of ``contact_id`` (either direction)."""
    rows = store.conn.execute(
        "SELECT duplicate_of FROM contact_duplicates WHERE contact_id = ? "
        "UNION SELECT contact_id FROM contact_duplicates WHERE duplicate_of = ? ORDER BY 1",
        (contact_id, contact_id),
    ).fetchall()
    return [r[0] for r in rows]
