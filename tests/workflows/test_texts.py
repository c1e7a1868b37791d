"""The appliance's own texts in en/fi/sv/zh: GSM-7 where possible, part counts right."""
# ruff: noqa: RUF001

from __future__ import annotations

import pytest

from appliance.notifications.templates import TEMPLATES, render
from appliance.notifications.texts import LANGUAGES, TEXTS, gsm7_where_possible, parts_of, say
from appliance.sms import gsm7
from appliance.surveys.engine import Question
from appliance.surveys.sms import question_text

PARAMS = {"lab": "Lab 3", "reference": "C-7K3QM", "outcome": "We have added staff.", "contact": "Call 09 123 4567.",
          "number": 1, "total": 3, "question": "How was your visit?", "hint": " Reply 1-5.", "low": 1, "high": 5}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", sorted(TEXTS))
def test_every_text_in_every_language_is_one_part_in_the_right_alphabet(name: str, language: str) -> None:
    text = say(name, language, **PARAMS)
    encoding, parts = parts_of(text)
    assert encoding == ("ucs2" if language == "zh" else "gsm7"), text
    assert parts == 1, (len(text), text)


def test_part_counts_at_the_boundaries() -> None:
    assert parts_of("a" * 160) == ("gsm7", 1)
    assert parts_of("a" * 161) == ("gsm7", 2)
    assert parts_of("€" * 80) == ("gsm7", 1)  # € is an escape pair: 2 septets
    assert parts_of("€" * 81) == ("gsm7", 2)
    assert parts_of("ä" * 160) == ("gsm7", 1)  # Finnish and Swedish letters are in the default alphabet
    assert parts_of("您" * 70) == ("ucs2", 1)
    assert parts_of("您" * 71) == ("ucs2", 2)
    assert parts_of("您" * 134) == ("ucs2", 2)
    assert parts_of("您" * 135) == ("ucs2", 3)


def test_lookalikes_keep_a_text_in_gsm7() -> None:
    text = gsm7_where_possible("Lab 3: “thanks” – we’ll call you…")
    assert text == 'Lab 3: "thanks" - we\'ll call you...' and gsm7.is_gsm7(text)
    assert gsm7_where_possible("谢谢 “you”") == "谢谢 “you”"  # UCS-2 anyway: left as written
    outcome = say("complaint_outcome", "en", lab="Lab 3", reference="C-22222", outcome="We’re sorry – fixed.")
    assert parts_of(outcome) == ("gsm7", 1) and "We're sorry - fixed." in outcome


def test_a_language_without_texts_falls_back_to_english() -> None:
    assert say("survey_thanks", "de-DE", lab="Lab 3") == "Lab 3: thank you for your answers."
    assert say("survey_thanks", "fi-FI", lab="Lab 3") == "Lab 3: kiitos vastauksistasi."
    assert say("survey_thanks", "zh-Hans", lab="Lab 3") == "Lab 3：感谢您的回答。"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Lab 3 (2/3): Would you come again? Reply YES or NO."),
        ("fi", "Lab 3 (2/3): Tulisitko uudelleen? Vastaa KYLLÄ tai EI."),
        ("sv", "Lab 3 (2/3): Skulle du komma igen? Svara JA eller NEJ."),
        ("zh", "Lab 3（2/3）：您还会再来吗？请回复“是”或“否”。"),
    ],
)
def test_survey_question_framing(language: str, expected: str) -> None:
    q = Question("q2", "yes_no", {"en": "Would you come again?", "fi": "Tulisitko uudelleen?",
                                  "sv": "Skulle du komma igen?", "zh": "您还会再来吗？"})
    assert question_text(q, 1, 3, language, "Lab 3") == expected
    assert parts_of(expected)[1] == 1


TEMPLATE_PARAMS = {"date": "2026-12-03", "time": "09:30", "message": "Flu shots on Friday.", "sms_sent": 12,
                   "calls": 30, "complaints": 1}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_central_templates_in_each_language(name: str, language: str) -> None:
    text = render(name, language, TEMPLATE_PARAMS, lab="Lab 3")
    assert parts_of(text) == ("ucs2" if language == "zh" else "gsm7", 1), text


def test_a_typographic_param_does_not_turn_a_template_into_ucs2() -> None:
    text = render("education", "en", {"message": "Don’t forget – it’s free…"}, lab="Lab 3")
    assert text == "Lab 3: Don't forget - it's free..." and parts_of(text) == ("gsm7", 1)
