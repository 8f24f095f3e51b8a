"""The deployable flows under a real Prefect server: detect, send (window skip), report, artifacts.

Artifacts must carry no customer address and no quoted customer words.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from connectors.factory import make_source
from connectors.store import Store
from flows import steps
from outreach.settings import Settings

pytestmark = pytest.mark.flows

REPO = Path(__file__).resolve().parents[2]
DEMO = str(REPO / "config" / "demo.toml")


def test_detect_send_report_flows_publish_artifacts_without_customer_data(
    prefect_harness: None, settings: Settings, small_sample: Path, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client

    from flows.detect import detect_flow
    from flows.report import report_flow
    from flows.send import send_flow
    from outreach.sample import SAMPLE_AS_OF

    with Store.open(settings.store.url) as store:
        steps.sync(store, make_source(settings, f"mbox:{small_sample}"), settings)
        customers = {c.lower() for c in store.frames()["customers"]["address"]}
    as_of = SAMPLE_AS_OF.isoformat()

    detected = detect_flow(config=DEMO, as_of=as_of)
    assert detected["candidates"] > 0 and detected["drafts"]["created"] > 0

    sunday = "2026-03-22T12:00:00+00:00"
    skipped = send_flow(config=DEMO, as_of=sunday)
    assert skipped["skipped"] is True and skipped["next_open"] > sunday
    inside = send_flow(config=DEMO, as_of=as_of, dry_run=True)
    assert inside["skipped"] is False and inside["dry_run"] is True

    out = tmp_path / "weekly"
    reported = report_flow(config=DEMO, as_of=as_of, out_dir=str(out))
    assert Path(reported["html"]).is_file() and Path(reported["html"]).parent == out

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts()
    by_key = {a.key: a for a in artifacts}
    assert {"outreach-candidates", "outreach-summary", "outreach-report"} <= set(by_key)
    summary = str(by_key["outreach-summary"].data)
    assert "limited by" in summary
    rows = []  # every version: detect publishes candidates and drafts, send its drafts and sends
    for artifact in artifacts:
        if artifact.key == "outreach-candidates":
            rows += json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    stages = {r["stage"] for r in rows}
    assert {"candidate", "draft"} <= stages, stages
    assert all(set(r) == {"stage", "draft", "thread", "kind", "priority", "status", "why"} for r in rows)
    assert "[quote]" in " ".join(r["why"] for r in rows if r["stage"] == "candidate")
    for artifact in artifacts:
        text = str(artifact.data).lower()
        leaked = [c for c in customers if c in text]
        assert not leaked, (artifact.key, leaked[:3])
        assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text), artifact.key


def test_a_rotated_refresh_token_is_kept_in_its_prefect_secret_block(prefect_harness: None, http_stub) -> None:  # noqa: ANN001
    """Microsoft's first refresh token expires after 90 days: the newest one must outlive the process."""
    from urllib.parse import parse_qs

    from prefect.blocks.system import Secret

    from connectors.factory import imap_credentials
    from outreach.settings import ImapSettings
    from tests.servers.http_stub import StubResponse

    Secret(value="1//first-refresh-token").save("outreach-test-refresh", overwrite=True)
    http_stub.default = lambda _request: StubResponse(
        200, {}, {"access_token": "at-1", "expires_in": 3600, "refresh_token": "1//rotated-refresh-token"}
    )
    imap = ImapSettings(
        host="outlook.office365.com", username="support@acme.example", auth="xoauth2",
        oauth2_token_url=f"{http_stub.url}/token", oauth2_client_id="client-1",
        oauth2_refresh_token_block="outreach-test-refresh",
    )
    _, token = imap_credentials(imap)
    assert callable(token) and token() == "at-1"
    [grant] = http_stub.requests
    assert parse_qs(grant.body.decode())["refresh_token"] == ["1//first-refresh-token"]  # read from the block
    assert Secret.load("outreach-test-refresh").get() == "1//rotated-refresh-token"


def test_outreach_check_reaches_the_prefect_api(prefect_harness: None, settings: Settings) -> None:
    from connectors.preflight import run_checks

    [check] = [c for c in run_checks(settings) if c.name == "prefect"]
    assert check.outcome == "ok" and "reachable" in check.detail
    assert check.detail.startswith("http://127.0.0.1:")  # the test server's API
