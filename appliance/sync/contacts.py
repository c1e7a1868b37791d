"""Contacts from the central system: upsert or delete by ``contact_id`` under the version rule.

A change whose ``version`` is not newer than the stored one is ignored. A delete
keeps a tombstone (personal data cleared, version kept) so that a late, older
upsert cannot bring the contact back. Phones are stored in E.164; a contact with
a phone that does not parse is refused whole (the central must send numbers
that are numbers). Runs on the store thread, inside the caller's transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from appliance.phone import to_e164
from appliance.store.db import utcnow

if TYPE_CHECKING:
    from appliance.store.db import Store


@dataclass(frozen=True)
class Contact:
    """A stored contact as the notification rules need it."""

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
        "SELECT version FROM contacts WHERE contact_id = ?", (contact_id,)
    ).fetchone()
    if row is not None and version <= int(row[0]):
        return "ignored"
    now = utcnow()
    if data.get("deleted"):
        conn.execute("DELETE FROM contact_phones WHERE contact_id = ?", (contact_id,))
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
    values = (
        contact_id,
        version,
        contact["name"],
        contact["language"],
        contact.get("birth_date"),
        contact.get("sex"),
        json.dumps(contact.get("tags", []), ensure_ascii=False),
        int(bool(consents.get("sms"))),
        int(bool(consents.get("call"))),
        int(bool(consents.get("recording"))),
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
    conn.execute("DELETE FROM contact_phones WHERE contact_id = ?", (contact_id,))
    conn.executemany(
        "INSERT INTO contact_phones(contact_id, position, number) VALUES (?, ?, ?)",
        [(contact_id, i, number) for i, number in enumerate(phones)],
    )
    return "applied"


def get_contact(store: Store, contact_id: str) -> Contact | None:
    """The stored contact (tombstones included, ``deleted`` set), or None."""
    conn = store.conn
    row = conn.execute(
        "SELECT contact_id, version, deleted, name, language, birth_date, consent_sms, consent_call, "
        "guardian_contact_id FROM contacts WHERE contact_id = ?",
        (contact_id,),
    ).fetchone()
    if row is None:
        return None
    phones = [
        r[0]
        for r in conn.execute(
            "SELECT number FROM contact_phones WHERE contact_id = ? ORDER BY position",
            (contact_id,),
        )
    ]
    return Contact(
        contact_id=row[0],
        version=int(row[1]),
        deleted=bool(row[2]),
        name=row[3] or "",
        language=row[4] or "",
        birth_date=row[5],
        phones=phones,
        consent_sms=bool(row[6]),
        consent_call=bool(row[7]),
        guardian_contact_id=row[8],
    )
