"""End to end: downlink in (Mosquitto + the reference central), SMS out through the daemon's simulated
modem, replies in through it, events up to the central. Survey, complaint and opt-out in one day."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sync.central.server import CentralServer, push
from sync.envelope import schema_problem
from tests.helpers import Daemon, run_cli
from tests.sync.conftest import (  # noqa: F401 - fixtures
    SITE,
    USERS,
    broker,
    broker_factory,
    central_events,
    central_factory,
    central_settings,
    certs,
)
from tests.sync.mosquitto import Mosquitto

pytestmark = pytest.mark.slow

ANNA = "+358401234567"
SURVEY = {
    "survey_id": "sat-1",
    "version": 1,
    "channels": ["sms"],
    "questions": [
        {"id": "visit", "kind": "scale", "text": {"en": "How was your visit?", "fi": "Miten käynti sujui?"}},
        {"id": "again", "kind": "yes_no", "text": {"en": "Come again?", "fi": "Tulisitko uudelleen?"}},
    ],
}


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, daemon: Daemon) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}\n{daemon.log()[-4000:]}")


def sim_sent(data_dir: Path) -> list[dict[str, Any]]:
    out = run_cli(data_dir, "sms", "sim", "state")
    return list(json.loads(out.stdout)["state"]["sent"]) if out.returncode == 0 else []


def inject(data_dir: Path, number: str, text: str) -> None:
    out = run_cli(data_dir, "sms", "sim", "inject", "--from", number, "--text", text)
    assert out.returncode == 0, out.stderr


def texts_to(data_dir: Path, number: str) -> list[str]:
    return [s["text"] for s in sim_sent(data_dir) if s["recipient"] == number]


def test_a_day_through_the_daemon(tmp_path: Path, broker: Mosquitto,  # noqa: F811
                                  central_factory: Callable[..., CentralServer]) -> None:  # noqa: F811
    db_url = f"sqlite:///{tmp_path / 'central.db'}"
    central_factory(broker.port, db_url)
    settings = central_settings(broker.port, db_url)
    data_dir = tmp_path / "box"
    daemon = Daemon(
        data_dir,
        APPLIANCE_SITE__ID=SITE,
        APPLIANCE_SITE__NAME="Lab 3",
        APPLIANCE_SITE__TIMEZONE="Europe/Helsinki",
        APPLIANCE_MQTT__ENABLED="true",
        APPLIANCE_MQTT__PORT=str(broker.port),
        APPLIANCE_MQTT__USERNAME=SITE,
        APPLIANCE_MQTT__PASSWORD=USERS[SITE],
        APPLIANCE_NOTIFICATIONS__QUIET_HOURS="",
        APPLIANCE_MODEM__SEND_INTERVAL="0",
        APPLIANCE_MODEM__SIM_CMGS_DELAY="0.05",
        APPLIANCE_STORAGE__MIN_FREE_MB="1",
    ).start()
    try:
        daemon.wait_healthy()
        assert (data_dir / "wakeup.sock").exists()
        push(settings, SITE, "contacts", [{"contact_id": "c-anna", "version": 1, "contact": {
            "name": "Anna Virtanen", "phones": ["040 123 4567"], "language": "fi",
            "consents": {"sms": True, "call": True, "recording": False}}}])
        push(settings, SITE, "surveys", [SURVEY])
        push(settings, SITE, "notifications", [{"notification_id": "n-survey", "contact_id": "c-anna",
                                                "channel": "sms", "survey_id": "sat-1"}])

        # survey: question, garbage, re-ask, answers, thanks, survey_reply at the central
        wait_for(lambda: "Lab 3 (1/2): Miten käynti sujui? Vastaa 1-5." in texts_to(data_dir, ANNA), 40,
                 "question 1 sent through the modem", daemon)
        inject(data_dir, ANNA, "öö?")
        wait_for(lambda: any(t.startswith("Emme ymmärtäneet") for t in texts_to(data_dir, ANNA)), 30,
                 "the re-ask", daemon)
        inject(data_dir, ANNA, "neljä")
        wait_for(lambda: any("(2/2)" in t for t in texts_to(data_dir, ANNA)), 30, "question 2", daemon)
        inject(data_dir, ANNA, "Kyllä")
        replies = wait_for(lambda: central_events(db_url, SITE, "survey_reply"), 40, "survey_reply up", daemon)
        reply = replies[0].data
        assert reply["answers"] == [{"question_id": "visit", "value": 4}, {"question_id": "again", "value": True}]
        assert reply["complete"] is True and reply["contact_id"] == "c-anna" and reply["channel"] == "sms"
        assert schema_problem("up_survey_reply", reply) is None
        wait_for(lambda: "Lab 3: kiitos vastauksistasi." in texts_to(data_dir, ANNA), 30, "thanks", daemon)

        # complaint by SMS: ack with the reference, event up, closed by the central, outcome SMS
        inject(data_dir, ANNA, "VALITUS: jono oli liian pitkä")
        complaints = wait_for(lambda: central_events(db_url, SITE, "complaint"), 40, "complaint up", daemon)
        complaint = complaints[0].data
        assert complaint["channel"] == "sms" and complaint["number"] == ANNA and complaint["contact_id"] == "c-anna"
        assert complaint["text"] == "jono oli liian pitkä" and schema_problem("up_complaint", complaint) is None
        reference = complaint["reference"]
        wait_for(lambda: any(reference in t for t in texts_to(data_dir, ANNA)), 30, "acknowledgement", daemon)
        push(settings, SITE, "complaint_updates", [
            {"complaint_id": complaint["complaint_id"], "status": "under_investigation"},
            {"complaint_id": complaint["complaint_id"], "status": "closed", "outcome": "Lisäsimme henkilökuntaa."},
        ])
        wait_for(lambda: f"Lab 3: valituksesi {reference} on käsitelty: Lisäsimme henkilökuntaa."
                 in texts_to(data_dir, ANNA), 40, "the outcome SMS", daemon)
        listed = json.loads(run_cli(data_dir, "complaints", "list", "--json").stdout)
        assert listed[0]["status"] == "closed" and listed[0]["reference"] == reference

        # opt-out: confirmation, consent event up, the central's next notification refused
        inject(data_dir, ANNA, "Lopeta.")
        wait_for(lambda: any(t.startswith("Lab 3: et saa enää viestejä") for t in texts_to(data_dir, ANNA)), 30,
                 "opt-out confirmation", daemon)
        consent = wait_for(lambda: central_events(db_url, SITE, "consent"), 40, "consent up", daemon)[0].data
        assert consent == {**consent, "number": ANNA, "contact_id": "c-anna", "granted": False, "channel": "sms"}
        push(settings, SITE, "notifications", [{"notification_id": "n-late", "contact_id": "c-anna",
                                                "channel": "sms", "template": "results_ready"}])
        wait_for(lambda: any(e.data.get("notification_id") == "n-late" and e.data.get("reason") == "opted_out"
                             for e in central_events(db_url, SITE, "sms_status")), 40, "refusal up", daemon)
        sent_before = len(texts_to(data_dir, ANNA))
        refused = run_cli(data_dir, "sms", "send", "--to", ANNA, "--text", "hello")
        assert refused.returncode == 2
        time.sleep(1.0)
        assert len(texts_to(data_dir, ANNA)) == sent_before  # nothing more went to the number
        assert daemon.terminate() == 0
        assert not (data_dir / "wakeup.sock").exists()
    finally:
        daemon.kill()
