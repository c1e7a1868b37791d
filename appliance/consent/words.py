"""Which inbound SMS is an opt-out, an opt-in or a request for help (pure, no store).

The rule (REFERENCE.md "Opt-out words"): the message's *first sentence* (up to the
first ``.``, ``!``, ``?``, ``;``, ``。``, ``！``, ``？`` or line break), case and
punctuation ignored, must be a keyword alone, optionally with courtesy words
(please, thanks, kiitos, tack, 谢谢, ...). So:

- ``"Stop."``, ``"STOP!!"``, ``"Stop. Thank you"``, ``"stop please"``, ``"Lopeta kiitos"``,
  ``"opt out"``, ``"退订"`` are opt-outs;
- ``"STOP 1234"`` is **not** (a word with a digit may be a code the sender was asked for:
  RapidPro and Spoke users report both bugs, REFERENCE.md); it goes on to the next hooks
  and is kept as a plain message;
- ``"please stop calling me about my results"`` is not either: other words make it a
  sentence for a person to read, not a keyword.

The detected language (``fi`` for LOPETA, ``sv`` for SLUTA, ...) picks the language of
the confirmation when the number belongs to no contact.
"""
# ruff: noqa: RUF001, RUF002  (Chinese punctuation on purpose)

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# word -> language of the reply; multi-word phrases are matched as a whole.
OPT_OUT: dict[str, str] = {
    "stop": "en", "end": "en", "cancel": "en", "unsubscribe": "en", "quit": "en", "stopall": "en",
    "opt out": "en", "optout": "en", "opt-out": "en", "revoke": "en",
    "lopeta": "fi",
    "stopp": "sv", "avsluta": "sv", "sluta": "sv",
    "退订": "zh", "t": "zh", "td": "zh",
}
OPT_IN: dict[str, str] = {
    "start": "en", "yes": "en", "unstop": "en",
    "aloita": "fi",
    "starta": "sv",
    "订阅": "zh",
}
HELP: dict[str, str] = {
    "help": "en", "info": "en",
    "apua": "fi",
    "hjälp": "sv", "hjalp": "sv",
    "帮助": "zh",
}
# Words that may stand beside a keyword without making it a sentence.
COURTESY = frozenset(
    {
        "please", "pls", "plz", "thanks", "thank", "you", "thx", "ty", "now", "ok",
        "kiitos", "kiitti", "heti",
        "tack", "snälla", "tacksam", "nu",
        "谢谢", "请", "谢",
    }
)
_SENTENCE_END = re.compile(r"[.!?;\n。！？；]")
_CJK_KEYWORDS = ("退订", "订阅", "帮助")


@dataclass(frozen=True)
class Keyword:
    kind: str  # opt_out, opt_in, help
    word: str  # the keyword as matched (lower case)
    language: str


def _words(sentence: str) -> list[str]:
    """Lower-case words of ``sentence`` without punctuation or symbols (emoji)."""
    cleaned = "".join(
        ch if (unicodedata.category(ch)[0] in "LN" or ch in "-") else " " for ch in sentence.casefold()
    )
    for cjk in (*_CJK_KEYWORDS, "谢谢", "请"):  # Chinese is written without spaces
        cleaned = cleaned.replace(cjk, f" {cjk} ")
    return cleaned.split()


def first_sentence(text: str) -> str:
    stripped = text.strip()
    m = _SENTENCE_END.search(stripped)
    return stripped[: m.start()] if m else stripped


def classify(text: str) -> Keyword | None:
    """The keyword ``text`` is (opt-out, opt-in or help), or None (see the module rule)."""
    words = _words(first_sentence(text))
    if not words or any(any(c.isdigit() for c in w) for w in words):
        return None
    rest = [w for w in words if w not in COURTESY]
    if not rest:
        return None
    phrase = " ".join(rest)
    for kind, table in (("opt_out", OPT_OUT), ("opt_in", OPT_IN), ("help", HELP)):
        if phrase in table:
            return Keyword(kind, phrase, table[phrase])
    return None
