"""Deployable flow ``outreach-detect``: find who needs outreach, then draft for them.

Hourly, and also when ``outreach watch`` emits ``outreach.mail.received``
(the deployment's event trigger in ``prefect.yaml``). Detection scores
every thread in one vectorised pass; drafting renders each open candidate
once (a rerun drafts nothing twice).
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.artifacts import emit_pending_review, publish_run_artifacts
from flows.runtime import install_redaction
from flows.tasks import detect_task, draft_task


@flow(name="outreach-detect", log_prints=False)
def detect_flow(config: str | None = None, as_of: str | None = None) -> dict[str, Any]:
    """Detect candidates (kind, priority, reasons) and draft an email for each open one.

    Args:
        config: Config file path (TOML); default: ``$OUTREACH_CONFIG`` or built-in defaults.
        as_of: ISO 8601 time to treat as "now" (reproducible runs); default: the run's start.
    """
    install_redaction()
    found = detect_task(config, as_of)
    drafted = draft_task(config, as_of)
    publish_run_artifacts(found, drafted, None, config=config)
    emit_pending_review(config)
    return {"candidates": len(found), "drafts": drafted}
