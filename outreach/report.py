"""The report: figures from the store's frames (pandas), rendered to one self-contained HTML file.

``compute_figures`` is pure and returns plain JSON-able data (``outreach
report --json`` prints it, other tools read ``report.json``);
``render_html`` draws the charts from those same figures as inline SVG and
fills ``templates/report/report.html.j2``. The page needs no network and no
JavaScript: every chart is an ``<svg data-chart="…">`` element.

Definitions a reader can check:

* **first response**: business hours from a thread's first customer message
  to the team's first message after it (team calendar, holidays excluded);
* **resolution**: business hours from the first customer message to the
  team's last message, for threads where the team spoke last and the
  customer has been quiet ``RESOLVED_QUIET_DAYS`` since;
* **re-engagement**: a sent email after which the customer wrote to us
  again (any conversation) within ``REENGAGE_DAYS``;
* **load**: customer messages × minutes per reply against the roster's
  minutes on duty × the utilisation target, per week.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from outreach.settings import Settings

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CHARTS", "REPORT_STEPS", "compute_figures", "render_html"]

RESOLVED_QUIET_DAYS = 3
REENGAGE_DAYS = 14
WEEKS = 8
KIND_ORDER = ("follow_up", "check_in", "survey", "apology", "call", "thank_you")

#: Every chart the page shows, by ``data-chart`` name, in page order.
CHARTS: tuple[str, ...] = (
    "response-times",
    "backlog-age",
    "outreach-by-kind",
    "rates-by-kind",
    "csat-trend",
    "nps-trend",
    "themes",
    "themes-trend",
    "load-capacity",
)
#: Progress steps ``compute_figures`` reports (one per section).
REPORT_STEPS = 8

Progress = Callable[[int], None]


def _week_start(dates: pd.Series) -> pd.Series:
    import pandas as pd

    utc = pd.to_datetime(dates, utc=True).dt.tz_localize(None)
    return (utc - pd.to_timedelta(utc.dt.day_of_week, unit="D")).dt.normalize()


def _weeks(now: datetime, n: int = WEEKS) -> list[pd.Timestamp]:
    import pandas as pd

    last = _week_start(pd.Series([pd.Timestamp(now)])).iloc[0]
    return [last - timedelta(weeks=k) for k in range(n - 1, -1, -1)]


def _label(w: Any) -> str:
    return w.strftime("%Y-%m-%d")


def _stats(hours: pd.Series) -> dict[str, Any]:
    hours = hours.dropna()
    if hours.empty:
        return {"n": 0, "median_hours": None, "p90_hours": None}
    return {
        "n": int(len(hours)),
        "median_hours": round(float(hours.median()), 2),
        "p90_hours": round(float(hours.quantile(0.9)), 2),
    }


def _weekly_median(dates: pd.Series, values: pd.Series, weeks: list[Any]) -> dict[str, float | None]:
    frame = dates.to_frame("d").assign(v=values.to_numpy(), w=_week_start(dates).to_numpy()).dropna(subset=["v", "w"])
    med = frame.groupby("w")["v"].median()
    return {_label(w): (round(float(med[w]), 2) if w in med.index else None) for w in weeks}


def compute_figures(
    frames: dict[str, pd.DataFrame],
    settings: Settings,
    now: datetime,
    *,
    budget: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Summarise the store for people: response times, backlog, outreach, surveys, themes, load.

    Args:
        frames: ``messages``, ``threads``, ``outreach`` and ``surveys`` frames
            (see :meth:`connectors.store.Store.frames`), optionally ``candidates``
            (every candidate row: ``kind``, ``status``).
        settings: Team calendar, capacity roster, detection thresholds.
        now: The report's "now".
        budget: Today's send budget (``steps.budget_today``), shown with the load.
        progress: Called with 1 after each of :data:`REPORT_STEPS` sections.

    Returns:
        JSON-able figures; the keys are documented by the template that shows them.
    """
    import pandas as pd

    from outreach.businesshours import BusinessCalendar, business_hours_between_pairs
    from outreach.themes import complaint_themes

    tick = progress or (lambda _n: None)
    messages, threads = frames["messages"], frames["threads"]
    outreach, surveys = frames["outreach"], frames["surveys"]
    candidates = frames.get("candidates")
    ts = pd.Timestamp(now)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    weeks = _weeks(now)
    week_labels = [_label(w) for w in weeks]
    human_in = messages[(messages["direction"] == "in") & messages["auto_kind"].isna()]

    # Response and resolution times in the team's business hours.
    cal = BusinessCalendar.from_team(settings.team)
    answered = threads[threads["first_customer_at"].notna() & threads["first_staff_at"].notna()]
    answered = answered[answered["first_staff_at"] >= answered["first_customer_at"]]
    first = business_hours_between_pairs(answered["first_customer_at"], answered["first_staff_at"], cal)
    resolved = threads[
        threads["first_customer_at"].notna()
        & threads["last_staff_at"].notna()
        & (threads["last_customer_at"].isna() | (threads["last_staff_at"] >= threads["last_customer_at"]))
        & (threads["last_staff_at"] <= ts - timedelta(days=RESOLVED_QUIET_DAYS))
    ]
    resolution = business_hours_between_pairs(resolved["first_customer_at"], resolved["last_staff_at"], cal)
    response_times = {
        "first_response": _stats(first),
        "resolution": _stats(resolution),
        "weekly_first_response_median": _weekly_median(answered["first_customer_at"], first, weeks),
        "weekly_resolution_median": _weekly_median(resolved["first_customer_at"], resolution, weeks),
        "sla_hours": settings.detection.first_response_sla_hours,
    }
    tick(1)

    # Unresolved backlog: the customer spoke last and waits on us.
    unanswered = threads[
        threads["last_customer_at"].notna()
        & (threads["last_staff_at"].isna() | (threads["last_staff_at"] < threads["last_customer_at"]))
    ]
    age_days = (ts - unanswered["last_customer_at"]).dt.total_seconds() / 86400
    buckets = pd.cut(age_days, bins=[-1, 1, 3, 7, 30, float("inf")], labels=["<1 d", "1–3 d", "3–7 d", "7–30 d", ">30 d"])
    backlog = {
        "by_age": {str(k): int(v) for k, v in buckets.value_counts(sort=False).items()},
        "open": int(len(unanswered)),
        "oldest_days": round(float(age_days.max()), 1) if len(age_days) else None,
    }
    tick(1)

    # Candidates and outreach by kind.
    kinds: list[str] = []
    cand_by_kind: dict[str, dict[str, int]] = {}
    if candidates is not None and not candidates.empty:
        table = candidates.groupby(["kind", "status"]).size().unstack(fill_value=0)
        cand_by_kind = {str(k): {str(s): int(v) for s, v in row.items()} for k, row in table.iterrows()}
    by_kind_status: dict[str, dict[str, int]] = {}
    if not outreach.empty:
        table = outreach.groupby(["kind", "status"]).size().unstack(fill_value=0)
        by_kind_status = {str(k): {str(s): int(v) for s, v in row.items()} for k, row in table.iterrows()}
    for kind in [*KIND_ORDER, *sorted({*cand_by_kind, *by_kind_status})]:
        if (kind in cand_by_kind or kind in by_kind_status) and kind not in kinds:
            kinds.append(kind)
    tick(1)

    # Reply and re-engagement rates per kind (of emails sent).
    sent = outreach[outreach["sent_at"].notna()] if not outreach.empty else outreach
    rates: dict[str, dict[str, Any]] = {}
    if not sent.empty:
        reengaged = _reengaged(sent, human_in, ts)
        for kind, group in sent.assign(reengaged=reengaged).groupby("kind"):
            n = int(len(group))
            replied = int(group["replied_at"].notna().sum())
            back = int(group["reengaged"].sum())
            rates[str(kind)] = {
                "sent": n, "replied": replied, "reply_rate": round(replied / n, 4),
                "reengaged": back, "reengagement_rate": round(back / n, 4),
            }
    tick(1)

    survey_figures = _survey_figures(frames, surveys, weeks)
    tick(1)
    themes = complaint_themes(messages, settings, now, weeks=WEEKS)
    tick(1)
    load = _load(human_in, settings, weeks, budget)
    tick(1)

    figures = {
        "generated_at": now.isoformat(),
        "team": settings.team.name,
        "weeks": week_labels,
        "totals": {
            "messages": int(len(messages)),
            "customer_messages": int(len(human_in)),
            "threads": int(len(threads)),
            "unanswered_threads": int(len(unanswered)),
            "candidates_open": int(sum(v.get("open", 0) for v in cand_by_kind.values())),
            "sent": int(len(sent)),
        },
        "response_times": response_times,
        "backlog": backlog,
        "kinds": kinds,
        "candidates_by_kind": cand_by_kind,
        "outreach_by_kind": by_kind_status,
        "rates_by_kind": rates,
        "surveys": survey_figures,
        "themes": themes,
        "load": load,
        "definitions": {
            "resolved_quiet_days": RESOLVED_QUIET_DAYS,
            "reengage_days": REENGAGE_DAYS,
            "business_hours": f"{settings.team.hours} {settings.team.timezone}, {', '.join(settings.team.days)}",
        },
    }
    tick(1)
    return figures


