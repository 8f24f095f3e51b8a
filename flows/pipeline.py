"""The whole path once: sync → detect → draft → send (``outreach run``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from flows.runtime import prepare_prefect
from outreach.settings import Settings


class PipelineParams(BaseModel):
    """Parameters of the ``outreach-run`` flow."""

    config: str | None = Field(None, description="Config file path (secrets come from env or blocks).")
    source: str = Field("imap", description="imap | mbox:PATH | maildir:PATH")
    as_of: str | None = Field(None, description="ISO 8601 'now' for reproducible runs.")
    dry_run: bool = Field(False, description="Decide sends without sending.")


def _flow() -> Any:
    from prefect import flow

    from flows.tasks import detect_task, draft_task, send_task, sync_task

    @flow(name="outreach-run", log_prints=False)
    def outreach_run(params: PipelineParams) -> dict[str, Any]:
        """Sync the inbox, detect, draft and send once."""
        synced = sync_task(params.config, params.source)
        found = detect_task(params.config, params.as_of)
        drafted = draft_task(params.config, params.as_of)
        sent = send_task(params.config, params.as_of, params.dry_run)
        from flows.artifacts import publish_run_artifacts

        publish_run_artifacts(found, drafted, sent)
        return {"sync": synced, "candidates": found, "drafts": drafted, "send": sent}

    return outreach_run


def summary_rows(result: dict[str, Any]) -> list[tuple[str, Any]]:
    """The summary table people see after a run."""
    by_kind: dict[str, int] = {}
    for c in result["candidates"]:
        by_kind[c["kind"]] = by_kind.get(c["kind"], 0) + 1
    sync, drafts, send = result["sync"], result["drafts"], result["send"]
    rows: list[tuple[str, Any]] = [
        ("messages fetched", sync["fetched"]),
        ("messages stored (new)", sync["stored"]),
        ("quarantined", sync["quarantined"]),
        ("messages threaded", sync["threaded"]),
        ("candidates", len(result["candidates"])),
    ]
    rows += [(f"  {kind}", n) for kind, n in sorted(by_kind.items())]
    rows += [
        ("drafts created", drafts["created"]),
        ("sent", send["sent"]),
        ("failed", send["failed"]),
        ("deferred by the throttle", send["deferred"]),
    ]
    rows += [(f"  waiting: {reason}", n) for reason, n in sorted(send["wait_reasons"].items(), key=lambda kv: -kv[1])]
    if send.get("budget"):
        rows.append(("budget limited by", send["budget"]["limited_by"]))
    return rows


def run_pipeline_with_prefect(
    settings: Settings, *, source: str, as_of: str | None, config: Path | None
) -> dict[str, Any]:
    from connectors.store import redact_url

    prepare_prefect()
    flow = _flow()
    result = flow(PipelineParams(config=str(config) if config else None, source=source, as_of=as_of))
    return {"rows": summary_rows(result), "paths": {"store": redact_url(settings.store.url)}}


def run_demo(settings: Settings, *, config: Path | None) -> dict[str, Any]:
    prepare_prefect()
    from flows.demo import demo_flow

    return demo_flow(str(config) if config else None)
