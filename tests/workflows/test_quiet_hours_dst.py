"""Quiet-hour release times across both daylight-saving changes (Europe/Helsinki and others)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from appliance.notifications.quiet_hours import _inside, parse_window, release_time

HEL = ZoneInfo("Europe/Helsinki")


def brute_force(moment: datetime, window: str, zone: ZoneInfo) -> datetime:
    """The first whole minute from ``moment`` whose local wall clock is outside the window."""
    parsed = parse_window(window)
    assert parsed is not None
    t = moment.astimezone(UTC)  # UTC steps: adding to a zoned datetime moves the wall clock
    while _inside(t.astimezone(zone).time(), *parsed):
        t += timedelta(minutes=1)
    return t


@pytest.mark.parametrize(
    ("moment", "window", "expected"),
    [
        # spring (29 March 2026, 03:00 EET -> 04:00 EEST): an evening message waits till 08:00 EEST
        (datetime(2026, 3, 28, 22, 0, tzinfo=HEL), "21:00-08:00", datetime(2026, 3, 29, 8, 0, tzinfo=HEL)),
        # spring: the window's end (03:30) does not exist that night: released at the jump, 04:00 EEST
        (datetime(2026, 3, 29, 0, 10, tzinfo=HEL), "00:00-03:30", datetime(2026, 3, 29, 4, 0, tzinfo=HEL)),
        # autumn (25 October 2026, 04:00 EEST -> 03:00 EET): the evening message still goes at 08:00 EET
        (datetime(2026, 10, 24, 23, 0, tzinfo=HEL), "21:00-08:00", datetime(2026, 10, 25, 8, 0, tzinfo=HEL)),
        # autumn, in the repeated hour (second pass, EET): 03:30 EET, not the 03:30 EEST already gone
        (datetime(2026, 10, 25, 3, 5, fold=1, tzinfo=HEL), "00:00-03:30",
         datetime(2026, 10, 25, 3, 30, fold=1, tzinfo=HEL)),
    ],
)
def test_release_across_dst_in_helsinki(moment: datetime, window: str, expected: datetime) -> None:
    got = release_time(moment, window, "Europe/Helsinki")
    assert got == expected.astimezone(UTC)
    assert got >= moment  # never in the past
    assert brute_force(moment, window, HEL) == got


@pytest.mark.parametrize("zone_name", ["Europe/Helsinki", "America/New_York", "Australia/Lord_Howe"])
@pytest.mark.parametrize("window", ["21:00-08:00", "00:00-03:30", "02:00-03:30", "03:30-05:00", "01:30-02:15"])
def test_every_moment_of_both_change_nights_agrees_with_the_wall_clock(zone_name: str, window: str) -> None:
    zone = ZoneInfo(zone_name)
    for year_day in (datetime(2026, 3, 28, 12, tzinfo=UTC), datetime(2026, 10, 24, 12, tzinfo=UTC),
                     datetime(2026, 3, 7, 12, tzinfo=UTC), datetime(2026, 10, 31, 12, tzinfo=UTC),
                     datetime(2026, 4, 4, 0, tzinfo=UTC)):
        m = year_day
        while m < year_day + timedelta(hours=30):
            assert release_time(m, window, zone_name) == brute_force(m, window, zone), (m, window)
            m += timedelta(minutes=10)
