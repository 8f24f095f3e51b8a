"""Command-line errors: usage errors, bad config and file problems are one clear message, never a traceback.

Each case runs twice: in-process through ``outreach.cli:main`` (the console
entry point) and as a subprocess of the installed ``outreach`` script.
``typer.testing.CliRunner`` is not used for exit codes: it runs typer's
standalone mode, not ``main``, and once hid that ``main`` let usage errors
escape as tracebacks.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from outreach.cli import main

CONSOLE_SCRIPT = Path(sys.executable).with_name("outreach")


@dataclass
class Outcome:
    code: int
    out: str
    err: str


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A clean working folder, an empty SQLite store, and no OUTREACH_* from the caller's environment."""
    for name in list(os.environ):
        if name.startswith("OUTREACH_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OUTREACH_STORE__URL", f"sqlite:///{tmp_path}/s.db")
    yield tmp_path


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> Outcome:
    code = main(list(args))
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def run_script(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> Outcome:
    """The installed console script, with the (already cleaned) environment of this process."""
    assert CONSOLE_SCRIPT.exists(), f"{CONSOLE_SCRIPT} missing: install the package (pip install -e .)"
    result = subprocess.run(
        [str(CONSOLE_SCRIPT), *args], capture_output=True, text=True, input=stdin,
        env={**os.environ, **(env or {})}, timeout=120, check=False,
    )
    return Outcome(result.returncode, result.stdout, result.stderr)


def assert_usage_error(outcome: Outcome, usage: str, *fragments: str) -> None:
    """Exit 2, click's usage line, and one ``Error:`` line holding every fragment (any case).

    Fragments rather than whole lines: real click and typer's vendored copy word some
    errors differently ("No such option: --foo" / "No such option '--foo'").
    """
    assert outcome.code == 2, outcome
    assert "Traceback" not in outcome.err + outcome.out
    assert f"Usage: {usage}" in outcome.err, outcome.err
    error_lines = [line for line in outcome.err.splitlines() if line.startswith("Error: ")]
    assert len(error_lines) == 1, outcome.err
    for fragment in fragments:
        assert fragment.lower() in error_lines[0].lower(), outcome.err


USAGE_ERRORS = [
    (["status", "--foo"], "outreach status", ("No such option", "--foo")),
    (["nosuch"], "outreach ", ("No such command 'nosuch'",)),
    (["send", "--dry-run", "--json"], "outreach send", ("No such option", "--json")),
    (["drafts", "approve"], "outreach drafts approve", ("give draft ids or --all",)),
    (["drafts", "show", "abc"], "outreach drafts show", ("Invalid value for 'draft_id'", "integer")),
    (["drafts", "reject", "4"], "outreach drafts reject", ("Missing option '--reason'",)),
    (["throttle", "simulate", "--days", "0"], "outreach throttle simulate", ("Invalid value for '--days'",)),
    (["detect", "--as-of", "yesterday"], "outreach detect", ("--as-of: not an ISO 8601 time: 'yesterday'",)),
    (["agents", "add", "carol", "--role", "superuser"], "outreach agents add", ("--role: must be one of agent, admin",)),
]


@pytest.mark.parametrize(("args", "usage", "fragments"), USAGE_ERRORS, ids=[" ".join(a) for a, _, _ in USAGE_ERRORS])
def test_usage_error_is_usage_and_one_error_line_exit_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], args: list[str], usage: str, fragments: tuple[str, ...]
) -> None:
    assert_usage_error(run_main(capsys, *args), usage, *fragments)


@pytest.mark.parametrize(
    ("args", "usage", "fragments"),
    [USAGE_ERRORS[0], USAGE_ERRORS[1], USAGE_ERRORS[3], USAGE_ERRORS[7]],
    ids=["unknown option", "unknown command", "raised in a command", "BadParameter from a helper"],
)
def test_usage_error_through_the_console_script(
    workdir: Path, args: list[str], usage: str, fragments: tuple[str, ...]
) -> None:
    assert_usage_error(run_script(*args), usage, *fragments)


