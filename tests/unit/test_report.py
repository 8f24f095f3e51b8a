"""The report's figures from hand-built frames, and the page that shows them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from outreach.report import CHARTS, REPORT_STEPS, compute_figures, render_html
from outreach.settings import Settings

NOW = datetime(2026, 3, 19, 15, tzinfo=UTC)  # a Thursday
MON = datetime(2026, 3, 16, tzinfo=UTC)


def ts(day: int, hour: int) -> pd.Timestamp:
    return pd.Timestamp(MON + timedelta(days=day, hours=hour))


@pytest.fixture
def frames() -> dict[str, pd.DataFrame]:
    t = pd.DataFrame(
        {
            "id": [1, 2, 3],
            # 1: asked Mon 10:00, answered Mon 12:00, quiet since → resolved in 2 business hours
            # 2: asked Fri 16:00 the week before, answered Mon 10:00 → 2 business hours (1 Fri + 1 Mon)
            # 3: asked Wed 09:00, never answered → backlog, 1–3 days old
            "first_customer_at": [ts(0, 10) - timedelta(days=7), ts(-3, 16), ts(2, 9)],
            "last_customer_at": [ts(0, 10) - timedelta(days=7), ts(-3, 16), ts(2, 9)],
            "first_staff_at": [ts(0, 12) - timedelta(days=7), ts(0, 10), pd.NaT],
            "last_staff_at": [ts(0, 12) - timedelta(days=7), ts(0, 10), pd.NaT],
            "status": "open",
        }
    )
    for col in ("first_customer_at", "last_customer_at", "first_staff_at", "last_staff_at"):
        t[col] = pd.to_datetime(t[col], utc=True)
    m = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "thread_id": [1, 2, 3, 3],
            "direction": ["in", "in", "in", "in"],
            "from_address": ["a@x.example", "b@x.example", "c@x.example", "a@x.example"],
            "date": pd.to_datetime([ts(0, 10) - timedelta(days=7), ts(-3, 16), ts(2, 9), ts(2, 11)], utc=True),
            "auto_kind": None,
            "tone": [0.1, -0.2, -0.8, -0.6],
            "reply_text": ["hi", "hello", "Still no refund after two weeks!", "Where is my refund?"],
        }
    )
    o = pd.DataFrame(
        {
            "id": [10, 11, 12],
            "thread_id": [1, 2, 3],
            "customer": ["a@x.example", "b@x.example", "c@x.example"],
            "kind": ["survey", "follow_up", "follow_up"],
            "status": ["sent", "sent", "pending_review"],
            "priority": [5, 40, 60],
            "created_at": pd.to_datetime([ts(1, 9)] * 3, utc=True),
            "sent_at": pd.to_datetime([ts(1, 10), ts(1, 10), pd.NaT], utc=True),
            "replied_at": pd.to_datetime([pd.NaT, ts(1, 12), pd.NaT], utc=True),
        }
    )
    s = pd.DataFrame(
        {
            "id": [1, 2],
            "draft_id": [10, 10],
            "scale": ["csat", "nps"],
            "score": [4, 10],
            "created_at": pd.to_datetime([ts(1, 14), ts(1, 15)], utc=True),
            "updated_at": pd.to_datetime([ts(1, 14), ts(1, 15)], utc=True),
        }
    )
    c = pd.DataFrame({"kind": ["survey", "follow_up", "follow_up", "call"], "status": ["drafted", "drafted", "drafted", "open"]})
    return {"messages": m, "threads": t, "outreach": o, "surveys": s, "customers": pd.DataFrame(), "candidates": c}


def test_figures_measure_business_hours_backlog_kinds_rates_and_load(frames: dict[str, pd.DataFrame]) -> None:
    steps: list[int] = []
    f = compute_figures(frames, Settings(), NOW, budget={"limited_by": "reply capacity"}, progress=steps.append)
    assert len(steps) == REPORT_STEPS
    rt = f["response_times"]
    assert rt["first_response"] == {"n": 2, "median_hours": 2.0, "p90_hours": 2.0}
    assert rt["resolution"] == {"n": 2, "median_hours": 2.0, "p90_hours": 2.0}  # both quiet for 3+ days
    assert f["backlog"]["open"] == 1 and f["backlog"]["by_age"]["1–3 d"] == 1
    assert f["kinds"][:2] == ["follow_up", "survey"] and "call" in f["kinds"]
    assert f["candidates_by_kind"]["call"] == {"drafted": 0, "open": 1}
    assert f["rates_by_kind"]["follow_up"]["reply_rate"] == 1.0
    # a@x wrote again (thread 3) after the survey was sent: re-engaged; b@x did not.
    assert f["rates_by_kind"]["survey"]["reengaged"] == 1
    assert f["rates_by_kind"]["follow_up"]["reengaged"] == 0
    assert f["surveys"]["csat"]["mean"] == 4.0 and f["surveys"]["nps"]["score"] == 100.0
    assert f["surveys"]["csat"]["weekly_mean"]["2026-03-16"] == 4.0
    assert f["themes"]["themes"][0]["theme"] == "refund"
    week = f["load"]["weekly"]["2026-03-16"]
    assert week["customer_messages"] == 2 and week["demand_minutes"] == 2 * Settings().capacity.handle_minutes
    # One default agent, 8 h × 5 days × utilisation.
    assert week["capacity_minutes"] == pytest.approx(5 * 8 * 60 * Settings().capacity.max_utilisation)
    assert f["load"]["today"]["limited_by"] == "reply capacity"
    json.dumps(f)  # --json prints exactly this


def test_page_is_self_contained_with_every_chart(frames: dict[str, pd.DataFrame]) -> None:
    f = compute_figures(frames, Settings(), NOW)
    html = render_html(f, Settings())
    for name in CHARTS:
        assert html.count(f'data-chart="{name}"') == 1, name
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert "a@x.example" not in html, "no customer address on the page"
    assert "Still no refund after two weeks!" in html  # the theme's example sentence


def test_empty_store_still_renders_every_chart() -> None:
    empty = {
        "messages": pd.DataFrame(columns=["id", "thread_id", "direction", "from_address", "date", "auto_kind", "tone", "reply_text"]),
        "threads": pd.DataFrame(columns=["id", "first_customer_at", "last_customer_at", "first_staff_at", "last_staff_at"]),
        "outreach": pd.DataFrame(columns=["id", "thread_id", "customer", "kind", "status", "sent_at", "replied_at", "created_at"]),
        "surveys": pd.DataFrame(columns=["id", "draft_id", "scale", "score", "created_at", "updated_at"]),
    }
    for frame in empty.values():
        for col in frame.columns:
            if col.endswith("_at") or col == "date":
                frame[col] = pd.to_datetime(frame[col], utc=True)
    html = render_html(compute_figures(empty, Settings(), NOW), Settings())
    assert all(f'data-chart="{name}"' in html for name in CHARTS)


@pytest.mark.parametrize(
    ("sent_unit", "in_unit", "customer_dtype"),
    [("us", "ns", "str"), ("ns", "s", "str"), ("us", "us", "object")],
    ids=["store-us-vs-memory-ns", "ns-vs-s", "object-vs-str-addresses"],
)
def test_reengagement_joins_sends_and_mail_of_any_resolution_and_string_dtype(
    frames: dict[str, pd.DataFrame], sent_unit: str, in_unit: str, customer_dtype: str
) -> None:
    # The database hands back 'us', an empty frame 's', frames built in memory 'ns';
    # addresses are ``str`` on pandas 3 unless a column holds something else.
    frames["outreach"] = frames["outreach"].assign(
        sent_at=frames["outreach"]["sent_at"].dt.as_unit(sent_unit),
        customer=frames["outreach"]["customer"].astype(customer_dtype),
    )
    frames["messages"] = frames["messages"].assign(date=frames["messages"]["date"].dt.as_unit(in_unit))
    rates = compute_figures(frames, Settings(), NOW)["rates_by_kind"]
    assert rates["survey"]["reengaged"] == 1
    assert rates["follow_up"]["reengaged"] == 0
