"""Survey figures for the report (pure pandas over the store's frames).

Definitions a reader can check:

* **response rate**: sent surveys with an answer (any answer, read or not,
  by reply or link) ÷ sent surveys, by the week the survey was sent;
* **CSAT**: share of CSAT answers that are 4 or 5, in percent (and the mean);
* **NPS**: percent promoters (9–10) minus percent detractors (0–6);
* **detractor**: CSAT ≤ 2 or NPS ≤ 6;
* **followed up**: after the answer was recorded, the team wrote in that
  thread (an agent's message, or an outreach email of kind ``apology`` or
  ``follow_up`` that was sent); **time to follow-up** is the hours from the
  answer to the first such message.

Weeks start on Monday (UTC). ``by_week`` puts answers in the week they were
recorded; ``by_kind`` gives each outreach kind's sends and reply rate.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from outreach.replies import DETRACTOR_MAX, PROMOTER_MIN

if TYPE_CHECKING:
    import pandas as pd

FOLLOW_UP_KINDS = ("apology", "follow_up")


def _week(dates: pd.Series) -> pd.Series:
    import pandas as pd

    utc = pd.to_datetime(dates, utc=True).dt.tz_localize(None)
    return (utc - pd.to_timedelta(utc.dt.day_of_week, unit="D")).dt.normalize().dt.strftime("%Y-%m-%d")


def _round(value: float | None, digits: int = 2) -> float | None:
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), digits)


def _scores(answers: pd.DataFrame) -> dict[str, Any]:
    """CSAT and NPS of a set of answers (rows with ``scale`` and ``score``)."""
    scored = answers.dropna(subset=["score"])
    csat = scored[scored["scale"] == "csat"]["score"].astype(float)
    nps = scored[scored["scale"] == "nps"]["score"].astype(float)
    return {
        "csat": _round(100.0 * float((csat >= 4).mean())) if len(csat) else None,
        "csat_mean": _round(float(csat.mean())) if len(csat) else None,
        "csat_n": int(len(csat)),
        "nps": _round(100.0 * float((nps >= PROMOTER_MIN["nps"]).mean() - (nps <= DETRACTOR_MAX["nps"]).mean()))
        if len(nps) else None,
        "nps_n": int(len(nps)),
    }


def _follow_ups(surveys: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Detractor answers with the first team message in their thread after the answer."""
    import pandas as pd

    scored = surveys.dropna(subset=["score"])
    limit = scored["scale"].map(DETRACTOR_MAX)
    detractors = scored[scored["score"].astype(float) <= limit].copy()
    detractors["answered_at"] = pd.to_datetime(detractors["updated_at"], utc=True)
    if detractors.empty:
        return detractors.assign(followed_at=pd.Series(dtype="datetime64[ns, UTC]"))
    team: list[pd.DataFrame] = []
    messages = frames.get("messages")
    if messages is not None and not messages.empty:
        out = messages[messages["direction"] == "out"]
        team.append(_contacts(out["thread_id"], out["date"]))
    outreach = frames.get("outreach")
    if outreach is not None and not outreach.empty:
        sent = outreach[outreach["kind"].isin(FOLLOW_UP_KINDS) & outreach["sent_at"].notna()]
        team.append(_contacts(sent["thread_id"], sent["sent_at"]))
    # Empty parts are left out: pandas 3 no longer ignores them when it picks the
    # result's dtypes, and an empty object column would make thread_id object.
    team = [part for part in team if not part.empty]
    contacts = pd.concat(team, ignore_index=True) if team else _contacts(pd.Series(), pd.Series())
    answers = detractors[["id", "thread_id", "answered_at"]].dropna(subset=["thread_id"])
    joined = answers.astype({"thread_id": "int64"}).merge(contacts, on="thread_id", how="left")
    joined = joined[joined["at"] > joined["answered_at"]]
    first = joined.groupby("id")["at"].min()
    # reindex, not .map(first): with no follow-up at all ``first`` is empty, and pandas
    # casts an empty mapper to float64, which it refuses for datetimes.
    detractors["followed_at"] = first.reindex(detractors["id"]).array
    return detractors


def _contacts(thread_ids: pd.Series, at: pd.Series) -> pd.DataFrame:
    """Team contacts as ``thread_id`` (int64) and ``at`` (UTC), rows without a thread dropped."""
    import pandas as pd

    frame = pd.DataFrame({"thread_id": thread_ids.to_numpy(), "at": pd.to_datetime(at, utc=True).array})
    frame = frame.dropna(subset=["thread_id"])
    return frame.astype({"thread_id": "int64"})


