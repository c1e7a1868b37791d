"""A day in the life of a lab's appliance, compressed into about two minutes.

Starts a private Mosquitto, the reference central (``appliance-central serve``)
and the daemon (``appliance run``: simulated modem, MQTT on), then drives a day:

1. the central sends contacts, a satisfaction survey and notifications (results
   ready, an appointment, a follow-up schedule, the survey);
2. the simulated phones answer (``appliance sms sim inject``): the survey by
   SMS, a complaint, a reply that stops the follow-up, a STOP;
3. the central moves the complaint to closed, and its outcome is sent;
4. a technician dry-runs and starts an education campaign;
5. the daemon restarts at the summary time and sends the daily summary to staff
   (in Finnish and Chinese), once.

Then it prints what was sent, what was received and what the central got.
A day of the follow-up schedule lasts ``DAY_S`` seconds (``followups.day_seconds``).

Run: ``make day`` (or ``.venv/bin/python scripts/day_in_the_life.py [--keep DIR]``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sync.central.server import CentralSettings, push  # noqa: E402
from tests.helpers import free_port  # noqa: E402
from tests.sync.mosquitto import CENTRAL_USER, Mosquitto  # noqa: E402

SITE = "lab-3"
USERS = {CENTRAL_USER: "central-secret", SITE: "site-secret"}
TZ = "Europe/Helsinki"
DAY_S = 15  # one follow-up "day" in seconds
ANNA, BO, LI, STAFF_FI, STAFF_ZH = "+358401110001", "+46701110002", "+358401110003", "+358405550001", "+358405550002"


def say(text: str) -> None:
    print(f"\n== {text}", flush=True)


class Day:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.data = work / "appliance"
        self.data.mkdir(parents=True, exist_ok=True)
        self.broker = Mosquitto(work / "broker", USERS)
        (work / "broker").mkdir(exist_ok=True)
        self.central_db = f"sqlite:///{work / 'central.db'}"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.daemon: subprocess.Popen[bytes] | None = None
        self.web_port = free_port()

    # -- processes ---------------------------------------------------------------------------

    def config(self, summary_time: str = "") -> Path:
        path = self.data / "appliance.toml"
        path.write_text(f"""# written by scripts/day_in_the_life.py
