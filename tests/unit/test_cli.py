"""The CLI contract: every command has --help; a bad config is one line and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COMMANDS = [
    [], ["demo"], ["sync"], ["detect"], ["draft"], ["drafts"], ["drafts", "list"], ["drafts", "show"],
    ["drafts", "approve"], ["drafts", "reject"], ["drafts", "edit"], ["drafts", "unknown"], ["send"], ["run"],
    ["report"], ["status"], ["quarantine", "list"], ["check"], ["watch"], ["serve"],
]


def outreach(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "outreach.cli", *args],
        capture_output=True, text=True, env=full_env, cwd=cwd or REPO, timeout=120, check=False,
    )


def test_every_command_has_help() -> None:
    from typer.testing import CliRunner

    from outreach.cli import app

    runner = CliRunner()
    for command in COMMANDS:
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage" in result.output


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[throttle]\nmax_per_hour = 'many'\n", "throttle.max_per_hour: Input should be a valid integer"),
        ("[store]\nurll = 'x'\n", "store.urll: unknown setting"),
        ("[team]\nhours = '9 to 5'\n", "team.hours:"),
    ],
)
def test_bad_config_exits_2_with_one_line(tmp_path: Path, toml: str, expected: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(toml, encoding="utf-8")
    result = outreach("--config", str(config), "status", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("outreach: config error: ") and expected in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_environment_value_is_a_config_error(tmp_path: Path) -> None:
    result = outreach("status", env={"OUTREACH_THROTTLE__MAX_PER_DAY": "lots"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "throttle.max_per_day" in result.stderr and "Traceback" not in result.stderr


def test_status_on_an_empty_store_as_json(tmp_path: Path) -> None:
    import json

    result = outreach("status", "--json", env={"OUTREACH_STORE__URL": f"sqlite:///{tmp_path}/s.db"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["messages"] == 0 and data["drafts"]["pending_review"] == 0
    assert data["budget"]["day_left"] == 100


def test_unknown_draft_is_one_line_exit_1(tmp_path: Path) -> None:
    result = outreach("drafts", "show", "42", env={"OUTREACH_STORE__URL": f"sqlite:///{tmp_path}/s.db"}, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "outreach: draft 42 does not exist"
