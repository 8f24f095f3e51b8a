"""Prefect artifacts and events for every run: what was found, drafted and sent, and why.

No customer data leaves the store this way: rows name threads and drafts by
id, kind, priority and status; reasons keep their numbers but lose the
customer's quoted words and any address (:func:`safe_reason`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from outreach.redact import redact_text

TABLE_ROWS = 200
# A quotation of the customer's words inside a reason: "negative tone −0.71: 'third time I ask…'".
_QUOTE = re.compile(r"""(?<=[\s:(])(['"“‘«„])[^'"”’»“]{2,}?(['"”’»“])(?=[\s.,;:)!?]|$)""")

_UNSET: Any = object()


def safe_reason(text: str) -> str:
    """A reason without quoted customer words or addresses ("…: [quote]")."""
    return redact_text(_QUOTE.sub("[quote]", text or ""))


def candidate_rows(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Table rows for candidates, highest priority first."""
    return [
        {
            "stage": "candidate",
            "draft": None,
            "thread": c["thread_id"],
            "kind": c["kind"],
            "priority": c["priority"],
            "status": "found",
            "why": "; ".join(safe_reason(r) for r in c.get("reasons") or []),
        }
        for c in sorted(found, key=lambda c: (-c["priority"], c["thread_id"]))
    ]


