"""Possible duplicate contacts: flagged and reported, never merged.

Two contacts are possible duplicates when

- they share a phone number (E.164; a family phone is a common, legitimate
  reason, hence "possible"), or
- they were born the same year and their names are similar: score >= ``NAME_THRESHOLD``.

Name similarity. Names are normalised first: Unicode NFKD with the accents
dropped (``Mäkinen`` = ``Makinen``, ``Åsa`` = ``Asa``), case-folded, and
split into tokens at spaces, hyphens and punctuation (``Anna-Maria`` =
``Anna Maria``). Then the score is 1.0 when the tokens are the same in any
order (``Li Wei`` = ``Wei Li``, family name first or last) or the same letters
without separators (``Annamaria`` = ``Anna Maria``); otherwise each token of
the shorter name is paired with its best unused token of the other by
Jaro-Winkler, and the score is the *worst* of those pairs, so one very
different first name is enough to keep two people apart. A one-token name
is only compared with another one-token name (``Anna`` alone says nothing).

Why 0.92: it keeps apart real, distinct names that differ by a letter or two
and are common in the lab's population (``Maria``/``Marja`` 0.91,
``Mikko``/``Mika`` 0.85, ``Wei``/``Wen`` 0.82), and still catches a typo in a
longer name (``Virtanen``/``Virtanan`` 0.95, ``Johansson``/``Johanson``
0.98, ``Fang``/``Fan`` 0.94). Names in Chinese characters are compared per
character string (``王芳``/``王方`` 0.70: not flagged). The examples are tested
in ``tests/workflows/test_duplicates_*.py``.

Blocking (so 100,000 contacts stay cheap): candidates are looked up by
(birth year, name token) in ``contact_name_tokens``, so a pair is scored only
when it shares at least one exact normalised token; a typo in *every* token
is not found, which is the price of not comparing every pair.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import TYPE_CHECKING, Any

from appliance.store.outbox import EventOutbox
from sync.envelope import utc_timestamp

if TYPE_CHECKING:
    from appliance.store.db import Store

log = logging.getLogger(__name__)

NAME_THRESHOLD = 0.92
_SEPARATORS = re.compile(r"[\W_]+", re.UNICODE)


def normalise_name(name: str) -> str:
    """Accent-folded, case-folded, separators collapsed to one space."""
    decomposed = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    folded = folded.replace("ø", "o").replace("æ", "ae").replace("ß", "ss").replace("đ", "d").replace("ł", "l")
    return _SEPARATORS.sub(" ", folded).strip()


def name_tokens(name: str | None) -> list[str]:
    return normalise_name(name or "").split()


def jaro_winkler(a: str, b: str, prefix_scale: float = 0.1) -> float:
    """Jaro-Winkler similarity of two strings, 0.0-1.0 (1.0: equal)."""
    if a == b:
        return 1.0
    la, lb = len(a), len(b)
    if not la or not lb:
        return 0.0
    window = max(max(la, lb) // 2 - 1, 0)
    used_b = [False] * lb
    matches_a: list[str] = []
    for i, ch in enumerate(a):
        lo, hi = max(0, i - window), min(lb, i + window + 1)
        for j in range(lo, hi):
            if not used_b[j] and b[j] == ch:
                used_b[j] = True
                matches_a.append(ch)
                break
    m = len(matches_a)
    if not m:
        return 0.0
    matches_b = [b[j] for j in range(lb) if used_b[j]]
    transpositions = sum(x != y for x, y in zip(matches_a, matches_b, strict=True)) / 2
    jaro = (m / la + m / lb + (m - transpositions) / m) / 3
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * prefix_scale * (1 - jaro)


def name_similarity(a: str | None, b: str | None) -> float:
    """How alike two names are, 0.0-1.0 (see the module docstring)."""
    ta, tb = name_tokens(a), name_tokens(b)
    if not ta or not tb:
        return 0.0
    if sorted(ta) == sorted(tb) or "".join(ta) == "".join(tb):
        return 1.0
    if (len(ta) == 1) != (len(tb) == 1):
        return 0.0
    short, long_ = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
    free = list(long_)
    worst = 1.0
    for token in sorted(short, key=len, reverse=True):
        best_i, best = -1, 0.0
        for i, other in enumerate(free):
            score = jaro_winkler(token, other)
            if score > best:
                best_i, best = i, score
        if best_i < 0:
            return 0.0
        free.pop(best_i)
        worst = min(worst, best)
    return worst


def similar_names(a: str | None, b: str | None) -> bool:
    return name_similarity(a, b) >= NAME_THRESHOLD


def birth_year(birth_date: str | None) -> int | None:
    if not birth_date or len(birth_date) < 4 or not birth_date[:4].isdigit():
        return None
    return int(birth_date[:4])


# -- the store side --------------------------------------------------------------------------

EVENT_STREAM = "contact_duplicate"
CURSOR_KEY = "duplicates.cursor"
SCAN_BATCH = 500
SAME_NUMBER = "same_number"
SIMILAR_NAME = "similar_name_birth_year"


def _refresh_tokens(store: Store, contact_id: str, name: str | None, year: int | None) -> list[str]:
    conn = store.conn
    conn.execute("DELETE FROM contact_name_tokens WHERE contact_id = ?", (contact_id,))
    tokens = sorted(set(name_tokens(name)))
    if year is not None and tokens:
        conn.executemany(
            "INSERT OR IGNORE INTO contact_name_tokens(birth_year, token, contact_id) VALUES (?, ?, ?)",
            ((year, t, contact_id) for t in tokens),
        )
    return tokens


def find_duplicates(store: Store, contact_id: str) -> dict[str, tuple[str, float | None]]:
    """{other contact id: (reason, score)} for one contact (refreshes its name tokens; store thread)."""
    conn = store.conn
    row = conn.execute(
        "SELECT name, birth_date, deleted FROM contacts WHERE contact_id = ?", (contact_id,)
    ).fetchone()
    if row is None or row[2]:
        conn.execute("DELETE FROM contact_name_tokens WHERE contact_id = ?", (contact_id,))
        return {}
    name, born, _deleted = row
    year = birth_year(born)
    tokens = _refresh_tokens(store, contact_id, name, year)
    found: dict[str, tuple[str, float | None]] = {}
    for (other,) in conn.execute(
        "SELECT DISTINCT p2.contact_id FROM contact_phones p1 JOIN contact_phones p2 ON p2.number = p1.number "
        "JOIN contacts c ON c.contact_id = p2.contact_id "
        "WHERE p1.contact_id = ? AND p2.contact_id != ? AND c.deleted = 0",
        (contact_id, contact_id),
    ):
        found[other] = (SAME_NUMBER, None)
    if year is None or not tokens:
        return found
    marks = ",".join("?" * len(tokens))
    candidates = conn.execute(
        f"SELECT DISTINCT c.contact_id, c.name FROM contact_name_tokens t JOIN contacts c "
        f"ON c.contact_id = t.contact_id WHERE t.birth_year = ? AND t.token IN ({marks}) "
        f"AND t.contact_id != ? AND c.deleted = 0",
        (year, *tokens, contact_id),
    ).fetchall()
    for other, other_name in candidates:
        if other in found:
            continue
        score = name_similarity(name, other_name)
        if score >= NAME_THRESHOLD:
            found[other] = (SIMILAR_NAME, round(score, 3))
    return found


def check_contact(store: Store, contact_id: str) -> list[dict[str, Any]]:
    """Flag (both ways) and report the possible duplicates of a contact; drop flags that no longer hold.

    Returns the newly flagged pairs; each also goes up as one ``contact_duplicate`` event.
    """
    conn = store.conn
    new: list[dict[str, Any]] = []
    with store.transaction():
        found = find_duplicates(store, contact_id)
        old = {
            r[0]
            for r in conn.execute(
                "SELECT duplicate_of FROM contact_duplicates WHERE contact_id = ?", (contact_id,)
            )
        }
        for gone in old - set(found):
            conn.execute(
                "DELETE FROM contact_duplicates WHERE (contact_id = ? AND duplicate_of = ?) "
                "OR (contact_id = ? AND duplicate_of = ?)",
                (contact_id, gone, gone, contact_id),
            )
        stamp = utc_timestamp()
        for other, (reason, score) in sorted(found.items()):
            if other in old:
                continue
            for a, b in ((contact_id, other), (other, contact_id)):
                conn.execute(
                    "INSERT INTO contact_duplicates(contact_id, duplicate_of, reason, score, flagged_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT(contact_id, duplicate_of) DO UPDATE SET "
                    "reason = excluded.reason, score = excluded.score",
                    (a, b, reason, score, stamp),
                )
            data: dict[str, Any] = {"contact_id": contact_id, "duplicate_of": other, "reason": reason}
            if score is not None:
                data["score"] = score
            EventOutbox(store).append(EVENT_STREAM, data)
            new.append(data)
    for d in new:
        log.info("contact %s: possible duplicate of %s (%s)", d["contact_id"], d["duplicate_of"], d["reason"])
    return new


def possible_duplicates_of(store: Store, contact_id: str) -> list[str]:
    """The contact ids flagged as possible duplicates of ``contact_id``."""
    return [
        r[0]
        for r in store.conn.execute(
            "SELECT duplicate_of FROM contact_duplicates WHERE contact_id = ? ORDER BY duplicate_of", (contact_id,)
        )
    ]


def scan_changed(store: Store, limit: int = SCAN_BATCH) -> int:
    """Check the contacts changed since the last scan (by ``updated_at``); return how many were checked."""
    cursor = store.get_meta(CURSOR_KEY, "") or ""
    at, _, last_id = cursor.partition("|")
    rows = store.conn.execute(
        "SELECT contact_id, updated_at FROM contacts WHERE (updated_at, contact_id) > (?, ?) "
        "ORDER BY updated_at, contact_id LIMIT ?",
        (at, last_id, limit),
    ).fetchall()
    if not rows:
        return 0
    with store.transaction():
        for contact_id, _updated in rows:
            check_contact(store, contact_id)
        store.set_meta(CURSOR_KEY, f"{rows[-1][1]}|{rows[-1][0]}")
    return len(rows)
