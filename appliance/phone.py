"""Phone numbers: parse to E.164 with libphonenumber, and mask them for logs.

``phonenumbers`` (Google's libphonenumber metadata) is used instead of our own
rules because numbering plans change every month and it knows them per region.
"""

from __future__ import annotations

import re

import phonenumbers

from appliance.errors import ValidationError

# A leading + and 6+ digits, or 7+ digits in a row: long enough to be a phone number,
# rarer than that in counts and ids.
_NUMBER_LIKE = re.compile(r"(?<![\w.])(\+\d{6,15}|\d{7,15})(?![\w.])")


def to_e164(number: str, region: str) -> str:
    """``number`` in E.164 (``+358401234567``); national forms are read in ``region``.

    Raises ValidationError naming the number when it is not a possible phone number.
    """
    text = number.strip()
    if not text:
        raise ValidationError("empty phone number")
    try:
        parsed = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException as err:
        raise ValidationError(f"not a phone number: {number!r} ({err})") from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValidationError(f"not a possible phone number in {region}: {number!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask(number: str) -> str:
    """Keep the first 4 and the last 2 characters: ``+358*****67``."""
    if len(number) <= 6:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 6) + number[-2:]


def mask_numbers_in(text: str) -> str:
    """``text`` with every number-like run masked (used by the log formatter)."""
    return _NUMBER_LIKE.sub(lambda m: mask(m.group(0)), text)
