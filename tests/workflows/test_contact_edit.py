"""A local contact edited at the desk; a synced one refused; the desk's note on either."""

from __future__ import annotations

import pytest

from appliance.contacts import (
    create_local_contact,
    find_by_number,
    get_contact,
    get_note,
    set_note,
    update_local_contact,
)
from appliance.contacts.store import MAX_NOTE_CHARS
from appliance.errors import ValidationError
from appliance.sms.outbox import SmsOutbox
from appliance.store.db import Store
from tests.workflows.conftest import ANNA, add_contact


def test_a_local_contact_is_edited_and_the_old_number_no_longer_finds_it(store: Store) -> None:
    c = create_local_contact(store, "Matti Meikäläinen", ["0407654321"], "fi")
    before = store.conn.execute("SELECT updated_at FROM contacts WHERE contact_id = ?", (c.contact_id,)).fetchone()
    edited = update_local_contact(
        store, c.contact_id, " Matti Meikäläinen-Virtanen ", ["050 111 2222", "0407654321"], "sv",
        consents={"call": False},
    )
    assert edited.name == "Matti Meikäläinen-Virtanen" and edited.language == "sv" and edited.local
    assert edited.phones == ["+358501112222", "+358407654321"]
    assert edited.consents == {"sms": True, "call": False, "recording": False}
    after = store.conn.execute("SELECT updated_at FROM contacts WHERE contact_id = ?", (c.contact_id,)).fetchone()
    assert after >= before  # the duplicate scan picks it up by updated_at
    update_local_contact(store, c.contact_id, "Matti", ["0501112222"])
    assert find_by_number(store, "+358407654321") is None
    assert get_contact(store, c.contact_id).phones == ["+358501112222"]  # type: ignore[union-attr]


def test_bad_edits_are_refused_by_name_and_change_nothing(store: Store) -> None:
    c = create_local_contact(store, "Aino", ["0401112222"])
    with pytest.raises(ValidationError, match="12ab"):
        update_local_contact(store, c.contact_id, "Aino", ["0401112222", "12ab"])
    with pytest.raises(ValidationError, match="needs a name"):
        update_local_contact(store, c.contact_id, "  ", ["0401112222"])
    with pytest.raises(ValidationError, match="at least one phone"):
        update_local_contact(store, c.contact_id, "Aino", [])
    with pytest.raises(ValidationError, match="no contact local-nope"):
        update_local_contact(store, "local-nope", "Aino", ["0401112222"])
    assert get_contact(store, c.contact_id) == c


def test_a_synced_contact_is_read_only_but_takes_a_note(store: Store) -> None:
    add_contact(store, "c-anna", ANNA)
    with pytest.raises(ValidationError, match="comes from the central system"):
        update_local_contact(store, "c-anna", "Someone Else", [ANNA])
    assert get_contact(store, "c-anna").name == "Anna Virtanen"  # type: ignore[union-attr]
    set_note(store, "c-anna", "Prefers calls after 14:00. <b>deaf in left ear</b>", "desk1")
    note = get_note(store, "c-anna")
    assert note is not None and note["updated_by"] == "desk1" and note["note"].startswith("Prefers")
    add_contact(store, "c-anna", ANNA, version=2, name="Anna Virtanen")  # a newer downlink keeps the note
    assert get_note(store, "c-anna") is not None
    with pytest.raises(ValidationError, match=f"at most {MAX_NOTE_CHARS}"):
        set_note(store, "c-anna", "x" * (MAX_NOTE_CHARS + 1), "desk1")
    set_note(store, "c-anna", "   ", "desk1")  # empty: removed
    assert get_note(store, "c-anna") is None
    set_note(store, "c-anna", "again", "desk1")
    with store.transaction():  # deleted at the central: the note is personal data and goes too
        from appliance.contacts import apply_contact

        apply_contact(store, {"contact_id": "c-anna", "version": 3, "deleted": True}, "FI")
    assert get_note(store, "c-anna") is None
    with pytest.raises(ValidationError, match="no contact c-anna"):
        set_note(store, "c-anna", "after the delete", "desk1")


def test_withdrawing_sms_consent_of_a_local_contact_cancels_what_is_queued(store: Store) -> None:
    c = create_local_contact(store, "Aino", ["0401112222"])
    queued = SmsOutbox(store).enqueue("+358401112222", "Your results are ready", contact_id=c.contact_id)
    update_local_contact(store, c.contact_id, "Aino", ["0401112222"], consents={"sms": False})
    status = store.conn.execute("SELECT status FROM sms_messages WHERE id = ?", (queued.message_id,)).fetchone()
    assert status == ("failed",)
    events = [r[0] for r in store.conn.execute("SELECT data FROM events WHERE stream = 'sms_status' ORDER BY seq")]
    assert '"no_consent"' in events[-1]
