"""The clock on a box without a real-time clock.

A Raspberry Pi boots with the time fake-hwclock saved at the last shutdown (or 1970
without it) and only knows the real time once NTP (or the GSM network) tells it.
Two things follow:

* **No obviously wrong stamps.** At start the daemon sets a floor on the store's clock
  (:func:`appliance.store.db.set_clock_floor`): the newest time already in the database,
  the high-water file's, and :data:`BUILD_FLOOR`. A clock behind that floor stamps the
  floor instead: rows stay in order and nothing is dated 1970.
* **Say when the time is not trusted.** :func:`clock_state` reads the kernel's NTP
  status (``adjtimex``: cleared ``STA_UNSYNC`` whatever the NTP client: timesyncd,
  chrony, ntpd) and the GSM network's time when the modem gave one
  (``AT+CCLK?``, :func:`note_network_time`). The daemon's ``clock`` part is ``degraded``
  with a plain sentence until one of them vouches for the clock: ``appliance status``
  and the status page show it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
from datetime import UTC, datetime, timedelta
from typing import Any

# No appliance of this version ran before this date: a clock earlier than it is wrong.
BUILD_FLOOR = datetime(2026, 11, 1, tzinfo=UTC)
NETWORK_TIME_AGREES_S = 120.0  # the GSM network's time within this of the clock: trusted
TIME_ERROR = 5  # adjtimex: the clock is not synchronised
_CCLK = re.compile(r'"?(\d\d)/(\d\d)/(\d\d),(\d\d):(\d\d):(\d\d)([+-]\d+)?"?')

_network: dict[str, Any] = {}


def kernel_synchronised() -> bool | None:
    """True when an NTP client has synchronised the kernel clock, None when unknown."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        buf = ctypes.create_string_buffer(512)  # struct timex, modes = 0: read only
        state = int(libc.adjtimex(buf))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != TIME_ERROR


def parse_cclk(text: str) -> datetime | None:
    """``+CCLK: "26/11/22,14:03:09+08"`` (quarter hours east of UTC) as a UTC datetime."""
    m = _CCLK.search(text)
    if not m:
        return None
    yy, mo, dd, hh, mi, ss, tz = m.groups()
    try:
        local = datetime(2000 + int(yy), int(mo), int(dd), int(hh), int(mi), int(ss), tzinfo=UTC)
    except ValueError:
        return None
    return local - timedelta(minutes=15 * int(tz or 0))


def note_network_time(answer: str, now: datetime | None = None) -> bool:
    """Record the GSM network's time (the modem's ``AT+CCLK?`` answer); True when it agrees."""
    when = parse_cclk(answer)
    now = now or datetime.now(UTC)
    if when is None or when < BUILD_FLOOR:  # modems answer 2004/01/01 before the network sets it
        return False
    _network.update(at=now, network=when, agrees=abs((when - now).total_seconds()) <= NETWORK_TIME_AGREES_S)
    return bool(_network["agrees"])


def clock_state(floor: datetime | None = None, now: datetime | None = None) -> dict[str, Any]:
    """``trusted`` (bool), ``source`` (ntp, gsm or None) and a sentence for the status page."""
    now = now or datetime.now(UTC)
    floor = max(floor or BUILD_FLOOR, BUILD_FLOOR)
    if now < floor:
        return {"trusted": False, "source": None, "detail": f"the clock says {now:%Y-%m-%d %H:%M} UTC, before "
                f"times already recorded ({floor:%Y-%m-%d %H:%M}): not set yet (no RTC); stamps held at that time"}
    if kernel_synchronised():
        return {"trusted": True, "source": "ntp", "detail": "synchronised by NTP"}
    if _network.get("agrees"):
        return {"trusted": True, "source": "gsm", "detail": "agrees with the GSM network's time"}
    if "network" in _network:
        said = f"{_network['network']:%Y-%m-%d %H:%M}"
        return {"trusted": False, "source": None,
                "detail": f"not synchronised, and {said} UTC from the GSM network disagrees: times may be wrong"}
    return {"trusted": False, "source": None, "detail": "not synchronised (no NTP yet, no network time): "
            "times may be wrong"}
