"""Technician accounts for the status page: scrypt-hashed passwords in the store."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from typing import TYPE_CHECKING

from appliance.errors import ValidationError
from appliance.store.db import utcnow

if TYPE_CHECKING:
    from appliance.store.db import Store

# scrypt cost: about 50 ms on a Raspberry Pi 4, enough against offline guessing of a
# stolen SD card, cheap enough for a login form.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
PASSWORD_MIN, PASSWORD_MAX = 8, 1024


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    enc = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${enc(salt).decode()}${enc(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(want)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def add_user(store: Store, username: str, password: str) -> None:
    """Create or replace a technician account."""
    if not USERNAME.match(username):
        raise ValidationError(f"bad user name {username!r}: 1-64 of A-Z a-z 0-9 _ . @ -")
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise ValidationError(f"the password must have {PASSWORD_MIN}-{PASSWORD_MAX} characters")
    with store.transaction(durable=True):
        store.conn.execute(
            "INSERT INTO users(username, password_hash, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT(username) DO UPDATE SET password_hash = excluded.password_hash",
            (username, hash_password(password), utcnow()),
        )


@functools.cache
def _dummy_hash() -> str:
    """A hash checked for unknown user names, so they cost as much as known ones."""
    return hash_password(secrets.token_hex(16))


def authenticate(store: Store, username: str, password: str) -> bool:
    row = store.conn.execute("SELECT password_hash FROM users WHERE username = ?", (username,)).fetchone()
    if row is None:
        check_password(password, _dummy_hash())
        return False
    return check_password(password, row[0])
