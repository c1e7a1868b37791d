"""Possible duplicate contacts: the name rule with its examples, flagging, the event, never a merge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.contacts import duplicates as dup
from appliance.contacts import list_contacts
from appliance.store.db import Store
from tests.helpers import run_cli
from tests.workflows.sched_support import add_contact, events


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Anna-Maria Virtanen", "Anna Maria Virtanen"),  # hyphen or space
        ("Annamaria Virtanen", "Anna-Maria Virtanen"),  # written together
        ("Li Wei", "Wei Li"),  # family name first or last
        ("Jari Mäkinen", "Jari Makinen"),  # accent dropped by a keyboard
        ("Åsa Lindström", "ASA LINDSTROM"),  # case and accents
        ("Anna Virtanen", "Anna-Maria Virtanen"),  # a middle name left out
        ("Erik Johansson", "Erik Johanson"),  # a typo in a long name (0.98)
        ("Anna Virtanen", "Anna Virtanan"),  # a typo in a long name (0.95)
    ],
)
def test_similar(a: str, b: str) -> None:
    assert dup.similar_names(a, b), dup.name_similarity(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Maria Korhonen", "Marja Korhonen"),  # two real names (0.91)
        ("Mikko Virtanen", "Mika Virtanen"),  # two real names (0.85)
        ("Li Wei", "Li Wen"),  # two real names (0.82)
        ("王芳", "王方"),  # one character apart (0.70)
        ("Anna", "Anna Virtanen"),  # a first name alone says nothing
        ("", "Anna Virtanen"),
    ],
)
def test_not_similar(a: str, b: str) -> None:
    assert not dup.similar_names(a, b), dup.name_similarity(a, b)


def test_jaro_winkler_reference_values() -> None:
    # the textbook pairs (Winkler 1990): MARTHA/MARHTA 0.961, DWAYNE/DUANE 0.84, DIXON/DICKSONX 0.813
    assert dup.jaro_winkler("martha", "marhta") == pytest.approx(0.961, abs=1e-3)
    assert dup.jaro_winkler("dwayne", "duane") == pytest.approx(0.84, abs=1e-3)
    assert dup.jaro_winkler("dixon", "dicksonx") == pytest.approx(0.813, abs=1e-3)


def test_flagged_both_ways_reported_once_never_merged(store: Store) -> None:
    add_contact(store, "C-1", "Anna-Maria Virtanen", ["+358401000001"], birth_date="1980-03-01")
    add_contact(store, "C-2", "Anna Maria Virtanen", ["+358401000002"], birth_date="1980-11-30")  # same year
    add_contact(store, "C-3", "Anna Maria Virtanen", ["+358401000003"], birth_date="1981-03-01")  # another year
    add_contact(store, "C-4", "Wei Li", ["+358401000004"], birth_date="1975-01-01")
    add_contact(store, "C-5", "Li Wei", ["+358401000005"], birth_date="1975-06-01")
    add_contact(store, "C-6", "Pekka Nieminen", ["+358401000001"])  # shares C-1's phone, no birth date
    assert dup.scan_changed(store) == 6
    assert dup.scan_changed(store) == 0  # nothing changed since
    assert dup.possible_duplicates_of(store, "C-1") == ["C-2", "C-6"]
    assert dup.possible_duplicates_of(store, "C-2") == ["C-1"]
    assert dup.possible_duplicates_of(store, "C-3") == []
    assert dup.possible_duplicates_of(store, "C-5") == ["C-4"]
    reported = {(e["contact_id"], e["duplicate_of"], e["reason"]) for e in events(store, "contact_duplicate")}
    assert reported == {
        ("C-2", "C-1", "similar_name_birth_year"),
        ("C-5", "C-4", "similar_name_birth_year"),
        ("C-1", "C-6", "same_number"),  # C-1 was checked first and found C-6 by the phone
    }
    assert len(events(store, "contact_duplicate")) == 3  # one event per pair
    # never merged: every contact is still there with its own phones
    contacts = {c.contact_id: c for c in list_contacts(store)}
    assert set(contacts) == {"C-1", "C-2", "C-3", "C-4", "C-5", "C-6"}
    listed = {c.contact_id: c for c in list_contacts(store)}
    assert listed["C-6"].phones == ["+358401000001"]


def test_a_flag_that_no_longer_holds_is_dropped(store: Store) -> None:
    add_contact(store, "C-1", "Anna Virtanen", ["+358401000001"], birth_date="1980-03-01")
    add_contact(store, "C-2", "Anna Virtanen", ["+358401000002"], birth_date="1980-03-01")
    dup.scan_changed(store)
    assert dup.possible_duplicates_of(store, "C-1") == ["C-2"]
    with store.transaction():  # the central corrects C-2's name
        store.conn.execute("UPDATE contacts SET name = 'Bertta Korhonen', updated_at = '2026-02-01T00:00:00.000Z' "
                           "WHERE contact_id = 'C-2'")
    assert dup.scan_changed(store) == 1
    assert dup.possible_duplicates_of(store, "C-1") == []
    assert dup.possible_duplicates_of(store, "C-2") == []


def test_contacts_list_shows_the_flags(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "appliance.db")
    add_contact(store, "C-1", "Li Wei", ["+358401000001"], birth_date="1990-01-01")
    add_contact(store, "C-2", "Wei Li", ["+358401000002"], birth_date="1990-05-05")
    dup.scan_changed(store)
    store.close()
    result = run_cli(tmp_path, "contacts", "list", "--json")
    assert result.returncode == 0, result.stderr
    by_id = {c["contact_id"]: c for c in json.loads(result.stdout)}
    assert by_id["C-1"]["possible_duplicate_of"] == ["C-2"]
    assert by_id["C-2"]["possible_duplicate_of"] == ["C-1"]