def _reengaged(sent: pd.DataFrame, human_in: pd.DataFrame, now: pd.Timestamp) -> pd.Series:
    """Per sent email: did the customer write to us again within REENGAGE_DAYS?"""
    import pandas as pd

    if human_in.empty:
        return pd.Series(False, index=sent.index)
    # merge_asof wants identical key dtypes on both sides, and pandas 3 tells apart
    # datetime resolutions ('s' for an empty store frame, 'us' read from the database,
    # 'ns' built in memory) and ``str`` from ``object``: both sides get one of each.
    inbound = pd.DataFrame({
        "customer": _address_key(human_in["from_address"]),
        "in_at": _utc_us(human_in["date"]),
    }).sort_values("in_at")
    left = pd.DataFrame({
        "customer": _address_key(sent["customer"]),
        "sent_at": _utc_us(sent["sent_at"]),
        "_row": sent.index,
    }).sort_values("sent_at")
    # The first customer message after each send, per customer.
    merged = pd.merge_asof(
        left, inbound, left_on="sent_at", right_on="in_at", by="customer", direction="forward",
        allow_exact_matches=False,
    )
    back = merged["in_at"].notna() & (merged["in_at"] - merged["sent_at"] <= timedelta(days=REENGAGE_DAYS))
    return pd.Series(back.to_numpy(), index=merged["_row"].to_numpy()).reindex(sent.index, fill_value=False)


