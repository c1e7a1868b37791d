"""Local survey figures for the page and the daily summary (store thread)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from appliance.surveys.engine import get_survey

if TYPE_CHECKING:
    from appliance.store.db import Store


def survey_figures(
    store: Store, survey_id: str | None = None, *, since: str | None = None, until: str | None = None
) -> dict[str, Any]:
    """Per survey: sessions started, finished, responded (at least one answer), complete,
    ``response_rate`` (responded / finished), and per question the answer count and the
    ``mean`` (scale) or ``yes_share`` (yes/no). ``since``/``until`` (RFC 3339) bound the
    sessions' start. ``{"surveys": {survey_id: {...}}, "responses": n, "mean_score": x}``.
    """
    where, params = ["1 = 1"], []
    if survey_id is not None:
        where.append("survey_id = ?")
        params.append(survey_id)
    if since is not None:
        where.append("started_at >= ?")
        params.append(since)
    if until is not None:
        where.append("started_at < ?")
        params.append(until)
    rows = store.conn.execute(
        f"SELECT survey_id, status, answers FROM survey_sessions WHERE {' AND '.join(where)}", params
    ).fetchall()
    out: dict[str, dict[str, Any]] = {}
    all_scale: list[float] = []
    responses = 0
    for sid, status, answers_json in rows:
        fig = out.setdefault(
            sid, {"sessions": 0, "finished": 0, "responded": 0, "complete": 0, "open": 0, "questions": {}}
        )
        answers = json.loads(answers_json)
        fig["sessions"] += 1
        fig["open" if status == "open" else "finished"] += 1
        fig["complete"] += status == "complete"
        if status != "open" and answers:
            fig["responded"] += 1
            responses += 1
        for a in answers:
            q = fig["questions"].setdefault(a["question_id"], {"answers": 0, "_values": []})
            q["answers"] += 1
            q["_values"].append(a["value"])
    for sid, fig in out.items():
        survey = get_survey(store, sid)
        kinds = {q.id: q.kind for q in survey.questions} if survey else {}
        fig["title"] = survey.title if survey else sid
        fig["response_rate"] = round(fig["responded"] / fig["finished"], 4) if fig["finished"] else None
        for qid, q in fig["questions"].items():
            values = q.pop("_values")
            kind = kinds.get(qid) or _guess_kind(values)
            q["kind"] = kind
            if kind == "scale":
                numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
                q["mean"] = round(sum(numbers) / len(numbers), 3) if numbers else None
                all_scale.extend(numbers)
            elif kind == "yes_no":
                flags = [v for v in values if isinstance(v, bool)]
                q["yes_share"] = round(sum(flags) / len(flags), 4) if flags else None
    return {
        "surveys": out,
        "responses": responses,
        "mean_score": round(sum(all_scale) / len(all_scale), 3) if all_scale else None,
    }


def _guess_kind(values: list[Any]) -> str:
    if values and all(isinstance(v, bool) for v in values):
        return "yes_no"
    if values and all(isinstance(v, int) for v in values):
        return "scale"
    return "text"
