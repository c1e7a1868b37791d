"""The day's figures for the daily summary, and the SMS text in the staff member's language.

``day_figures(store, day, timezone, price_per_part)`` counts one local day
(midnight to midnight in ``site.timezone``, so a DST day has 23 or 25 hours):

- calls: incoming, missed (missed/no answer/busy), answered, answered by how
  they ended (``menu``, ``voicemail``, ``survey``, ``transferred``, ``answered``)
  and by the first menu key pressed;
- SMS: sent (handed to the network that day: parts and messages), failed,
  received, and the cost (parts sent x ``campaigns.price_per_part``);
- complaints opened and closed, survey responses and mean score (from the
  complaints and surveys parts, when they are installed).
"""
# ruff: noqa: RUF001  (Chinese texts use full-width punctuation on purpose)

from __future__ import annotations

import importlib
import json
import re
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from appliance.followups.schedule import local_to_utc
from sync.envelope import utc_timestamp

if TYPE_CHECKING:
    from appliance.store.db import Store

LANGUAGES = ("en", "fi", "sv", "zh")
MISSED = ("missed", "no_answer", "busy")
_E164ISH = re.compile(r"^\+?\d{6,15}$")


def valid_recipients(value: Any) -> bool:
    """True for ``[{number = "+358...", language = "fi"}, ...]`` (the ``summary.recipients`` check)."""
    if not isinstance(value, list):
        return False
    for entry in value:
        if not isinstance(entry, dict) or set(entry) - {"number", "language", "name"}:
            return False
        if not isinstance(entry.get("number"), str) or not _E164ISH.match(entry["number"].replace(" ", "")):
            return False
        if entry.get("language", "en") not in LANGUAGES:
            return False
    return True


def day_bounds(day: date, timezone: str) -> tuple[str, str]:
    """[start, end) of local ``day`` as RFC 3339 UTC text (the store compares text)."""
    zone = ZoneInfo(timezone)
    start = local_to_utc(day, time(0, 0), zone)
    end = local_to_utc(day + timedelta(days=1), time(0, 0), zone)
    return utc_timestamp(start), utc_timestamp(end)


def _calls(store: Store, start: str, end: str) -> dict[str, Any]:
    rows = store.conn.execute(
        "SELECT outcome, detail FROM calls WHERE direction = 'in' AND started_at >= ? AND started_at < ?",
        (start, end),
    ).fetchall()
    by_outcome: Counter[str] = Counter()
    by_key: Counter[str] = Counter()
    missed = 0
    for outcome, detail in rows:
        if outcome in MISSED:
            missed += 1
            continue
        by_outcome[outcome or "answered"] += 1
        try:
            keys = json.loads(detail or "{}").get("keys") or []
        except (ValueError, AttributeError):
            keys = []
        if keys:
            by_key[str(keys[0])] += 1
    return {
        "in": len(rows),
        "missed": missed,
        "answered": len(rows) - missed,
        "by_outcome": dict(sorted(by_outcome.items())),
        "by_menu_key": dict(sorted(by_key.items())),
    }


def _sms(store: Store, start: str, end: str, price_per_part: float) -> dict[str, Any]:
    sent, parts = store.conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(parts), 0) FROM sms_messages WHERE box = 'outbox' "
        "AND status IN ('sent', 'delivered') AND sent_at >= ? AND sent_at < ?",
        (start, end),
    ).fetchone()
    failed = store.conn.execute(
        "SELECT COUNT(*) FROM sms_messages WHERE box = 'outbox' AND status IN ('failed', 'expired') "
        "AND updated_at >= ? AND updated_at < ?",
        (start, end),
    ).fetchone()[0]
    received = store.conn.execute(
        "SELECT COUNT(*) FROM sms_messages WHERE box = 'inbox' AND created_at >= ? AND created_at < ?",
        (start, end),
    ).fetchone()[0]
    return {
        "sent": int(sent),
        "parts": int(parts),
        "failed": int(failed),
        "received": int(received),
        "cost": round(int(parts) * price_per_part, 4),
    }


