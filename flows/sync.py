"""Deployable flow ``outreach-sync``: fetch new mail into the store and thread it.

Scheduled every five minutes with a concurrency limit of one that cancels a
new run while one is still going (``prefect.yaml``): a long backfill is
never raced by a second sync. The mailbox is read in batches of at most
``imap.batch_size`` messages and ``imap.batch_megabytes`` inside one task, so a
100,000-message backfill is a single task run with a few hundred transactions,
not thousands of tasks.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.artifacts import publish_sync_artifacts
from flows.runtime import install_redaction
from flows.tasks import sync_task


@flow(name="outreach-sync", log_prints=False)
def sync_flow(config: str | None = None, source: str = "imap") -> dict[str, Any]:
    """Fetch what is new in every folder, store it once and rebuild the conversations.

    Args:
        config: Config file path (TOML); default: ``$OUTREACH_CONFIG`` or built-in defaults.
            Secrets never come from it: env ``OUTREACH_*`` or Prefect Secret blocks.
        source: ``imap`` (the configured account), ``mbox:PATH`` or ``maildir:PATH``.
    """
    install_redaction()
    report = sync_task(config, source)
    publish_sync_artifacts(report)
    return report
