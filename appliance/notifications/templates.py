"""SMS templates named by the central system, in the contact's language.

``render("results_ready", "fi", {"lab": "Lab 3"})`` gives the text. A language
is matched by its primary subtag (``fi-FI`` -> ``fi``, ``zh-Hans`` -> ``zh``);
a language without a translation falls back to English. ``{lab}`` defaults to
the site's name. ``results_ready`` carries no result values by design: the SMS
only says the results can be collected (patient privacy); a template that
should say more is a new template, not a parameter.
"""
# ruff: noqa: RUF001  (Chinese templates use full-width punctuation on purpose)

from __future__ import annotations

import re
import string
from typing import Any

from appliance.errors import ValidationError
from appliance.notifications.texts import gsm7_where_possible

FALLBACK_LANGUAGE = "en"
MAX_PARAM_CHARS = 500

TEMPLATES: dict[str, dict[str, str]] = {
    "results_ready": {
        "en": "{lab}: your test results are ready. You can collect them at the reception.",
        "fi": "{lab}: tutkimustuloksesi ovat valmiina. Voit noutaa ne vastaanotosta.",
        "sv": "{lab}: dina provsvar är klara. Du kan hämta dem i receptionen.",
        "zh": "{lab}：您的检验结果已出，请到前台领取。",
    },
    "appointment_confirmed": {
        "en": "{lab}: your appointment on {date} at {time} is confirmed.",
        "fi": "{lab}: aikasi {date} klo {time} on vahvistettu.",
        "sv": "{lab}: din tid {date} kl. {time} är bekräftad.",
        "zh": "{lab}：您于{date} {time}的预约已确认。",
    },
    "appointment_changed": {
        "en": "{lab}: your appointment has been moved to {date} at {time}.",
        "fi": "{lab}: aikasi on siirretty: {date} klo {time}.",
        "sv": "{lab}: din tid har flyttats till {date} kl. {time}.",
        "zh": "{lab}：您的预约已改至{date} {time}。",
    },
    "appointment_cancelled": {
        "en": "{lab}: your appointment on {date} at {time} has been cancelled.",
        "fi": "{lab}: aikasi {date} klo {time} on peruttu.",
        "sv": "{lab}: din tid {date} kl. {time} har avbokats.",
        "zh": "{lab}：您于{date} {time}的预约已取消。",
    },
    "followup_reminder": {
        "en": "{lab}: reminder: your follow-up test is due. Please book a time.",
        "fi": "{lab}: muistutus: seurantakokeesi on ajankohtainen. Varaathan ajan.",
        "sv": "{lab}: påminnelse: det är dags för ditt uppföljningsprov. Boka gärna en tid.",
        "zh": "{lab}：提醒：您的复查时间已到，请预约。",
    },
    "education": {
        "en": "{lab}: {message}",
        "fi": "{lab}: {message}",
        "sv": "{lab}: {message}",
        "zh": "{lab}：{message}",
    },
    "daily_summary": {
        "en": "{lab} {date}: {sms_sent} SMS sent, {calls} calls, {complaints} new complaints.",
        "fi": "{lab} {date}: {sms_sent} tekstiviestiä lähetetty, {calls} puhelua, {complaints} uutta valitusta.",
        "sv": "{lab} {date}: {sms_sent} sms skickade, {calls} samtal, {complaints} nya klagomål.",
        "zh": "{lab} {date}：已发短信{sms_sent}条，来电{calls}个，新投诉{complaints}件。",
    },
}


# Used when the central did not send {date} and {time}: the patient still hears what changed
# and calls the lab for the details, rather than getting nothing.
WITHOUT_DATE: dict[str, dict[str, str]] = {
    "appointment_confirmed": {
        "en": "{lab}: your appointment is confirmed.",
        "fi": "{lab}: aikasi on vahvistettu.",
        "sv": "{lab}: din tid är bekräftad.",
        "zh": "{lab}：您的预约已确认。",
    },
    "appointment_changed": {
        "en": "{lab}: your appointment has been moved. Please contact the lab for the new time.",
        "fi": "{lab}: aikasi on siirretty. Kysy uusi aika laboratoriosta.",
        "sv": "{lab}: din tid har flyttats. Kontakta laboratoriet för den nya tiden.",
        "zh": "{lab}：您的预约已更改，请联系化验室确认新时间。",
    },
    "appointment_cancelled": {
        "en": "{lab}: your appointment has been cancelled.",
        "fi": "{lab}: aikasi on peruttu.",
        "sv": "{lab}: din tid har avbokats.",
        "zh": "{lab}：您的预约已取消。",
    },
}
# A combined date-time a central may send instead of {date} and {time}.
DATETIME_PARAMS = ("datetime", "date_time", "appointment_at", "appointment_time", "appointment", "starts_at",
                   "start", "when", "at", "time_slot")
_ISO_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})")


def language_of(tag: str | None) -> str:
    """The template language for a BCP 47 tag: its primary subtag if translated, else English."""
    primary = (tag or "").split("-", 1)[0].lower()
    return primary if primary in TEMPLATES["results_ready"] else FALLBACK_LANGUAGE


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def render(name: str, language: str | None, params: dict[str, Any], *, lab: str = "") -> str:
    """The text of template ``name`` in ``language``; ValidationError names a missing param."""
    variants = TEMPLATES.get(name)
    if variants is None:
        raise ValidationError(
            f"unknown template {name!r}; known are {', '.join(sorted(TEMPLATES))}"
        )
    template = variants[language_of(language)]
    values: dict[str, str] = {"lab": lab or "Lab"}
    for key, value in params.items():
        text = str(value)
        if len(text) > MAX_PARAM_CHARS:
            raise ValidationError(
                f"template {name}: param {key!r} is longer than {MAX_PARAM_CHARS} characters"
            )
        values[key] = text
    _split_datetime(values)
    for alias in ("text", "body", "content"):
        if "message" not in values and alias in values:
            values["message"] = values[alias]
    missing = sorted(placeholders(template) - set(values))
    # Neither given: the central does not use these names, say what happened without them.
    # One given without the other is the central's mistake and is refused (error event).
    if set(missing) == {"date", "time"} and name in WITHOUT_DATE:
        template = WITHOUT_DATE[name][language_of(language)]
        missing = []
    if missing:
        raise ValidationError(f"template {name}: missing params {', '.join(missing)}")
    return gsm7_where_possible(template.format_map(values))  # a typographic quote in a param must not cost UCS-2


def _split_datetime(values: dict[str, str]) -> None:
    """Fill {date} and {time} from an ISO 8601 date-time sent under another name."""
    if "date" in values and "time" in values:
        return
    for key in ("date", *DATETIME_PARAMS):
        m = _ISO_DATETIME.match(values.get(key, ""))
        if m:
            values["date"] = values["date"] if key != "date" and "date" in values else m.group(1)
            values.setdefault("time", m.group(2))
            return
