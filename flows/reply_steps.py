"""The step that acts on customers' replies to our outreach (no Prefect import).

``flows.steps.sync`` calls :func:`process_replies` right after threading, so
every sync (CLI or flow) reads new survey answers, stops automation on
threads the customer answered, and opens close-the-loop candidates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from connectors.store import Store
from connectors.survey_store import apply_reply_plan, reply_inputs
from outreach.replies import plan_replies
from outreach.settings import Settings

log = logging.getLogger("outreach.replies")


@dataclass(slots=True)
class RepliesReport:
    """What one pass over the replies changed (counts only: no addresses, no text)."""

    seen: int = 0
    ignored_auto: int = 0
    replied: int = 0
    stopped: int = 0
    held: int = 0
    responses: int = 0
    needs_review: int = 0
    candidates: int = 0


def process_replies(store: Store, settings: Settings, now: datetime | None = None) -> RepliesReport:
    """Read the replies to our drafts and act on them; idempotent.

    Args:
        store: The open store (messages already threaded).
        settings: All settings (``[surveys]`` decides scale, window and the loop).
        now: "Now" (defaults to the clock).

    Returns:
        Counts of what changed.
    """
    now = now or datetime.now(UTC)
    replies, drafts, existing = reply_inputs(store, now, settings.surveys.link_expiry_days)
    report = RepliesReport(seen=len(replies))
    if not replies:
        return report
    plan = plan_replies(replies, drafts, existing, settings.surveys)
    counts = apply_reply_plan(store, plan, now)
    report.ignored_auto = plan.ignored_auto
    report.replied = counts["replied"]
    report.stopped = counts["stopped"]
    report.held = counts["held"]
    report.responses = counts["responses"]
    report.needs_review = sum(r.needs_review for r in plan.responses)
    report.candidates = counts["candidates"]
    if counts["replied"] or counts["responses"] or counts["candidates"]:
        log.info(
            "replies: %d read, %d drafts answered, %d threads stopped, %d survey answers, %d loop candidates",
            report.seen, report.replied, report.stopped, report.responses, report.candidates,
        )
    return report
