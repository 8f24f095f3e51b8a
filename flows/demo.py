"""The demo: the bundled sample mailbox through the whole pipeline (SQLite, file outbox)."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from connectors.store import Store, redact_url
from flows import steps
from flows.pipeline import summary_rows
from flows.tasks import detect_task, draft_task, report_task, send_task, settings_from, sync_task


@task(name="generate-sample", cache_policy=NO_CACHE)
def generate_sample_task(config: str | None) -> dict[str, str]:
    """Write the sample mailbox and start from an empty store and outbox."""
    from outreach.sample import generate

    settings = settings_from(config)
    data = Path(settings.paths.data_dir)
    sample = generate(data / "sample")
    url = settings.store.url
    if url.startswith("sqlite:///"):
        db = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            db.with_name(db.name + suffix).unlink(missing_ok=True)
    else:
        from connectors.store import reset_all

        with Store.open(url) as store:
            reset_all(store)
    shutil.rmtree(settings.outbox.path, ignore_errors=True)
    return {"mbox": str(sample.mbox_path), "truth": str(sample.truth_path), "as_of": sample.as_of.isoformat()}


@task(name="approve-for-demo", cache_policy=NO_CACHE)
def approve_all_task(config: str | None, as_of: str) -> int:
    """In the demo an agent called 'demo' approves every draft (policy still applies)."""
    from dateutil import parser

    settings = settings_from(config)
    with Store.open(settings.store.url) as store:
        ids = [r["id"] for r in store.list_drafts(status="pending_review")]
        done, _refused = steps.approve(store, settings, ids, "demo", parser.isoparse(as_of))
    return len(done)


@flow(name="outreach-demo")
def demo_flow(config: str | None = None) -> dict[str, Any]:
    """Generate the sample mailbox and run sync → detect → draft → approve → send → report."""
    sample = generate_sample_task(config)
    as_of = sample["as_of"]
    synced = sync_task(config, f"mbox:{sample['mbox']}")
    found = detect_task(config, as_of)
    drafted = draft_task(config, as_of)
    approved = approve_all_task(config, as_of)
    sent = send_task(config, as_of)
    report = report_task(config, as_of)
    from flows.artifacts import publish_run_artifacts

    publish_run_artifacts(found, drafted, sent)
    settings = settings_from(config)
    rows = summary_rows({"sync": synced, "candidates": found, "drafts": drafted, "send": sent})
    rows.insert(rows.index(("sent", sent["sent"])), ("approved by 'demo'", approved))
    return {
        "rows": [("sample 'now'", datetime.fromisoformat(as_of).strftime("%a %Y-%m-%d %H:%M UTC")), *rows],
        "paths": {
            "sample mailbox": sample["mbox"],
            "planted truth": sample["truth"],
            "store": redact_url(settings.store.url),
            "outbox": str(Path(settings.outbox.path).resolve()),
            "report": report["html"],
        },
    }
