"""Complaint themes: known matters and discovered phrases, with examples and a trend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from outreach.settings import Settings
from outreach.themes import complaint_themes

NOW = datetime(2026, 3, 19, 12, tzinfo=UTC)


def _messages(rows: list[tuple[str, float, int, str]]) -> pd.DataFrame:
    """rows: (text, tone, days ago, sender)."""
    return pd.DataFrame(
        {
            "id": range(len(rows)),
            "direction": "in",
            "auto_kind": None,
            "reply_text": [r[0] for r in rows],
            "tone": [r[1] for r in rows],
            "date": pd.to_datetime([NOW - timedelta(days=r[2]) for r in rows], utc=True),
            "from_address": [r[3] for r in rows],
        }
    )


def test_known_matters_count_negative_messages_with_examples_and_trend() -> None:
    rows = [
        (f"I still have no refund for order {i}. This is unacceptable.", -0.8, 2 + i % 10, f"c{i}@x.example")
        for i in range(6)
    ]
    rows += [("My refund arrived, thank you so much!", 0.8, 3, "happy@x.example")]  # positive: not a complaint
    rows += [("The login page says error 500 again, mail me at zed@x.example please.", -0.6, 40, "zed@x.example")]
    result = complaint_themes(_messages(rows), Settings(), NOW)
    themes = {t["theme"]: t for t in result["themes"]}
    assert result["negative_messages"] == 7
    assert themes["refund"]["messages"] == 6 and themes["refund"]["customers"] == 6
    assert themes["refund"]["examples"] and all("refund" in e.lower() for e in themes["refund"]["examples"])
    assert themes["refund"]["trend"] == "new"  # nothing in the four weeks before
    assert sum(themes["refund"]["weekly"].values()) == 6
    login = themes["login"]
    assert login["trend"] == "falling" and login["change"] == -1.0
    assert all("zed@x.example" not in e for e in login["examples"]), "examples are redacted"
    assert result["themes"][0]["theme"] == "refund", "biggest first"


def test_phrases_are_discovered_where_no_matter_applies() -> None:
    rows = [(f"Your new dashboard layout is confusing and slow ({i}).", -0.7, i, f"u{i}@y.example") for i in range(5)]
    rows += [(f"Something else entirely bothers me {i}.", -0.5, i, f"v{i}@y.example") for i in range(2)]
    rows += [(f"Just a question about the dashboard layout {i}.", 0.0, i, f"w{i}@y.example") for i in range(30)]
    result = complaint_themes(_messages(rows), Settings(), NOW, discover=2)
    phrases = [t for t in result["themes"] if t["source"] == "phrase"]
    assert phrases, result
    assert phrases[0]["messages"] == 5
    assert phrases[0]["theme"] in {"layout confusing", "dashboard layout", "new dashboard"}
    assert phrases[0]["examples"]


def test_no_negative_messages_gives_an_empty_list() -> None:
    result = complaint_themes(_messages([("All good, thanks!", 0.9, 1, "a@b.example")]), Settings(), NOW)
    assert result["themes"] == [] and result["negative_messages"] == 0
    assert len(result["weeks"]) == 8
