"""The throttle: caps, per-customer pressure, send windows, reply capacity, priority."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from outreach import throttle
from outreach.settings import Settings

THURSDAY_2PM = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)


def approved(rows: list[tuple[int, str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"id": i, "customer": c, "kind": k, "priority": p, "created_at": THURSDAY_2PM} for i, c, k, p in rows]
    )


def empty_sends() -> pd.DataFrame:
    return pd.DataFrame(columns=["customer", "kind", "sent_at", "claimed_at"]).astype(
        {"sent_at": "datetime64[ns, UTC]", "claimed_at": "datetime64[ns, UTC]"}
    )


def plan(settings: Settings, drafts: pd.DataFrame, **overrides: object) -> throttle.Plan:
    args: dict[str, object] = {
        "recent_sends": empty_sends(),
        "contact_history": pd.DataFrame(columns=["customer", "kind", "sent_at"]),
        "customers": {},
        "suppressed": set(),
        "awaiting_reply": set(),
        "backlog_threads": 0,
        "rates": throttle.reply_rates(pd.DataFrame(), settings),
        "settings": settings,
        "now": THURSDAY_2PM,
    }
    args.update(overrides)
    return throttle.plan(drafts, **args)  # type: ignore[arg-type]


def roomy(**throttle_kw: object) -> Settings:
    return Settings(
        throttle={"max_per_hour": 1000, "max_per_day": 1000, **throttle_kw},
        capacity={"agents": [{"name": f"a{i}"} for i in range(20)]},
    )


def test_highest_priority_goes_first_within_the_hourly_cap() -> None:
    s = roomy(max_per_hour=2)
    drafts = approved([(1, "a@x.com", "check_in", 10), (2, "b@x.com", "check_in", 90), (3, "c@x.com", "check_in", 50)])
    p = plan(s, drafts)
    assert p.send == [2, 3]
    assert "hourly cap of 2" in p.waits[1][1]


def test_rolling_day_cap_counts_earlier_sends() -> None:
    s = roomy(max_per_day=3)
    sends = empty_sends()
    sends = pd.DataFrame(
        {"customer": ["z@x.com"] * 2, "kind": ["survey"] * 2,
         "sent_at": pd.to_datetime([THURSDAY_2PM - timedelta(hours=20)] * 2, utc=True), "claimed_at": pd.NaT}
    )
    p = plan(s, approved([(1, "a@x.com", "survey", 5), (2, "b@x.com", "survey", 4)]), recent_sends=sends)
    assert p.send == [1]
    assert "24-hour cap of 3" in p.waits[2][1]


def test_suppressed_and_recently_contacted_customers_wait() -> None:
    s = roomy(contact_every_days=7, survey_every_days=30)
    history = pd.DataFrame(
        {"customer": ["b@x.com", "c@x.com"], "kind": ["check_in", "survey"],
         "sent_at": pd.to_datetime([THURSDAY_2PM - timedelta(days=2), THURSDAY_2PM - timedelta(days=20)], utc=True)}
    )
    drafts = approved([(1, "a@x.com", "survey", 5), (2, "b@x.com", "check_in", 5), (3, "c@x.com", "survey", 5)])
    p = plan(s, drafts, suppressed={"a@x.com"}, contact_history=history)
    assert p.send == []
    assert "suppressed" in p.waits[1][1]
    assert "one proactive email per 7 days" in p.waits[2][1]
    assert "one survey per 30 days" in p.waits[3][1]
    assert p.waits[3][0] == history["sent_at"][1].to_pydatetime() + timedelta(days=30)


def test_answering_kinds_are_not_held_back_by_a_waiting_reply() -> None:
    s = roomy()
    drafts = approved([(1, "a@x.com", "follow_up", 5), (2, "b@x.com", "survey", 5)])
    p = plan(s, drafts, awaiting_reply={"a@x.com", "b@x.com"})
    assert p.send == [1]
    assert "awaits our answer" in p.waits[2][1]


def test_one_email_per_customer_per_batch() -> None:
    p = plan(roomy(), approved([(1, "a@x.com", "follow_up", 9), (2, "a@x.com", "apology", 5)]))
    assert p.send == [1]
    assert 2 in p.waits


def test_outside_business_hours_waits_for_the_customers_window() -> None:
    s = roomy()
    drafts = approved([(1, "tokyo@x.com", "check_in", 5), (2, "utc@x.com", "check_in", 5)])
    p = plan(s, drafts, customers={"tokyo@x.com": "Asia/Tokyo"})
    assert p.send == [2]
    opens = p.waits[1][0]
    assert opens is not None and opens.astimezone(throttle._zone("Asia/Tokyo")).hour == 9


def test_a_closed_window_is_what_limits_sending_when_nothing_can_go_out() -> None:
    """At night the budget is full, yet nothing goes: the summary must say why, not "nothing yet"."""
    s = roomy()
    drafts = approved([(1, "a@x.com", "check_in", 5), (2, "b@x.com", "check_in", 5)])
    night = THURSDAY_2PM + timedelta(hours=11)  # Fri 01:00 UTC: 10:00 in Tokyo
    p = plan(s, drafts, now=night)
    assert p.send == [] and p.budget is not None
    assert p.budget.limited_by == "the send window (opens Fri 09:00 UTC)"
    assert p.budget.as_dict()["window_opens"] == "2026-03-06T09:00:00+00:00"
    # In the window nothing limits; and when some customer's own window is open, it is not "the window".
    assert plan(s, drafts).budget.limited_by == "nothing yet"  # type: ignore[union-attr]
    tokyo = plan(s, drafts, now=night, customers={"a@x.com": "Asia/Tokyo"})
    assert tokyo.send == [1] and tokyo.budget.limited_by == "nothing yet"  # type: ignore[union-attr]


def test_reply_capacity_limits_sends_and_counts_the_backlog() -> None:
    # One agent, 09–17: from Thu 14:00 the next 24 h hold 3 h today + 5 h Friday = 480 min × 0.5.
    s = Settings(
        throttle={"max_per_hour": 1000, "max_per_day": 1000},
        capacity={"agents": [{"name": "solo"}], "handle_minutes": 10, "max_utilisation": 0.5,
                  "backlog_minutes_per_thread": 30, "reply_rate_prior": {"check_in": 1.0}},
    )
    drafts = approved([(i, f"c{i}@x.com", "check_in", 100 - i) for i in range(1, 60)])
    p = plan(s, drafts, backlog_threads=5)
    budget = p.budget
    assert budget is not None
    assert budget.capacity_minutes == pytest.approx(480 * 0.5)
    assert budget.backlog_minutes == 150
    assert len(p.send) == 9  # (240 - 150) / 10
    assert p.send == list(range(1, 10))
    assert "reply capacity" in p.waits[10][1]
    assert p.expected_minutes == pytest.approx(90)


def test_reply_rates_move_from_the_prior_toward_history() -> None:
    s = Settings(capacity={"prior_weight": 10, "reply_rate_prior": {"survey": 0.2}})
    history = pd.DataFrame({"kind": ["survey"] * 30, "replied_at": [THURSDAY_2PM] * 30})
    rates = throttle.reply_rates(history, s)
    assert rates["survey"] == pytest.approx((30 + 0.2 * 10) / 40)
    assert rates["follow_up"] == s.capacity.reply_rate_prior.follow_up


def test_next_open_skips_weekend_and_holiday() -> None:
    friday_evening = datetime(2026, 3, 6, 18, 0, tzinfo=UTC)
    monday = datetime(2026, 3, 9).date()
    opens = throttle.next_open(friday_evening, "UTC", "09:00-17:00", ["mon", "tue", "wed", "thu", "fri"], frozenset({monday}))
    assert opens == datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def test_answers_to_waiting_customers_are_not_blocked_by_the_backlog() -> None:
    s = Settings(
        throttle={"max_per_hour": 1000, "max_per_day": 1000},
        capacity={"agents": [{"name": "solo"}], "handle_minutes": 10, "max_utilisation": 0.5,
                  "backlog_minutes_per_thread": 100},
    )
    p = plan(s, approved([(1, "a@x.com", "follow_up", 9), (2, "b@x.com", "check_in", 5)]), backlog_threads=5)
    assert p.send == [1]
    assert "reply capacity" in p.waits[2][1]


def test_every_waiting_draft_gets_a_reason_when_capacity_runs_out_early() -> None:
    s = Settings(
        throttle={"max_per_hour": 1000, "max_per_day": 1000},
        capacity={"agents": [{"name": "solo"}], "handle_minutes": 10, "max_utilisation": 0.5,
                  "reply_rate_prior": {"check_in": 1.0, "survey": 1.0}},
    )
    rows = [(i, f"c{i}@x.com", "check_in", 1000 - i) for i in range(1, 500)]
    rows.append((900, "c1@x.com", "survey", 1))  # same customer as a draft that goes now
    p = plan(s, approved(rows))
    assert len(p.send) == 24  # 240 free minutes / 10
    assert set(p.send) | set(p.waits) == {r[0] for r in rows}
    assert all("reply capacity" in p.waits[i][1] for i in range(25, 500))
    assert "another email to this customer" in p.waits[900][1]


def test_a_cheaper_kind_still_fits_after_a_costlier_one_did_not() -> None:
    s = Settings(
        throttle={"max_per_hour": 1000, "max_per_day": 1000},
        capacity={"agents": [{"name": "solo"}], "handle_minutes": 100, "max_utilisation": 0.5,
                  "reply_rate_prior": {"check_in": 1.0, "thank_you": 0.05}},
    )
    # 240 free minutes: two check-ins (200), then a third does not fit but a thank-you (5) does.
    p = plan(s, approved([(1, "a@x.com", "check_in", 9), (2, "b@x.com", "check_in", 8),
                          (3, "c@x.com", "check_in", 7), (4, "d@x.com", "thank_you", 6)]))
    assert p.send == [1, 2, 4]
    assert "reply capacity" in p.waits[3][1]


@pytest.mark.filterwarnings("error")
def test_sends_still_being_made_count_by_their_claim_as_the_store_reads_them() -> None:
    # Every recent draft is still 'sending': sent_at has no value, so pandas 3 parses the
    # column as datetime64[s, UTC], while the claim times carry microseconds ('us').
    claimed = [THURSDAY_2PM + timedelta(minutes=10, microseconds=123_456 + i) for i in range(2)]
    recent = pd.DataFrame({"customer": ["p@x.com", "q@x.com"], "kind": "check_in",
                           "sent_at": [None, None], "claimed_at": [c.replace(tzinfo=None) for c in claimed]})
    for column in ("sent_at", "claimed_at"):
        recent[column] = pd.to_datetime(recent[column], utc=True, format="mixed")
    drafts = approved([(i, f"c{i}@x.com", "check_in", 50) for i in range(1, 6)])
    p = plan(roomy(max_per_hour=3), drafts, recent_sends=recent, now=THURSDAY_2PM + timedelta(minutes=30))
    assert len(p.send) == 1 and p.budget is not None and p.budget.hour_left == 0
