"""Prefect tasks: each wraps one step and works on a whole batch.

Tasks with side effects use no cache; the send task has no retries because a
blind retry around a provider call could send twice (the step itself retries
what is safe to retry and reconciles the rest).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from connectors.factory import make_sender, make_source
from connectors.store import Store
from flows import steps
from outreach.settings import Settings, load_settings


def settings_from(config: str | None) -> Settings:
    return load_settings(config)


def now_from(as_of: str | None) -> datetime:
    if not as_of:
        return datetime.now(UTC)
    from dateutil import parser

    when = parser.isoparse(as_of)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@task(name="sync", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[10, 60])
def sync_task(config: str | None, source: str) -> dict[str, Any]:
    settings = settings_from(config)
    src = make_source(settings, source)
    try:
        with Store.open(settings.store.url) as store:
            report = steps.sync(store, src, settings)
    finally:
        src.close()
    get_run_logger().info(
        "synced %s: %d fetched, %d new, %d quarantined", src.name, report.fetched, report.stored, report.quarantined
    )
    return {k: getattr(report, k) for k in report.__slots__}


@task(name="detect", cache_policy=NO_CACHE)
def detect_task(config: str | None, as_of: str | None) -> list[dict[str, Any]]:
    settings = settings_from(config)
    with Store.open(settings.store.url) as store:
        found = steps.detect(store, settings, now_from(as_of))
    return [
        {"thread_id": c.thread_id, "kind": c.kind, "priority": c.priority, "reasons": c.reasons} for c in found
    ]


@task(name="draft", cache_policy=NO_CACHE)
def draft_task(config: str | None, as_of: str | None) -> dict[str, Any]:
    settings = settings_from(config)
    with Store.open(settings.store.url) as store:
        report = steps.draft(store, settings, now_from(as_of))
    return {k: getattr(report, k) for k in report.__slots__}


@task(name="send", cache_policy=NO_CACHE, retries=0)
def send_task(config: str | None, as_of: str | None, dry_run: bool = False) -> dict[str, Any]:
    settings = settings_from(config)
    sender = make_sender(settings)
    try:
        with Store.open(settings.store.url) as store:
            report = steps.send(store, sender, settings, now_from(as_of), dry_run=dry_run)
    finally:
        sender.close()
    return {k: getattr(report, k) for k in report.__slots__}


@task(name="report", cache_policy=NO_CACHE)
def report_task(config: str | None, as_of: str | None, out_dir: str | None = None) -> dict[str, Any]:
    settings = settings_from(config)
    with Store.open(settings.store.url) as store:
        result = steps.report(store, settings, out_dir or settings.report.out_dir, now_from(as_of))
    return {"html": str(result.html_path), "json": str(result.json_path), "figures": result.figures}
