"""The `outreach-run` flow under a real Prefect test server."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.store import Store
from outreach.settings import Settings

pytestmark = pytest.mark.flows


def test_run_flow_moves_work_along_and_publishes_artifacts(
    prefect_harness: None, settings: Settings, small_sample: Path, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client

    from flows.pipeline import PipelineParams, _flow
    from outreach.sample import SAMPLE_AS_OF

    params = PipelineParams(config=None, source=f"mbox:{small_sample}", as_of=SAMPLE_AS_OF.isoformat())
    # The flow reloads settings from env (the `settings` fixture set it up) and the demo config's team.
    import os

    os.environ["OUTREACH_TEAM__DOMAINS"] = '["northwind.example"]'
    os.environ["OUTREACH_TEAM__ADDRESSES"] = '["support@northwind.example"]'
    os.environ["OUTREACH_SENDER__FROM_ADDRESS"] = "support@northwind.example"
    os.environ["OUTREACH_DRAFTS__AUTO_APPROVE"] = '["survey", "follow_up", "check_in", "apology"]'
    try:
        first = _flow()(params)
        second = _flow()(params)
    finally:
        for key in ("TEAM__DOMAINS", "TEAM__ADDRESSES", "SENDER__FROM_ADDRESS", "DRAFTS__AUTO_APPROVE"):
            os.environ.pop(f"OUTREACH_{key}", None)
    assert first["sync"]["stored"] > 100
    assert first["candidates"], "no candidates from the sample"
    assert first["drafts"]["created"] > 0 and first["send"]["sent"] > 0
    # Idempotent: the second run stores, drafts and sends nothing new.
    assert second["sync"]["stored"] == 0
    assert second["drafts"]["created"] == 0
    with Store.open(settings.store.url) as store:
        status = store.status(SAMPLE_AS_OF)
    assert status["drafts"]["sent"] == first["send"]["sent"] + second["send"]["sent"]
    assert len(list(Path(settings.outbox.path).glob("*.eml"))) == status["drafts"]["sent"]
    with get_client(sync_client=True) as client:
        keys = {a.key for a in client.read_artifacts()}
    assert {"outreach-candidates", "outreach-summary"} <= keys
