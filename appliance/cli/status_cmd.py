"""``appliance status [--json]``: health of each part, from the store and the running daemon."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from appliance.cli.common import load, open_store, print_json
from appliance.cli.main import add_config_option
from appliance.config import Config
from appliance.daemon.supervisor import DAEMON_ROW, HEARTBEAT_INTERVAL_S
from appliance.errors import ValidationError
from appliance.store.db import Store
from appliance.store.outbox import EventOutbox
from appliance.timefmt import parse_time

HEALTHZ_TIMEOUT_S = 2.0
PARTS = ("modem", "line", "sync", "web")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="health of each part: store, modem, line, MQTT, queues")
    add_config_option(p)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.set_defaults(func=cmd_status)


def _age_s(ts: str | None) -> float | None:
    if not ts:
        return None
    try:
        then = parse_time(ts)
    except ValidationError:
        return None
    return (datetime.now(UTC) - then).total_seconds()


def _pid_alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, TypeError):
        return False
    except PermissionError:
        return True
    return True


def _healthz(config: Config) -> dict[str, Any] | None:
    from appliance.web.tls import is_loopback

    host, port = config.web_host_port
    secure = config.web.tls == "on" or (config.web.tls == "auto" and not is_loopback(host))
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    url = f"{'https' if secure else 'http'}://{host if ':' not in host else f'[{host}]'}:{port}/healthz"
    context = None
    if secure:  # our own (often self-signed) certificate, on this very box
        import ssl

        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=HEALTHZ_TIMEOUT_S, context=context) as resp:
            return dict(json.load(resp))
    except urllib.error.HTTPError as err:
        try:
            return dict(json.load(err))
        except ValueError:
            return {"status": "error", "problems": [f"HTTP {err.code}"]}
    except (OSError, ValueError):
        return None


def collect_status(config: Config, store: Store) -> dict[str, Any]:
    conn = store.conn
    rows = conn.execute(
        "SELECT name, state, detail, info, restarts, last_error, since, updated_at FROM service_health"
    ).fetchall()
    health = {
        r[0]: {
            "state": r[1], "detail": r[2], "info": json.loads(r[3] or "{}"), "restarts": r[4],
            "last_error": r[5], "since": r[6], "updated_at": r[7],
        }
        for r in rows
    }
    daemon_row = health.pop(DAEMON_ROW, None)
    info = daemon_row["info"] if daemon_row else {}
    heartbeat_age = _age_s(info.get("heartbeat"))
    running = bool(
        daemon_row
        and daemon_row["state"] != "stopped"
        and _pid_alive(info.get("pid"))
        and heartbeat_age is not None
        and heartbeat_age < 3 * HEARTBEAT_INTERVAL_S
    )
    healthz = _healthz(config) if running else None
    daemon: dict[str, Any] = {
        "running": running,
        "pid": info.get("pid") if running else None,
        "version": info.get("version"),
        "started_at": info.get("started_at"),
        "heartbeat_age_s": round(heartbeat_age, 1) if heartbeat_age is not None else None,
        "healthz": healthz,
    }
    enabled = {
        "modem": config.modem.driver != "none",
        "line": config.line.driver != "none",
        "sync": config.mqtt.enabled,
        "web": True,
    }
    parts: dict[str, Any] = {}
    for name in sorted(set(PARTS) | set(health)):
        entry = health.get(name)
        if entry is None or not running:
            if not enabled.get(name, True):
                state, detail = "disabled", ""
            elif not running:
                state, detail = "not running", ""
            else:
                state, detail = "absent", "the running daemon has no such part"
            parts[name] = {"state": state, "detail": detail, "info": entry["info"] if entry else {}}
        else:
            parts[name] = entry
    try:
        sms = dict(conn.execute("SELECT status, COUNT(*) FROM sms_messages GROUP BY status").fetchall())
    except sqlite3.OperationalError:
        sms = {}
    needs_human = []
    if sms.get("unknown"):
        needs_human.append(f"{sms['unknown']} SMS in doubt (status unknown): check and resend or close")
    if store.disk_low():
        needs_human.append("disk almost full: uplink events and messages are kept, but new work may be refused")
    for name, entry in parts.items():
        if entry.get("state") == "failed":
            needs_human.append(f"{name} failed: {entry.get('detail', '')}")
    return {
        "site": config.site.id,
        "config": config.source or "embedded defaults",
        "daemon": daemon,
        "store": {
            "path": str(config.db_path),
            "schema_version": store.schema_version,
            "size_bytes": config.db_path.stat().st_size if config.db_path.exists() else 0,
            "free_bytes": store.free_bytes(),
            "disk_low": store.disk_low(),
        },
        "parts": parts,
        "queues": {"sms": sms, "uplink": EventOutbox(store).backlog()},
        "needs_attention": needs_human,
        # a simulated part is never to be taken for a real network or real delivery reports
        "simulated": [n for n, d in (("modem", config.modem.driver), ("line", config.line.driver)) if d == "sim"],
    }


def _print_human(status: dict[str, Any]) -> None:
    d = status["daemon"]
    print(f"site {status['site']}  (config: {status['config']})")
    if d["running"]:
        print(f"daemon     running, pid {d['pid']}, version {d['version']}, since {d['started_at']}")
    else:
        print("daemon     NOT RUNNING")
    s = status["store"]
    print(
        f"store      {s['path']}  schema v{s['schema_version']}  {s['size_bytes'] / 1e6:.1f} MB, "
        f"{s['free_bytes'] / 1e9:.1f} GB free{'  DISK LOW' if s['disk_low'] else ''}"
    )
    for name, part in status["parts"].items():
        extra = "  ".join(f"{k}={v}" for k, v in sorted(part.get("info", {}).items()))
        detail = part.get("detail") or ""
        sim = "SIMULATED " if name in status.get("simulated", ()) and "SIMULATED" not in detail else ""
        print(f"{name:<10} {part['state']:<10} {sim}{detail}{'  ' + extra if extra else ''}".rstrip())
    for name in status.get("simulated", ()):
        if name not in status["parts"]:
            print(f"{name:<10} SIMULATED (configured: {name}.driver = sim)")
    q = status["queues"]
    sms = ", ".join(f"{k} {v}" for k, v in sorted(q["sms"].items())) or "empty"
    print(f"sms        {sms}")
    up = q["uplink"]
    print(f"uplink     {up['unacked']} unacknowledged" + (f", oldest {up['oldest_unacked']}" if up["unacked"] else ""))
    for line in status["needs_attention"]:
        print(f"ATTENTION  {line}")


def cmd_status(args: argparse.Namespace) -> int:
    config = load(args)
    store = open_store(config)
    try:
        status = collect_status(config, store)
    finally:
        store.close()
    if args.json:
        print_json(status)
    else:
        _print_human(status)
    return 0
