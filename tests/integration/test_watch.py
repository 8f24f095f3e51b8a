"""`outreach watch` on a real Dovecot: new mail is stored within seconds; SIGTERM stops it cleanly."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.integration.test_imap_sync import REPO, env_for


def message(n: int) -> bytes:
    return (
        f"From: Ann <ann{n}@example.com>\r\nTo: support@northwind.example\r\nSubject: Help {n}\r\n"
        f"Message-ID: <watch{n}@example.com>\r\nDate: Thu, 19 Mar 2026 10:00:00 +0000\r\n\r\n"
        "My export keeps failing, could you have a look?\r\n"
    ).encode()


def stored(db: Path) -> set[str]:
    try:
        with sqlite3.connect(db) as conn:
            return {r[0] for r in conn.execute("SELECT message_id FROM messages")}
    except sqlite3.OperationalError:
        return set()


def wait_for(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_watch_syncs_new_mail_within_seconds_and_stops_on_sigterm(dovecot: Any, tmp_path: Path) -> None:
    dovecot.append("INBOX", message(1))
    db = tmp_path / "store.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "outreach.cli", "--config", str(REPO / "config" / "demo.toml"), "watch"],
        cwd=tmp_path, env=env_for(dovecot, db), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    started = wait_for(lambda: "watch1@example.com" in stored(db), 60)
    appended = time.monotonic()
    dovecot.append("INBOX", message(2))
    synced = started and wait_for(lambda: "watch2@example.com" in stored(db), 20)
    latency = time.monotonic() - appended
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert started, f"the start-up sync did not run: {err[-2000:]}"
    assert synced, f"new mail was not synced: {err[-2000:]}"
    assert latency < 10, f"new mail took {latency:.1f} s to be stored"
    assert proc.returncode == 0, err[-2000:]
    assert "stopped after" in out
