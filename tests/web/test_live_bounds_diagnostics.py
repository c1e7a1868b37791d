"""Bounds of the live channel and the page's memory; the diagnostics bundle; honest SIMULATED labels."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import zipfile
from pathlib import Path

import pytest

from appliance.web import live
from appliance.web.diagnostics import RingLogHandler
from appliance.web.server import FILTER_KEYS
from tests.helpers import run_cli
from tests.web.harness import web_app


def test_a_slow_viewer_loses_its_oldest_updates_and_viewers_are_bounded(tmp_path: Path) -> None:
    async def main() -> None:
        viewer = live.Viewer("tech")
        for i in range(live.VIEWER_QUEUE + 10):
            viewer.offer("dashboard", str(i))
        assert len(viewer.queue) == live.VIEWER_QUEUE and viewer.dropped == 10
        assert await viewer.next(0.1) == ("dashboard", "10")  # the oldest were dropped
        async with web_app(tmp_path) as web:
            hub = web.service.hub
            viewers = [hub.add_viewer("tech") for _ in range(live.MAX_VIEWERS)]
            with pytest.raises(live.ViewerLimit):
                hub.add_viewer("tech")
            tech = await web.login("tech")
            resp = await tech.get("/live")
            assert resp.status == 503
            for v in viewers:
                hub.remove_viewer(v)

    asyncio.run(main())


def test_saved_searches_and_the_log_ring_are_bounded(tmp_path: Path) -> None:
    async def main() -> None:
        async with web_app(tmp_path) as web:
            tech = await web.login("tech")
            token = await web.csrf(tech)
            for i in range(FILTER_KEYS + 5):
                web.service._filters[f"k{i}"] = {"q": str(i)}
            resp = await tech.post("/messages/search", data={"csrf_token": token, "box": "inbox", "q": "0401234567"},
                                   allow_redirects=False)
            assert resp.status == 303 and "0401234567" not in resp.headers["Location"]
            assert len(web.service._filters) == FILTER_KEYS
    asyncio.run(main())
    ring = RingLogHandler(size=5)
    logger = logging.getLogger("test.ring")
    logger.addHandler(ring)
    try:
        for i in range(8):
            logger.warning("line %d to +358401234567", i)
    finally:
        logger.removeHandler(ring)
    assert len(ring.lines) == 5 and "line 7" in ring.lines[-1] and "+358401234567" not in ring.lines[-1]


def test_diagnostics_bundle_without_secrets_or_numbers(tmp_path: Path) -> None:
    async def main() -> None:
        async with web_app(tmp_path, APPLIANCE_MQTT__PASSWORD="hunter2-secret", APPLIANCE_MODEM__PIN="1234") as web:
            logging.getLogger().addHandler(web.service.ring)
            try:
                logging.getLogger("appliance.test").warning("SMS to +358401234567 failed")
                tech = await web.login("tech")
                resp = await tech.get("/diagnostics")
                assert resp.status == 200 and resp.headers["Content-Type"] == "application/zip"
                body = await resp.read()
            finally:
                logging.getLogger().removeHandler(web.service.ring)
            zf = zipfile.ZipFile(io.BytesIO(body))
            assert set(zf.namelist()) == {"versions.json", "config.json", "health.json", "log.txt"}
            text = "".join(zf.read(n).decode() for n in zf.namelist())
            assert "hunter2-secret" not in text and '"pin": "1234"' not in text
            assert "+358401234567" not in text and "+358*******67" in text
            assert json.loads(zf.read("versions.json"))["schema"] >= 7
            desk = await web.login("desk")
            assert (await desk.get("/diagnostics")).status == 403

    asyncio.run(main())


def test_simulated_parts_are_labelled_in_healthz_and_status(tmp_path: Path) -> None:
    async def main() -> None:
        async with web_app(tmp_path, APPLIANCE_MODEM__DRIVER="sim", APPLIANCE_LINE__DRIVER="sim") as web:
            body = await (await web.client.get("/healthz")).json()
            assert body["simulated"] == ["modem", "line"]
    asyncio.run(main())
    result = run_cli(tmp_path / "cli", "status", "--json", APPLIANCE_MODEM__DRIVER="sim", APPLIANCE_LINE__DRIVER="none")
    assert json.loads(result.stdout)["simulated"] == ["modem"]
    human = run_cli(tmp_path / "cli", "status", APPLIANCE_MODEM__DRIVER="sim", APPLIANCE_LINE__DRIVER="none").stdout
    assert "SIMULATED" in human
