"""`outreach sync` against a real Dovecot, through the real store.

First sync, incremental sync, a UIDVALIDITY change (resync adds no
duplicates), a sync process killed mid-run and rerun (every message stored
exactly once), and the customer's mailbox left exactly as it was.
"""

from __future__ import annotations

import mailbox
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sample_messages(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    from outreach.sample import generate

    box = mailbox.mbox(str(generate(tmp_path_factory.mktemp("s"), conversations=250).mbox_path))
    try:
        return [box.get_bytes(k) for k in box.iterkeys()]  # iterating a mailbox yields messages
    finally:
        box.close()


def env_for(dovecot: Any, db: Path) -> dict[str, str]:
    return dovecot.cli_env(
        db,
        OUTREACH_IMAP__FOLDERS='["INBOX"]',
        OUTREACH_IMAP__SENT_FOLDERS='["Sent"]',
        OUTREACH_IMAP__BATCH_SIZE="25",
    )


def sync(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "outreach.cli", "--config", str(REPO / "config" / "demo.toml"), "sync"],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    return out


def count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


def stored_total(db: Path) -> int:
    return count(db, "SELECT count(*) FROM messages") + count(db, "SELECT count(*) FROM quarantine")


def test_first_incremental_and_uidvalidity_resync(dovecot: Any, sample_messages: list[bytes], tmp_path: Path) -> None:
    dovecot.append_many("INBOX", sample_messages[:300])
    flags_before = dovecot.flags("INBOX")
    db = tmp_path / "store.db"
    env = env_for(dovecot, db)
    finish(sync(env, tmp_path))
    assert stored_total(db) == 300
    assert dovecot.flags("INBOX") == flags_before, "sync must not set \\Seen or any flag"
    dovecot.append_many("INBOX", sample_messages[300:310])
    out = finish(sync(env, tmp_path))
    assert "10 fetched" in out and stored_total(db) == 310
    dovecot.set_uidvalidity_change("INBOX")
    out = finish(sync(env, tmp_path))
    assert "310 fetched" in out and "0 new" in out
    assert stored_total(db) == 310
    assert count(db, "SELECT count(*) FROM messages WHERE thread_id IS NULL") == 0


def test_sync_killed_mid_run_stores_every_message_exactly_once(
    dovecot: Any, sample_messages: list[bytes], tmp_path: Path
) -> None:
    dovecot.append_many("INBOX", sample_messages)
    total = len(sample_messages)
    db = tmp_path / "store.db"
    env = env_for(dovecot, db)
    proc = sync(env, tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if db.exists() and count(db, "SELECT count(*) FROM messages") >= 100:
                break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.01)
    assert proc.poll() is None, "sync finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert 0 < stored_total(db) < total
    finish(sync(env, tmp_path))
    assert stored_total(db) == total
    assert count(db, "SELECT count(DISTINCT content_hash) FROM messages") == count(db, "SELECT count(*) FROM messages")
    assert count(db, "SELECT count(*) FROM quarantine") >= 1  # the sample's malformed messages


def sync_showing_imports(env: dict[str, str], cwd: Path) -> tuple[str, set[str]]:
    """Run a sync with ``-X importtime``: its output and the modules it imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "outreach.cli", "--config", str(REPO / "config" / "demo.toml"), "sync"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    return done.stdout, modules


def test_a_sync_with_nothing_new_skips_the_store_layer_and_anything_pending_takes_the_full_path(
    dovecot: Any, sample_messages: list[bytes], tmp_path: Path
) -> None:
    dovecot.append_many("INBOX", sample_messages[:40])
    db = tmp_path / "store.db"
    env = env_for(dovecot, db)
    finish(sync(env, tmp_path))
    out, modules = sync_showing_imports(env, tmp_path)
    assert "0 fetched" in out
    assert "sqlalchemy" not in modules and "outreach.mailparse" not in modules  # answered by the driver and STATUS
    dovecot.append_many("INBOX", sample_messages[40:43])
    out, modules = sync_showing_imports(env, tmp_path)
    assert "3 fetched" in out and "sqlalchemy" in modules
    assert stored_total(db) == 43
    # A message left without its thread (stored by an older version, say) is threaded by the next sync.
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE messages SET thread_id = NULL WHERE id = (SELECT max(id) FROM messages)")
    out, modules = sync_showing_imports(env, tmp_path)
    assert "0 fetched" in out and "1 threaded" in out and "sqlalchemy" in modules
    assert count(db, "SELECT count(*) FROM messages WHERE thread_id IS NULL") == 0


def test_a_large_first_sync_starts_its_parsers_early_and_stores_everything_once(
    dovecot: Any, sample_messages: list[bytes], tmp_path: Path
) -> None:
    dovecot.append_many("INBOX", sample_messages)
    db = tmp_path / "store.db"
    env = {**env_for(dovecot, db), "OUTREACH_IMAP__BATCH_SIZE": "200", "OUTREACH_IMAP__PARSE_WORKERS": "2"}
    out, err = sync(env, tmp_path).communicate(timeout=300)
    assert f"{len(sample_messages)} fetched" in out, err[-2000:]
    assert "in-process" not in err  # the parser processes ran (a failed start falls back, with a warning)
    assert stored_total(db) == len(sample_messages)
    assert count(db, "SELECT count(*) FROM messages WHERE thread_id IS NULL") == 0
