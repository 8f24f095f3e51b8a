"""`outreach serve` registers every deployment with a real Prefect server and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.flows

REPO = Path(__file__).resolve().parents[2]


def test_serve_registers_every_deployment_and_stops_on_sigterm(prefect_harness: None, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    assert api, "the harness has no API URL"
    wanted = {d["name"] for d in yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]}
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    env.update(
        PREFECT_API_URL=api,
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        OUTREACH_STORE__URL=f"sqlite:///{tmp_path / 'store.db'}",
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "outreach.cli", "serve"], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        found: dict[str, object] = {}
        deadline = time.monotonic() + 120
        with get_client(sync_client=True) as client:
            while time.monotonic() < deadline and set(found) != wanted:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                found = {d.name: d for d in client.read_deployments()}
                time.sleep(1)
        assert set(found) >= wanted, f"registered: {sorted(found)}"
        sync = found["sync"]
        assert sync.global_concurrency_limit is not None and sync.global_concurrency_limit.limit == 1
        assert sync.concurrency_options.collision_strategy.value == "CANCEL_NEW"
        assert [s.schedule.cron for s in sync.schedules] == ["*/5 * * * *"]
        assert all(s.active for s in sync.schedules), "served schedules are active while serving"
        assert found["weekly-report"].parameters == {"config": None, "as_of": None, "out_dir": None}

        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("outreach serve did not stop within 20 s of SIGTERM")
        assert proc.returncode == 0, out[-3000:]
        print(f"stopped {time.monotonic() - started:.1f} s after SIGTERM")
        assert "Traceback" not in out, out[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
