"""Which inbound SMS opens a complaint: its first word is a complaint keyword (pure)."""
# ruff: noqa: RUF001  (Chinese punctuation on purpose)

from __future__ import annotations

import re

KEYWORDS: dict[str, str] = {
    "complaint": "en",
    "complain": "en",
    "valitus": "fi",
    "reklamaatio": "fi",
    "klagomål": "sv",
    "klagomal": "sv",
    "投诉": "zh",
}
_FIRST = re.compile(r"^\s*([^\s:,.;!?：，。；！？]+)[\s:,.;!?：，。；！？-]*(.*)$", re.DOTALL)


def complaint_keyword(text: str) -> tuple[str, str] | None:
    """(language, the rest of the text) when ``text`` starts with a complaint keyword."""
    stripped = text.strip()
    if stripped.startswith("投诉"):  # Chinese: no space after the keyword
        return "zh", stripped[2:].lstrip(" :：,，.。;；!！?？-")
    m = _FIRST.match(stripped)
    if not m:
        return None
    language = KEYWORDS.get(m.group(1).casefold())
    if language is None:
        return None
    return language, m.group(2).strip()
