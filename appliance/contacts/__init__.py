"""Contacts: the people the lab talks to (from the central system, or made on this box)."""

from appliance.contacts.store import (
    Contact,
    apply_contact,
    create_local_contact,
    duplicates_of,
    find_by_number,
    get_contact,
    get_note,
    list_contacts,
    normalise_phones,
    set_note,
    update_local_contact,
)

__all__ = [
    "Contact",
    "apply_contact",
    "create_local_contact",
    "duplicates_of",
    "find_by_number",
    "get_contact",
    "get_note",
    "list_contacts",
    "normalise_phones",
    "set_note",
    "update_local_contact",
]
