"""Contacts: the people the lab talks to (from the central system, or made on this box)."""

from appliance.contacts.store import (
    Contact,
    apply_contact,
    create_local_contact,
    duplicates_of,
    find_by_number,
    get_contact,
    list_contacts,
    normalise_phones,
)

__all__ = [
    "Contact",
    "apply_contact",
    "create_local_contact",
    "duplicates_of",
    "find_by_number",
    "get_contact",
    "list_contacts",
    "normalise_phones",
]
