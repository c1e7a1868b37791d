"""Which contacts a campaign reaches, and what each is sent (pure: no store, no clock).

A segment is an object of optional filters, all of which must hold:

- ``age_min``, ``age_max``: whole years on the campaign's local start date,
  from ``birth_date`` (a contact without one is left out when either is set);
- ``sex``: a value or a list of values (``female``, ``male``, ...; compared
  case-insensitively);
- ``tags_any`` (at least one of), ``tags_all`` (every one of): the contact's
  ``tags``, where the central puts conditions (``diabetes``, ``pregnancy``);
- ``languages``: primary language subtags (``fi``, ``sv``);
- ``contact_ids``: an explicit list.

The message is ``text`` (a string, or ``{language: text}`` with the
recipient's language, else English, else the first given) or ``template`` +
``params`` (``education`` and friends, rendered in the recipient's language).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from appliance.errors import ValidationError
from appliance.notifications.templates import language_of, render

SEGMENT_FIELDS = ("age_min", "age_max", "sex", "tags_any", "tags_all", "languages", "contact_ids")
MESSAGE_FIELDS = ("text", "template", "params")
DEFINITION_FIELDS = (*MESSAGE_FIELDS, "segment", "title", "rate_per_minute")


def age_on(birth_date: str | None, day: date) -> int | None:
    """Whole years between ``birth_date`` (YYYY-MM-DD) and ``day``; None when unknown or unreadable."""
    if not birth_date:
        return None
    try:
        born = date.fromisoformat(birth_date[:10])
    except ValueError:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _str_list(data: dict[str, Any], name: str) -> tuple[str, ...]:
    value = data.get(name)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValidationError(f"segment: {name} must be a string or a list of strings")
    return tuple(value)


@dataclass(frozen=True)
class Segment:
    """Filters over local contacts (see the module docstring)."""

    age_min: int | None = None
    age_max: int | None = None
    sex: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    tags_all: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    contact_ids: tuple[str, ...] = ()

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> Segment:
        data = data or {}
        if not isinstance(data, dict):
            raise ValidationError("segment: expected an object")
        unknown = sorted(set(data) - set(SEGMENT_FIELDS))
        if unknown:
            raise ValidationError(
                f"segment: unknown fields {', '.join(unknown)}; known are {', '.join(SEGMENT_FIELDS)}"
            )
        ages: dict[str, int | None] = {}
        for name in ("age_min", "age_max"):
            value = data.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 150):
                raise ValidationError(f"segment: {name} must be an integer 0-150, got {value!r}")
            ages[name] = value
        if ages["age_min"] is not None and ages["age_max"] is not None and ages["age_min"] > ages["age_max"]:
            raise ValidationError("segment: age_min is above age_max")
        return cls(
            age_min=ages["age_min"],
            age_max=ages["age_max"],
            sex=tuple(s.lower() for s in _str_list(data, "sex")),
            tags_any=tuple(t.lower() for t in _str_list(data, "tags_any")),
            tags_all=tuple(t.lower() for t in _str_list(data, "tags_all")),
            languages=tuple(language_of(x) for x in _str_list(data, "languages")),
            contact_ids=_str_list(data, "contact_ids"),
        )

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in SEGMENT_FIELDS:
            value = getattr(self, name)
            if value not in (None, ()):
                out[name] = list(value) if isinstance(value, tuple) else value
        return out

    def matches(
        self, *, contact_id: str, birth_date: str | None, sex: str | None, tags: list[str], language: str | None,
        day: date,
    ) -> bool:
        """True when a contact with these fields is in the segment on local date ``day``."""
        if self.contact_ids and contact_id not in self.contact_ids:
            return False
        if self.age_min is not None or self.age_max is not None:
            age = age_on(birth_date, day)
            if age is None:
                return False
            if self.age_min is not None and age < self.age_min:
                return False
            if self.age_max is not None and age > self.age_max:
                return False
        if self.sex and (sex or "").lower() not in self.sex:
            return False
        lowered = {t.lower() for t in tags}
        if self.tags_any and not lowered.intersection(self.tags_any):
            return False
        if self.tags_all and not lowered.issuperset(self.tags_all):
            return False
        return not (self.languages and language_of(language) not in self.languages)


@dataclass(frozen=True)
class CampaignMessage:
    """What a campaign says: a text (maybe per language) or a template with params."""

    text: str | dict[str, str] | None = None
    template: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> CampaignMessage:
        text, template = data.get("text"), data.get("template")
        if (text is None) == (template is None):
            raise ValidationError("campaign: give either text or template")
        if isinstance(text, dict):
            if not text or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in text.items()):
                raise ValidationError("campaign: text by language must map language codes to non-empty texts")
        elif text is not None and (not isinstance(text, str) or not text):
            raise ValidationError("campaign: text must be a non-empty string or {language: text}")
        if template is not None and not isinstance(template, str):
            raise ValidationError("campaign: template must be a template name")
        params = data.get("params") or {}
        if not isinstance(params, dict):
            raise ValidationError("campaign: params must be an object")
        message = cls(text, template, dict(params))
        message.render("en", "Lab")  # a missing parameter or unknown template is refused now, not per recipient
        return message

    def as_dict(self) -> dict[str, Any]:
        if self.template is not None:
            return {"template": self.template, "params": self.params}
        return {"text": self.text}

    def render(self, language: str | None, lab: str) -> str:
        """The text for a recipient speaking ``language``."""
        if self.template is not None:
            return render(self.template, language, self.params, lab=lab)
        if isinstance(self.text, str):
            return self.text
        assert self.text is not None
        by_primary = {k.split("-", 1)[0].lower(): v for k, v in self.text.items()}
        wanted = (language or "").split("-", 1)[0].lower()
        for key in (wanted, "en"):
            if key in by_primary:
                return by_primary[key]
        return next(iter(self.text.values()))


def parse_definition(data: dict[str, Any]) -> tuple[Segment, CampaignMessage, str | None, int | None]:
    """A campaign definition (config table or downlink data) as (segment, message, title, rate)."""
    segment = Segment.from_data(data.get("segment"))
    message = CampaignMessage.from_data(data)
    title = data.get("title")
    if title is not None and not isinstance(title, str):
        raise ValidationError("campaign: title must be text")
    rate = data.get("rate_per_minute")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int) or not 1 <= rate <= 6000):
        raise ValidationError("campaign: rate_per_minute must be an integer 1-6000")
    return segment, message, title, rate


def valid_definitions(value: Any) -> bool:
    """True for ``{name: definition}`` (the ``campaigns.defined`` config check)."""
    if not isinstance(value, dict):
        return False
    try:
        for name, entry in value.items():
            if not isinstance(name, str) or not isinstance(entry, dict):
                return False
            unknown = set(entry) - set(DEFINITION_FIELDS)
            if unknown:
                return False
            parse_definition(entry)
    except ValidationError:
        return False
    return True