def _utc_us(dates: pd.Series) -> pd.Series:
    """``dates`` as ``datetime64[us, UTC]`` (Python's own resolution: no date can overflow it)."""
    import pandas as pd

    return pd.to_datetime(dates, utc=True).dt.as_unit("us")


def _address_key(addresses: pd.Series) -> pd.Series:
    """Lower-cased addresses as an object column (missing ones stay missing)."""
    return addresses.astype(object).str.lower()


def _survey_figures(frames: dict[str, pd.DataFrame], surveys: pd.DataFrame, weeks: list[Any]) -> dict[str, Any]:
    """CSAT (mean, share of 4–5) and NPS per week; the survey module's metrics when present."""
    out: dict[str, Any] = {
        "responses": int(len(surveys)),
        "csat": {"n": 0, "mean": None, "satisfied_share": None, "weekly_mean": {}},
        "nps": {"n": 0, "score": None, "weekly_score": {}},
    }
    labels = [_label(w) for w in weeks]
    if not surveys.empty and "score" in surveys:
        scored = surveys.dropna(subset=["score"])
        week = _week_start(scored["created_at"])
        scored = scored.assign(w=week.to_numpy())
        csat = scored[scored["scale"] == "csat"]
        nps = scored[scored["scale"] == "nps"]
        if len(csat):
            by_week = csat.groupby("w")["score"].mean()
            out["csat"] = {
                "n": int(len(csat)),
                "mean": round(float(csat["score"].mean()), 2),
                "satisfied_share": round(float((csat["score"] >= 4).mean()), 4),
                "weekly_mean": {_label(w): (round(float(by_week[w]), 2) if w in by_week.index else None) for w in weeks},
            }
        if len(nps):
            def score(s: pd.Series) -> float:
                return round(float(((s >= 9).mean() - (s <= 6).mean()) * 100), 1)

            by_week = nps.groupby("w")["score"].apply(score)
            out["nps"] = {
                "n": int(len(nps)),
                "score": score(nps["score"]),
                "weekly_score": {_label(w): (float(by_week[w]) if w in by_week.index else None) for w in weeks},
            }
    if not out["csat"]["weekly_mean"]:
        out["csat"]["weekly_mean"] = dict.fromkeys(labels)
    if not out["nps"]["weekly_score"]:
        out["nps"]["weekly_score"] = dict.fromkeys(labels)
    try:
        from outreach.survey_metrics import survey_metrics
    except ImportError:
        return out
    try:
        out["metrics"] = _jsonable(survey_metrics(frames))
    except (KeyError, ValueError, TypeError) as exc:  # the other module's frames contract may differ
        out["metrics_error"] = str(exc)
    return out


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


