"""``outreach throttle explain`` and ``simulate`` against a seeded store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from connectors.store import Store
from outreach.cli import app
from tests.integration.test_send_exactly_once import seed_approved

THURSDAY_2PM = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)


def config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "t.toml"
    path.write_text(
        f'[store]\nurl = "{url}"\n[throttle]\nmax_per_hour = 5\nmax_per_day = 8\n'
        '[capacity]\nhandle_minutes = 10\nmax_utilisation = 1.0\n'
        '[[capacity.agents]]\nname = "solo"\nhours = "09:00-17:00"\n'
    )
    return path


def test_explain_states_the_budget_and_why_each_draft_waits(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with Store.open(url) as store:
        ids = seed_approved(store, 12, THURSDAY_2PM)
        store.suppress("customer0@example.org", "unsubscribe", "link", THURSDAY_2PM)
    for key in [k for k in __import__("os").environ if k.startswith("OUTREACH_")]:
        monkeypatch.delenv(key)
    result = CliRunner().invoke(
        app, ["--config", str(config(tmp_path, url)), "throttle", "explain", "--as-of", THURSDAY_2PM.isoformat(), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["would_send_now"] == ids[1:6]  # customer0 is suppressed; the hourly cap is 5
    assert data["budget"]["limited_by"] == "the hourly cap"
    reasons = {w["id"]: w["reason"] for w in data["waiting"]}
    assert reasons[ids[0]].startswith("suppressed")
    assert all("hourly cap of 5" in reasons[i] for i in ids[6:])

    table = CliRunner().invoke(
        app, ["--config", str(config(tmp_path, url)), "throttle", "explain", "--as-of", THURSDAY_2PM.isoformat()]
    )
    assert table.exit_code == 0 and "limited by" in table.output and "hourly cap of 5" in table.output


def test_simulate_replays_the_queue_day_by_day(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with Store.open(url) as store:
        seed_approved(store, 30, THURSDAY_2PM)
    for key in [k for k in __import__("os").environ if k.startswith("OUTREACH_")]:
        monkeypatch.delenv(key)
    result = CliRunner().invoke(
        app, ["--config", str(config(tmp_path, url)), "throttle", "simulate", "--days", "3",
              "--as-of", THURSDAY_2PM.isoformat(), "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [d["day"] for d in data["days"]] == ["2026-03-05", "2026-03-06", "2026-03-07"]
    assert all(d["sends"] <= 8 for d in data["days"])
    assert data["days"][2]["sends"] == 0  # Saturday
    assert data["queue_start"] == 30
    text = CliRunner().invoke(
        app, ["--config", str(config(tmp_path, url)), "throttle", "simulate", "--days", "2", "--as-of", THURSDAY_2PM.isoformat()]
    )
    assert text.exit_code == 0 and "2-day replay of 30 approved drafts" in text.output
