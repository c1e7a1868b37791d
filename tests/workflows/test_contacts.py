"""Contacts: local ones, phones in E.164, the language kept with each message, the list, costs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from appliance.contacts import create_local_contact, find_by_number, get_contact
from appliance.contacts.costs import message_cost, sms_figures
from appliance.errors import StoreError, ValidationError
from appliance.store.db import Store
from appliance.timefmt import utcnow
from tests.helpers import run_cli
from tests.workflows.conftest import ANNA, Box, add_contact


def test_local_contact_for_an_unknown_sender(store: Store) -> None:
    c = create_local_contact(store, "Matti Meikäläinen", ["040 765 4321", "+358 9 123 4567", "0407654321"], "fi")
    assert c.local and c.contact_id.startswith("local-") and c.language == "fi"
    assert c.phones == ["+358407654321", "+35891234567"]  # normalised, preferred first, no repeats
    assert c.consents == {"sms": True, "call": True, "recording": False}
    found = find_by_number(store, "+35891234567")
    assert found is not None and found.contact_id == c.contact_id
    assert get_contact(store, c.contact_id) == c
    with pytest.raises(ValidationError, match="12ab"):
        create_local_contact(store, "X", ["12ab"])
    with pytest.raises(ValidationError):
        create_local_contact(store, "  ", ["0401112222"])


def test_the_language_of_a_message_is_never_changed(box: Box) -> None:
    store = box.store
    add_contact(store, "c-anna", ANNA, language="fi")
    box.receive(ANNA, "VALITUS jono")
    (ack,) = box.sent(ANNA)
    assert ack["language"] == "fi"
    # the contact switches to Swedish: the message keeps the language it was written in
    add_contact(store, "c-anna", ANNA, language="sv", version=2)
    assert find_by_number(store, ANNA).language == "sv"  # type: ignore[union-attr]
    assert box.sent(ANNA)[0]["language"] == "fi"
    with pytest.raises((StoreError, sqlite3.IntegrityError), match="never changed"), store.transaction():
        store.conn.execute("UPDATE sms_messages SET language = 'sv' WHERE id = ?", (ack["id"],))
    assert box.sent(ANNA)[0]["language"] == "fi"


def test_contacts_list_json(tmp_path: Path, data_store: Store) -> None:
    add_contact(data_store, "c-anna", ANNA, language="fi", birth_date="1980-05-01", tags=["diabetes"])
    local = create_local_contact(data_store, "Anna Virtanen", ["+358401234568"])
    with data_store.transaction():
        data_store.conn.execute(
            "INSERT INTO contact_duplicates(contact_id, duplicate_of, reason, score, flagged_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (local.contact_id, "c-anna", "similar_name_birth_year", 0.93, utcnow()),
        )
    Box(data_store).receive(ANNA, "STOP")
    out = run_cli(tmp_path, "contacts", "list", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["contact_id"]: r for r in json.loads(out.stdout)}
    anna = rows["c-anna"]
    assert {"contact_id", "name", "phones", "language", "consents", "opted_out", "possible_duplicate_of"} <= set(anna)
    assert anna["phones"] == [ANNA] and anna["opted_out"] is True and anna["tags"] == ["diabetes"]
    assert anna["possible_duplicate_of"] == [local.contact_id]
    assert rows[local.contact_id]["possible_duplicate_of"] == ["c-anna"] and rows[local.contact_id]["local"] is True
    assert rows[local.contact_id]["opted_out"] is False
    human = run_cli(tmp_path, "contacts", "list")
    assert "opted-out" in human.stdout and "dup?" in human.stdout


def test_cost_is_parts_times_the_price(tmp_path: Path, data_store: Store) -> None:
    assert message_cost(3, 0.045) == 0.135
    assert run_cli(tmp_path, "sms", "send", "--to", ANNA, "--text", "x" * 200).returncode == 0
    out = run_cli(tmp_path, "sms", "list", "--json", APPLIANCE_SMS__PRICE_PER_PART="0.05")
    (row,) = json.loads(out.stdout)
    assert row["parts"] == 2 and row["cost"] == 0.1 and row["purpose"] == "manual"
    with data_store.transaction():
        data_store.conn.execute("UPDATE sms_messages SET status = 'delivered'")
    figures = sms_figures(data_store, 0.05)
    assert figures["sent"] == 1 and figures["parts"] == 2 and figures["cost"] == 0.1
    assert figures["by_purpose"] == {"manual": 1}


def test_opt_out_recorded_at_the_desk(tmp_path: Path, data_store: Store) -> None:
    out = run_cli(tmp_path, "contacts", "opt-out", "040 123 4567", "--json")
    assert out.returncode == 0, out.stderr
    event = json.loads(out.stdout)
    assert (event["number"], event["granted"], event["source"]) == (ANNA, False, "desk")
    assert run_cli(tmp_path, "sms", "send", "--to", ANNA, "--text", "x").returncode == 2
    assert data_store.conn.execute("SELECT COUNT(*) FROM sms_messages").fetchone()[0] == 0  # no SMS for it
    assert run_cli(tmp_path, "contacts", "opt-in", ANNA).returncode == 0
    assert run_cli(tmp_path, "sms", "send", "--to", ANNA, "--text", "x").returncode == 0
    assert run_cli(tmp_path, "contacts", "opt-out", "12ab").returncode == 2
