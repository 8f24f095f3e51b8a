"""Nothing lost, nothing twice: kill a step mid-run with SIGKILL, rerun, compare with a clean run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def cli_env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    env.update(
        OUTREACH_STORE__URL=f"sqlite:///{db}",
        OUTREACH_SENDER__SIGNING_KEY="test-key",
        OUTREACH_IMAP__BATCH_SIZE="50",
    )
    return env


def outreach(db: Path, *args: str, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "outreach.cli", "--config", str(REPO / "config" / "demo.toml"), *args],
        cwd=cwd, env=cli_env(db), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def finish(proc: subprocess.Popen[bytes]) -> None:
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]


def count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


def kill_when(proc: subprocess.Popen[bytes], db: Path, sql: str, at_least: int) -> None:
    """SIGKILL the process as soon as the store shows it is part-way through."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if db.exists() and count(db, sql) >= at_least:
                break
        except sqlite3.OperationalError:
            pass  # schema not there yet, or the writer holds the lock
        time.sleep(0.02)
    if proc.poll() is not None:
        pytest.fail("the step finished before it could be killed: make the input larger")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def big_mailbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from outreach.sample import generate

    return generate(tmp_path_factory.mktemp("big"), conversations=1200).mbox_path


def test_sync_killed_mid_run_then_rerun_stores_every_message_once(big_mailbox: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference.db"
    finish(outreach(reference, "sync", "--source", f"mbox:{big_mailbox}", cwd=tmp_path))
    crashed = tmp_path / "crashed.db"
    proc = outreach(crashed, "sync", "--source", f"mbox:{big_mailbox}", cwd=tmp_path)
    kill_when(proc, crashed, "SELECT count(*) FROM messages", 200)
    part = count(crashed, "SELECT count(*) FROM messages")
    assert 0 < part < count(reference, "SELECT count(*) FROM messages")
    finish(outreach(crashed, "sync", "--source", f"mbox:{big_mailbox}", cwd=tmp_path))
    for sql in (
        "SELECT count(*) FROM messages",
        "SELECT count(DISTINCT content_hash) FROM messages",
        "SELECT count(*) FROM quarantine",
        "SELECT count(*) FROM threads WHERE status != 'merged'",
    ):
        assert count(crashed, sql) == count(reference, sql), sql
    assert count(crashed, "SELECT count(*) FROM messages WHERE thread_id IS NULL") == 0


def test_draft_killed_mid_run_then_rerun_drafts_each_candidate_once(big_mailbox: Path, tmp_path: Path) -> None:
    from outreach.sample import SAMPLE_AS_OF

    db = tmp_path / "store.db"
    finish(outreach(db, "sync", "--source", f"mbox:{big_mailbox}", cwd=tmp_path))
    finish(outreach(db, "detect", "--as-of", SAMPLE_AS_OF.isoformat(), cwd=tmp_path))
    wanted = count(db, "SELECT count(*) FROM candidates WHERE status = 'open' AND kind != 'call'")
    assert wanted > 50
    proc = outreach(db, "draft", "--as-of", SAMPLE_AS_OF.isoformat(), cwd=tmp_path)
    kill_when(proc, db, "SELECT count(*) FROM drafts", 10)
    assert count(db, "SELECT count(*) FROM drafts") < wanted
    finish(outreach(db, "draft", "--as-of", SAMPLE_AS_OF.isoformat(), cwd=tmp_path))
    assert count(db, "SELECT count(*) FROM drafts") == wanted
    assert count(db, "SELECT count(*) FROM (SELECT candidate_id FROM drafts GROUP BY candidate_id HAVING count(*) > 1)") == 0
    assert count(db, "SELECT count(*) FROM drafts WHERE subject = '' OR text = ''") == 0
    assert count(db, "SELECT count(*) FROM candidates WHERE status = 'open' AND kind != 'call'") == 0
