"""Workflow figures with a large contact base: follow-up evaluation, campaign throughput, duplicates.

Run: ``.venv/bin/python bench/bench_workflows.py [--contacts 100000]``
Prints one line per figure. Everything runs on a temporary store in this process.

- follow-ups: one evaluation when nothing is due (what the daemon does every poll), the
  start-up recompute of every active schedule, and the cost per reminder actually queued;
- campaigns: choosing the segment over every contact, fixing the recipients, and how many
  recipients a second the store can queue (the modem sends 6-30 a minute: the store is
  never what limits a campaign);
- duplicates: the first full scan of every contact, and one changed contact.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.campaigns import campaigns as camp
from appliance.campaigns.segment import Segment
from appliance.contacts import duplicates as dup
from appliance.followups import followups as fu
from appliance.followups.schedule import Schedule
from appliance.store.db import Store
from appliance.timefmt import format_utc

# A Finnish-like population: 60 first names (some with a second), ~200 surnames from stems and
# endings. Names repeat about as much as in the Population Register's top lists.
FIRST = ["Anna", "Maria", "Mikko", "Juha", "Aino", "Eino", "Li", "Wei", "Erik", "Sofia", "Johanna", "Pekka",
         "Marja", "Timo", "Sanna", "Ville", "Fang", "Lars", "Emma", "Oskari", "Helena", "Kaarina", "Matti",
         "Antti", "Jari", "Tuula", "Päivi", "Leena", "Minna", "Sari", "Kari", "Petri", "Hanna", "Elina", "Olli",
         "Heikki", "Seppo", "Ritva", "Eeva", "Riitta", "Marjatta", "Liisa", "Tiina", "Jussi", "Markku", "Janne",
         "Mervi", "Outi", "Satu", "Katja", "Tero", "Ilkka", "Aila", "Irja", "Onni", "Väinö", "Leo", "Eetu",
         "Ella", "Aada"]
STEMS = ["Virta", "Korho", "Mäki", "Niemi", "Hämä", "Lai", "Heikki", "Koski", "Järvi", "Lehto", "Saari",
         "Salmi", "Heino", "Kallio", "Turu", "Laiti", "Tuomi", "Ranta", "Kivi", "Lahti", "Mattila", "Pelto",
         "Harju", "Aalto", "Hakala", "Ketola", "Lindqvist", "Nurmi", "Oja", "Pesonen", "Rinne", "Seppä",
         "Vainio", "Wang", "Zhang", "Johans", "Anders", "Berg", "Holm", "Lund"]
LAST = [s + e for s in STEMS for e in ("nen", "la", "lä", "o", "")]
TAGS = ["diabetes", "pregnancy", "asthma", "hypertension", "anticoagulant"]


def populate(store: Store, n: int, rng: random.Random) -> None:
    stamp = "2026-01-01T00:00:00.000Z"
    contacts, phones = [], []
    for i in range(n):
        cid = f"C{i:07}"
        born = date(1930, 1, 1) + timedelta(days=rng.randrange(0, 90 * 365))
        tags = rng.sample(TAGS, rng.choice((0, 0, 1, 1, 2)))
        language = rng.choice(("fi", "fi", "fi", "sv", "en", "zh"))
        first = rng.choice(FIRST) + (f"-{rng.choice(FIRST)}" if rng.random() < 0.1 else "")
        contacts.append((cid, f"{first} {rng.choice(LAST)}", language, born.isoformat(),
                         rng.choice(("female", "male")), json.dumps(tags), stamp))
        phones.append((cid, 0, f"+35840{i:07}"))
    with store.transaction():
        store.conn.executemany(
            "INSERT INTO contacts(contact_id, version, name, language, birth_date, sex, tags, consent_sms, "
            "consent_call, updated_at) VALUES (?, 1, ?, ?, ?, ?, ?, 1, 1, ?)",
            contacts,
        )
        store.conn.executemany("INSERT INTO contact_phones(contact_id, position, number) VALUES (?, ?, ?)", phones)


def timed(label: str, fn, *args, unit: str = "", count: int = 1, **kw):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args, **kw)
    took = time.perf_counter() - start
    per = f", {took / count * 1000:.3f} ms each, {count / took:,.0f}/s" if count > 1 else ""
    print(f"{label}: {took * 1000:,.1f} ms{per}{unit}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(7)
    n = args.contacts
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "bench.db")
        timed(f"insert {n:,} contacts", populate, store, n, rng)
        settings = fu.FollowupSettings(timezone="Europe/Helsinki", quiet_hours="21:00-08:00")
        now = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)

        # -- follow-ups: one active schedule per contact --------------------------------------
        sample = min(2000, n)

        def make_schedules(first: int, last: int) -> None:
            with store.transaction():
                for i in range(first, last):
                    fu.create_followup(
                        store, settings, followup_id=f"N{i}", number=f"+35840{i:07}", language="fi",
                        text="Lab 3: muistutus: seurantakokeesi on ajankohtainen.", contact_id=f"C{i:07}",
                        schedule=Schedule(rng.randrange(1, 60), 7, 3, rng.randrange(8, 20)), now=now,
                    )
        timed(f"follow-ups: create {sample:,} schedules (row + event each)", make_schedules, 0, sample, count=sample)
        with store.transaction():  # the rest as bulk rows: the figures below are about evaluating them
            store.conn.execute(
                "INSERT INTO followups(followup_id, source, contact_id, number, language, text, schedule, "
                "anchor_date, next_due_at, status, created_at, updated_at) "
                "SELECT 'B' || contact_id, 'central', contact_id, '+3584' || substr(contact_id, 2), 'fi', 'x', "
                "'{\"first_after_days\": 30, \"every_days\": 7, \"max_times\": 3, \"hour\": 10, \"minute\": 0}', "
                "'2026-05-04', '2026-06-03T07:00:00.000Z', 'active', '2026-05-04T09:00:00.000Z', "
                "'2026-05-04T09:00:00.000Z' FROM contacts WHERE contact_id >= ?",
                (f"C{sample:07}",),
            )
        active = store.conn.execute("SELECT COUNT(*) FROM followups WHERE status = 'active'").fetchone()[0]
        print(f"follow-ups: {active:,} active schedules")
        timed("follow-ups: evaluation with nothing due (every poll)", fu.run_due, store, settings, now)
        timed("follow-ups: next due time", fu.next_due_time, store)
        timed(f"follow-ups: recompute all {active:,} due times (start-up)", fu.recompute_due, store, settings,
              force=True, count=active)
        with store.transaction():  # the next 1,000 fall due
            store.conn.execute(
                "UPDATE followups SET next_due_at = ? WHERE followup_id IN "
                "(SELECT followup_id FROM followups ORDER BY next_due_at LIMIT 1000)",
                (format_utc(now),),
            )
        total = 0
        start = time.perf_counter()
        while done := fu.run_due(store, settings, now):
            total += len(done)
        took = time.perf_counter() - start
        print(f"follow-ups: {total:,} reminders due at once queued in {took * 1000:,.0f} ms "
              f"({took / max(total, 1) * 1000:.2f} ms each, {total / took:,.0f}/s)")
        with store.transaction():
            for i in range(1000):
                store.conn.execute(
                    "INSERT INTO sms_messages(box, number, text, status, created_at, updated_at) "
                    "VALUES ('inbox', ?, 'kiitos', 'received', ?, ?)",
                    (f"+35840{i * 37:07}", format_utc(now), format_utc(now)),
                )
        timed("follow-ups: scan 1,000 inbound replies for stops", fu.scan_stops, store, count=1000)

        # -- campaigns ------------------------------------------------------------------------
        csettings = camp.CampaignSettings(timezone="Europe/Helsinki", quiet_hours="", rate_per_minute=6000,
                                          price_per_part=0.07)
        segment = {"age_min": 65, "tags_any": ["diabetes", "hypertension"]}
        chosen = timed(f"campaigns: segment over {n:,} contacts", camp.select_recipients, store, csettings,
                       Segment.from_data(segment), now.date())
        print(f"campaigns: segment has {len(chosen):,} recipients")
        definition = {"text": {"fi": "Influenssarokotukset alkavat.", "sv": "Influensavaccinationen börjar."},
                      "segment": segment}
        timed("campaigns: dry-run (recipients, consent, parts, cost)", camp.dry_run, store, csettings, definition, now)
        timed("campaigns: start (fix the recipients)", camp.start_campaign, store, csettings, "bench", definition,
              source="cli", now=now)
        k = min(2000, len(chosen))
        start = time.perf_counter()
        for _ in range(k):
            camp.send_next(store, csettings, now)
        took = time.perf_counter() - start
        print(f"campaigns: {k:,} recipients queued one by one in {took * 1000:,.0f} ms "
              f"({k / took:,.0f}/s; a modem sends 0.1-0.5/s)")
        timed("campaigns: parts in the last minute + outstanding (each pacing step)",
              lambda: (camp.parts_in_window(store, now), camp.outstanding(store)))

        # -- duplicates -----------------------------------------------------------------------
        checked = 0
        start = time.perf_counter()
        while c := dup.scan_changed(store, limit=5000):
            checked += c
        took = time.perf_counter() - start
        flagged = store.conn.execute("SELECT COUNT(*) FROM contact_duplicates").fetchone()[0] // 2
        print(f"duplicates: first full scan of {checked:,} contacts in {took:,.1f} s "
              f"({took / checked * 1000:.2f} ms each), {flagged:,} pairs flagged")
        with store.transaction():
            store.conn.execute("UPDATE contacts SET name = 'Anna Maria Virtanen', updated_at = "
                               "'2026-06-01T00:00:00.000Z' WHERE contact_id = 'C0000042'")
        timed("duplicates: one changed contact", dup.scan_changed, store)
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