def draft_rows(drafts: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Table rows for drafts: waiting for review, approved but held (with why), sent or failed in 24 h."""
    rows: list[dict[str, Any]] = []
    since = now - timedelta(hours=24)
    for d in drafts:
        status = d["status"]
        if status == "pending_review":
            stage, why = "draft", "waits for an agent's review"
        elif status == "approved":
            stage = "waiting" if d.get("wait_reason") else "draft"
            why = d.get("wait_reason") or "approved; next send run"
        elif status in ("sent", "failed", "unknown") and (d.get("sent_at") or d.get("claimed_at") or now) >= since:
            stage = "send"
            why = {
                "sent": f"sent via {d.get('provider') or '?'}",
                "failed": f"failed: {d.get('error') or '?'}",
                "unknown": "sender stopped between claim and settle; check the provider",
            }[status]
        else:
            continue
        rows.append(
            {
                "stage": stage, "draft": d["id"], "thread": d["thread_id"], "kind": d["kind"],
                "priority": d["priority"], "status": status, "why": safe_reason(why),
            }
        )
    order = {"send": 0, "waiting": 1, "draft": 2}
    rows.sort(key=lambda r: (order[r["stage"]], -r["priority"], r["draft"]))
    return rows


def _markdown(
    found: list[dict[str, Any]] | None,
    drafted: dict[str, Any] | None,
    sent: dict[str, Any] | None,
    budget: dict[str, Any],
    pending: int | None,
) -> str:
    lines = ["## Outreach run", ""]
    if found is not None:
        by_kind: dict[str, int] = {}
        for c in found:
            by_kind[c["kind"]] = by_kind.get(c["kind"], 0) + 1
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items())) or "none"
        lines.append(f"* candidates: **{len(found)}** ({kinds})")
    if drafted is not None:
        lines.append(
            f"* drafts created: **{drafted.get('created', 0)}** ({drafted.get('auto_approved', 0)} auto-approved), "
            f"expired {drafted.get('expired', 0)}, template problems {len(drafted.get('errors') or [])}"
        )
    if pending is not None:
        lines.append(f"* waiting for review: **{pending}**")
    if sent is not None:
        verb = "would send" if sent.get("dry_run") else "sent"
        count = len(sent.get("would_send") or []) if sent.get("dry_run") else sent.get("sent", 0)
        lines.append(
            f"* {verb}: **{count}**, failed {sent.get('failed', 0)}, retry later {sent.get('retry_later', 0)}, "
            f"held by the throttle {sent.get('deferred', 0)}, unknown {sent.get('unknown', 0)}"
        )
    if budget:
        lines += [
            "",
            "### Send budget",
            "",
            "| | |",
            "|---|---|",
            f"| sends left this hour | {budget.get('hour_left', '–')} |",
            f"| sends left in 24 h | {budget.get('day_left', '–')} |",
            f"| agent minutes in the next 24 h (× utilisation) | {_num(budget.get('capacity_minutes'))} |",
            f"| minutes the open backlog needs | {_num(budget.get('backlog_minutes'))} |",
            f"| minutes committed to expected replies | {_num(budget.get('committed_minutes'))} |",
            f"| free minutes | {_num(budget.get('free_minutes'))} |",
            f"| **limited by** | **{budget.get('limited_by', '–')}** |",
        ]
    waits = (sent or {}).get("wait_reasons") or {}
    if waits:
        lines += ["", "### Why drafts wait", "", "| reason | drafts |", "|---|---|"]
        lines += [f"| {safe_reason(r)} | {n} |" for r, n in sorted(waits.items(), key=lambda kv: -kv[1])]
    return "\n".join(lines) + "\n"


def _num(value: Any) -> str:
    return f"{value:,.0f}" if isinstance(value, int | float) else "–"


def publish_run_artifacts(
    found: list[dict[str, Any]] | None,
    drafted: dict[str, Any] | None,
    sent: dict[str, Any] | None,
    *,
    config: str | None = _UNSET,
) -> None:
    """Publish ``outreach-candidates`` (table) and ``outreach-summary`` (markdown with the budget).

    Args:
        found: Candidates of this run (``detect_task`` output), or None when the run did not detect.
        drafted: ``draft_task`` output, or None.
        sent: ``send_task`` output (carries the budget), or None.
        config: When given (even None), the store is read for the drafts table and,
            without a send, today's budget; callers that pass nothing get candidates only.
    """
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    rows = candidate_rows(found or [])
    budget = dict((sent or {}).get("budget") or {})
    pending: int | None = None
    if config is not _UNSET:
        from connectors.store import Store
        from flows import steps
        from flows.tasks import settings_from

        settings = settings_from(config)
        now = datetime.now(UTC)
        with Store.open(settings.store.url) as store:
            drafts = [d for s in ("pending_review", "approved", "sent", "failed", "unknown") for d in store.list_drafts(status=s)]
            rows += draft_rows(drafts, now)
            pending = sum(d["status"] == "pending_review" for d in drafts)
            if not budget:
                budget = steps.budget_today(store, settings, now)
    if rows:
        create_table_artifact(
            key="outreach-candidates",
            table=rows[:TABLE_ROWS],
            description="Candidates, drafts and sends with reasons (ids, kinds and priorities only)",
        )
    create_markdown_artifact(
        key="outreach-summary",
        markdown=_markdown(found, drafted, sent, budget, pending),
        description="Run summary with the send budget and what limits it",
    )


def publish_sync_artifacts(report: dict[str, Any]) -> None:
    """``outreach-sync`` summary: counts per run (no message content)."""
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(
        key="outreach-sync",
        markdown=(
            f"## Sync of `{report.get('source', '?').split(':')[0]}`\n\n"
            f"| folders | fetched | new | already stored | quarantined | threaded |\n|---|---|---|---|---|---|\n"
            f"| {report.get('folders', 0)} | {report.get('fetched', 0)} | {report.get('stored', 0)} | "
            f"{report.get('duplicates', 0)} | {report.get('quarantined', 0)} | {report.get('threaded', 0)} |\n"
        ),
        description="What the sync fetched and stored",
    )


def publish_report_artifact(result: dict[str, Any]) -> None:
    """``outreach-report``: the week's headline numbers and where the HTML file is."""
    from prefect.artifacts import create_markdown_artifact

    f = result["figures"]
    rt = f["response_times"]
    sv = f["surveys"]
    themes = f["themes"]["themes"][:5]
    lines = [
        f"## Outreach report · {f['team']}",
        "",
        f"* conversations **{f['totals']['threads']}**, waiting on us **{f['backlog']['open']}**",
        f"* first response median **{rt['first_response']['median_hours']}** business hours "
        f"(p90 {rt['first_response']['p90_hours']}); resolution median {rt['resolution']['median_hours']}",
        f"* CSAT {sv['csat']['mean'] if sv['csat']['mean'] is not None else '–'} ({sv['csat']['n']} answers), "
        f"NPS {sv['nps']['score'] if sv['nps']['score'] is not None else '–'} ({sv['nps']['n']} answers)",
        f"* sending limited by **{f['load']['today'].get('limited_by', '–')}**",
        "",
        "| complaint theme | negative messages | trend |",
        "|---|---|---|",
        *[f"| {t['theme']} | {t['messages']} | {t['trend']} |" for t in themes],
        "",
        f"Full report: `{result['html']}`",
    ]
    create_markdown_artifact(key="outreach-report", markdown="\n".join(lines) + "\n", description="Weekly report")


def emit_pending_review(config: str | None) -> int:
    """Emit ``outreach.drafts.pending-review`` when drafts wait for an agent (automations notify ops)."""
    from prefect.events import emit_event

    from connectors.store import Store
    from flows.tasks import settings_from

    settings = settings_from(config)
    with Store.open(settings.store.url) as store:
        pending = store.list_drafts(status="pending_review")
    if pending:
        oldest = min(d["created_at"] for d in pending)
        emit_event(
            event="outreach.drafts.pending-review",
            resource={"prefect.resource.id": "outreach.drafts", "prefect.resource.name": "Outreach drafts"},
            payload={"count": len(pending), "oldest": oldest.isoformat() if oldest else None},
        )
    return len(pending)