def survey_metrics(frames: dict[str, pd.DataFrame], now: datetime | None = None) -> dict[str, Any]:
    """Response rate, CSAT and NPS by week and kind, and how detractors were followed up.

    Args:
        frames: ``Store.frames()``: ``surveys`` (responses joined to their drafts),
            ``outreach`` (drafts) and ``messages``.
        now: Unused for the figures themselves (answers are what they are);
            accepted so callers pass the same clock everywhere.

    Returns:
        JSON-able ``overall``, ``by_week`` (list, oldest first) and ``by_kind`` (list).
    """
    import pandas as pd

    del now
    surveys = frames.get("surveys", pd.DataFrame())
    outreach = frames.get("outreach", pd.DataFrame())
    if surveys is None or surveys.empty:
        surveys = pd.DataFrame(columns=["id", "draft_id", "scale", "score", "needs_review", "thread_id", "updated_at", "created_at"])
    if outreach is None or outreach.empty:
        outreach = pd.DataFrame(columns=["id", "thread_id", "kind", "status", "sent_at", "replied_at"])

    sent_surveys = outreach[(outreach["kind"] == "survey") & outreach["sent_at"].notna()]
    answered_ids = set(surveys["draft_id"].dropna().astype(int))
    follow = _follow_ups(surveys, frames)
    hours = ((follow["followed_at"] - follow["answered_at"]).dt.total_seconds() / 3600.0) if not follow.empty else pd.Series(dtype=float)

    overall = {
        "sent": int(len(sent_surveys)),
        "answered": int(sent_surveys["id"].astype(int).isin(answered_ids).sum()) if len(sent_surveys) else 0,
        "responses": int(len(surveys)),
        "by_link": int((surveys["source"] == "link").sum()) if "source" in surveys else 0,
        "needs_review": int(surveys["needs_review"].fillna(False).astype(bool).sum()) if len(surveys) else 0,
        **_scores(surveys),
        "detractors": int(len(follow)),
        "detractors_followed_up": int(follow["followed_at"].notna().sum()) if len(follow) else 0,
        "median_hours_to_follow_up": _round(float(hours.median())) if hours.notna().any() else None,
    }
    overall["response_rate"] = _round(overall["answered"] / overall["sent"], 4) if overall["sent"] else None
    overall["followed_up_share"] = (
        _round(overall["detractors_followed_up"] / overall["detractors"], 4) if overall["detractors"] else None
    )

    weeks: dict[str, dict[str, Any]] = {}
    if len(sent_surveys):
        sent_week = _week(sent_surveys["sent_at"])
        answered = sent_surveys["id"].astype(int).isin(answered_ids)
        for week, group in answered.groupby(sent_week.to_numpy()):
            weeks.setdefault(str(week), {})["sent"] = int(len(group))
            weeks[str(week)]["answered"] = int(group.sum())
    if len(surveys):
        answer_week = _week(surveys["updated_at"])
        for week, group in surveys.groupby(answer_week.to_numpy()):
            weeks.setdefault(str(week), {}).update(_scores(group))
    if len(follow):
        follow_week = _week(follow["answered_at"])
        for week, group in follow.groupby(follow_week.to_numpy()):
            row = weeks.setdefault(str(week), {})
            row["detractors"] = int(len(group))
            row["detractors_followed_up"] = int(group["followed_at"].notna().sum())
    by_week = []
    for week in sorted(weeks):
        row = {"week": week, "sent": 0, "answered": 0, "csat": None, "csat_mean": None, "csat_n": 0, "nps": None,
               "nps_n": 0, "detractors": 0, "detractors_followed_up": 0, **weeks[week]}
        row["response_rate"] = _round(row["answered"] / row["sent"], 4) if row["sent"] else None
        by_week.append(row)

    by_kind = []
    sent_all = outreach[outreach["sent_at"].notna()]
    for kind, group in sent_all.groupby("kind"):
        replied = int(group["replied_at"].notna().sum())
        by_kind.append({"kind": str(kind), "sent": int(len(group)), "replied": replied,
                        "reply_rate": _round(replied / len(group), 4)})
    return {"overall": overall, "by_week": by_week, "by_kind": by_kind}


__all__ = ["FOLLOW_UP_KINDS", "survey_metrics"]
