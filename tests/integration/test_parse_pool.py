"""Parsing in parallel processes: same results, fetch order kept, nothing left behind when killed."""

from __future__ import annotations

import mailbox
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from outreach.ingest import POOL_MIN_BATCH, POOL_MIN_BYTES, BatchParser, parse_batch
from outreach.models import RawMessage
from outreach.ports import FolderBatch
from outreach.settings import Settings
from tests.servers.common import descendants, mail_with_attachment

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sample_mbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from outreach.sample import generate

    return generate(tmp_path_factory.mktemp("pool"), conversations=1200).mbox_path


def _raws(mbox_path: Path, limit: int) -> list[RawMessage]:
    box = mailbox.mbox(str(mbox_path))
    try:
        datas = [box.get_bytes(k) for k in box.keys()[:limit]]
    finally:
        box.close()
    when = datetime(2024, 5, 1, tzinfo=UTC)
    return [RawMessage("INBOX", 7, i + 1, d, False, when) for i, d in enumerate(datas)]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_pool_results_equal_in_process_results_in_fetch_order(sample_mbox: Path) -> None:
    settings = Settings(team={"domains": ["northwind.example"]})
    raws = _raws(sample_mbox, 1500)
    sizes = [POOL_MIN_BATCH, 7, POOL_MIN_BATCH + 50, POOL_MIN_BATCH, 3, POOL_MIN_BATCH + 100, 40]
    batches: list[FolderBatch] = []
    start = 0
    for size in sizes:
        chunk = raws[start : start + size]
        batches.append(FolderBatch("INBOX", 7, chunk, chunk[-1].uid))
        start += size
    # Three messages with attachments: few, but as much to ship and parse as hundreds.
    heavy = [RawMessage("INBOX", 7, 9000 + n, mail_with_attachment(n, POOL_MIN_BYTES // 2), False, None) for n in range(3)]
    batches.insert(2, FolderBatch("INBOX", 7, heavy, heavy[-1].uid))
    worker_pids: set[int] = set()
    with BatchParser(settings, workers=2) as parser:
        got = []
        for batch, stored, bad in parser.parse(iter(batches)):
            got.append((batch, stored, bad))
            if parser._pool is not None:
                worker_pids |= set(parser._pool._processes)
        assert parser.pooled == 5, "every large batch (by count or bytes) goes to the pool, small ones stay here"
    assert [b for b, _, _ in got] == batches
    for batch, stored, bad in got:
        assert (stored, bad) == parse_batch(batch.messages, settings)
    assert any(m.tone is not None for _, stored, _ in got for m in stored), "tone is scored in the workers"
    assert worker_pids, "the pool never started"
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in worker_pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in worker_pids), "parser processes outlived the parser"


def test_batches_waiting_for_the_pool_are_bounded_by_bytes(sample_mbox: Path) -> None:
    settings = Settings(team={"domains": ["northwind.example"]})
    raws = _raws(sample_mbox, POOL_MIN_BATCH * 4)
    batches = [
        FolderBatch("INBOX", 7, raws[i : i + POOL_MIN_BATCH], raws[i + POOL_MIN_BATCH - 1].uid)
        for i in range(0, len(raws), POOL_MIN_BATCH)
    ]
    one_batch = sum(len(m.data) for m in batches[0].messages)
    pulled: list[int] = []

    def source() -> Iterator[FolderBatch]:
        for number, batch in enumerate(batches, 1):
            pulled.append(number)
            yield batch

    parser = BatchParser(settings, workers=2)
    parser.MAX_PENDING_BYTES = one_batch + one_batch // 2  # room for one batch and a half
    with parser:
        results = parser.parse(source())
        first, _, _ = next(results)
        # Two batches exceed the bound: the first result was awaited before a third was read.
        assert first is batches[0] and len(pulled) == 2
        assert [b for b, _, _ in results] == batches[1:]
        assert parser.pooled == 4


def test_a_message_too_large_to_ship_is_parsed_in_this_process(sample_mbox: Path) -> None:
    settings = Settings(team={"domains": ["northwind.example"]})
    raws = _raws(sample_mbox, POOL_MIN_BATCH * 2)
    giant = [RawMessage("INBOX", 7, 9999, mail_with_attachment(1, POOL_MIN_BYTES * 2), False, None)]
    batches = [
        FolderBatch("INBOX", 7, raws[:POOL_MIN_BATCH], raws[POOL_MIN_BATCH - 1].uid),
        FolderBatch("INBOX", 7, giant, 9999),
        FolderBatch("INBOX", 7, raws[POOL_MIN_BATCH:], raws[-1].uid),
    ]
    parser = BatchParser(settings, workers=2)
    parser.MAX_PENDING_BYTES = POOL_MIN_BYTES  # the giant batch is twice that
    with parser:
        got = list(parser.parse(iter(batches)))
        assert parser.pooled == 2, "only the two ordinary batches were shipped"
    assert [b for b, _, _ in got] == batches  # still in fetch order
    assert got[1][1][0].parsed.attachments == ("export.log",)


def test_one_worker_never_starts_a_pool(sample_mbox: Path) -> None:
    settings = Settings()
    raws = _raws(sample_mbox, POOL_MIN_BATCH * 2)
    batches = [FolderBatch("INBOX", 7, raws[:POOL_MIN_BATCH], POOL_MIN_BATCH), FolderBatch("INBOX", 7, raws[POOL_MIN_BATCH:], len(raws))]
    with BatchParser(settings, workers=1) as parser:
        out = list(parser.parse(batches))
        assert parser._pool is None and parser.pooled == 0
    assert [b for b, _, _ in out] == batches


def _cli(db: Path, mbox: Path, workers: int, cwd: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    env.update(
        OUTREACH_STORE__URL=f"sqlite:///{db}",
        OUTREACH_IMAP__BATCH_SIZE=str(POOL_MIN_BATCH),
        OUTREACH_IMAP__PARSE_WORKERS=str(workers),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "outreach.cli", "--config", str(REPO / "config" / "demo.toml"), "sync", "--source", f"mbox:{mbox}"],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


def _finish(proc: subprocess.Popen[bytes]) -> str:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]
    return err.decode()


def test_sync_killed_while_the_pool_parses_leaves_no_parser_and_rerun_matches(sample_mbox: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference.db"
    _finish(_cli(reference, sample_mbox, 1, tmp_path))  # parsed in-process: the expected store
    db = tmp_path / "killed.db"
    proc = _cli(db, sample_mbox, 2, tmp_path)
    helpers: set[int] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        helpers |= descendants(proc.pid)
        try:
            if db.exists() and _count(db, "SELECT count(*) FROM messages") >= 2 * POOL_MIN_BATCH:
                break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.02)
    helpers |= descendants(proc.pid)
    assert proc.poll() is None, "sync finished before it could be killed: make the mailbox larger"
    assert len(helpers) >= 3, "fork server and two parsers expected while syncing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    # Orphaned parsers would keep the stdout pipe open: reading to EOF must finish.
    started = time.monotonic()
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read()
    proc.stderr.read()
    assert time.monotonic() - started < 10
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in helpers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in helpers), "parser processes survived a killed sync"
    part = _count(db, "SELECT count(*) FROM messages")
    total = _count(reference, "SELECT count(*) FROM messages")
    assert 0 < part < total
    # The parsers re-run the main module; nothing of that reaches an operator's terminal.
    assert "Warning" not in _finish(_cli(db, sample_mbox, 2, tmp_path))
    for sql in (
        "SELECT count(*) FROM messages",
        "SELECT count(DISTINCT content_hash) FROM messages",
        "SELECT count(*) FROM quarantine",
        "SELECT count(*) FROM threads WHERE status != 'merged'",
        "SELECT count(*) FROM messages WHERE tone IS NOT NULL",
    ):
        assert _count(db, sql) == _count(reference, sql), sql
    with sqlite3.connect(db) as a, sqlite3.connect(reference) as b:
        q = "SELECT content_hash, direction, tone, reply_text, language FROM messages ORDER BY content_hash"
        assert a.execute(q).fetchall() == b.execute(q).fetchall()
