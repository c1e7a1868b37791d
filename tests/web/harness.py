"""The web part in-process on a real store, for tests that need no browser (aiohttp's test client)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from appliance.config import load_config
from appliance.daemon.context import AppContext
from appliance.daemon.notify import Notifier
from appliance.daemon.supervisor import Supervisor
from appliance.store.db import Store
from appliance.users import add_user
from appliance.web.server import WebService

PASSWORD = "correct horse"


@dataclass
class Web:
    client: TestClient
    service: WebService
    store: Store
    ctx: AppContext
    extra: list[TestClient]

    async def login(self, username: str, password: str = PASSWORD) -> TestClient:
        """A new client (own cookie jar) logged in as ``username``."""
        client = TestClient(self.client.server)
        await client.start_server()
        self.extra.append(client)
        page = await (await client.get("/login")).text()
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
        assert token, page
        resp = await client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token.group(1)},
            allow_redirects=False,
        )
        assert resp.status == 302, await resp.text()
        return client

    @staticmethod
    async def csrf(client: TestClient) -> str:
        return str((await (await client.get("/api/session")).json())["csrf_token"])


@contextlib.asynccontextmanager
async def web_app(tmp_path: Path, users: dict[str, str] | None = None, **env: str) -> AsyncIterator[Web]:
    environ: dict[str, Any] = {
        "APPLIANCE_DATA_DIR": str(tmp_path), "APPLIANCE_MODEM__DRIVER": "none", "APPLIANCE_LINE__DRIVER": "none",
        **env,
    }
    config = load_config(None, environ)
    store = Store.open(tmp_path / "appliance.db")
    for name, role in (users or {"tech": "technician", "desk": "desk"}).items():
        add_user(store, name, PASSWORD, role)
    ctx = AppContext(config=config, store=store)
    ctx.bus.bind(asyncio.get_running_loop())
    supervisor = Supervisor(ctx, Notifier())
    service = WebService(ctx, supervisor)
    supervisor.add([service])
    service._secret = await store.run(service._load_secret)
    server = TestServer(service.build_app())
    client = TestClient(server)
    await client.start_server()
    try:
        web = Web(client, service, store, ctx, [])
        yield web
    finally:
        for extra in web.extra:
            await extra.session.close()
        await client.close()
        service.hasher.close()
        store.close()


class ServedWeb:
    """The web part with its live feeder, served on a real port from a thread of its own.

    For browser tests that publish on the bus from the test (a caller pop) without a
    phone line: ``publish`` is thread-safe, as in the daemon.
    """

    def __init__(self, tmp_path: Path, **env: str) -> None:
        import threading

        self.tmp_path = tmp_path
        self.env = env
        self.web: Web | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="served-web")

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as err:  # noqa: BLE001 - reported to the test thread
            self._error = err
            self._ready.set()

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with web_app(self.tmp_path, **self.env) as web:
            self.web = web
            feeder = asyncio.create_task(web.service.hub.run())
            self._ready.set()
            await self._stop.wait()
            web.service._stopping.set()
            for viewer in list(web.service.hub.viewers):
                viewer.ready.set()
            feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeder

    def __enter__(self) -> ServedWeb:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self.loop is not None and self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def url(self, path: str) -> str:
        assert self.web is not None
        return str(self.web.client.make_url(path))

    def run(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(store, *args)`` on the store thread, from the test thread."""
        assert self.web is not None and self.loop is not None
        store = self.web.store
        return asyncio.run_coroutine_threadsafe(store.run(fn, store, *args), self.loop).result(30)
