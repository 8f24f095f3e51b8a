"""The report: figures from the store's frames (pandas), rendered to one HTML file.

``compute_figures`` is pure and returns plain JSON-able data (``outreach
report --json`` prints it); ``render_html`` turns it into a self-contained
page from ``templates/report/``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from outreach.settings import Settings

if TYPE_CHECKING:
    import pandas as pd


def compute_figures(frames: dict[str, pd.DataFrame], settings: Settings, now: datetime) -> dict[str, Any]:
    """Summarise the store for people: volume, backlog, outreach, surveys.

    Args:
        frames: ``messages``, ``threads``, ``outreach`` and ``surveys`` frames
            (see :meth:`connectors.store.Store.frames`).
        settings: For the team's business hours.
        now: The report's "now".
    """
    import pandas as pd

    messages, threads = frames["messages"], frames["threads"]
    outreach, surveys = frames["outreach"], frames["surveys"]
    human_in = messages[(messages["direction"] == "in") & messages["auto_kind"].isna()]

    ts = pd.Timestamp(now)
    unanswered = threads[
        threads["last_customer_at"].notna()
        & (threads["last_staff_at"].isna() | (threads["last_staff_at"] < threads["last_customer_at"]))
    ]
    age_days = (ts - unanswered["last_customer_at"]).dt.total_seconds() / 86400
    buckets = pd.cut(age_days, bins=[-1, 1, 3, 7, 30, 10_000], labels=["<1 d", "1–3 d", "3–7 d", "7–30 d", ">30 d"])
    backlog = {str(k): int(v) for k, v in buckets.value_counts(sort=False).items()}

    first_resp = (threads["first_staff_at"] - threads["first_customer_at"]).dt.total_seconds() / 3600
    first_resp = first_resp[first_resp >= 0]

    by_kind_status: dict[str, dict[str, int]] = {}
    if not outreach.empty:
        table = outreach.groupby(["kind", "status"]).size().unstack(fill_value=0)
        by_kind_status = {str(k): {str(s): int(v) for s, v in row.items()} for k, row in table.iterrows()}
    sent = outreach[outreach["status"] == "sent"] if not outreach.empty else outreach
    reply_rate = {}
    if not sent.empty:
        reply_rate = {str(k): float(v) for k, v in sent.assign(r=sent["replied_at"].notna()).groupby("kind")["r"].mean().items()}

    scores: dict[str, Any] = {"responses": int(len(surveys))}
    if not surveys.empty:
        scored = surveys.dropna(subset=["score"])
        csat = scored[scored["scale"] == "csat"]["score"]
        nps = scored[scored["scale"] == "nps"]["score"]
        scores["csat_mean"] = float(csat.mean()) if len(csat) else None
        if len(nps):
            scores["nps"] = float(((nps >= 9).mean() - (nps <= 6).mean()) * 100)

    weekly = (
        human_in.set_index("date").resample("W")["id"].count() if not human_in.empty else pd.Series(dtype=int)
    )
    return {
        "generated_at": now.isoformat(),
        "team": settings.team.name,
        "totals": {
            "messages": int(len(messages)),
            "customer_messages": int(len(human_in)),
            "threads": int(len(threads)),
            "unanswered_threads": int(len(unanswered)),
        },
        "first_response_hours_median": float(first_resp.median()) if len(first_resp) else None,
        "backlog_by_age": backlog,
        "outreach_by_kind": by_kind_status,
        "reply_rate_by_kind": reply_rate,
        "surveys": scores,
        "customer_messages_by_week": {d.strftime("%Y-%m-%d"): int(n) for d, n in weekly.items()},
        "window": {"from": (now - timedelta(days=42)).isoformat(), "to": now.isoformat()},
    }


def render_html(figures: dict[str, Any], settings: Settings) -> str:
    """Render the figures with ``templates/report/report.html.j2`` (self-contained)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(settings.templates_path / "report")),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
    )
    return env.get_template("report.html.j2").render(f=figures)
