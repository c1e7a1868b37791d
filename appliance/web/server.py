"""The daemon's HTTP face: /healthz, /metrics, the technician login and the status page.

aiohttp was chosen because it is one asyncio-native package with server,
WebSocket and streaming responses (live caller pop and status updates without
polling), runs inside the daemon's own event loop (no ASGI server, no extra
process), and stays small on a Pi (~10 MB more RSS). Pages are rendered on the
server with Jinja2 (autoescaping on: SMS bodies and caller names are hostile).

Sessions are signed cookies (HMAC-SHA256 with a key kept in the store), so a
restart keeps technicians logged in and no session table grows. Forms carry an
anti-forgery token bound to the session (or to a pre-login cookie).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import jinja2
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from appliance import __version__
from appliance.daemon.service import Service
from appliance.errors import ApplianceError, StoreError, ValidationError
from appliance.phone import mask, to_e164
from appliance.sms.outbox import SmsOutbox
from appliance.users import authenticate

if TYPE_CHECKING:
    from appliance.daemon.context import AppContext
    from appliance.daemon.supervisor import Supervisor

log = logging.getLogger(__name__)

SESSION_COOKIE = "appliance_session"
PRELOGIN_COOKIE = "appliance_prelogin"
SESSION_LIFETIME_S = 12 * 3600  # one working day
SECRET_META_KEY = "web_session_secret"
MAX_FORM_BYTES = 64 * 1024
LOGIN_FAILURE_DELAY_S = 0.5  # slows password guessing without locking a technician out
# Counting a million-row queue costs ~0.1 s of the store thread: not more often than this.
METRICS_MIN_REFRESH_S = 5.0
PUBLIC_PATHS = {"/healthz", "/metrics", "/login", "/static"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("appliance.web", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
)


class StoreCollector(Collector):
    """Figures read from the store at each scrape (queue lengths, backlog)."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.cached: dict[str, Any] = {}
        self._read_at = 0.0

    async def refresh(self) -> None:
        """Re-read the figures, at most every METRICS_MIN_REFRESH_S (scrapers may be eager)."""
        if time.monotonic() - self._read_at < METRICS_MIN_REFRESH_S and self.cached:
            return
        self.cached = await self.ctx.store.run(self._read)
        self._read_at = time.monotonic()

    def _read(self) -> dict[str, Any]:
        conn = self.ctx.store.conn
        out: dict[str, Any] = {
            "events_unacked": conn.execute("SELECT COUNT(*) FROM events WHERE acked_at IS NULL").fetchone()[0],
            "sms": dict(conn.execute("SELECT status, COUNT(*) FROM sms_messages GROUP BY status").fetchall()),
            "free_bytes": self.ctx.store.free_bytes(),
        }
        return out

    def collect(self) -> Any:
        if not self.cached:
            return
        yield GaugeMetricFamily(
            "appliance_events_unacked", "Uplink events not yet acknowledged by the central system",
            value=self.cached["events_unacked"],
        )
        sms = GaugeMetricFamily("appliance_sms_messages", "SMS messages by status", labels=["status"])
        for status, count in sorted(self.cached["sms"].items()):
            sms.add_metric([status], count)
        yield sms
        yield GaugeMetricFamily(
            "appliance_store_free_bytes", "Free space on the disk under the store",
            value=self.cached["free_bytes"],
        )