def _load(human_in: pd.DataFrame, settings: Settings, weeks: list[Any], budget: dict[str, Any] | None) -> dict[str, Any]:
    """Weekly minutes customers' messages needed against the roster's minutes on duty."""
    from datetime import UTC

    from outreach.throttle import shift_minutes

    cap = settings.capacity
    holidays = frozenset(settings.team.holidays)
    counts = human_in.assign(w=_week_start(human_in["date"]).to_numpy()).groupby("w").size() if not human_in.empty else {}
    weekly: dict[str, dict[str, float]] = {}
    for w in weeks:
        start = w.to_pydatetime().replace(tzinfo=UTC)
        end = start + timedelta(days=7)
        duty = sum(shift_minutes(a, start, end, holidays) for a in cap.agents)
        n = int(counts.get(w, 0)) if len(counts) else 0
        weekly[_label(w)] = {
            "customer_messages": n,
            "demand_minutes": round(n * cap.handle_minutes, 1),
            "capacity_minutes": round(duty * cap.max_utilisation, 1),
        }
    return {
        "handle_minutes": cap.handle_minutes,
        "max_utilisation": cap.max_utilisation,
        "agents": len(cap.agents),
        "weekly": weekly,
        "today": budget or {},
    }


def charts(figures: dict[str, Any]) -> dict[str, str]:
    """Every chart of :data:`CHARTS` as inline SVG, drawn from the figures alone."""
    from outreach import report_charts as rc

    weeks = figures["weeks"]
    out: dict[str, str] = {}
    rt = figures["response_times"]
    out["response-times"] = rc.line_chart(
        "response-times", "Median first response and resolution time per week, business hours", weeks,
        {"first response": list(rt["weekly_first_response_median"].values()),
         "resolution": list(rt["weekly_resolution_median"].values())},
        ylabel="business hours", reference=rt["sla_hours"],
    )
    by_age = figures["backlog"]["by_age"]
    out["backlog-age"] = rc.bar_chart(
        "backlog-age", "Conversations waiting on us, by age", list(by_age), list(by_age.values()),
        ylabel="conversations", color=rc.PALETTE[3],
    )
    kinds = figures["kinds"]
    if kinds:
        cands = figures["candidates_by_kind"]
        drafts = figures["outreach_by_kind"]
        out["outreach-by-kind"] = rc.grouped_bars(
            "outreach-by-kind", "Candidates, drafts and sent emails by kind", kinds,
            {"candidates": [sum(cands.get(k, {}).values()) for k in kinds],
             "drafted": [sum(drafts.get(k, {}).values()) for k in kinds],
             "sent": [drafts.get(k, {}).get("sent", 0) for k in kinds]},
            ylabel="count",
        )
    else:
        out["outreach-by-kind"] = rc.message_chart("outreach-by-kind", "Outreach by kind", "No candidates yet.")
    rates = figures["rates_by_kind"]
    if rates:
        rk = [k for k in kinds if k in rates] or list(rates)
        out["rates-by-kind"] = rc.grouped_bars(
            "rates-by-kind", "Reply and re-engagement rate per kind", rk,
            {"replied": [rates[k]["reply_rate"] for k in rk],
             f"wrote again ≤{figures['definitions']['reengage_days']} d": [rates[k]["reengagement_rate"] for k in rk]},
            percent=True,
        )
    else:
        out["rates-by-kind"] = rc.message_chart("rates-by-kind", "Reply rates", "Nothing sent yet.")
    sv = figures["surveys"]
    if sv["csat"]["n"]:
        out["csat-trend"] = rc.line_chart(
            "csat-trend", "CSAT per week (mean of 1–5)", weeks, {"CSAT": list(sv["csat"]["weekly_mean"].values())},
            ylim=(1, 5.2), ylabel="mean score",
        )
    else:
        out["csat-trend"] = rc.message_chart("csat-trend", "CSAT per week", "No CSAT answers yet.")
    if sv["nps"]["n"]:
        out["nps-trend"] = rc.line_chart(
            "nps-trend", "NPS per week", weeks, {"NPS": list(sv["nps"]["weekly_score"].values())},
            ylim=(-100, 100), reference=0.0, ylabel="NPS",
        )
    else:
        out["nps-trend"] = rc.message_chart("nps-trend", "NPS per week", "No NPS answers yet.")
    themes = figures["themes"]["themes"]
    if themes:
        out["themes"] = rc.bar_chart(
            "themes", "Top complaint themes (negative messages)", [t["theme"] for t in themes],
            [t["messages"] for t in themes], ylabel="negative messages", horizontal=True, color=rc.PALETTE[1],
        )
        out["themes-trend"] = rc.heatmap(
            "themes-trend", "Complaint themes per week", [t["theme"] for t in themes], weeks,
            [list(t["weekly"].values()) for t in themes],
        )
    else:
        out["themes"] = rc.message_chart("themes", "Complaint themes", "No negative messages in the period.")
        out["themes-trend"] = rc.message_chart("themes-trend", "Complaint themes per week", "Nothing to show.")
    weekly = figures["load"]["weekly"]
    out["load-capacity"] = rc.line_chart(
        "load-capacity", "Minutes customers' messages need vs minutes the team has", weeks,
        {"capacity (× utilisation)": [v["capacity_minutes"] for v in weekly.values()]},
        bars={"needed": [v["demand_minutes"] for v in weekly.values()]}, ylabel="agent minutes",
    )
    return out


def render_html(figures: dict[str, Any], settings: Settings) -> str:
    """Render the figures with ``templates/report/report.html.j2`` (self-contained, charts inline)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
    from markupsafe import Markup

    env = Environment(
        loader=FileSystemLoader(str(settings.templates_path / "report")),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
    )
    svg = {name: Markup(markup) for name, markup in charts(figures).items()}
    return env.get_template("report.html.j2").render(f=figures, chart=svg, chart_names=CHARTS)
