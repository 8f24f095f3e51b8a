"""Survey metrics on hand-built frames: response rate, CSAT, NPS, detractors followed up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from outreach.survey_metrics import survey_metrics

MON = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
NEXT_MON = MON + timedelta(days=7)


def frames() -> dict[str, pd.DataFrame]:
    outreach = pd.DataFrame([
        # id, thread, kind, sent_at, replied_at
        (1, 10, "survey", MON, MON + timedelta(hours=5)),
        (2, 20, "survey", MON, MON + timedelta(hours=6)),
        (3, 30, "survey", MON + timedelta(days=1), None),
        (4, 40, "survey", NEXT_MON, NEXT_MON + timedelta(hours=1)),
        (5, 50, "survey", NEXT_MON, None),
        (6, 10, "apology", MON + timedelta(days=1), None),  # follows up thread 10's detractor
        (7, 60, "follow_up", MON, MON + timedelta(hours=2)),
        (8, 70, "survey", None, None),  # never sent: not in the rate
    ], columns=["id", "thread_id", "kind", "sent_at", "replied_at"])
    outreach["status"] = ["sent"] * 7 + ["pending_review"]
    for col in ("sent_at", "replied_at"):
        outreach[col] = pd.to_datetime(outreach[col], utc=True)
    surveys = pd.DataFrame([
        # id, draft, scale, score, needs_review, source, thread, updated_at
        (1, 1, "csat", 2, False, "reply", 10, MON + timedelta(hours=5)),  # detractor, apology a day later
        (2, 2, "csat", 5, False, "link", 20, MON + timedelta(hours=6)),
        (3, 4, "csat", None, True, "reply", 40, NEXT_MON + timedelta(hours=1)),  # unread: answered, not scored
        (4, 5, "nps", 3, False, "reply", 50, NEXT_MON + timedelta(hours=2)),  # detractor, agent wrote 4 h later
    ], columns=["id", "draft_id", "scale", "score", "needs_review", "source", "thread_id", "updated_at"])
    surveys["updated_at"] = pd.to_datetime(surveys["updated_at"], utc=True)
    surveys["created_at"] = surveys["updated_at"]
    messages = pd.DataFrame([
        (50, "out", NEXT_MON + timedelta(hours=6)),
        (50, "out", NEXT_MON - timedelta(hours=6)),  # before the answer: not a follow-up
        (20, "in", MON + timedelta(hours=7)),
    ], columns=["thread_id", "direction", "date"])
    messages["date"] = pd.to_datetime(messages["date"], utc=True)
    return {"outreach": outreach, "surveys": surveys, "messages": messages}


def test_overall_figures() -> None:
    overall = survey_metrics(frames())["overall"]
    assert (overall["sent"], overall["answered"], overall["response_rate"]) == (5, 4, 0.8)
    assert (overall["csat"], overall["csat_mean"], overall["csat_n"]) == (50.0, 3.5, 2)
    assert (overall["nps"], overall["nps_n"]) == (-100.0, 1)
    assert (overall["detractors"], overall["detractors_followed_up"], overall["followed_up_share"]) == (2, 2, 1.0)
    # thread 10: answered at +5 h, apology sent a day after MON 09:00 → 19 h; thread 50: 4 h → median 11.5
    assert overall["median_hours_to_follow_up"] == 11.5
    assert (overall["needs_review"], overall["by_link"], overall["responses"]) == (1, 1, 4)


def test_by_week_and_kind() -> None:
    result = survey_metrics(frames())
    weeks = {w["week"]: w for w in result["by_week"]}
    assert list(weeks) == ["2026-03-02", "2026-03-09"]
    first, second = weeks["2026-03-02"], weeks["2026-03-09"]
    assert (first["sent"], first["answered"], first["response_rate"]) == (3, 2, 0.6667)
    assert (first["csat"], first["nps"]) == (50.0, None)
    assert (second["sent"], second["answered"], second["csat_n"], second["nps"]) == (2, 2, 0, -100.0)
    assert (second["detractors"], second["detractors_followed_up"]) == (1, 1)
    kinds = {k["kind"]: k for k in result["by_kind"]}
    assert kinds["survey"] == {"kind": "survey", "sent": 5, "replied": 3, "reply_rate": 0.6}
    assert kinds["follow_up"]["reply_rate"] == 1.0 and kinds["apology"]["replied"] == 0


def test_a_detractor_nobody_answered_is_not_followed_up() -> None:
    data = frames()
    data["outreach"] = data["outreach"][data["outreach"]["kind"] != "apology"]
    overall = survey_metrics(data)["overall"]
    assert (overall["detractors"], overall["detractors_followed_up"], overall["followed_up_share"]) == (2, 1, 0.5)
    assert overall["median_hours_to_follow_up"] == 4.0


def test_empty_store() -> None:
    empty = {"outreach": pd.DataFrame(), "surveys": pd.DataFrame(), "messages": pd.DataFrame()}
    result = survey_metrics(empty)
    assert result["overall"]["sent"] == 0 and result["overall"]["response_rate"] is None
    assert result["overall"]["csat"] is None and result["by_week"] == [] and result["by_kind"] == []


def test_detractors_with_no_follow_up_at_all_count_as_not_followed_up() -> None:
    data = frames()
    # No team message after any answer and no apology or follow-up sent: nothing to join.
    data["messages"] = data["messages"][data["messages"]["direction"] == "in"]
    data["outreach"] = data["outreach"][data["outreach"]["kind"] == "survey"]
    overall = survey_metrics(data)["overall"]
    assert (overall["detractors"], overall["detractors_followed_up"], overall["followed_up_share"]) == (2, 0, 0.0)
    assert overall["median_hours_to_follow_up"] is None
