"""Business hours: weekends, overnight, DST, holidays, a customer's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from outreach.businesshours import (
    BusinessCalendar,
    business_hours_between,
    business_hours_between_pairs,
    shift_business_hours,
)
from outreach.settings import TeamSettings


def hours(starts: list[str | None], end: datetime, cal: BusinessCalendar) -> list[float]:
    series = pd.Series(pd.to_datetime(starts, utc=True))
    return business_hours_between(series, end, cal).round(6).tolist()


def test_same_day_and_overnight() -> None:
    cal = BusinessCalendar()
    thu_15 = datetime(2026, 3, 19, 15, tzinfo=UTC)
    # 10:00 → 15:00 same day; 16:00 Wed → 15:00 Thu is 1 h + 6 h; 20:00 Wed counts only Thursday.
    assert hours(["2026-03-19 10:00Z", "2026-03-18 16:00Z", "2026-03-18 20:00Z"], thu_15, cal) == [5, 7, 6]


def test_weekend_counts_nothing() -> None:
    cal = BusinessCalendar()
    mon_10 = datetime(2026, 3, 16, 10, tzinfo=UTC)
    # Friday 16:00 → Monday 10:00: one hour on Friday, one on Monday.
    assert hours(["2026-03-13 16:00Z", "2026-03-14 12:00Z"], mon_10, cal) == [2, 1]


def test_nat_and_future_starts() -> None:
    cal = BusinessCalendar()
    out = hours([None, "2026-03-20 10:00Z"], datetime(2026, 3, 19, 15, tzinfo=UTC), cal)
    assert pd.isna(out[0]) and out[1] == 0


def test_dst_switch_keeps_local_hours() -> None:
    # Berlin springs forward on 29 March 2026; 09:00–17:00 local is 08:00–16:00 UTC before, 07:00–15:00 after.
    cal = BusinessCalendar.parse(timezone="Europe/Berlin")
    end = datetime(2026, 3, 30, 7, 30, tzinfo=UTC)  # Monday 09:30 CEST
    assert hours(["2026-03-27 15:00Z"], end, cal) == [1.5]  # Fri 16:00–17:00 CET + Mon 09:00–09:30


def test_public_and_extra_holidays() -> None:
    cal = BusinessCalendar.parse(timezone="Europe/Berlin", holiday_country="DE")
    # Good Friday (3 Apr) and Easter Monday (6 Apr 2026) are German public holidays.
    end = datetime(2026, 4, 7, 9, tzinfo=UTC)  # Tue 11:00 CEST
    assert hours(["2026-04-02 14:00Z"], end, cal) == [1 + 2]
    extra = BusinessCalendar.parse(timezone="Europe/Berlin", holidays=[date(2026, 4, 7)])
    assert hours(["2026-04-06 14:00Z"], end, extra) == [1]  # only Monday 16:00–17:00 counts


def test_customer_timezone() -> None:
    team = BusinessCalendar.parse(timezone="UTC")
    tokyo = team.with_timezone("Asia/Tokyo")
    # 01:00–05:00 UTC is 10:00–14:00 in Tokyo: business there, night in UTC.
    end = datetime(2026, 3, 19, 5, tzinfo=UTC)
    assert hours(["2026-03-19 01:00Z"], end, tokyo) == [4]
    assert hours(["2026-03-19 01:00Z"], end, team) == [0]


def test_from_team_settings_and_pairs() -> None:
    team = TeamSettings(timezone="America/New_York", hours="08:30-12:30", days=["mon", "wed"])
    cal = BusinessCalendar.from_team(team)
    starts = pd.Series(pd.to_datetime(["2026-03-16 12:30Z", "2026-03-17 12:30Z"], utc=True))
    ends = pd.Series(pd.to_datetime(["2026-03-18 16:30Z", "2026-03-18 13:30Z"], utc=True))
    # Mon 08:30–12:30 EDT is 12:30–16:30 UTC; Tuesday is off.
    assert business_hours_between_pairs(starts, ends, cal).tolist() == [8, 1]


@pytest.mark.parametrize("delta", [-24.0, -3.5, 0.5, 7.0, 40.0])
def test_shift_is_inverse_of_between(delta: float) -> None:
    cal = BusinessCalendar()
    anchor = datetime(2026, 3, 19, 15, tzinfo=UTC)
    moved = shift_business_hours(anchor, delta, cal)
    start, end = (moved, anchor) if delta < 0 else (anchor, moved)
    assert hours([start.isoformat()], end, cal) == [pytest.approx(abs(delta))]