def test_watch_without_imap_host_names_the_setting(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for outcome in (run_main(capsys, "watch"), run_script("watch")):
        assert outcome.code == 2, outcome
        assert outcome.err.strip().splitlines() == [
            "outreach: config error: imap.host: is empty; set it (or OUTREACH_IMAP__HOST) to watch an inbox"
        ]


def test_typer_exit_code_is_returned(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``typer.Exit(1)`` from a command (templates check finding problems) is exit 1, without a traceback."""
    monkeypatch.setenv("OUTREACH_PATHS__TEMPLATES_DIR", str(workdir / "no-templates"))
    for outcome in (run_main(capsys, "templates", "check"), run_script("templates", "check")):
        assert outcome.code == 1, outcome
        assert "problem: " in outcome.out and "Traceback" not in outcome.err


def test_approve_all_with_nothing_pending_is_not_an_error(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outcome = run_main(capsys, "drafts", "approve", "--all")
    assert outcome.code == 0, outcome
    assert "no drafts pending review" in outcome.out


@pytest.mark.parametrize(
    ("name", "value", "line"),
    [
        (
            "OUTREACH_TEAM__ADDRESSES", "help@acme.com",
            "outreach: config error: team.addresses: OUTREACH_TEAM__ADDRESSES must be JSON, "
            "e.g. '[\"help@acme.com\"]' (Expecting value in 'help@acme.com')",
        ),
        (
            "OUTREACH_THROTLE__MAX_PER_HOUR", "5",
            "outreach: config error: OUTREACH_THROTLE__MAX_PER_HOUR: unknown settings section 'throtle'; "
            "did you mean 'throttle'?",
        ),
    ],
    ids=["not JSON", "misspelled section"],
)
def test_bad_environment_variable_is_one_line_exit_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str, value: str, line: str
) -> None:
    monkeypatch.setenv(name, value)
    for outcome in (run_main(capsys, "status"), run_script("status")):
        assert outcome.code == 2, outcome
        assert outcome.err.splitlines() == [line]


# -- files -------------------------------------------------------------------------


def test_text_file_that_does_not_exist_is_a_usage_error(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("drafts", "edit", "5", "--text-file", str(workdir / "nonexistent"))
    for outcome in (run_main(capsys, *args), run_script(*args)):
        assert_usage_error(outcome, "outreach drafts edit", f"--text-file: {workdir / 'nonexistent'} does not exist")


def test_report_out_that_is_a_file_is_a_usage_error(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    taken = workdir / "taken"
    taken.write_text("x", encoding="utf-8")
    for outcome in (run_main(capsys, "report", "--out", str(taken)), run_script("report", "--out", str(taken))):
        assert_usage_error(outcome, "outreach report", f"--out: {taken} is a file, not a folder")
    assert taken.read_text(encoding="utf-8") == "x"


def test_report_out_dir_setting_that_is_a_file_is_a_config_error(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = workdir / "taken"
    taken.write_text("x", encoding="utf-8")
    monkeypatch.setenv("OUTREACH_REPORT__OUT_DIR", str(taken))
    outcome = run_main(capsys, "report")
    assert outcome.code == 2
    assert outcome.err.splitlines() == [f"outreach: config error: report.out_dir: {taken} is a file, not a folder"]


def test_config_that_is_a_folder_is_a_config_error(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for outcome in (run_main(capsys, "--config", str(workdir), "status"), run_script("--config", str(workdir), "status")):
        assert outcome.code == 2, outcome
        assert outcome.err.splitlines() == [f"outreach: config error: {workdir}: is a folder, not a config file"]


def test_unsupported_store_is_a_config_error(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTREACH_STORE__URL", "mysql://me:hunter2@db/x")
    for outcome in (run_main(capsys, "status"), run_script("status")):
        assert outcome.code == 2, outcome
        assert outcome.err.splitlines() == [
            "outreach: config error: store.url: unsupported database 'mysql'; use sqlite:///PATH or "
            "postgresql://USER@HOST/DB (schemes: sqlite://, postgresql://, postgresql+psycopg://)"
        ]
