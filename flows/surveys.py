"""The survey loop as a flow (``outreach-surveys``): sync → replies → detect → draft.

Thin on purpose: every task calls one step of ``flows.steps`` /
``flows.reply_steps`` on the whole batch, and none caches (each has side
effects on the store). ``sync`` already processes replies; the explicit
replies task after it reports what the replies changed (and, being
idempotent, changes nothing twice). Close-the-loop candidates are drafted
for an agent's review; this flow sends nothing.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from flows.runtime import install_redaction
from flows.tasks import detect_task, draft_task, now_from, settings_from, sync_task


class SurveyParams(BaseModel):
    """Parameters of the ``outreach-surveys`` flow."""

    config: str | None = Field(None, description="Config file path (secrets come from env or blocks).")
    source: str = Field("imap", description="imap | mbox:PATH | maildir:PATH")
    as_of: str | None = Field(None, description="ISO 8601 'now' for reproducible runs.")


@task(name="replies", cache_policy=NO_CACHE)
def replies_task(config: str | None, as_of: str | None) -> dict[str, Any]:
    """Read replies to our drafts: answers, stop automation, close-the-loop candidates."""
    from dataclasses import asdict

    from connectors.store import Store
    from flows.reply_steps import process_replies

    settings = settings_from(config)
    with Store.open(settings.store.url) as store:
        report = process_replies(store, settings, now_from(as_of))
    get_run_logger().info(
        "replies: %d read, %d survey answers (%d for review), %d loop candidates, %d threads stopped",
        report.seen, report.responses, report.needs_review, report.candidates, report.stopped,
    )
    return asdict(report)


@flow(name="outreach-surveys", log_prints=False)
def outreach_surveys(params: SurveyParams) -> dict[str, Any]:
    """Sync the inbox, act on replies and survey answers, detect, and draft the loop's emails."""
    install_redaction()
    synced = sync_task(params.config, params.source)
    replies = replies_task(params.config, params.as_of)
    found = detect_task(params.config, params.as_of)
    drafted = draft_task(params.config, params.as_of)
    return {"sync": synced, "replies": replies, "candidates": found, "drafts": drafted}


__all__ = ["SurveyParams", "outreach_surveys", "replies_task"]
