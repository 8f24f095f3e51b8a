"""The throttle replay: sends per day fit the caps and the roster, stale drafts expire."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from outreach import throttle
from outreach.settings import Settings
from outreach.simulate import simulate

MONDAY = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def queue(n: int, kind: str = "check_in") -> pd.DataFrame:
    return pd.DataFrame([
        {"id": i, "customer": f"c{i}@x.com", "kind": kind, "priority": 100 - i % 100, "created_at": MONDAY}
        for i in range(1, n + 1)
    ])


def run(settings: Settings, drafts: pd.DataFrame, days: int = 7, backlog_threads: int = 0) -> list:  # type: ignore[type-arg]
    return simulate(
        drafts, days=days, start=MONDAY,
        recent_sends=pd.DataFrame(columns=["customer", "kind", "sent_at", "claimed_at"]),
        contact_history=pd.DataFrame(columns=["customer", "kind", "sent_at"]),
        customers={}, suppressed=set(), awaiting_reply=set(), backlog_threads=backlog_threads,
        rates=throttle.reply_rates(pd.DataFrame(), settings), settings=settings,
    )


def solo(**capacity: object) -> Settings:
    return Settings(
        throttle={"max_per_hour": 1000, "max_per_day": 1000, "stale_after_hours": 1000},
        capacity={"agents": [{"name": "solo"}], "handle_minutes": 10, "max_utilisation": 0.5,
                  "reply_rate_prior": {"check_in": 1.0}, **capacity},
    )


def test_each_day_sends_what_the_roster_can_answer_and_nothing_on_the_weekend() -> None:
    days = run(solo(), queue(200))
    assert [d.day.isoformat() for d in days] == [f"2026-03-0{i}" for i in range(2, 9)]
    monday = days[0]
    # One agent 09–17 at 50 %: 240 minutes; each send brings one reply of 10 minutes.
    assert monday.capacity_minutes == pytest.approx(240)
    assert monday.sends == 24 and monday.expected_minutes == pytest.approx(240)
    assert monday.sends_by_kind == {"check_in": 24}
    for d in days[:5]:
        assert d.expected_minutes <= d.capacity_minutes + 1e-6
        assert d.sends > 0
    assert [d.sends for d in days[5:]] == [0, 0]
    assert days[-1].queue_end == 200 - sum(d.sends for d in days)


def test_the_open_backlog_comes_first_and_burns_down() -> None:
    days = run(solo(backlog_minutes_per_thread=30), queue(100), days=3, backlog_threads=8)
    without = run(solo(backlog_minutes_per_thread=30), queue(100), days=3)
    assert days[0].backlog_minutes_start == 240
    assert days[0].sends < without[0].sends  # 09:00 sends nothing: the backlog fills the next 24 h
    # Agents burn the backlog with the minutes the replies leave them.
    assert days[0].backlog_minutes_start > days[1].backlog_minutes_start > days[2].backlog_minutes_start
    assert days[1].sends > 0


def test_the_daily_cap_holds_with_a_roomy_roster() -> None:
    s = Settings(
        throttle={"max_per_hour": 1000, "max_per_day": 10, "stale_after_hours": 1000},
        capacity={"agents": [{"name": f"a{i}"} for i in range(30)]},
    )
    days = run(s, queue(100), days=5)
    assert all(d.sends <= 10 for d in days)
    assert sum(d.sends for d in days) == 50


def test_stale_approved_drafts_expire_in_the_replay() -> None:
    s = solo()
    s.throttle.stale_after_hours = 30
    days = run(s, queue(200), days=3)
    assert days[0].expired == 0
    assert days[1].expired == 200 - days[0].sends - days[1].sends
    assert days[2].queue_end == 0


def test_days_serialise_for_json() -> None:
    d = run(solo(), queue(5), days=1)[0].as_dict()
    assert d["day"] == "2026-03-02" and d["sends"] == 5 and d["utilisation"] == pytest.approx(50 / 240, abs=1e-3)


# -- recent sends and contact history as the store reads them ----------------------------


def as_read(rows: list[dict[str, object]], dates: tuple[str, ...]) -> pd.DataFrame:
    """Rows as ``Store.send_history``/``throttle_inputs`` return them: naive UTC from SQLite, then parsed aware."""
    frame = pd.DataFrame(rows)
    for column in dates:
        frame[column] = pd.to_datetime(frame[column], utc=True, format="mixed")
    return frame


def roomy(max_per_day: int = 1000) -> Settings:
    return Settings(
        throttle={"max_per_hour": 1000, "max_per_day": max_per_day, "stale_after_hours": 1000},
        capacity={"agents": [{"name": f"a{i}"} for i in range(30)]},
    )


def replay(settings: Settings, drafts: pd.DataFrame, recent: pd.DataFrame, history: pd.DataFrame) -> list:  # type: ignore[type-arg]
    return simulate(
        drafts, days=1, start=MONDAY, recent_sends=recent, contact_history=history,
        customers={}, suppressed=set(), awaiting_reply=set(), backlog_threads=0,
        rates=throttle.reply_rates(pd.DataFrame(), settings), settings=settings,
    )


NO_HISTORY = pd.DataFrame(columns=["customer", "kind", "sent_at"])
SUNDAY_NIGHT = datetime(2026, 3, 1, 23, 0)  # naive, as SQLite hands it over


def test_sends_of_the_last_24_hours_count_against_the_daily_cap() -> None:
    recent = as_read(
        [{"id": 900 + i, "customer": f"old{i}@x.com", "kind": "check_in", "sent_at": SUNDAY_NIGHT,
          "claimed_at": None, "status": "sent"} for i in range(4)]
        # Still sending: only its claim time is known, and it counts too.
        + [{"id": 999, "customer": "old9@x.com", "kind": "check_in", "sent_at": None,
            "claimed_at": SUNDAY_NIGHT, "status": "sending"}],
        ("sent_at", "claimed_at"),
    )
    assert str(recent["sent_at"].dtype).endswith(", UTC]")
    assert replay(roomy(10), queue(50), NO_HISTORY, NO_HISTORY)[0].sends == 10
    assert replay(roomy(10), queue(50), recent, NO_HISTORY)[0].sends == 5


def test_recent_aware_sends_at_any_resolution_are_accepted() -> None:
    stamps = pd.Series([pd.Timestamp("2026-03-01 23:00", tz="UTC")] * 3)
    for unit in ("s", "ms", "us", "ns"):
        recent = pd.DataFrame({"customer": ["a@x.com", "b@x.com", "c@x.com"], "kind": "check_in",
                               "sent_at": stamps.dt.as_unit(unit),
                               "claimed_at": pd.Series(pd.NaT, index=stamps.index, dtype=f"datetime64[{unit}, UTC]")})
        assert replay(roomy(10), queue(50), recent, NO_HISTORY)[0].sends == 7, unit


def test_sends_made_in_the_replay_keep_aware_timestamps_across_days() -> None:
    # Day one's sends feed day two's 24-hour window: the frames they join stay one aware dtype.
    recent = as_read([{"customer": "old@x.com", "kind": "check_in", "sent_at": SUNDAY_NIGHT, "claimed_at": None}],
                     ("sent_at", "claimed_at"))
    days = simulate(
        queue(40), days=3, start=MONDAY, recent_sends=recent, contact_history=NO_HISTORY,
        customers={}, suppressed=set(), awaiting_reply=set(), backlog_threads=0,
        rates=throttle.reply_rates(pd.DataFrame(), roomy(10)), settings=roomy(10),
    )
    assert [d.sends for d in days] == [9, 10, 10]

