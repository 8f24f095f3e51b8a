"""The throttle: which approved drafts may go now, and why the rest wait.

Sends are limited by the tightest of (DESIGN, "Throttle"):

1. hard caps per clock hour and per rolling 24 h;
2. per-customer pressure (one proactive email per N days, one survey per
   M days, none after unsubscribe/bounce/complaint, none while a reply of
   theirs awaits us);
3. send windows (business days and hours in the customer's time zone);
4. reply capacity: the replies we expect must fit in the staff minutes on
   duty over the next day, after the open backlog.

Pure: the store hands frames in and enforces the plan inside its
transaction, so parallel workers share one budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from outreach.settings import WEEKDAYS, AgentShift, Settings

if TYPE_CHECKING:
    import pandas as pd

CAPACITY_HORIZON = timedelta(hours=24)
SURVEY_KINDS = frozenset({"survey", "thank_you"})
# Kinds that answer the customer: a reply of theirs awaiting us is the reason to send them.
ANSWERING_KINDS = frozenset({"follow_up", "apology"})


@dataclass(frozen=True, slots=True)
class Budget:
    """What limits sending right now."""

    hour_left: int
    day_left: int
    capacity_minutes: float
    backlog_minutes: float
    committed_minutes: float
    free_minutes: float
    reply_rates: dict[str, float]
    window_opens: datetime | None = None
    """When the team's send window opens, if it is closed and nothing could go out now."""

    def as_dict(self) -> dict[str, Any]:
        """Every field, plus ``limited_by`` (for JSON output, artifacts and the report)."""
        data = asdict(self)
        data["window_opens"] = self.window_opens.isoformat() if self.window_opens else None
        return {**data, "limited_by": self.limited_by}

    @property
    def limited_by(self) -> str:
        """The tightest limit, in words."""
        if self.hour_left <= 0:
            return "the hourly cap"
        if self.day_left <= 0:
            return "the 24-hour cap"
        if self.window_opens is not None:
            return f"the send window (opens {self.window_opens:%a %H:%M} UTC)"
        if self.free_minutes <= 0:
            return "reply capacity"
        return "nothing yet"


@dataclass(slots=True)
class Plan:
    """The throttle's decision for one pass."""

    send: list[int] = field(default_factory=list)
    waits: dict[int, tuple[datetime | None, str]] = field(default_factory=dict)
    expected_replies: float = 0.0
    expected_minutes: float = 0.0
    budget: Budget | None = None


