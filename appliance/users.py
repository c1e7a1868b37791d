"""Accounts and sessions for the status page: scrypt-hashed passwords, roles, server-side sessions.

The functions that touch SQLite run on the store thread and never compute a
password hash: the hash (scrypt, memory-hard, ~50 ms and 16 MiB each) is the
caller's to compute, off the store thread (the web part has its own bounded
pool for it, ``appliance.web.auth``), so a flood of logins cannot stall the store.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from appliance.errors import ValidationError
from appliance.store.db import utcnow

if TYPE_CHECKING:
    from appliance.store.db import Store

# scrypt cost: about 50 ms on a Raspberry Pi 4 and 16 MiB of memory (memory-hard), enough
# against offline guessing of a stolen SD card, cheap enough for a login form.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
PASSWORD_MIN, PASSWORD_MAX = 8, 1024
ROLES = ("technician", "desk")
DEFAULT_ROLE = "technician"
LANGUAGES = ("en", "fi", "sv", "zh")


@dataclass(frozen=True)
class SessionUser:
    """Who a valid session belongs to."""

    username: str
    role: str
    language: str | None
    token_hash: str


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32, maxmem=64 * 1024 * 1024
    )
    enc = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${enc(salt).decode()}${enc(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(want),
            maxmem=64 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


@functools.cache
def dummy_hash() -> str:
    """A hash checked for unknown user names, so they cost as much as known ones."""
    return hash_password(secrets.token_hex(16))


def check_username(username: str) -> None:
    if not USERNAME.match(username):
        raise ValidationError(f"bad user name {username!r}: 1-64 of A-Z a-z 0-9 _ . @ -")


def check_new_password(password: str) -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise ValidationError(f"the password must have {PASSWORD_MIN}-{PASSWORD_MAX} characters")


def check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationError(f"bad role {role!r}: one of {', '.join(ROLES)}")


def add_user(store: Store, username: str, password: str, role: str = DEFAULT_ROLE) -> None:
    """Create or replace an account (a replaced password ends the account's sessions)."""
    check_username(username)
    check_new_password(password)
    check_role(role)
    save_user(store, username, hash_password(password), role)


def save_user(store: Store, username: str, password_hash: str, role: str = DEFAULT_ROLE) -> None:
    """Store an account whose password hash the caller computed (off the store thread)."""
    check_username(username)
    check_role(role)
    with store.transaction(durable=True):
        store.conn.execute(
            "INSERT INTO users(username, password_hash, created_at, role) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(username) DO UPDATE SET password_hash = excluded.password_hash, role = excluded.role",
            (username, password_hash, utcnow(), role),
        )
        store.conn.execute("DELETE FROM web_sessions WHERE username = ?", (username,))


def set_password_hash(store: Store, username: str, password_hash: str) -> None:
    """Change a password; every session of the account ends. ValidationError if no such user."""
    with store.transaction(durable=True):
        cur = store.conn.execute("UPDATE users SET password_hash = ? WHERE username = ?", (password_hash, username))
        if cur.rowcount == 0:
            raise ValidationError(f"no user {username!r}")
        store.conn.execute("DELETE FROM web_sessions WHERE username = ?", (username,))


def set_password(store: Store, username: str, password: str) -> None:
    check_new_password(password)
    set_password_hash(store, username, hash_password(password))


def remove_user(store: Store, username: str) -> None:
    """Delete an account and end its sessions. ValidationError if no such user."""
    with store.transaction(durable=True):
        cur = store.conn.execute("DELETE FROM users WHERE username = ?", (username,))
        if cur.rowcount == 0:
            raise ValidationError(f"no user {username!r}")
        store.conn.execute("DELETE FROM web_sessions WHERE username = ?", (username,))


def has_users(store: Store) -> bool:
    """Whether any account exists (the daemon says how to make the first)."""
    return store.conn.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None


def list_users(store: Store) -> list[dict[str, Any]]:
    now = utcnow()
    rows = store.conn.execute(
        "SELECT u.username, u.role, u.created_at, u.language, "
        "(SELECT COUNT(*) FROM web_sessions s WHERE s.username = u.username AND s.expires_at > ?) "
        "FROM users u ORDER BY u.username",
        (now,),
    ).fetchall()
    return [
        {"username": r[0], "role": r[1], "created_at": r[2], "language": r[3], "sessions": r[4]} for r in rows
    ]


def set_language(store: Store, username: str, language: str) -> None:
    if language not in LANGUAGES:
        raise ValidationError(f"bad language {language!r}: one of {', '.join(LANGUAGES)}")
    with store.transaction():
        store.conn.execute("UPDATE users SET language = ? WHERE username = ?", (language, username))


def password_hash_of(store: Store, username: str) -> str | None:
    """The stored hash (None for an unknown name). Fast: safe on the store thread."""
    row = store.conn.execute("SELECT password_hash FROM users WHERE username = ?", (username,)).fetchone()
    return None if row is None else str(row[0])


def authenticate(store: Store, username: str, password: str) -> bool:
    """Check a password in the calling thread (the CLI; the daemon uses appliance.web.auth)."""
    stored = password_hash_of(store, username)
    if stored is None:
        check_password(password, dummy_hash())
        return False
    return check_password(password, stored)


# -- sessions ---------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(store: Store, username: str, lifetime_s: float, address: str | None = None) -> str:
    """A new session for ``username``; returns the token for the cookie (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(seconds=lifetime_s)
    expires_at = expires.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    with store.transaction():
        store.conn.execute(
            "INSERT INTO web_sessions(token_hash, username, created_at, expires_at, address) VALUES (?, ?, ?, ?, ?)",
            (token_hash(token), username, utcnow(), expires_at, address),
        )
    return token


def session_user(store: Store, token: str) -> SessionUser | None:
    """The account of a live session, or None (unknown, expired, revoked, account gone)."""
    th = token_hash(token)
    row = store.conn.execute(
        "SELECT u.username, u.role, u.language, s.expires_at FROM web_sessions s "
        "JOIN users u ON u.username = s.username WHERE s.token_hash = ? AND s.expires_at > ?",
        (th, utcnow()),
    ).fetchone()
    if row is None:
        return None
    return SessionUser(row[0], row[1], row[2], th)


def revoke_session(store: Store, token_hash_hex: str) -> None:
    with store.transaction():
        store.conn.execute("DELETE FROM web_sessions WHERE token_hash = ?", (token_hash_hex,))


def prune_sessions(store: Store) -> int:
    with store.transaction():
        return store.conn.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (utcnow(),)).rowcount
