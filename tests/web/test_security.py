"""The status page's security: login on every route, CSRF on every write, roles, revocation, throttling."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from appliance.errors import ConfigError
from appliance.users import remove_user, set_password
from appliance.web import tls
from appliance.web.auth import LoginBusy, LoginThrottle, PasswordHasher
from appliance.web.server import PUBLIC_PATHS, TECHNICIAN_ONLY
from tests.web.harness import Web, web_app

TEMPLATES = Path(__file__).resolve().parents[2] / "appliance" / "web" / "templates"


def _routes(web: Web) -> list[tuple[str, str]]:
    out = []
    for route in web.service.build_app().router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or re.sub(r"\{[^}]+\}", "x", info.get("formatter", ""))
        if route.method != "HEAD":
            out.append((route.method, path))
    return out


def test_every_route_but_the_public_ones_refuses_an_anonymous_request(tmp_path: Path) -> None:
    async def main() -> None:
        async with web_app(tmp_path) as web:
            routes = _routes(web)
            assert len(routes) > 25  # the enumeration found the app's routes
            for method, path in routes:
                if path in PUBLIC_PATHS or path.startswith("/static/"):
                    continue
                resp = await web.client.request(method, path, allow_redirects=False)
                if method == "GET" and not path.startswith("/api/") and path != "/live":
                    assert resp.status == 302 and resp.headers["Location"] == "/login", (method, path)
                else:
                    assert resp.status == 401, (method, path, resp.status)
            # a made-up session cookie is no session
            resp = await web.client.get("/api/status", headers={"Cookie": "appliance_session=" + "x" * 43})
            assert resp.status == 401

    asyncio.run(main())


def test_every_state_changing_request_needs_its_csrf_token(tmp_path: Path) -> None:
    async def main() -> None:
        async with web_app(tmp_path) as web:
            tech = await web.login("tech")
            token = await web.csrf(tech)
            writes = [(m, p) for m, p in _routes(web) if m not in ("GET", "HEAD") and p != "/login"]
            assert ("POST", "/messages/retry") in writes and ("POST", "/alerts/ack") in writes
            for method, path in writes:
                for headers in ({}, {"X-CSRF-Token": "0" * 64}):
                    resp = await tech.request(method, path, data={"id": "1"}, headers=headers, allow_redirects=False)
                    assert resp.status == 403, (method, path, resp.status)
            # a token of another session is refused too
            other = await web.login("desk")
            resp = await other.post("/messages/retry", data={"id": "1", "csrf_token": token}, allow_redirects=False)
            assert resp.status == 403
            # with its own token the same request passes
            resp = await tech.post("/messages/retry", json={"ids": [1]}, headers={"X-CSRF-Token": token})
            assert resp.status == 200 and (await resp.json()) == {"retried": []}

    asyncio.run(main())


def test_a_desk_account_is_refused_the_technicians_actions(tmp_path: Path) -> None:
    async def main() -> None:
        async with web_app(tmp_path) as web:
            desk = await web.login("desk")
            token = await web.csrf(desk)
            for method, path in sorted(TECHNICIAN_ONLY):
                resp = await desk.request(
                    method, path, json={"to": "0401234567", "text": "x"}, headers={"X-CSRF-Token": token}
                )
                assert resp.status == 403, (method, path)
            assert "Audit log" not in await (await desk.get("/")).text()
            # the desk's own actions are allowed
            resp = await desk.post("/messages/retry", json={"ids": [1]}, headers={"X-CSRF-Token": token})
            assert resp.status == 200
            tech = await web.login("tech")
            resp = await tech.post(
                "/api/sms", json={"to": "0401234567", "text": "x"}, headers={"X-CSRF-Token": await web.csrf(tech)}
            )
            assert resp.status == 200
            count = web.store.conn.execute("SELECT COUNT(*) FROM audit_log WHERE username = 'tech'").fetchone()[0]
            assert count == 1

    asyncio.run(main())


def test_logout_password_change_and_removal_revoke_sessions(tmp_path: Path) -> None:
    async def main() -> None:
        async with web_app(tmp_path, users={"tech": "technician", "desk": "desk", "other": "desk"}) as web:
            tech = await web.login("tech")
            cookie = tech.session.cookie_jar.filter_cookies(tech.make_url("/"))["appliance_session"].value
            await tech.post("/logout", data={"csrf_token": await web.csrf(tech)}, allow_redirects=False)
            # the old cookie, replayed, is refused: the session row is gone
            replay = await web.client.get("/api/status", headers={"Cookie": f"appliance_session={cookie}"})
            assert replay.status == 401

            desk = await web.login("desk")
            assert (await desk.get("/api/status")).status == 200
            await web.store.run(set_password, web.store, "desk", "another password")
            assert (await desk.get("/api/status")).status == 401

            other = await web.login("other")
            assert (await other.get("/api/status")).status == 200
            await web.store.run(remove_user, web.store, "other")
            assert (await other.get("/api/status")).status == 401

    asyncio.run(main())


def test_logins_are_throttled_per_account(tmp_path: Path) -> None:
    async def main() -> None:
        async with web_app(tmp_path) as web:
            statuses = []
            for _ in range(6):
                page = await (await web.client.get("/login")).text()
                token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
                assert token
                resp = await web.client.post(
                    "/login", data={"username": "tech", "password": "wrong one!", "csrf_token": token.group(1)}
                )
                statuses.append(resp.status)
            assert statuses == [401] * 5 + [429]
            # the right password is refused too while the account is throttled
            page = await (await web.client.get("/login")).text()
            token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
            assert token
            resp = await web.client.post(
                "/login", data={"username": "tech", "password": "correct horse", "csrf_token": token.group(1)},
                allow_redirects=False,
            )
            assert resp.status == 429 and "Retry-After" in resp.headers

    asyncio.run(main())


def test_throttle_per_address_and_its_bound() -> None:
    throttle = LoginThrottle(account=(3, 60.0), address=(4, 60.0), max_keys=10)
    for i in range(4):
        assert throttle.retry_after(f"user{i}", "10.0.0.9") == 0
        throttle.failed(f"user{i}", "10.0.0.9")
    assert throttle.retry_after("someone-else", "10.0.0.9") > 0  # the address is throttled
    assert throttle.retry_after("someone-else", "10.0.0.8") == 0
    for i in range(50):
        throttle.failed(f"spray{i}", f"10.1.0.{i}")
    assert len(throttle) == 10  # the oldest keys are forgotten at the bound


def test_password_checks_are_bounded_and_refused_at_once_over_the_bound() -> None:
    async def main() -> None:
        hasher = PasswordHasher(workers=1, max_in_flight=2)
        try:
            stored = await hasher.hash("correct horse")
            results = await asyncio.gather(
                *(hasher.check("wrong", stored) for _ in range(6)), return_exceptions=True
            )
            assert sum(isinstance(r, LoginBusy) for r in results) == 4
            assert results.count(False) == 2
            assert await hasher.check("correct horse", stored) is True
            assert await hasher.check("correct horse", None) is False  # unknown user
        finally:
            hasher.close()

    asyncio.run(main())


def test_security_headers_and_no_inline_script_or_style(tmp_path: Path) -> None:
    async def main() -> None:
        async with web_app(tmp_path) as web:
            tech = await web.login("tech")
            for path in ("/", "/login", "/inbox", "/static/app.js"):
                resp = await tech.get(path)
                csp = resp.headers["Content-Security-Policy"]
                assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
                assert resp.headers["X-Content-Type-Options"] == "nosniff"
                assert resp.headers["Referrer-Policy"] == "no-referrer"
            cookie = next(h for h in (await web.login("desk")).session.cookie_jar if h.key == "appliance_session")
            assert cookie["httponly"] and cookie["samesite"] == "Strict"
            # cross-site requests for the live channel are refused
            resp = await tech.get("/live", headers={"Origin": "http://evil.example"})
            assert resp.status == 403
        for template in TEMPLATES.glob("*.html"):
            text = template.read_text()
            assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
            assert "<style" not in text and " style=" not in text and re.search(r"\son[a-z]+=", text) is None

    asyncio.run(main())


def test_plain_http_only_on_loopback_and_a_self_signed_certificate(tmp_path: Path) -> None:
    assert tls.wants_tls("auto", "127.0.0.1") is False
    assert tls.wants_tls("auto", "0.0.0.0") is True
    assert tls.wants_tls("on", "localhost") is True
    with pytest.raises(ConfigError, match=r"web\.tls"):
        tls.wants_tls("off", "192.168.1.20")
    cert, key = tls.self_signed(tmp_path / "tls", "lab-7", "192.168.1.20")
    assert "BEGIN CERTIFICATE" in cert.read_text()
    assert key.stat().st_mode & 0o077 == 0  # the key is readable by the daemon's user only
    tls.server_context(cert, key)
    again = tls.self_signed(tmp_path / "tls", "lab-7", "192.168.1.20")
    assert again == (cert, key) and cert.read_text() == again[0].read_text()


def test_plain_http_listener_redirects_to_https(tmp_path: Path) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    async def main() -> None:
        async with web_app(tmp_path) as web:
            client = TestClient(TestServer(web.service.build_redirect_app(8443)))
            await client.start_server()
            try:
                resp = await client.get("/inbox", allow_redirects=False)
                assert resp.status == 301
                assert resp.headers["Location"] == f"https://{client.host}:8443/inbox"
            finally:
                await client.close()

    asyncio.run(main())