def _minutes(hours: str) -> tuple[int, int]:
    start, end = hours.split("-")
    sh, sm = (int(x) for x in start.split(":"))
    eh, em = (int(x) for x in end.split(":"))
    return sh * 60 + sm, eh * 60 + em


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def next_open(
    now: datetime, tz: str, hours: str, days: Iterable[str], holidays: frozenset[date] = frozenset()
) -> datetime:
    """``now`` if inside the window, else the start of the next one (aware UTC)."""
    zone = _zone(tz)
    local = now.astimezone(zone)
    start, end = _minutes(hours)
    open_days = {WEEKDAYS.index(d) for d in days}
    if not open_days:
        raise ValueError("no working days configured")
    for offset in range(400):
        day = (local + timedelta(days=offset)).date()
        if day.weekday() not in open_days or day in holidays:
            continue
        opens = datetime(day.year, day.month, day.day, start // 60, start % 60, tzinfo=zone)
        closes = datetime(day.year, day.month, day.day, 0, 0, tzinfo=zone) + timedelta(minutes=end)
        if local < opens:
            return opens.astimezone(now.tzinfo)
        if local < closes:
            return now
    raise ValueError("no open window within 400 days")


def shift_minutes(shift: AgentShift, start: datetime, end: datetime, holidays: frozenset[date]) -> float:
    """Minutes of ``shift`` on duty between ``start`` and ``end``."""
    zone = _zone(shift.timezone)
    s_min, e_min = _minutes(shift.hours)
    open_days = {WEEKDAYS.index(d) for d in shift.days}
    total = 0.0
    local_start = start.astimezone(zone)
    day = local_start.date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    while day <= last:
        if day.weekday() in open_days and day not in holidays:
            midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
            opens = midnight + timedelta(minutes=s_min)
            closes = midnight + timedelta(minutes=e_min)
            lo = max(opens, start)
            hi = min(closes, end)
            if hi > lo:
                total += (hi - lo).total_seconds() / 60
        day += timedelta(days=1)
    return total


def reply_rates(history: pd.DataFrame, settings: Settings) -> dict[str, float]:
    """Reply rate per kind: the config prior, moved toward what history shows.

    ``history`` holds sent drafts with ``kind`` and ``replied_at``; the prior
    counts as ``capacity.prior_weight`` sends.
    """
    prior = settings.capacity.reply_rate_prior.model_dump()
    weight = settings.capacity.prior_weight
    rates = dict(prior)
    if history is None or history.empty:
        return rates
    grouped = history.assign(replied=history["replied_at"].notna()).groupby("kind")["replied"].agg(["sum", "count"])
    for kind, row in grouped.iterrows():
        p = prior.get(str(kind), 0.3)
        rates[str(kind)] = float((row["sum"] + p * weight) / (row["count"] + weight))
    return rates


def plan(
    approved: pd.DataFrame,
    *,
    recent_sends: pd.DataFrame,
    contact_history: pd.DataFrame,
    customers: Mapping[str, str | None],
    suppressed: set[str],
    awaiting_reply: set[str],
    backlog_threads: int,
    rates: dict[str, float],
    settings: Settings,
    now: datetime,
) -> Plan:
    """Decide which approved drafts go now.

    Args:
        approved: Approved drafts: ``id, customer, kind, priority, created_at``.
        recent_sends: Sends of the last 24 h (``sent_at`` or ``claimed_at``).
        contact_history: Sends per customer over the pressure window
            (``customer, kind, sent_at``).
        customers: Address → time zone (None when unknown).
        suppressed: Addresses never to send to.
        awaiting_reply: Customers whose own message waits for us.
        backlog_threads: Open threads whose customer waits for a human answer.
        rates: Expected reply rate per kind.
        settings: Throttle, capacity and team settings.
        now: The moment of decision (aware).

    Returns:
        The drafts to send, highest priority first, and why the others wait.
    """
    import pandas as pd

    th, cap, team = settings.throttle, settings.capacity, settings.team
    holidays = frozenset(team.holidays)
    result = Plan()

    stamps = _send_times(recent_sends)
    hour_start = now.replace(minute=0, second=0, microsecond=0)
    sent_hour = int((stamps >= pd.Timestamp(hour_start)).sum())
    sent_day = int((stamps >= pd.Timestamp(now - timedelta(hours=24))).sum())
    hour_left = max(0, th.max_per_hour - sent_hour)
    day_left = max(0, th.max_per_day - sent_day)

    capacity = sum(shift_minutes(a, now, now + CAPACITY_HORIZON, holidays) for a in cap.agents)
    capacity *= cap.max_utilisation
    backlog = backlog_threads * cap.backlog_minutes_per_thread
    committed = 0.0
    if not recent_sends.empty and "kind" in recent_sends:
        committed = float(
            sum(rates.get(k, 0.3) for k in recent_sends["kind"]) * cap.handle_minutes
        )
    free = capacity - backlog - committed
    window_opens = None
    if th.respect_send_window:
        opens = next_open(now, team.timezone, team.hours, team.days, holidays)
        window_opens = opens if opens > now else None
    result.budget = Budget(hour_left, day_left, capacity, backlog, committed, free, rates, window_opens)

    if approved.empty:
        return result
    _decide(result, approved, contact_history, customers, suppressed, awaiting_reply, rates, settings, now,
            hour_left=hour_left, day_left=day_left, free=free, backlog=backlog, hour_start=hour_start)
    hour_left -= len(result.send)
    day_left -= len(result.send)
    free -= result.expected_minutes
    # What is left once this plan goes out: that is what limits the next sends.
    result.budget = Budget(
        hour_left, day_left, capacity, backlog, committed + result.expected_minutes, free, rates,
        window_opens if not result.send else None,  # some customers' own windows are open
    )
    return result


def _send_times(recent_sends: pd.DataFrame) -> pd.Series:
    """When each recent send counts from: its send, else its claim (a send being made), in UTC.

    Both columns are brought to one resolution first: pandas 3 reads a column
    with no value at all as ``s`` (every recent draft still sending), and
    filling it from ``us`` claim times warns that pandas will refuse it.
    """
    import pandas as pd

    sent: pd.Series | None = recent_sends.get("sent_at")
    claimed: pd.Series | None = recent_sends.get("claimed_at")
    if sent is None and claimed is None:
        return pd.Series(dtype="datetime64[us, UTC]")
    if sent is None:
        sent = pd.Series(pd.NaT, index=recent_sends.index)
    stamps = pd.to_datetime(sent, utc=True).dt.as_unit("us")
    if claimed is not None:
        stamps = stamps.fillna(pd.to_datetime(claimed, utc=True).dt.as_unit("us"))
    return stamps


def _decide(
    result: Plan,
    approved: pd.DataFrame,
    contact_history: pd.DataFrame,
    customers: Mapping[str, str | None],
    suppressed: set[str],
    awaiting_reply: set[str],
    rates: dict[str, float],
    settings: Settings,
    now: datetime,
    *,
    hour_left: int,
    day_left: int,
    free: float,
    backlog: float,
    hour_start: datetime,
) -> None:
    """Fill ``result.send`` and ``result.waits``.

    The per-customer rules (suppression, a reply awaiting us, survey and
    contact gaps, send windows) are column operations over the whole queue;
    only the drafts that pass them walk the greedy loop over caps and
    capacity, which stops as soon as nothing more can fit. The first rule a
    draft breaks, in that order, is its stated reason.
    """
    import numpy as np
    import pandas as pd

    th, cap, team = settings.throttle, settings.capacity, settings.team
    holidays = frozenset(team.holidays)
    ordered = approved.sort_values(["priority", "created_at", "id"], ascending=[False, True, True], kind="stable")
    ids = ordered["id"].to_numpy(dtype=np.int64)
    cust = ordered["customer"].astype(str)
    kind = ordered["kind"].astype(str)
    n = len(ordered)
    reason = np.full(n, None, dtype=object)
    until = np.full(n, None, dtype=object)

    def mark(mask: np.ndarray, text: Any, when: Any = None) -> None:
        free_rows = mask & (reason == None)  # noqa: E711 - elementwise on an object array
        reason[free_rows] = text if not isinstance(text, np.ndarray) else text[free_rows]
        if when is not None:
            until[free_rows] = when if not isinstance(when, np.ndarray) else when[free_rows]

    answering = kind.isin(ANSWERING_KINDS).to_numpy()
    mark(cust.isin(suppressed).to_numpy(), "suppressed: the customer unsubscribed, bounced or complained")
    mark(cust.isin(awaiting_reply).to_numpy() & ~answering, "a message of the customer's awaits our answer")

    if not contact_history.empty:
        ch = contact_history.dropna(subset=["sent_at"])
        last_any = ch.groupby("customer")["sent_at"].max()
        last_srv = ch[ch["kind"].isin(SURVEY_KINDS)].groupby("customer")["sent_at"].max()
        survey_gap = pd.Timedelta(days=th.survey_every_days)
        contact_gap = pd.Timedelta(days=th.contact_every_days)
        ts_now = pd.Timestamp(now)
        for last, gap, applies, every, label in (
            (last_srv, survey_gap, kind.isin(SURVEY_KINDS), th.survey_every_days, "surveyed on {:%Y-%m-%d}; one survey per {:g} days"),
            (last_any, contact_gap, ~kind.isin(ANSWERING_KINDS), th.contact_every_days,
             "contacted on {:%Y-%m-%d}; one proactive email per {:g} days"),
        ):
            if last.empty:
                continue
            seen = cust.map(last)
            hit = (applies & seen.notna() & (ts_now - seen < gap)).to_numpy()
            rows = np.flatnonzero(hit & (reason == None))  # noqa: E711
            if len(rows):
                stamps = seen.to_numpy()[rows]
                text_by_day: dict[Any, str] = {}
                for i, stamp in zip(rows, stamps):
                    ts = pd.Timestamp(stamp)
                    reason[i] = text_by_day.get(ts) or text_by_day.setdefault(ts, label.format(ts, every))
                    until[i] = (ts + gap).to_pydatetime()
    if th.respect_send_window:
        zones = cust.map(customers).astype(object).where(lambda z: z.notna() & (z != ""), team.timezone)
        opens_by_zone = {z: next_open(now, z, team.hours, team.days, holidays) for z in zones.unique()}
        for zone, opens in opens_by_zone.items():
            if opens > now:
                mark((zones == zone).to_numpy(),
                     f"outside the send window ({team.hours} {zone}); opens {opens:%a %H:%M} UTC", opens)

    # The greedy part: only drafts every per-customer rule let through.
    costs = {k: rates.get(k, 0.3) * cap.handle_minutes for k in set(kind)}
    cheapest = min(costs.values()) if costs else 0.0
    open_rows = np.flatnonzero(reason == None)  # noqa: E711
    cust_arr = cust.to_numpy()
    kind_arr = kind.to_numpy()
    chosen: set[str] = set()
    stop_at = len(open_rows)
    stop_text: str | None = None
    stop_when: datetime | None = None
    for pos, i in enumerate(open_rows):
        c, k = cust_arr[i], kind_arr[i]
        if c in chosen:
            reason[i] = "another email to this customer goes in this batch"
            continue
        if hour_left <= 0:
            stop_at, stop_text, stop_when = pos, f"hourly cap of {th.max_per_hour} reached", hour_start + timedelta(hours=1)
            break
        if day_left <= 0:
            stop_at, stop_text = pos, f"24-hour cap of {th.max_per_day} reached"
            break
        cost = costs[k]
        # An answer to a waiting customer is work on the backlog itself, so only
        # the replies it brings must fit; proactive mail must fit after the backlog.
        room = free + backlog if answering[i] else free
        if cost > room:
            reason[i] = (
                f"reply capacity: {max(room, 0):.0f} free agent minutes in the next 24 h, "
                f"this {k} is expected to need {cost:.1f}"
            )
            if free + backlog < cheapest:
                stop_at = pos + 1
                stop_text = "capacity"
                break
            continue
        result.send.append(int(ids[i]))
        chosen.add(c)
        hour_left -= 1
        day_left -= 1
        free -= cost
        result.expected_replies += rates.get(k, 0.3)
        result.expected_minutes += cost
    rest = open_rows[stop_at:]
    if len(rest):
        dup = pd.Series(cust_arr[rest]).isin(chosen).to_numpy() if chosen else np.zeros(len(rest), dtype=bool)
        reason[rest[dup]] = "another email to this customer goes in this batch"
        others = rest[~dup]
        if stop_text == "capacity":
            room_p, room_a = max(free, 0), max(free + backlog, 0)
            for i in others:
                k = kind_arr[i]
                room = room_a if answering[i] else room_p
                reason[i] = (f"reply capacity: {room:.0f} free agent minutes in the next 24 h, "
                             f"this {k} is expected to need {costs[k]:.1f}")
        else:
            reason[others] = stop_text
            until[others] = stop_when
    waiting = np.flatnonzero(reason != None)  # noqa: E711
    result.waits = dict(zip(ids[waiting].tolist(), zip(until[waiting].tolist(), reason[waiting].tolist())))