[site]
id = "{SITE}"
name = "Lab 3"
timezone = "{TZ}"
[storage]
path = "{self.data / 'appliance.db'}"
min_free_mb = 1
[modem]
driver = "sim"
send_interval = 0.2
sim_cmgs_delay = 0.1
[line]
driver = "none"
[mqtt]
enabled = true
port = {self.broker.port}
username = "{SITE}"
password = "{USERS[SITE]}"
[web]
listen = "127.0.0.1:{self.web_port}"
[notifications]
quiet_hours = ""
[followups]
poll_interval = 0.5
day_seconds = {DAY_S}
[sms]
price_per_part = 0.07
[campaigns]
rate_per_minute = 30
[campaigns.defined.flu]
title = "Influenza vaccinations"
segment = {{tags_any = ["diabetes"], age_min = 40}}
[campaigns.defined.flu.text]
fi = "Influenssarokotukset alkavat maanantaina. Tervetuloa!"
sv = "Influensavaccinationerna börjar på måndag. Välkommen!"
[summary]
time = "{summary_time}"
recipients = [{{number = "{STAFF_FI}", language = "fi"}}, {{number = "{STAFF_ZH}", language = "zh"}}]
""")
        return path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_")}
        env["APPLIANCE_CONFIG"] = str(self.data / "appliance.toml")
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start_daemon(self, summary_time: str = "") -> None:
        self.config(summary_time)
        sock = self.data / "modem-sim.sock"
        sock.unlink(missing_ok=True)
        log = (self.work / "daemon.log").open("ab")
        self.daemon = subprocess.Popen([sys.executable, "-m", "appliance", "run"], env=self.env(), cwd=self.data,
                                       stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.wait(sock.exists, 30, "the daemon's simulated modem")

    def stop_daemon(self) -> None:
        if self.daemon is not None:
            self.daemon.terminate()
            self.daemon.wait(15)
            self.daemon = None

    def start(self) -> None:
        self.broker.start()
        log = (self.work / "central.log").open("ab")
        central = subprocess.Popen(
            [sys.executable, "-m", "sync.central.main", "serve", "--broker", f"127.0.0.1:{self.broker.port}",
             "--db", self.central_db, "--username", CENTRAL_USER, "--password", USERS[CENTRAL_USER]],
            env=self.env(), stdout=log, stderr=subprocess.STDOUT, cwd=self.work,
        )
        log.close()
        self.procs.append(central)
        self.start_daemon()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop_daemon()
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        self.broker.stop()

    # -- driving -----------------------------------------------------------------------------

    def push(self, stream: str, *items: dict[str, Any]) -> None:
        settings = CentralSettings(host="127.0.0.1", port=self.broker.port, db_url=self.central_db,
                                   username=CENTRAL_USER, password=USERS[CENTRAL_USER], client_id="central-push")
        push(settings, SITE, stream, list(items))
        for item in items:
            print(f"   central -> {stream}: {json.dumps(item, ensure_ascii=False)[:150]}")

    def cli(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "appliance", *args], env=self.env(), cwd=self.data,
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"appliance {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout

    def phone(self, number: str, text: str) -> None:
        print(f"   phone {number} -> lab: {text}")
        self.cli("sms", "sim", "inject", "--from", number, "--text", text)

    def sms(self) -> list[dict[str, Any]]:
        return list(json.loads(self.cli("sms", "list", "--json", "--limit", "0")))

    def sent_to(self, number: str) -> list[dict[str, Any]]:
        return [m for m in self.sms() if m["box"] == "outbox" and m["number"] == number
                and m["status"] in ("sent", "delivered")]

    def central_events(self) -> list[tuple[str, dict[str, Any]]]:
        import sqlite3

        path = self.work / "central.db"
        if not path.exists():
            return []
        with contextlib.closing(sqlite3.connect(path)) as db:
            rows = db.execute("SELECT stream, data FROM central_events ORDER BY received_at, seq").fetchall()
        return [(s, json.loads(d)) for s, d in rows]

    def wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.daemon is not None and self.daemon.poll() is not None:
                raise RuntimeError(f"the daemon exited: {(self.work / 'daemon.log').read_text()[-3000:]}")
            if predicate():
                return
            time.sleep(0.3)
        raise RuntimeError(f"timed out waiting for {what}; logs in {self.work}")


def contact(cid: str, name: str, phone: str, language: str, born: str, sex: str, tags: list[str]) -> dict[str, Any]:
    return {"contact_id": cid, "version": 1, "contact": {
        "name": name, "phones": [phone], "language": language, "birth_date": born, "sex": sex, "tags": tags,
        "consents": {"sms": True, "call": True, "recording": False}}}


def run_day(day: Day) -> None:
    say("morning: the central sends contacts, a survey and the day's notifications")
    day.push("contacts",
             contact("C-ANNA", "Anna-Maria Virtanen", ANNA, "fi", "1958-04-02", "female", ["diabetes"]),
             contact("C-BO", "Bo Ek", BO, "sv", "1950-09-09", "male", ["diabetes"]),
             contact("C-LI", "Li Wei", LI, "zh", "1948-01-20", "female", ["hypertension"]),
             contact("C-ANNA2", "Anna Maria Virtanen", "+358401110009", "fi", "1958-11-30", "female", []))
    day.push("surveys", {"survey_id": "S-VISIT", "version": 1, "title": "Visit", "channels": ["sms"], "active": True,
                         "questions": [
                             {"id": "q1", "kind": "scale", "text": {"en": "How was your visit, 1-5?",
                                                                    "fi": "Millainen käyntisi oli, 1-5?",
                                                                    "sv": "Hur var ditt besök, 1-5?"}},
                             {"id": "q2", "kind": "yes_no", "text": {"en": "Would you recommend us?",
                                                                     "fi": "Suosittelisitko meitä?",
                                                                     "sv": "Skulle du rekommendera oss?"}}]})
    day.push("notifications",
             {"notification_id": "N-RES-1", "contact_id": "C-ANNA", "channel": "sms", "template": "results_ready"},
             {"notification_id": "N-APP-1", "contact_id": "C-BO", "channel": "sms",
              "template": "appointment_confirmed", "params": {"datetime": "2026-12-09T08:30"}},
             {"notification_id": "N-FU-1", "contact_id": "C-LI", "channel": "sms", "template": "followup_reminder",
              "schedule": {"first_after_days": 1, "every_days": 1, "max_times": 3, "hour": 10}},
             {"notification_id": "N-SURV-1", "contact_id": "C-BO", "channel": "sms", "survey_id": "S-VISIT"})
    day.wait(lambda: day.sent_to(ANNA) and len(day.sent_to(BO)) >= 2, 60, "the morning's SMS")

    say("the patients answer from their phones")
    day.phone(BO, "4")
    day.wait(lambda: len(day.sent_to(BO)) >= 3, 30, "the survey's second question")
    day.phone(BO, "Ja")
    day.phone(ANNA, "VALITUS Odotin tuloksia tunnin aulassa")
    day.wait(lambda: len(day.sent_to(ANNA)) >= 2, 30, "the complaint's acknowledgement")
    complaints = json.loads(day.cli("complaints", "list", "--json"))
    print(f"   complaint {complaints[0]['reference']} opened ({complaints[0]['channel']})")

    say("the central works the complaint through to closure")
    cid = complaints[0]["complaint_id"]
    day.push("complaint_updates", {"complaint_id": cid, "status": "under_investigation"})
    day.push("complaint_updates", {"complaint_id": cid, "status": "closed",
                                   "outcome": "Lisäsimme aamuun toisen näytteenottajan."})
    day.wait(lambda: len(day.sent_to(ANNA)) >= 3, 30, "the complaint's outcome SMS")

    say(f"the follow-up reminders to Li Wei ({DAY_S} s a day); she replies after the second")
    day.wait(lambda: len(day.sent_to(LI)) >= 2, 4 * DAY_S + 30, "two follow-up reminders")
    day.phone(LI, "好的，我明天去")  # noqa: RUF001
    day.wait(lambda: json.loads(day.cli("followups", "list", "--json"))[0]["status"] == "stopped", 30,
             "the follow-up to stop")
    time.sleep(DAY_S + 2)  # the third reminder's time passes: nothing is sent

    say("Anna opts out; a campaign to people with diabetes goes out, paced")
    day.phone(ANNA, "Lopeta")
    day.wait(lambda: len(day.sent_to(ANNA)) >= 4, 30, "the opt-out confirmation")
    print("   $ appliance campaigns dry-run flu    ([campaigns.defined.flu]: diabetes, 40 or older)")
    print(day.cli("campaigns", "dry-run", "flu").rstrip())
    print("   $ appliance campaigns start flu --id flu-2026")
    print(day.cli("campaigns", "start", "flu", "--id", "flu-2026").rstrip())
    day.wait(lambda: json.loads(day.cli("campaigns", "list", "--json"))[0]["status"] == "finished", 60,
             "the campaign to finish")

    say("evening: the daemon restarts at the summary time and sends the daily summary once")
    day.stop_daemon()
    now_local = datetime.now(ZoneInfo(TZ))
    day.start_daemon(summary_time=now_local.strftime("%H:%M"))
    day.wait(lambda: day.sent_to(STAFF_FI) and day.sent_to(STAFF_ZH), 30, "the daily summary")
    day.stop_daemon()
    day.start_daemon(summary_time=now_local.strftime("%H:%M"))  # restarted again: no second summary
    time.sleep(3)
    day.wait(lambda: sum(1 for s, _ in day.central_events() if s == "daily_summary") >= 1, 30,
             "the central to store the summary")


def report(day: Day) -> None:
    messages = day.sms()
    say("SMS sent (outbox, oldest first)")
    for m in reversed([m for m in messages if m["box"] == "outbox"]):
        print(f"   {m['number']:<14} {m['status']:<9} {m['text'][:110]}")
    say("SMS received (inbox, oldest first)")
    for m in reversed([m for m in messages if m["box"] == "inbox"]):
        print(f"   {m['number']:<14} {m['text'][:110]}")
    say("follow-ups, campaigns, complaints")
    print(day.cli("followups", "list").rstrip())
    print(day.cli("campaigns", "list").rstrip())
    print(day.cli("complaints", "list").rstrip())
    say("what the central received (by stream)")
    events = day.central_events()
    counts: dict[str, int] = {}
    for stream, _ in events:
        counts[stream] = counts.get(stream, 0) + 1
    print("   " + ", ".join(f"{s} {n}" for s, n in sorted(counts.items())))
    for stream, data in events:
        if stream in ("followup", "campaign", "complaint", "consent", "survey_reply", "contact_duplicate",
                      "daily_summary"):
            print(f"   {stream:<18} {json.dumps(data, ensure_ascii=False)[:150]}")
    summaries = [d for s, d in events if s == "daily_summary"]
    assert len(summaries) == 1, f"expected one daily summary, the central has {len(summaries)}"


@contextlib.contextmanager
def workdir(keep: str | None) -> Iterator[Path]:
    if keep:
        path = Path(keep)
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        yield path
    else:
        with tempfile.TemporaryDirectory(prefix="day-in-the-life-") as tmp:
            yield Path(tmp)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (logs, stores) afterwards")
    args = parser.parse_args()
    started = time.monotonic()
    with workdir(args.keep) as work:
        day = Day(work)
        try:
            day.start()
            run_day(day)
            report(day)
        finally:
            day.close()
    print(f"\nday done in {time.monotonic() - started:.0f} s ({timedelta(seconds=round(time.monotonic() - started))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
