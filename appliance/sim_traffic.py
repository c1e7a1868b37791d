"""The simulated patients: what they write to the modem and who calls the line by themselves.

A small cast in the four languages of the product, writing what lab patients
write: thanks, questions, a complaint, a survey score, opt-out and back, HELP,
and one message with markup (the page must show it as text). The simulated
modem (``modem.sim_random_sms_per_hour``) and line (``line.sim_random_calls_per_hour``)
share it, so a caller's pop shows the messages the same number wrote, and
``make run`` shows a live page without a script.
"""

from __future__ import annotations

import random

# (sender, text, weight)
MESSAGES: tuple[tuple[str, str, int], ...] = (
    ("+358401234567", "Kiitos, sain tulokset.", 6),
    ("+358409876543", "When can I pick up my results?", 6),
    ("+46701234567", "Tack för påminnelsen! Jag kommer på torsdag.", 5),
    ("+8613812345678", "谢谢\uff0c我明天来取结果\u3002", 4),  # fullwidth comma and stop, as typed
    ("+358441234567", "5", 4),
    ("+358501112223", "VALITUS Jonotin tunnin näytteenottoon eikä kukaan kertonut miksi.", 2),
    ("+358451234567", "COMPLAINT The parking machine at the lab was broken.", 2),
    ("+358457654321", "Hello <b>lab</b> <img src=x onerror=alert(1)> is the lab open on Saturday?", 2),
    ("+358407777777", "STOP", 1),
    ("+358407777777", "START", 1),
    ("+358403333333", "HELP", 1),
)


def pick(rng: random.Random) -> tuple[str, str]:
    """One (sender, text) from the cast, by weight."""
    sender, text, _ = rng.choices(MESSAGES, weights=[w for _, _, w in MESSAGES])[0]
    return sender, text


def next_delay(rng: random.Random, per_hour: float) -> float:
    """Seconds to the next message of a Poisson stream of ``per_hour`` (> 0) messages an hour."""
    return rng.expovariate(per_hour / 3600.0)


def caller(rng: random.Random) -> str:
    """A calling number: mostly one of the cast's (so the caller pop has history), sometimes a stranger."""
    if rng.random() < 0.7:
        number = rng.choice(MESSAGES)[0]  # as a Finnish exchange presents it: national, or 00 + country
        return "0" + number[4:] if number.startswith("+358") else "00" + number[1:]
    return "050" + "".join(rng.choice("0123456789") for _ in range(7))
