"""Prefect artifacts for every run: what was found, drafted and sent, and why (no customer data)."""

from __future__ import annotations

from typing import Any


def publish_run_artifacts(found: list[dict[str, Any]], drafted: dict[str, Any], sent: dict[str, Any]) -> None:
    """A table of candidates (thread, kind, priority, reasons) and a markdown summary with the budget."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    rows = [
        {"thread": c["thread_id"], "kind": c["kind"], "priority": c["priority"], "reasons": "; ".join(c["reasons"])}
        for c in sorted(found, key=lambda c: -c["priority"])[:200]
    ]
    create_table_artifact(key="outreach-candidates", table=rows, description="Candidates by priority")
    budget = sent.get("budget") or {}
    waits = "\n".join(f"| {reason} | {n} |" for reason, n in sent.get("wait_reasons", {}).items()) or "| – | 0 |"
    create_markdown_artifact(
        key="outreach-summary",
        markdown=(
            f"## Outreach run\n\n"
            f"* candidates: **{len(found)}**\n* drafts created: **{drafted.get('created', 0)}** "
            f"({drafted.get('auto_approved', 0)} auto-approved)\n"
            f"* sent: **{sent.get('sent', 0)}**, failed {sent.get('failed', 0)}, waiting {sent.get('deferred', 0)}\n"
            f"* budget: {budget.get('hour_left', '–')} this hour, {budget.get('day_left', '–')} in 24 h, "
            f"limited by **{budget.get('limited_by', '–')}**\n\n| why waiting | drafts |\n|---|---|\n{waits}\n"
        ),
        description="Run summary with the send budget",
    )
