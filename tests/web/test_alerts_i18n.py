"""Alerts open, update, close themselves and are acknowledged; the catalogues are complete."""

from __future__ import annotations

import asyncio
from pathlib import Path

from appliance import alerts
from appliance.store.db import Store
from appliance.web import i18n
from tests.web.harness import web_app


def test_conditions_from_the_daemons_facts() -> None:
    modem = {"state": "degraded", "detail": "modem not answering properly (timeout); recovery step 2",
             "info": {"signal": 4, "storage": "SM 10/10", "in_doubt": 1}}
    found = alerts.evaluate({"modem": modem, "free_bytes": 10 * 1024 * 1024, "complaints_waiting": 2,
                             "now": 1_000_000_000.0})
    assert set(k for k, _ in found) == set(alerts.KINDS)
    quiet = alerts.evaluate({"modem": {"state": "ok", "detail": "", "info": {"signal": 20, "storage": "SM 1/10"}},
                             "free_bytes": 10**12})
    assert quiet == {}


def test_alerts_open_update_close_and_acknowledge(store: Store) -> None:
    opened = alerts.reconcile(store, {("low_signal", ""): "signal 4/31", ("sim_full", ""): "10/10"})
    assert sorted(a.kind for a in opened) == ["low_signal", "sim_full"]
    assert alerts.reconcile(store, {("low_signal", ""): "signal 5/31", ("sim_full", ""): "10/10"}) == []
    low = next(a for a in alerts.list_alerts(store) if a.kind == "low_signal")
    assert low.detail == "signal 5/31"
    acked = alerts.acknowledge(store, low.alert_id, "tech")
    assert acked is not None and acked.state == "acknowledged" and acked.acknowledged_by == "tech"
    assert alerts.acknowledge(store, low.alert_id, "tech") is None  # only open ones
    closed = alerts.reconcile(store, {("sim_full", ""): "10/10"})
    assert [(a.kind, a.state) for a in closed] == [("low_signal", "closed")]
    reopened = alerts.reconcile(store, {("sim_full", ""): "10/10", ("low_signal", ""): "signal 3/31"})
    assert [(a.kind, a.state) for a in reopened] == [("low_signal", "open")]  # a new occurrence
    assert len(alerts.list_alerts(store, include_closed=True)) == 3


def test_the_dashboard_opens_an_alert_and_the_page_acknowledges_it(tmp_path: Path) -> None:
    async def main() -> None:
        async with web_app(tmp_path) as web:
            web.service.set_health("ok")  # the web part itself; the modem is absent here
            with web.store.transaction():
                web.store.conn.execute(
                    "INSERT INTO sms_messages(box, number, text, status, created_at, updated_at) "
                    "VALUES ('outbox', '+358401234567', 'x', 'unknown', '2026-01-01T00:00:00.000Z', "
                    "'2026-01-01T00:00:00.000Z')"
                )
            async with web.ctx.bus.subscribe({"alert"}) as sub:
                snap = await web.service.hub.refresh()
                event = await sub.get(2)
            assert event is not None and event.data["kind"] == "message_in_doubt"
            assert [a["kind"] for a in snap["alerts"]] == ["message_in_doubt"]
            desk = await web.login("desk")
            resp = await desk.post("/alerts/ack", json={"ids": [event.data["alert_id"]]},
                                   headers={"X-CSRF-Token": await web.csrf(desk)})
            assert (await resp.json()) == {"acknowledged": [event.data["alert_id"]]}
            assert alerts.list_alerts(web.store)[0].acknowledged_by == "desk"

    asyncio.run(main())


def test_every_catalogue_has_every_key_and_the_choice_is_remembered(tmp_path: Path) -> None:
    english = i18n.catalogue("en")
    for code in i18n.LANGUAGES:
        cat = i18n.catalogue(code)
        assert set(cat) == set(english)
        assert all(cat[k] for k in cat), code
    assert i18n.catalogue("fi")["inbox"] == "Saapuneet"
    assert i18n.pick_language(None, "sv-SE,sv;q=0.9,en;q=0.5") == "sv"
    assert i18n.pick_language("zh", "fi") == "zh"

    async def main() -> None:
        async with web_app(tmp_path) as web:
            desk = await web.login("desk")
            token = await web.csrf(desk)
            await desk.post("/language", data={"csrf_token": token, "language": "fi", "back": "/inbox"})
            assert "Saapuneet" in await (await desk.get("/inbox")).text()
            again = await web.login("desk")  # a new login keeps the choice
            page = await (await again.get("/")).text()
            assert '<html lang="fi">' in page and "Vaatii huomiota" in page

    asyncio.run(main())
