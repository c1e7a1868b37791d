"""The appliance's own SMS texts (opt-out confirmations, help, complaint acks and outcomes,
survey framing) in English, Finnish, Swedish and Chinese.

``say("complaint_ack", "fi", reference="C-7K3QM", lab="Lab 3")`` gives the text.
Every result goes through :func:`gsm7_where_possible`: typographic quotes, dashes and
ellipses that would force UCS-2 (70 characters a part instead of 160) are replaced by
their GSM-7 look-alikes when that makes the whole text GSM-7; a text that needs other
characters (Chinese) stays UCS-2. The wording is kept within one SMS part for a short
lab name (see tests/workflows/test_texts.py for the part counts).
"""
# ruff: noqa: RUF001  (Chinese texts use full-width punctuation on purpose)

from __future__ import annotations

from typing import Any

from appliance.errors import ValidationError
from appliance.notifications.templates import FALLBACK_LANGUAGE
from appliance.sms import gsm7
from appliance.sms.pdu import split_text

LANGUAGES = ("en", "fi", "sv", "zh")

TEXTS: dict[str, dict[str, str]] = {
    "opt_out_confirmed": {
        "en": "{lab}: you will get no more messages from us. Reply START to receive them again.",
        "fi": "{lab}: et saa enää viestejä meiltä. Vastaa ALOITA, jos haluat taas viestejä.",
        "sv": "{lab}: du får inga fler meddelanden från oss. Svara STARTA för att få dem igen.",
        "zh": "{lab}：您已退订，将不再收到我们的短信。回复“订阅”可重新接收。",
    },
    "opt_in_confirmed": {
        "en": "{lab}: you will receive our messages again. Reply STOP to stop them.",
        "fi": "{lab}: saat taas viestejämme. Vastaa LOPETA lopettaaksesi.",
        "sv": "{lab}: du får våra meddelanden igen. Svara SLUTA för att avsluta.",
        "zh": "{lab}：您已重新订阅我们的短信。回复“退订”可停止接收。",
    },
    "help": {
        "en": "{lab}: {contact} Reply STOP to stop messages.",
        "fi": "{lab}: {contact} Vastaa LOPETA lopettaaksesi viestit.",
        "sv": "{lab}: {contact} Svara SLUTA för att avsluta meddelandena.",
        "zh": "{lab}：{contact} 回复“退订”停止接收短信。",
    },
    "complaint_ack": {
        "en": "{lab}: we have received your complaint, reference {reference}. We will tell you the outcome.",
        "fi": "{lab}: olemme vastaanottaneet valituksesi, viite {reference}. Kerromme sinulle tuloksen.",
        "sv": "{lab}: vi har tagit emot ditt klagomål, referens {reference}. Vi meddelar dig resultatet.",
        "zh": "{lab}：我们已收到您的投诉，编号{reference}。处理结果将通知您。",
    },
    "complaint_outcome": {
        "en": "{lab}: your complaint {reference} has been handled: {outcome}",
        "fi": "{lab}: valituksesi {reference} on käsitelty: {outcome}",
        "sv": "{lab}: ditt klagomål {reference} har behandlats: {outcome}",
        "zh": "{lab}：您的投诉{reference}已处理：{outcome}",
    },
    "survey_question": {
        "en": "{lab} ({number}/{total}): {question}{hint}",
        "fi": "{lab} ({number}/{total}): {question}{hint}",
        "sv": "{lab} ({number}/{total}): {question}{hint}",
        "zh": "{lab}（{number}/{total}）：{question}{hint}",
    },
    "survey_hint_scale": {
        "en": " Reply {low}-{high}.",
        "fi": " Vastaa {low}-{high}.",
        "sv": " Svara {low}-{high}.",
        "zh": "请回复{low}-{high}。",
    },
    "survey_hint_yes_no": {
        "en": " Reply YES or NO.",
        "fi": " Vastaa KYLLÄ tai EI.",
        "sv": " Svara JA eller NEJ.",
        "zh": "请回复“是”或“否”。",
    },
    "survey_reask": {
        "en": "Sorry, we did not understand. ",
        "fi": "Emme ymmärtäneet vastaustasi. ",
        "sv": "Vi förstod inte svaret. ",
        "zh": "抱歉，我们没有看懂。",
    },
    "survey_thanks": {
        "en": "{lab}: thank you for your answers.",
        "fi": "{lab}: kiitos vastauksistasi.",
        "sv": "{lab}: tack för dina svar.",
        "zh": "{lab}：感谢您的回答。",
    },
}

# Characters outside GSM-7 that have a GSM-7 look-alike good enough for an SMS.
_LOOKALIKES = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
        "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
    }
)


def language_of(tag: str | None) -> str:
    """The text language for a BCP 47 tag: its primary subtag if translated, else English."""
    primary = (tag or "").split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else FALLBACK_LANGUAGE


def gsm7_where_possible(text: str) -> str:
    """``text`` with look-alikes swapped in when that makes it GSM-7; else ``text`` unchanged."""
    if gsm7.is_gsm7(text):
        return text
    swapped = text.translate(_LOOKALIKES)
    return swapped if gsm7.is_gsm7(swapped) else text


def parts_of(text: str) -> tuple[str, int]:
    """(encoding, number of SMS parts) ``text`` is sent as."""
    encoding, parts = split_text(text)
    return encoding, len(parts)


def say(name: str, language: str | None, **params: Any) -> str:
    """The text ``name`` in ``language`` (fallback English), GSM-7 where possible."""
    variants = TEXTS.get(name)
    if variants is None:
        raise ValidationError(f"unknown text {name!r}; known are {', '.join(sorted(TEXTS))}")
    values = {"lab": "Lab", **{k: str(v) for k, v in params.items()}}
    if not values["lab"]:
        values["lab"] = "Lab"
    try:
        text = variants[language_of(language)].format_map(values)
    except KeyError as err:
        raise ValidationError(f"text {name}: missing param {err}") from None
    return gsm7_where_possible(text)