class WebService(Service):
    """Serves /healthz, /metrics and the status page on ``web.listen``."""

    name = "web"

    def __init__(self, ctx: AppContext, supervisor: Supervisor) -> None:
        super().__init__()
        self.ctx = ctx
        self.supervisor = supervisor
        self._runner: web.AppRunner | None = None
        self._secret = b""
        self.collector = StoreCollector(ctx)
        ctx.registry.register(self.collector)
        info = Gauge("appliance_info", "Version and site", ["version", "site"], registry=ctx.registry)
        info.labels(__version__, ctx.config.site.id).set(1)

    # -- lifecycle -----------------------------------------------------------

    async def run(self) -> None:
        self._secret = await self.ctx.store.run(self._load_secret)
        app = self.build_app()
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        host, port = self.ctx.config.web_host_port
        site = web.TCPSite(runner, host, port, reuse_address=True)
        try:
            await site.start()
        except OSError as err:
            await runner.cleanup()
            raise ApplianceError(f"cannot listen on {host}:{port}: {err.strerror}") from err
        self._runner = runner
        self.set_health("ok", f"listening on {host}:{port}")
        log.info("status page on http://%s:%d/", host, port)
        try:
            await asyncio.Event().wait()
        finally:
            self._runner = None
            await runner.cleanup()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.shutdown()

    def _load_secret(self) -> bytes:
        stored = self.ctx.store.get_meta(SECRET_META_KEY)
        if stored is None:
            stored = secrets.token_hex(32)
            self.ctx.store.set_meta(SECRET_META_KEY, stored)
        return bytes.fromhex(stored)

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth_middleware], client_max_size=MAX_FORM_BYTES)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/login", self.login_form)
        app.router.add_post("/login", self.login_submit)
        app.router.add_post("/logout", self.logout)
        app.router.add_get("/", self.index)
        app.router.add_get("/api/status", self.api_status)
        app.router.add_post("/api/sms", self.api_send_sms)
        app.router.add_get("/api/session", self.api_session)
        return app

    # -- sessions and anti-forgery -------------------------------------------

    def _sign(self, payload: str) -> str:
        mac = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
        return payload + "." + base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def _unsign(self, token: str) -> str | None:
        payload, _, _mac = token.rpartition(".")
        if not payload:
            return None
        return payload if hmac.compare_digest(self._sign(payload), token) else None

    def session_user(self, request: web.Request) -> str | None:
        token = request.cookies.get(SESSION_COOKIE, "")
        payload = self._unsign(token) if token else None
        if payload is None:
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("exp", 0) < time.time():
            return None
        user = data.get("u")
        return user if isinstance(user, str) else None

    def _session_cookie(self, username: str) -> str:
        data = {"u": username, "exp": int(time.time()) + SESSION_LIFETIME_S, "n": secrets.token_hex(8)}
        payload = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
        return self._sign(payload)

    def csrf_token(self, request: web.Request, binding: str) -> str:
        return hmac.new(self._secret, b"csrf:" + binding.encode(), hashlib.sha256).hexdigest()

    def _csrf_ok(self, request: web.Request, binding: str, sent: str) -> bool:
        return bool(binding) and hmac.compare_digest(self.csrf_token(request, binding), sent)

    @web.middleware
    async def _auth_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path in PUBLIC_PATHS or path.startswith("/static/"):
            return await handler(request)
        user = self.session_user(request)
        if user is None:
            if path.startswith("/api/"):
                return web.json_response({"error": "login required"}, status=401)
            raise web.HTTPFound("/login")
        request["user"] = user
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            form = await request.post()
            sent = str(form.get("csrf_token", "") or request.headers.get("X-CSRF-Token", ""))
            if not self._csrf_ok(request, request.cookies.get(SESSION_COOKIE, ""), sent):
                return web.json_response({"error": "bad or missing anti-forgery token"}, status=403)
        return await handler(request)

    # -- handlers ------------------------------------------------------------

    async def healthz(self, request: web.Request) -> web.Response:
        problems: list[str] = []
        try:
            await asyncio.wait_for(self.ctx.store.run(self.ctx.store.check_writable), 5.0)
        except (StoreError, TimeoutError) as err:
            problems.append(f"store: {err or 'timed out'}")
        if not self.supervisor.loop_alive():
            problems.append("daemon loop: watchdog stalled")
        parts = {name: h.state for name, h in self.supervisor.healths().items()}
        body = {
            "status": "ok" if not problems else "error",
            "version": __version__,
            "site": self.ctx.config.site.id,
            "parts": parts,
            "problems": problems,
        }
        return web.json_response(body, status=200 if not problems else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        try:
            await self.collector.refresh()
        except StoreError as err:
            log.warning("metrics: store unreadable: %s", err)
        return web.Response(
            body=generate_latest(self.ctx.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def login_form(self, request: web.Request, error: str = "") -> web.Response:
        binding = request.cookies.get(PRELOGIN_COOKIE) or secrets.token_hex(16)
        html = TEMPLATES.get_template("login.html").render(
            csrf_token=self.csrf_token(request, binding), error=error, site=self.ctx.config.site.id
        )
        response = web.Response(text=html, content_type="text/html", status=401 if error else 200)
        response.set_cookie(PRELOGIN_COOKIE, binding, httponly=True, samesite="Strict", max_age=3600)
        return response

    async def login_submit(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        binding = request.cookies.get(PRELOGIN_COOKIE, "")
        if not self._csrf_ok(request, binding, str(form.get("csrf_token", ""))):
            return await self.login_form(request, "The form expired; please try again.")
        username = str(form.get("username", ""))[:64]
        password = str(form.get("password", ""))[:1024]
        if not await self.ctx.store.run(authenticate, self.ctx.store, username, password):
            log.warning("failed login for user %r from %s", username, request.remote)
            await asyncio.sleep(LOGIN_FAILURE_DELAY_S)
            return await self.login_form(request, "Wrong user name or password.")
        log.info("user %r logged in from %s", username, request.remote)
        response = web.HTTPFound("/")
        response.set_cookie(
            SESSION_COOKIE, self._session_cookie(username), httponly=True, samesite="Lax",
            max_age=SESSION_LIFETIME_S,
        )
        response.del_cookie(PRELOGIN_COOKIE)
        raise response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        response = web.HTTPFound("/login")
        response.del_cookie(SESSION_COOKIE)
        raise response

    async def api_status(self, request: web.Request) -> web.Response:
        return web.json_response({n: h.as_dict() for n, h in self.supervisor.healths().items()})

    async def api_session(self, request: web.Request) -> web.Response:
        """Who is logged in, and the anti-forgery token for API writes (X-CSRF-Token header)."""
        token = self.csrf_token(request, request.cookies.get(SESSION_COOKIE, ""))
        return web.json_response({"user": request["user"], "csrf_token": token})

    async def api_send_sms(self, request: web.Request) -> web.Response:
        """Queue an SMS (the status page's "send a test SMS"): form or JSON ``to``, ``text``."""
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                return web.json_response({"error": "body is not JSON"}, status=400)
            if not isinstance(body, dict):
                return web.json_response({"error": "body must be a JSON object"}, status=400)
        else:
            body = dict(await request.post())
        to, text = body.get("to"), body.get("text")
        if not isinstance(to, str) or not isinstance(text, str) or not text:
            return web.json_response({"error": "'to' and 'text' are required strings"}, status=400)
        try:
            number = to_e164(to, self.ctx.config.site.country)
            queued = await self.ctx.store.run(SmsOutbox(self.ctx.store).enqueue, number, text)
        except (ValidationError, ValueError) as err:
            return web.json_response({"error": str(err)}, status=400)
        log.info("user %r queued SMS %d to %s", request["user"], queued.message_id, mask(number))
        return web.json_response({"id": queued.message_id, "status": "queued", "number": number})

    async def index(self, request: web.Request) -> web.Response:
        html = TEMPLATES.get_template("index.html").render(
            user=request["user"],
            site=self.ctx.config.site.id,
            version=__version__,
            parts={n: h.as_dict() for n, h in self.supervisor.healths().items()},
            csrf_token=self.csrf_token(request, request.cookies.get(SESSION_COOKIE, "")),
        )
        return web.Response(text=html, content_type="text/html")