def _complaints(store: Store, start: str, end: str) -> dict[str, Any]:
    try:
        complaints = importlib.import_module("appliance.complaints")
    except ImportError:  # the complaints part is not installed in this build
        return {"opened": 0, "closed": 0}
    figures = complaints.complaint_figures(store, since=start, until=end)
    return {"opened": int(figures.get("opened", 0)), "closed": int(figures.get("closed", 0))}


def _surveys(store: Store, start: str, end: str) -> dict[str, Any]:
    try:
        surveys = importlib.import_module("appliance.surveys")
    except ImportError:
        return {"responses": 0, "mean_score": None}
    figures = surveys.survey_figures(store, since=start, until=end)
    mean = figures.get("mean_score")
    return {"responses": int(figures.get("responses", 0)), "mean_score": None if mean is None else round(mean, 2)}


def day_figures(store: Store, day: date, timezone: str, price_per_part: float = 0.0) -> dict[str, Any]:
    """Every figure of local ``day`` (store thread)."""
    start, end = day_bounds(day, timezone)
    return {
        "date": day.isoformat(),
        "timezone": timezone,
        "from": start,
        "to": end,
        "calls": _calls(store, start, end),
        "sms": _sms(store, start, end, price_per_part),
        "complaints": _complaints(store, start, end),
        "surveys": _surveys(store, start, end),
    }


TEXTS: dict[str, str] = {
    "en": (
        "{lab} {date}: calls {calls_in} (answered {answered}, missed {missed}{menu}). "
        "SMS sent {sent}, failed {failed}, cost {cost}. Complaints opened {opened}, closed {closed}. "
        "Survey responses {responses}, mean score {mean}."
    ),
    "fi": (
        "{lab} {date}: puhelut {calls_in} (vastattu {answered}, vastaamatta {missed}{menu}). "
        "Tekstiviestejä lähetetty {sent}, epäonnistui {failed}, hinta {cost}. Valituksia avattu {opened}, "
        "suljettu {closed}. Kyselyvastauksia {responses}, keskiarvo {mean}."
    ),
    "sv": (
        "{lab} {date}: samtal {calls_in} (besvarade {answered}, missade {missed}{menu}). "
        "Sms skickade {sent}, misslyckade {failed}, kostnad {cost}. Klagomål öppnade {opened}, "
        "stängda {closed}. Enkätsvar {responses}, medelbetyg {mean}."
    ),
    "zh": (
        "{lab} {date}：来电{calls_in}个（接听{answered}，未接{missed}{menu}）。"
        "短信发送{sent}条，失败{failed}条，费用{cost}。投诉新增{opened}件，关闭{closed}件。"
        "问卷回复{responses}份，平均分{mean}。"
    ),
}
MENU_WORD = {"en": "menu", "fi": "valikko", "sv": "meny", "zh": "菜单"}
NO_MEAN = {"en": "-", "fi": "-", "sv": "-", "zh": "-"}


def summary_text(figures: dict[str, Any], language: str, lab: str) -> str:
    """The summary SMS in ``language`` (en, fi, sv, zh; anything else is English)."""
    lang = language if language in TEXTS else "en"
    calls, sms = figures["calls"], figures["sms"]
    by_key = calls.get("by_menu_key") or {}
    menu = ""
    if by_key:
        sep = "，" if lang == "zh" else ", "
        menu = sep + MENU_WORD[lang] + " " + " ".join(f"{k}:{n}" for k, n in by_key.items())
    mean = figures["surveys"]["mean_score"]
    if mean is None:
        mean_text = NO_MEAN[lang]
    else:
        mean_text = f"{mean:.1f}".replace(".", ",") if lang in ("fi", "sv") else f"{mean:.1f}"
    cost = f"{sms['cost']:.2f}"
    if lang in ("fi", "sv"):
        cost = cost.replace(".", ",")
    return TEXTS[lang].format(
        lab=lab, date=figures["date"], calls_in=calls["in"], answered=calls["answered"], missed=calls["missed"],
        menu=menu, sent=sms["sent"], failed=sms["failed"], cost=cost, opened=figures["complaints"]["opened"],
        closed=figures["complaints"]["closed"], responses=figures["surveys"]["responses"], mean=mean_text,
    )


def local_day(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()
