"""Replay the throttle over the coming days (pure): what goes out, and the work it brings.

Ops use it before a campaign to size the roster and caps: for each day, the
sends the throttle would allow, the replies and handling minutes they are
expected to bring, and the agent minutes they must fit in. The replay calls
the very same :func:`outreach.throttle.plan` once per step (hourly by
default), as the scheduled ``send`` would.

Model (stated so the numbers can be checked):

* sends leave the queue; approved drafts older than
  ``throttle.stale_after_hours`` expire, as the draft step expires them;
* replies to a send are expected work for the 24 h after it (the throttle's
  "committed" minutes);
* the open backlog shrinks by the team's on-duty minutes × max utilisation
  left after that committed work; nothing new joins it (unknown future mail).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from outreach import throttle
from outreach.settings import Settings

if TYPE_CHECKING:
    import pandas as pd

# The one datetime dtype of the replay's frames (see _utc): the store's and Python's resolution.
_UTC_US = "datetime64[us, UTC]"


@dataclass(slots=True)
class SimDay:
    """One simulated day (UTC calendar day of the steps)."""

    day: date
    sends: int = 0
    sends_by_kind: dict[str, int] = field(default_factory=dict)
    expected_replies: float = 0.0
    expected_minutes: float = 0.0
    capacity_minutes: float = 0.0
    backlog_minutes_start: float = 0.0
    expired: int = 0
    queue_end: int = 0

    @property
    def utilisation(self) -> float | None:
        """Expected handling minutes as a share of the usable agent minutes that day."""
        return self.expected_minutes / self.capacity_minutes if self.capacity_minutes else None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["day"] = self.day.isoformat()
        data["utilisation"] = None if self.utilisation is None else round(self.utilisation, 4)
        data["expected_replies"] = round(self.expected_replies, 2)
        data["expected_minutes"] = round(self.expected_minutes, 1)
        data["capacity_minutes"] = round(self.capacity_minutes, 1)
        data["backlog_minutes_start"] = round(self.backlog_minutes_start, 1)
        return data


def simulate(
    approved: pd.DataFrame,
    *,
    days: int,
    start: datetime,
    recent_sends: pd.DataFrame,
    contact_history: pd.DataFrame,
    customers: Mapping[str, str | None],
    suppressed: set[str],
    awaiting_reply: set[str],
    backlog_threads: int,
    rates: dict[str, float],
    settings: Settings,
    step: timedelta = timedelta(hours=1),
) -> list[SimDay]:
    """Replay the queue ``days`` days ahead from ``start``.

    Args:
        approved: The approved queue (``id, customer, kind, priority, created_at``
            and optionally ``reviewed_at``), as the store's ``approved_frame``.
        days: How many days to replay (≥ 1).
        start: First step (aware).
        recent_sends, contact_history, customers, suppressed, awaiting_reply,
        backlog_threads, rates: As for :func:`outreach.throttle.plan`.
        settings: Throttle, capacity and team settings (the roster to test).
        step: Time between two send runs.

    Returns:
        One :class:`SimDay` per day.
    """
    import pandas as pd

    if days < 1:
        raise ValueError("days must be at least 1")
    cap = settings.capacity
    holidays = frozenset(settings.team.holidays)
    stale = timedelta(hours=settings.throttle.stale_after_hours)
    queue = approved.copy()
    if "reviewed_at" not in queue:
        queue["reviewed_at"] = pd.NaT
    approved_at = _utc(queue["reviewed_at"]).fillna(_utc(queue["created_at"]))
    queue = queue.assign(_approved_at=approved_at)
    sends = _sends_frame(recent_sends)
    history = pd.DataFrame({"customer": pd.Series(dtype=object), "kind": pd.Series(dtype=object),
                            "sent_at": pd.Series(dtype=_UTC_US)})
    if not contact_history.empty:
        history = pd.DataFrame({"customer": contact_history["customer"].to_numpy(dtype=object),
                                "kind": contact_history["kind"].to_numpy(dtype=object),
                                "sent_at": _utc(contact_history["sent_at"]).array})
    backlog = backlog_threads * cap.backlog_minutes_per_thread
    per_thread = cap.backlog_minutes_per_thread

    out: list[SimDay] = []
    t = start
    end = start + timedelta(days=days)
    current: SimDay | None = None
    while t < end:
        day = (t - start).days
        if current is None or len(out) <= day:
            current = SimDay(day=t.date(), backlog_minutes_start=backlog)
            out.append(current)
        nxt = min(t + step, end)
        current.capacity_minutes += cap.max_utilisation * sum(
            throttle.shift_minutes(a, t, nxt, holidays) for a in cap.agents
        )
        stale_rows = queue["_approved_at"] < pd.Timestamp(t - stale)
        if stale_rows.any():
            current.expired += int(stale_rows.sum())
            queue = queue[~stale_rows]
        window = sends[sends["sent_at"] >= pd.Timestamp(t - timedelta(hours=24))]
        threads = math.ceil(backlog / per_thread) if per_thread > 0 else 0
        p = throttle.plan(
            queue.drop(columns=["_approved_at"]),
            recent_sends=window, contact_history=history, customers=customers, suppressed=suppressed,
            awaiting_reply=awaiting_reply, backlog_threads=threads, rates=rates, settings=settings, now=t,
        )
        if p.send:
            went = queue[queue["id"].isin(p.send)]
            queue = queue[~queue["id"].isin(p.send)]
            fresh = pd.DataFrame({"customer": went["customer"].to_numpy(dtype=object),
                                  "kind": went["kind"].to_numpy(dtype=object),
                                  "sent_at": _utc(pd.Series(pd.Timestamp(t), index=went.index)).array})
            # A typed NaT: a bare one is tz-naive, and pandas 3 concatenates it with the
            # aware column into an object column instead of dropping it as all-NA.
            sends = pd.concat([sends, fresh.assign(claimed_at=_utc(pd.Series(pd.NaT, index=fresh.index)))],
                              ignore_index=True)
            history = pd.concat([history, fresh], ignore_index=True)
            current.sends += len(went)
            for kind, n in went["kind"].value_counts().items():
                current.sends_by_kind[str(kind)] = current.sends_by_kind.get(str(kind), 0) + int(n)
            current.expected_replies += p.expected_replies
            current.expected_minutes += p.expected_minutes
        # Agents work the backlog with whatever the replies of the last 24 h leave them.
        on_duty = cap.max_utilisation * sum(throttle.shift_minutes(a, t, nxt, holidays) for a in cap.agents)
        reply_load = p.budget.committed_minutes if p.budget else 0.0
        spare = max(on_duty - reply_load * (nxt - t) / timedelta(hours=24), 0.0)
        backlog = max(backlog - spare, 0.0)
        current.queue_end = len(queue)
        t = nxt
    return out


def _utc(stamps: pd.Series) -> pd.Series:
    """``stamps`` as ``datetime64[us, UTC]``, same index.

    One dtype for every frame the replay concatenates or fills from another:
    the store's (``us``, or ``s`` for a column with no value, on pandas 3),
    the simulated sends' and the empty defaults'. Otherwise concatenation
    falls back to object columns, and filling ``s`` from ``us`` warns that
    pandas will refuse it. Frames take the values as ``.array``:
    ``.to_numpy()`` would drop the time zone.
    """
    import pandas as pd

    return pd.to_datetime(stamps, utc=True).dt.as_unit("us")


def _sends_frame(recent: pd.DataFrame) -> pd.DataFrame:
    """Recent sends as ``customer, kind, sent_at, claimed_at``; a send being made counts from its claim."""
    import pandas as pd

    frame = pd.DataFrame({
        "customer": pd.Series(dtype=object), "kind": pd.Series(dtype=object),
        "sent_at": pd.Series(dtype=_UTC_US), "claimed_at": pd.Series(dtype=_UTC_US),
    })
    if recent.empty:
        return frame
    stamps = _utc(recent["sent_at"])
    if "claimed_at" in recent:
        stamps = stamps.fillna(_utc(recent["claimed_at"]))
    return pd.DataFrame({"customer": recent["customer"].to_numpy(dtype=object),
                         "kind": recent["kind"].to_numpy(dtype=object),
                         "sent_at": stamps.array, "claimed_at": _utc(pd.Series(pd.NaT, index=stamps.index)).array})


__all__ = ["SimDay", "simulate"]
