"""Reading a survey answer: ``scale`` (digits and number words), ``yes_no``, ``text`` (pure).

Scale: the reply must hold exactly one number in ``low..high``, written in digits (ASCII
or full-width) or as a word in English, Finnish, Swedish or Chinese ("four", "neljä",
"fyra", "四"); "4/5" and "4 out of 5" read as 4 (the second number is the scale's top).
Yes/no: the first word in the four languages, or "1"/"2" (the keypad's yes and no).
Anything else is unreadable (``None``): the engine asks once more.
"""
# ruff: noqa: RUF001  (Chinese on purpose)

from __future__ import annotations

import re
import unicodedata

NUMBER_WORDS: dict[str, int] = {
    # en
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10,
    # fi
    "nolla": 0, "yksi": 1, "kaksi": 2, "kolme": 3, "neljä": 4, "viisi": 5, "kuusi": 6,
    "seitsemän": 7, "kahdeksan": 8, "yhdeksän": 9, "kymmenen": 10,
    # sv
    # not "en": the Finnish "en tiedä" (I do not know) is no 1
    "noll": 0, "ett": 1, "två": 2, "tre": 3, "fyra": 4, "fem": 5, "sex": 6, "sju": 7,
    "åtta": 8, "nio": 9, "tio": 10,
}
CHINESE_DIGITS: dict[str, int] = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
    "八": 8, "九": 9, "十": 10,
}
YES = frozenset({"yes", "y", "yeah", "yep", "sure", "kyllä", "kylla", "joo", "juu", "k", "ja", "j", "jo",
                 "是", "是的", "对", "对的", "好", "有"})
NO = frozenset({"no", "n", "nope", "not", "ei", "e", "nej", "nä", "不", "不是", "否", "没有", "没", "无"})
_OUT_OF = re.compile(r"^\s*(\d+)\s*(?:/|out of|of|av|/\s*)\s*(\d+)\s*$")


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip()


def _tokens(text: str) -> list[str]:
    return re.findall(r"\d+|[^\W\d_]+", text)


def parse_scale(raw: str, low: int = 1, high: int = 5) -> int | None:
    """The one number in ``raw`` within ``low..high``, or None."""
    text = _normalise(raw)
    m = _OUT_OF.match(text)
    if m and int(m.group(2)) == high:
        text = m.group(1)
    found: list[int] = []
    for token in _tokens(text):
        if token.isdigit():
            found.append(int(token))
        elif token in NUMBER_WORDS:
            found.append(NUMBER_WORDS[token])
        elif all(ch in CHINESE_DIGITS for ch in token):
            found.extend(_chinese_number(token))
    distinct = set(found)
    if len(distinct) != 1:
        return None
    value = distinct.pop()
    return value if low <= value <= high else None


def _chinese_number(token: str) -> list[int]:
    """``"四"`` -> [4], ``"十"`` -> [10]; several digits in a row are separate numbers."""
    return [CHINESE_DIGITS[ch] for ch in token]


def parse_yes_no(raw: str) -> bool | None:
    text = _normalise(raw)
    if text in ("1", "2"):
        return text == "1"
    for candidate in (text, *text.split()[:1]):
        word = candidate.strip(".,!?;:。！？，")
        if word in YES:
            return True
        if word in NO:
            return False
    for word, value in (("不是", False), ("是的", True), ("没有", False)):  # Chinese without spaces
        if text.startswith(word):
            return value
    if text[:1] in ("是", "对", "好"):
        return True
    if text[:1] in ("不", "否", "没"):
        return False
    return None


def parse_text(raw: str) -> str | None:
    text = raw.strip()
    return text or None


def parse_answer(kind: str, raw: str, low: int = 1, high: int = 5) -> int | bool | str | None:
    """The value of ``raw`` for a question of ``kind``, or None when unreadable."""
    if kind == "scale":
        return parse_scale(raw, low, high)
    if kind == "yes_no":
        return parse_yes_no(raw)
    return parse_text(raw)
