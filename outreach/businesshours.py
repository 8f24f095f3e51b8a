"""Business hours between moments, in a time zone, with working days and holidays.

The trick that keeps it vectorised: build a table with one row per local
calendar day (its UTC midnight, its UTC opening and closing time, zero
length on weekends and holidays) and the cumulative business time at the
start of each day. The business time elapsed up to any moment ``t`` is then
``cum[day(t)] + clip(t - open[day(t)], 0, length[day(t)])`` — a
``searchsorted`` and some array arithmetic — and the business time between
two moments is the difference. Days are built in local time and converted
to UTC one by one, so a day with a DST switch simply has other UTC
boundaries; nothing assumes 24-hour days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from outreach.settings import TeamSettings

__all__ = [
    "BusinessCalendar",
    "business_hours_between",
    "business_hours_between_pairs",
    "shift_business_hours",
]

_DAY_INDEX = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_NS_PER_HOUR = 3_600_000_000_000


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """When a team (or a customer) is at work.

    Attributes:
        timezone: IANA time zone the hours and days are read in.
        open_minute: Minutes after local midnight business opens.
        close_minute: Minutes after local midnight business closes (up to 1440).
        weekdays: Working days, 0 = Monday.
        holidays: Extra non-working local dates.
        holiday_country: ISO country for public holidays (python-holidays); "" for none.
    """

    timezone: str = "UTC"
    open_minute: int = 9 * 60
    close_minute: int = 17 * 60
    weekdays: frozenset[int] = frozenset(range(5))
    holidays: frozenset[date] = frozenset()
    holiday_country: str = ""

    @classmethod
    def from_team(cls, team: TeamSettings, timezone: str | None = None) -> BusinessCalendar:
        """The team's calendar, optionally read in another time zone.

        Args:
            team: Team settings (hours, days, holidays, holiday country).
            timezone: Read the same hours in this zone (a customer's), else the team's.
        """
        return cls(
            timezone=timezone or team.timezone,
            open_minute=_minutes(team.hours.split("-")[0]),
            close_minute=_minutes(team.hours.split("-")[1]),
            weekdays=frozenset(_DAY_INDEX[d] for d in team.days),
            holidays=frozenset(team.holidays),
            holiday_country=team.holiday_country,
        )

    @classmethod
    def parse(
        cls,
        hours: str = "09:00-17:00",
        days: Iterable[str] = ("mon", "tue", "wed", "thu", "fri"),
        timezone: str = "UTC",
        holidays: Iterable[date] = (),
        holiday_country: str = "",
    ) -> BusinessCalendar:
        """Build a calendar from the same strings the settings use."""
        start, end = hours.split("-")
        return cls(
            timezone=timezone,
            open_minute=_minutes(start),
            close_minute=_minutes(end),
            weekdays=frozenset(_DAY_INDEX[d] for d in days),
            holidays=frozenset(holidays),
            holiday_country=holiday_country,
        )

    def with_timezone(self, timezone: str | None) -> BusinessCalendar:
        """The same hours read in ``timezone`` (a customer's); unchanged when None/empty."""
        return replace(self, timezone=timezone) if timezone else self

    def is_holiday(self, day: date) -> bool:
        """Whether ``day`` is an extra holiday or a public holiday of the country."""
        return day in self.holidays or day in _public_holidays(self.holiday_country, day.year)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day that is not a holiday."""
        return day.weekday() in self.weekdays and not self.is_holiday(day)

    def table(self, first: date, last: date) -> _DayTable:
        """One row per local day from ``first`` to ``last`` inclusive."""
        return _day_table(self, first, last)


@dataclass(frozen=True, slots=True)
class _DayTable:
    """Per local day: UTC midnight, UTC opening, business length, cumulative length (ns)."""

    midnight: np.ndarray
    opening: np.ndarray
    length: np.ndarray
    cum: np.ndarray

    def elapsed(self, t_ns: np.ndarray) -> np.ndarray:
        """Business nanoseconds from the table's first midnight up to each ``t``."""
        idx = np.searchsorted(self.midnight, t_ns, side="right") - 1
        idx = np.clip(idx, 0, len(self.midnight) - 1)
        within = np.clip(t_ns - self.opening[idx], 0, self.length[idx])
        return self.cum[idx] + within


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.strip().split(":")
    return int(hours) * 60 + int(minutes)


@lru_cache(maxsize=256)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    if not country:
        return frozenset()
    import holidays

    return frozenset(holidays.country_holidays(country, years=year).keys())


@lru_cache(maxsize=64)
def _day_table(cal: BusinessCalendar, first: date, last: date) -> _DayTable:
    # One extra day on each side so moments at the edges always find their day.
    days = pd.date_range(first - timedelta(days=1), last + timedelta(days=1), freq="D")
    n = len(days)
    no_flags = np.zeros(n, dtype=bool)

    def to_utc(offset_minutes: int) -> np.ndarray:
        local = days + pd.Timedelta(minutes=offset_minutes)
        # A wall-clock time skipped by DST moves forward; a repeated one takes
        # the first (summer-time) occurrence. Both are rare at business hours.
        aware = local.tz_localize(cal.timezone, ambiguous=~no_flags, nonexistent="shift_forward")
        return aware.tz_convert("UTC").as_unit("ns").asi8

    midnight = to_utc(0)
    opening = to_utc(cal.open_minute)
    closing = to_utc(cal.close_minute)
    years = range(days[0].year, days[-1].year + 1)
    off = set(cal.holidays)
    for year in years:
        off |= _public_holidays(cal.holiday_country, year)
    working = np.fromiter(
        (d.weekday() in cal.weekdays and d.date() not in off for d in days), dtype=bool, count=n
    )
    length = np.where(working, np.maximum(closing - opening, 0), 0).astype(np.int64)
    cum = np.concatenate(([0], np.cumsum(length)[:-1])).astype(np.int64)
    return _DayTable(midnight=midnight, opening=opening, length=length, cum=cum)


def _utc_ns(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    series = pd.to_datetime(values, utc=True)
    valid = series.notna().to_numpy()
    ns = (
        series.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy()
        if len(series)
        else np.zeros(0, np.int64)
    )
    return ns, valid


def _local_date(ns: int, tz: str) -> date:
    return pd.Timestamp(ns, unit="ns", tz="UTC").tz_convert(tz).date()


def _aware(moment: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.as_unit("ns")


def business_hours_between(starts: pd.Series, end: datetime, cal: BusinessCalendar) -> pd.Series:
    """Business hours from each start to one end moment.

    Args:
        starts: Aware (or UTC-naive) datetimes; NaT gives NaN.
        end: The moment to measure to (``now``); naive means UTC.
        cal: The calendar whose hours count.

    Returns:
        Float hours with the index of ``starts``; 0 where a start is at or after ``end``.
    """
    end_ns = _aware(end).value
    ends = pd.Series(np.full(len(starts), end_ns, dtype=np.int64), index=starts.index)
    return _between(starts, ends.to_numpy(), np.ones(len(starts), dtype=bool), cal)


def business_hours_between_pairs(
    starts: pd.Series, ends: pd.Series, cal: BusinessCalendar
) -> pd.Series:
    """Business hours from each start to the end on the same row (NaN if either is NaT)."""
    end_ns, end_valid = _utc_ns(ends)
    return _between(starts, end_ns, end_valid, cal)


def _between(
    starts: pd.Series, end_ns: np.ndarray, end_valid: np.ndarray, cal: BusinessCalendar
) -> pd.Series:
    start_ns, start_valid = _utc_ns(starts)
    valid = start_valid & end_valid
    out = np.full(len(start_ns), np.nan)
    if not valid.any():
        return pd.Series(out, index=starts.index, dtype=float)
    s = start_ns[valid]
    e = end_ns[valid]
    s = np.minimum(s, e)
    table = cal.table(_local_date(int(s.min()), cal.timezone), _local_date(int(e.max()), cal.timezone))
    out[valid] = (table.elapsed(e) - table.elapsed(s)) / _NS_PER_HOUR
    return pd.Series(out, index=starts.index, dtype=float)


def shift_business_hours(moment: datetime, hours: float, cal: BusinessCalendar) -> datetime:
    """The moment ``hours`` business hours after (or, negative, before) ``moment``.

    The result is always inside business time (an opening or closing edge at
    worst), which is what a deadline or "N business hours ago" means.

    Args:
        moment: Start; naive means UTC.
        hours: Business hours to move; may be negative.
        cal: The calendar whose hours count.

    Returns:
        An aware UTC datetime.
    """
    start = _aware(moment)
    per_day = max((cal.close_minute - cal.open_minute) / 60, 1e-9) * max(len(cal.weekdays), 1) / 7
    span = timedelta(days=abs(hours) / per_day + 21)
    local = start.tz_convert(cal.timezone).date()
    table = cal.table(local - span, local + span)
    target = table.elapsed(np.array([start.value]))[0] + int(round(hours * _NS_PER_HOUR))
    target = max(target, 0)
    ends = table.cum + table.length
    idx = int(np.searchsorted(ends, target, side="left"))
    idx = min(idx, len(ends) - 1)
    ns = table.opening[idx] + (target - table.cum[idx])
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(ns) // 1000)
