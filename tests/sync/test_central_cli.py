"""``appliance-central`` as a technician runs it: serve, push-contact, push-notification, stats."""
# ruff: noqa: RUF001  (a Chinese template with full-width punctuation)

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.sync.conftest import SITE, USERS, InProcessAppliance, wait_until
from tests.sync.mosquitto import Mosquitto


def central_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "sync.central.main", *args]


def test_central_cli_serves_pushes_and_reports(
    broker: Mosquitto, appliance_factory: Callable[..., InProcessAppliance], tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'central.db'}"
    auth = ["--broker", f"127.0.0.1:{broker.port}", "--username", "central", "--password", USERS["central"]]
    serve = subprocess.Popen(
        central_cmd("serve", *auth, "--db", db_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        app = appliance_factory(broker.port)
        wait_until(lambda: app.connected, 20, "appliance connected")
        contact = tmp_path / "contact.json"
        contact.write_text(
            json.dumps(
                {
                    "contact_id": "c-9",
                    "version": 1,
                    "contact": {
                        "name": "Li Wei",
                        "phones": ["+46 70 123 45 67"],
                        "language": "zh-Hans",
                        "consents": {"sms": True, "call": False},
                    },
                }
            )
        )
        out = subprocess.run(
            central_cmd("push-contact", *auth, "--db", db_url, "--site", SITE, "--file", str(contact)),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["seq"] == 1
        note = tmp_path / "note.json"
        note.write_text(
            json.dumps({"notification_id": "n-9", "contact_id": "c-9", "channel": "sms", "template": "results_ready"})
        )
        out = subprocess.run(
            central_cmd("push-notification", *auth, "--db", db_url, "--site", SITE, "--file", str(note)),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        wait_until(lambda: app.query("SELECT COUNT(*) FROM sms_messages")[0][0] == 1, 30, "the SMS queued")
        assert app.query("SELECT text FROM sms_messages")[0][0].endswith("您的检验结果已出，请到前台领取。")
        wait_until(lambda: app.backlog() == 0, 30, "sms_status acknowledged by the CLI central")
        stats = subprocess.run(
            central_cmd("stats", "--db", db_url, "--json"), capture_output=True, text=True, timeout=60
        )
        doc = json.loads(stats.stdout)
        (row,) = [r for r in doc["streams"] if r["stream"] == "sms_status"]
        assert row["watermark"] == 1 and row["missing"] == 0
        assert doc["sites"][SITE]["online"] is True
        # A file that breaks the schema is refused before anything is sent (exit 2).
        note.write_text(json.dumps({"notification_id": "n-10", "channel": "fax"}))
        bad = subprocess.run(
            central_cmd("push-notification", *auth, "--db", db_url, "--site", SITE, "--file", str(note)),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert bad.returncode == 2 and "item 0" in bad.stderr
    finally:
        serve.send_signal(signal.SIGTERM)
        output, _ = serve.communicate(timeout=20)
    assert serve.returncode == 0, output
