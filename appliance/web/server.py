"""The daemon's HTTP face: /healthz, /metrics, the login and the status page with its live channel.

aiohttp was chosen because it is one asyncio-native package with server,
WebSocket and streaming responses (live caller pop and status updates without
polling), runs inside the daemon's own event loop (no ASGI server, no extra
process), and stays small on a Pi (~10 MB more RSS). Pages are rendered on the
server with Jinja2 (autoescaping on: SMS bodies and caller names are hostile);
the live channel is server-sent events, and the page's script writes what it
receives with ``textContent`` only.

Security, in the order a request meets it (``_guard``):

- security headers on every answer (CSP without inline script or style, no
  framing, nosniff, no referrer, HSTS over HTTPS);
- sessions are rows in the store (only a hash of the cookie's token is kept):
  logout, a password change and ``appliance users remove`` end them;
- every route but /healthz, /metrics, /login and /static needs a session: pages
  redirect to /login, everything else answers 401;
- every state-changing request carries the anti-forgery token (form field or
  ``X-CSRF-Token``), bound to the session; the live channel refuses other origins;
- the desk role is refused the technician's routes (403);
- password hashing runs off the store thread in a bounded pool, logins are
  throttled per account and per address (``appliance.web.auth``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

import jinja2
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from appliance import __version__, alerts
from appliance.aio import cancel_and_wait
from appliance.daemon.service import Service
from appliance.errors import ApplianceError, QueueFull, StoreError, ValidationError
from appliance.phone import mask, to_e164
from appliance.sms.actions import cancel_messages, retry_messages
from appliance.sms.outbox import SENDING_PAUSED_META, SmsOutbox
from appliance.users import (
    SessionUser,
    create_session,
    has_users,
    password_hash_of,
    prune_sessions,
    revoke_session,
    session_user,
    set_language,
)
from appliance.web import data, diagnostics, i18n, search, svg, tls
from appliance.web.auth import LoginBusy, LoginThrottle, PasswordHasher
from appliance.web.contact_pages import ContactPages
from appliance.web.live import HEARTBEAT_S, LiveHub, ViewerLimit
from appliance.web.workflows import WorkflowPages

if TYPE_CHECKING:
    from appliance.daemon.context import AppContext
    from appliance.daemon.supervisor import Supervisor

log = logging.getLogger(__name__)

SESSION_COOKIE = "appliance_session"
PRELOGIN_COOKIE = "appliance_prelogin"
SECRET_META_KEY = "web_session_secret"
MAX_FORM_BYTES = 64 * 1024
LOGIN_FAILURE_DELAY_S = 0.5  # slows password guessing without locking a technician out
SESSION_RECHECK_S = 15.0  # a live channel re-reads its session this often (revocation ends it)
# Counting a million-row queue costs ~0.1 s of the store thread: not more often than this.
METRICS_MIN_REFRESH_S = 5.0
PUBLIC_PATHS = {"/healthz", "/metrics", "/login"}
FILTER_KEYS = 1000  # saved message searches (numbers stay out of URLs)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
# (method, path) only a technician may use; the desk role gets 403.
TECHNICIAN_ONLY = {
    ("POST", "/api/sms"), ("POST", "/sending/pause"), ("POST", "/sending/resume"), ("POST", "/modem/reset"),
    ("GET", "/diagnostics"), ("GET", "/audit"),
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
USER = web.RequestKey("user", SessionUser)

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


def _static_files() -> dict[str, bytes]:
    root = resources.files("appliance.web").joinpath("static")
    return {entry.name: entry.read_bytes() for entry in root.iterdir() if entry.name[-4:] in (".css", ".svg")
            or entry.name.endswith(".js")}


class WebService(WorkflowPages, ContactPages, Service):
    """Serves /healthz, /metrics and the status page on ``web.listen``."""

    name = "web"

    def __init__(self, ctx: AppContext, supervisor: Supervisor) -> None:
        super().__init__()
        self.ctx = ctx
        self.supervisor = supervisor
        self._runner: web.AppRunner | None = None
        self._secret = b""
        self.secure = False
        self.collector = StoreCollector(ctx)
        ctx.registry.register(self.collector)
        info = Gauge("appliance_info", "Version and site", ["version", "site"], registry=ctx.registry)
        info.labels(__version__, ctx.config.site.id).set(1)
        self.m_login_refused = Gauge(
            "appliance_web_logins_refused", "Logins refused (busy or throttled) since start", registry=ctx.registry
        )
        self.hasher = PasswordHasher()
        self.throttle = LoginThrottle()
        self.hub = LiveHub(ctx, supervisor)
        self.ring = diagnostics.RingLogHandler()
        self.static = _static_files()
        self._filters: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._stopping = asyncio.Event()

    # -- lifecycle -----------------------------------------------------------

    async def run(self) -> None:
        self._secret = await self.ctx.store.run(self._load_secret)
        await self.ctx.store.run(prune_sessions, self.ctx.store)
        cfg = self.ctx.config.web
        host, port = self.ctx.config.web_host_port
        ssl_context = None
        if tls.wants_tls(cfg.tls, host):
            if cfg.cert:
                cert, key = cfg.cert, cfg.key or cfg.cert
            else:
                made = await asyncio.to_thread(
                    tls.self_signed, self.ctx.config.data_dir / "tls", self.ctx.config.site.id, host
                )
                cert, key = str(made[0]), str(made[1])
            from pathlib import Path

            ssl_context = tls.server_context(Path(cert), Path(key))
        self.secure = ssl_context is not None
        app = self.build_app()
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        sites = [web.TCPSite(runner, host, port, reuse_address=True, ssl_context=ssl_context)]
        redirect_runner: web.AppRunner | None = None
        logging.getLogger().addHandler(self.ring)
        try:
            try:
                await sites[0].start()
                if cfg.redirect_listen and self.secure:
                    rhost, _, rport = cfg.redirect_listen.rpartition(":")
                    redirect_runner = web.AppRunner(self.build_redirect_app(port), access_log=None)
                    await redirect_runner.setup()
                    await web.TCPSite(redirect_runner, rhost.strip("[]"), int(rport), reuse_address=True).start()
            except OSError as err:
                raise ApplianceError(f"cannot listen on {host}:{port}: {err.strerror}") from err
            self._runner = runner
            scheme = "https" if self.secure else "http"
            self.set_health("ok", f"listening on {scheme}://{host}:{port}")
            log.info("status page on %s://%s:%d/", scheme, host, port)
            if not await self.ctx.store.run(has_users, self.ctx.store):
                log.warning("no accounts for the status page yet: `appliance users add NAME` makes one")
            indexer = asyncio.create_task(self._index_messages(), name="web-search-index")
            try:
                await self.hub.run()
            finally:
                await cancel_and_wait(indexer)
        finally:
            logging.getLogger().removeHandler(self.ring)
            self._runner = None
            self._stopping.set()
            if redirect_runner is not None:
                await redirect_runner.cleanup()
            await runner.cleanup()

    async def _index_messages(self) -> None:
        """Keep the messages' text index up to date, in batches (appliance/web/search.py)."""
        while True:
            try:
                done = search.BATCH
                while done == search.BATCH:  # a backlog (the first run after the upgrade): batch after batch
                    done = await self.ctx.store.run(search.catch_up, self.ctx.store)
            except StoreError as err:
                log.warning("message search index: not updated now: %s", err)
            await asyncio.sleep(search.CATCH_UP_S)

    async def stop(self) -> None:
        self._stopping.set()
        for viewer in list(self.hub.viewers):
            viewer.ready.set()
        if self._runner is not None:
            await self._runner.shutdown()
        self.hasher.close()

    def _load_secret(self) -> bytes:
        stored = self.ctx.store.get_meta(SECRET_META_KEY)
        if stored is None:
            stored = secrets.token_hex(32)
            self.ctx.store.set_meta(SECRET_META_KEY, stored)
        return bytes.fromhex(stored)

    def build_redirect_app(self, https_port: int) -> web.Application:
        async def redirect(request: web.Request) -> web.StreamResponse:
            host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
            raise web.HTTPMovedPermanently(f"https://{host}:{https_port}{request.path}")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", redirect)
        return app

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._headers, self._guard], client_max_size=MAX_FORM_BYTES)
        r = app.router
        r.add_get("/healthz", self.healthz)
        r.add_get("/metrics", self.metrics)
        r.add_get("/login", self.login_form)
        r.add_post("/login", self.login_submit)
        r.add_get("/static/{name}", self.static_file)
        r.add_post("/logout", self.logout)
        r.add_get("/", self.index)
        r.add_get("/live", self.live)
        r.add_get("/api/status", self.api_status)
        r.add_get("/api/dashboard", self.api_dashboard)
        r.add_get("/api/session", self.api_session)
        r.add_post("/api/sms", self.api_send_sms)
        r.add_get("/inbox", self.messages)
        r.add_get("/outbox", self.messages)
        r.add_get("/failed", self.messages)
        r.add_post("/messages/search", self.messages_search)
        r.add_post("/messages/retry", self.messages_retry)
        r.add_post("/messages/cancel", self.messages_cancel)
        r.add_get("/calls", self.calls)
        r.add_get("/charts", self.charts)
        r.add_get("/charts/{name}.svg", self.chart_svg)
        r.add_post("/alerts/ack", self.alerts_ack)
        r.add_post("/sending/pause", self.sending_pause)
        r.add_post("/sending/resume", self.sending_resume)
        r.add_post("/modem/reset", self.modem_reset)
        r.add_post("/dial", self.dial)
        r.add_post("/language", self.language)
        r.add_get("/diagnostics", self.diagnostics)
        r.add_get("/audit", self.audit)
        self.add_workflow_routes(app)
        self.add_contact_routes(app)
        return app

    # -- sessions and anti-forgery -------------------------------------------

    def csrf_token(self, binding: str) -> str:
        return hmac.new(self._secret, b"csrf:" + binding.encode(), hashlib.sha256).hexdigest()

    def _csrf_ok(self, binding: str, sent: str) -> bool:
        return bool(binding) and bool(sent) and hmac.compare_digest(self.csrf_token(binding), sent)

    async def _session(self, request: web.Request) -> SessionUser | None:
        token = request.cookies.get(SESSION_COOKIE, "")
        if not token or len(token) > 128:
            return None
        return await self.ctx.store.run(session_user, self.ctx.store, token)

    @web.middleware
    async def _headers(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
            self._add_headers(request, response)
            raise
        self._add_headers(request, response)
        return response

    def _add_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        if response.prepared:
            return
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "no-referrer")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if not request.path.startswith("/static/"):
            h.setdefault("Cache-Control", "no-store")
        if self.secure:
            h.setdefault("Strict-Transport-Security", "max-age=31536000")

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path in PUBLIC_PATHS or path.startswith("/static/"):
            return await handler(request)
        user = await self._session(request)
        if user is None:
            if request.method == "GET" and not path.startswith("/api/") and path != "/live":
                raise web.HTTPFound("/login")
            return web.json_response({"error": "login required"}, status=401)
        request[USER] = user
        if (request.method, path) in TECHNICIAN_ONLY and user.role != "technician":
            log.warning("user %s (%s) refused %s %s", user.username, user.role, request.method, path)
            return web.json_response({"error": "this needs a technician account"}, status=403)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            sent = request.headers.get("X-CSRF-Token", "")
            if not sent and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                sent = str(form.get("csrf_token", ""))
            if not self._csrf_ok(user.token_hash, sent):
                log.warning("user %s: %s %s without a valid anti-forgery token", user.username, request.method, path)
                return web.json_response({"error": "bad or missing anti-forgery token"}, status=403)
        return await handler(request)

    def _render(self, request: web.Request, template: str, **values: Any) -> web.Response:
        user: SessionUser | None = request.get(USER)
        lang = i18n.pick_language(user.language if user else None, request.headers.get("Accept-Language", ""))
        html = TEMPLATES.get_template(template).render(
            t=i18n.translator(lang), lang=lang, languages=i18n.LANGUAGES, user=user,
            site=self.ctx.config.site.name or self.ctx.config.site.id, version=__version__,
            csrf_token=self.csrf_token(user.token_hash) if user else "", path=request.path,
            simulated=self.hub.simulated(), **values,
        )
        return web.Response(text=html, content_type="text/html")

    async def _audit(self, request: web.Request, action: str, target: str = "", detail: str = "") -> None:
        user: SessionUser = request[USER]
        await self.ctx.store.run(data.audit, self.ctx.store, user.username, action, target, detail)
        log.info("user %s: %s %s", user.username, action, target)

    # -- public --------------------------------------------------------------

    async def healthz(self, request: web.Request) -> web.Response:
        problems: list[str] = []
        try:
            async with asyncio.timeout(5.0):
                await self.ctx.store.run(self.ctx.store.check_writable)
        except (StoreError, TimeoutError) as err:
            problems.append(f"store: {err or 'timed out'}")
        if not self.supervisor.loop_alive():
            problems.append("daemon loop: watchdog stalled")
        parts = {name: h.state for name, h in self.supervisor.healths().items()}
        simulated = [name for name, sim in self.hub.simulated().items() if sim]
        body = {
            "status": "ok" if not problems else "error",
            "version": __version__,
            "site": self.ctx.config.site.id,
            "parts": parts,
            "simulated": simulated,
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

    async def static_file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = self.static.get(name)
        if body is None:
            raise web.HTTPNotFound()
        ctype = STATIC_TYPES.get(name[name.rfind("."):], "application/octet-stream")
        return web.Response(body=body, headers={"Content-Type": ctype, "Cache-Control": "max-age=300"})

    async def login_form(self, request: web.Request, error: str = "", status: int = 200) -> web.Response:
        binding = request.cookies.get(PRELOGIN_COOKIE) or secrets.token_hex(16)
        response = self._render(request, "login.html", login_csrf=self.csrf_token("pre:" + binding), error=error)
        response.set_status(status if error else 200)
        response.set_cookie(
            PRELOGIN_COOKIE, binding, httponly=True, samesite="Strict", max_age=3600, secure=self.secure
        )
        return response

    async def login_submit(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        binding = request.cookies.get(PRELOGIN_COOKIE, "")
        if not self._csrf_ok("pre:" + binding, str(form.get("csrf_token", ""))):
            return await self.login_form(request, "The form expired; please try again.", 403)
        username = str(form.get("username", ""))[:64]
        password = str(form.get("password", ""))[:1024]
        address = request.remote or "?"
        wait = self.throttle.retry_after(username, address)
        if wait > 0:
            self.m_login_refused.inc()
            response = await self.login_form(request, f"Too many failed logins; try again in {int(wait) + 1} s.", 429)
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        try:
            stored = await self.ctx.store.run(password_hash_of, self.ctx.store, username)
            ok = await self.hasher.check(password, stored)
        except LoginBusy:
            self.m_login_refused.inc()
            response = await self.login_form(request, "The box is busy; try again in a moment.", 429)
            response.headers["Retry-After"] = "2"
            return response
        if not ok:
            self.throttle.failed(username, address)
            log.warning("failed login for user %r from %s", username, address)
            await asyncio.sleep(LOGIN_FAILURE_DELAY_S)
            return await self.login_form(request, "Wrong user name or password.", 401)
        self.throttle.succeeded(username, address)
        token = await self.ctx.store.run(
            create_session, self.ctx.store, username, self.ctx.config.web.session_hours * 3600, address
        )
        log.info("user %r logged in from %s", username, address)
        response = web.HTTPFound("/")
        response.set_cookie(
            SESSION_COOKIE, token, httponly=True, samesite="Strict", secure=self.secure,
            max_age=int(self.ctx.config.web.session_hours * 3600),
        )
        response.del_cookie(PRELOGIN_COOKIE)
        raise response

    # -- signed in -----------------------------------------------------------

    async def logout(self, request: web.Request) -> web.StreamResponse:
        user: SessionUser = request[USER]
        await self.ctx.store.run(revoke_session, self.ctx.store, user.token_hash)
        log.info("user %s logged out", user.username)
        response = web.HTTPFound("/login")
        response.del_cookie(SESSION_COOKIE)
        raise response

    async def api_status(self, request: web.Request) -> web.Response:
        body = {n: h.as_dict() for n, h in self.supervisor.healths().items()}
        return web.json_response({**body, "simulated": self.hub.simulated()})

    async def api_dashboard(self, request: web.Request) -> web.Response:
        return web.Response(text=self.hub.snapshot_json or "{}", content_type="application/json")

    async def api_session(self, request: web.Request) -> web.Response:
        """Who is logged in, and the anti-forgery token for API writes (X-CSRF-Token header)."""
        user: SessionUser = request[USER]
        return web.json_response(
            {"user": user.username, "role": user.role, "csrf_token": self.csrf_token(user.token_hash)}
        )

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise web.HTTPBadRequest(text="body is not JSON") from None
            if not isinstance(body, dict):
                raise web.HTTPBadRequest(text="body must be a JSON object")
            return body
        form = await request.post()
        out: dict[str, Any] = {}
        for key in form:
            values = form.getall(key)
            out[key] = [str(v) for v in values] if key == "id" else str(values[0])
        return out

    def _done(self, request: web.Request, body: dict[str, Any], back: str) -> web.StreamResponse:
        """JSON for API callers, a redirect back for forms."""
        if request.content_type == "application/json" or request.headers.get("Accept") == "application/json":
            return web.json_response(body)
        raise web.HTTPSeeOther(back)

    async def api_send_sms(self, request: web.Request) -> web.StreamResponse:
        """Queue an SMS (the status page's "send a test SMS"): form or JSON ``to``, ``text``."""
        body = await self._body(request)
        to, text = body.get("to"), body.get("text")
        if not isinstance(to, str) or not isinstance(text, str) or not text:
            return web.json_response({"error": "'to' and 'text' are required strings"}, status=400)
        try:
            number = to_e164(to, self.ctx.config.site.country)
            queued = await self.ctx.store.run(SmsOutbox(self.ctx.store).enqueue, number, text)
        except (ValidationError, ValueError) as err:
            return web.json_response({"error": str(err)}, status=400)
        await self._audit(request, "test_sms", f"message {queued.message_id}", mask(number))
        self.hub.poke()
        return self._done(request, {"id": queued.message_id, "status": "queued", "number": number}, "/outbox")

    async def index(self, request: web.Request) -> web.Response:
        if not self.hub.snapshot:
            with contextlib.suppress(StoreError):
                await self.hub.refresh()
        return self._render(request, "index.html", snap=self.hub.snapshot or {}, alert_names=alerts.KINDS)

    async def live(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: ``dashboard``, ``caller_pop``, ``line_state``, ``sms_in``, ``tick``."""
        origin = request.headers.get("Origin")
        site = request.headers.get("Sec-Fetch-Site")
        if (origin and origin.split("://", 1)[-1] != request.host) or (site and site not in ("same-origin", "none")):
            log.warning("live channel refused: cross-site request (origin %r)", origin)
            return web.json_response({"error": "cross-site live channel refused"}, status=403)
        user: SessionUser = request[USER]
        try:
            viewer = self.hub.add_viewer(user.username)
        except ViewerLimit as err:
            return web.json_response({"error": str(err)}, status=503, headers={"Retry-After": "10"})
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )
        self._add_headers(request, response)
        token = request.cookies.get(SESSION_COOKIE, "")
        try:
            await response.prepare(request)
            await response.write(b"retry: 2000\n\n")
            checked = time.monotonic()
            while not self._stopping.is_set():
                item = await viewer.next(HEARTBEAT_S)
                if time.monotonic() - checked > SESSION_RECHECK_S:
                    checked = time.monotonic()
                    if await self.ctx.store.run(session_user, self.ctx.store, token) is None:
                        await response.write(b"event: logout\ndata: {}\n\n")
                        break
                if item is None:
                    item = ("tick", json.dumps({"t": int(time.time() * 1000)}))
                name, payload = item
                await response.write(f"event: {name}\ndata: {payload}\n\n".encode())
        except (ConnectionResetError, RuntimeError):
            pass  # the browser went away
        finally:
            self.hub.remove_viewer(viewer)
        return response

    # -- message pages and actions ---------------------------------------------

    async def messages(self, request: web.Request) -> web.Response:
        box = request.path.strip("/")
        q = request.query
        status = q.get("status") or None
        if status and not re.fullmatch(r"[a-z]{3,12}", status):
            status = None
        before = int(q["before"]) if q.get("before", "").isdigit() else None
        saved = self._filters.get(q.get("f", ""), {})
        number = saved.get("number") or None
        text = saved.get("text") or None
        rows, next_before = await self.ctx.store.run(
            data.message_page, self.ctx.store, box, status=status, number=number, text=text, before=before
        )
        return self._render(
            request, "messages.html", box=box, rows=rows, next_before=next_before, status=status or "",
            search=saved.get("q", ""), filter_key=q.get("f", ""),
            statuses=("queued", "sending", "sent", "delivered", "failed", "expired", "unknown", "received"),
        )

    async def messages_search(self, request: web.Request) -> web.StreamResponse:
        """A search kept server-side under an opaque key, so numbers stay out of URLs and logs."""
        body = await self._body(request)
        box = body.get("box") if body.get("box") in data.BOXES else "inbox"
        query = str(body.get("q", "")).strip()[:200]
        status = str(body.get("status", ""))
        saved: dict[str, str] = {"q": query}
        if query and re.fullmatch(r"\+?[\d\s().-]{5,24}", query):  # a phone number, else words to find
            try:
                saved["number"] = to_e164(query, self.ctx.config.site.country)
            except ValidationError:
                saved["text"] = query
        elif query:
            saved["text"] = query
        key = secrets.token_urlsafe(9)
        self._filters[key] = saved
        while len(self._filters) > FILTER_KEYS:
            self._filters.popitem(last=False)
        params = f"?f={key}" + (f"&status={status}" if re.fullmatch(r"[a-z]{3,12}", status) else "")
        raise web.HTTPSeeOther(f"/{box}{params}")

    def _ids(self, body: dict[str, Any]) -> list[int]:
        raw = body.get("id") or body.get("ids") or []
        if not isinstance(raw, list):
            raw = [raw]
        return [int(x) for x in raw if str(x).isdigit()][:500]

    async def messages_retry(self, request: web.Request) -> web.StreamResponse:
        ids = self._ids(await self._body(request))
        done = await self.ctx.store.run(retry_messages, self.ctx.store, ids)
        await self._audit(request, "retry", "messages " + ",".join(map(str, done)))
        self.hub.poke()
        return self._done(request, {"retried": done}, "/failed")

    async def messages_cancel(self, request: web.Request) -> web.StreamResponse:
        ids = self._ids(await self._body(request))
        user: SessionUser = request[USER]
        done = await self.ctx.store.run(cancel_messages, self.ctx.store, ids, user.username)
        await self._audit(request, "cancel", "messages " + ",".join(map(str, done)))
        self.hub.poke()
        return self._done(request, {"cancelled": done}, "/failed")

    async def calls(self, request: web.Request) -> web.Response:
        before = int(request.query["before"]) if request.query.get("before", "").isdigit() else None
        rows, next_before = await self.ctx.store.run(data.calls_page, self.ctx.store, before)
        return self._render(request, "calls.html", rows=rows, next_before=next_before)

    async def charts(self, request: web.Request) -> web.Response:
        return self._render(request, "charts.html")

    async def chart_svg(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        t = i18n.translator(i18n.pick_language(request[USER].language, request.headers.get("Accept-Language", "")))
        if name == "messages":
            days = await self.ctx.store.run(data.daily_counts, self.ctx.store, self.ctx.config.site.timezone)
            body = svg.bars(
                t("messages_per_day"), [d["day"] for d in days],
                {"SMS in": [d["in"] for d in days], "SMS out": [d["out"] for d in days],
                 "calls": [d["calls"] for d in days]},
            )
        elif name == "signal":
            from appliance.modem.signal_history import history

            saved = await self.ctx.store.run(history, self.ctx.store, 24.0)
            points = [(at, average) for at, average, _, _ in saved]
            signal = self.hub.snapshot.get("parts", {}).get("modem", {}).get("info", {}).get("signal")
            if isinstance(signal, int):
                points.append((time.time(), float(signal)))  # the reading of now, after the last saved bucket
            body = svg.line(t("signal_day"), points, 31.0, "+CSQ 0-31, last 24 h (5-minute averages)")
        elif name == "complaints":
            from appliance.complaints.core import complaint_figures

            fig = await self.ctx.store.run(complaint_figures, self.ctx.store)
            ages = fig.get("open_by_age") or fig.get("ages") or {}
            statuses = fig.get("by_status") or {}
            labels = [*statuses, *ages]
            body = svg.bars(
                t("complaints_chart"), labels,
                {"by status": [int(statuses.get(k, 0)) for k in statuses] + [0] * len(ages),
                 "open, by age": [0] * len(statuses) + [int(ages.get(k, 0)) for k in ages]},
            )
        elif name == "surveys":
            from appliance.surveys.figures import survey_figures

            fig = await self.ctx.store.run(survey_figures, self.ctx.store)
            labels, means = [], []
            for sid, f in (fig.get("surveys") or {}).items():
                for qid, q in (f.get("questions") or {}).items():
                    if q.get("mean") is not None:
                        labels.append(f"{sid[:10]}/{qid}")
                        means.append(round(float(q["mean"]) * 10))
            body = svg.bars(t("survey_chart") + " (x10)", labels[:16], {"mean x10": means[:16]})
        else:
            raise web.HTTPNotFound()
        return web.Response(text=body, content_type="image/svg+xml")

    async def alerts_ack(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        user: SessionUser = request[USER]
        ids = self._ids(body)
        acked = []
        for alert_id in ids:
            alert = await self.ctx.store.run(alerts.acknowledge, self.ctx.store, alert_id, user.username)
            if alert is not None:
                acked.append(alert_id)
                self.ctx.bus.publish("alert", {"alert_id": alert_id, "kind": alert.kind, "state": alert.state})
        await self._audit(request, "ack_alert", "alerts " + ",".join(map(str, acked)))
        self.hub.poke()
        return self._done(request, {"acknowledged": acked}, "/")

    async def _set_paused(self, request: web.Request, paused: bool) -> web.StreamResponse:
        await self.ctx.store.run(self.ctx.store.set_meta, SENDING_PAUSED_META, "1" if paused else "0")
        modem = self.supervisor.services.get("modem")
        if modem is not None and hasattr(modem, "set_paused"):
            modem.set_paused(paused)
        await self._audit(request, "pause_sending" if paused else "resume_sending")
        self.hub.poke()
        return self._done(request, {"paused": paused}, "/")

    async def sending_pause(self, request: web.Request) -> web.StreamResponse:
        return await self._set_paused(request, True)

    async def sending_resume(self, request: web.Request) -> web.StreamResponse:
        return await self._set_paused(request, False)

    async def modem_reset(self, request: web.Request) -> web.StreamResponse:
        modem = self.supervisor.services.get("modem")
        if modem is None or not hasattr(modem, "request_reset"):
            return web.json_response({"error": "no modem part is running"}, status=409)
        modem.request_reset()
        await self._audit(request, "reset_modem")
        return self._done(request, {"reset": True}, "/")

    async def dial(self, request: web.Request) -> web.StreamResponse:
        """Click-to-dial: an outbound call job for the phone-line part (dialed when the line is idle)."""
        body = await self._body(request)
        try:
            number = to_e164(str(body.get("number", "")), self.ctx.config.site.country)
        except ValidationError as err:
            return web.json_response({"error": str(err)}, status=400)
        if self.ctx.config.line.driver == "none":
            return web.json_response({"error": "there is no phone line (line.driver = none)"}, status=409)
        from appliance.calls import jobs

        user: SessionUser = request[USER]
        try:
            job_id = await self.ctx.store.run(
                jobs.queue_dial, self.ctx.store, [number], requested_by=f"web:{user.username}"
            )
        except (QueueFull, ValueError) as err:
            return web.json_response({"error": str(err)}, status=409)
        await self._audit(request, "dial", f"call job {job_id}", mask(number))
        back = "/followups" if body.get("back") == "/followups" else "/calls"  # the follow-up list stays in view
        return self._done(request, {"job_id": job_id}, back)

    async def language(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        user: SessionUser = request[USER]
        try:
            await self.ctx.store.run(set_language, self.ctx.store, user.username, str(body.get("language", "")))
        except ValidationError as err:
            return web.json_response({"error": str(err)}, status=400)
        back = str(body.get("back", "/"))
        raise web.HTTPSeeOther(back if re.fullmatch(r"/[a-z/]*", back) else "/")

    async def diagnostics(self, request: web.Request) -> web.Response:
        health = {n: h.as_dict() for n, h in self.supervisor.healths().items()}
        version = await self.ctx.store.run(lambda: self.ctx.store.schema_version)
        body = await asyncio.to_thread(
            diagnostics.bundle, self.ctx.config, health, list(self.ring.lines), version
        )
        await self._audit(request, "diagnostics")
        name = f"appliance-{self.ctx.config.site.id}-diagnostics.zip"
        return web.Response(
            body=body,
            headers={"Content-Type": "application/zip", "Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def audit(self, request: web.Request) -> web.Response:
        rows = await self.ctx.store.run(data.audit_page, self.ctx.store)
        return self._render(request, "audit.html", rows=rows)
