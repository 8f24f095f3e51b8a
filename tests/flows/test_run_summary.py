"""What `outreach run` prints and returns never shows the database password."""

from __future__ import annotations

from typing import Any

import pytest

from flows import pipeline
from outreach.settings import Settings


def test_the_run_summary_names_the_store_without_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "prepare_prefect", lambda: None)
    monkeypatch.setattr(pipeline, "_flow", lambda: lambda params: {})  # the flow itself is tested elsewhere
    monkeypatch.setattr(pipeline, "summary_rows", lambda r: [])
    settings = Settings(store={"url": "postgresql+psycopg://outreach:S3cretDbPass@db.internal/outreach"})
    summary: dict[str, Any] = pipeline.run_pipeline_with_prefect(settings, source="imap", as_of=None, config=None)
    assert summary["paths"]["store"] == "postgresql+psycopg://outreach:***@db.internal/outreach"


def test_send_groups_wait_reasons_without_cutting_them() -> None:
    from flows.steps import _wait_label

    assert _wait_label("outside the send window (09:00-17:00 Europe/Berlin); opens Fri 08:00 UTC") == (
        "outside the send window (09:00-17:00 Europe/Berlin)"
    )
    assert _wait_label("contacted on 2026-03-01; one proactive email per 7 days") == "one proactive email per 7 days"
    assert _wait_label("suppressed: the customer unsubscribed, bounced or complained") == "suppressed"
    assert _wait_label("hourly cap of 20 reached") == "hourly cap of 20 reached"
