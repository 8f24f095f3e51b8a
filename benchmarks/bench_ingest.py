"""Full ingest of a 20,000-message mailbox from a local Dovecot (issue 3's targets).

Measured in one run against the same server and mailbox:

- the ceiling: a bare ``UID FETCH 1:* (BODY.PEEK[])`` with the standard library's imaplib;
- ``mbsync`` (isync) copying the mailbox to a Maildir;
- the whole ``outreach sync`` process (fetch + parse + tone + thread + store into a fresh
  SQLite), as a ratio to both, with its peak memory: the process's own (max RSS from
  ``wait4``) and the sum over it and its parser processes (PSS sampled from ``/proc``);
  the project's bytecode is compiled first, as an installed package has it;
- a sync with nothing new: the whole process, and the step alone in-process;
- peak memory syncing a folder of mail with attachments (about 300 MB), with batches
  bounded by ``imap.batch_megabytes`` and, for comparison, by message count alone; and
  syncing one 100 MB message.

The mailbox is the sample generator's conversations, repeated with fresh Message-IDs
until it holds 20,000 messages (so threading and parsing see realistic mail).
"""

from __future__ import annotations

import imaplib
import mailbox
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MESSAGES = int(os.environ.get("OUTREACH_BENCH_INGEST_MESSAGES", "20000"))
ATTACHED = int(os.environ.get("OUTREACH_BENCH_ATTACHED_MESSAGES", "150"))
ATTACHMENT_BYTES = 2_000_000
REPO = Path(__file__).resolve().parent.parent
_MID = re.compile(rb"<([^<>@\s]+)@")


def _mailbox(count: int, tmp: Path) -> list[bytes]:
    """Sample conversations, copied with a suffix on every Message-ID until ``count`` messages."""
    from outreach.sample import generate

    box = mailbox.mbox(str(generate(tmp, conversations=320).mbox_path))
    try:
        originals = [box.get_bytes(k) for k in box.iterkeys()]  # iterating a mailbox yields messages
    finally:
        box.close()
    out: list[bytes] = []
    copy = 0
    while len(out) < count:
        suffix = f".c{copy}".encode()
        for data in originals:
            out.append(data if copy == 0 else _MID.sub(lambda m, s=suffix: b"<" + m.group(1) + s + b"@", data))
            if len(out) == count:
                break
        copy += 1
    return out


def _pss_kb(pid: int) -> int:
    """Proportional set size: shared pages (the fork server's, copy-on-write) counted once overall."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _tree_memory_kb(root: int) -> int:
    """Memory of ``root`` and every process under it (parser pool included), in KB (PSS)."""
    from tests.servers.common import descendants

    return sum(_pss_kb(pid) for pid in {root} | descendants(root))


def _timed_child(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int, int, str]:
    """Run a process; wall seconds, its own peak RSS and its whole tree's sampled peak (MB), stdout."""
    import threading

    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _tree_memory_kb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    if os.path.isdir("/proc"):
        sampler.start()
    err_chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read() if proc.stderr else b""))
    reader.start()
    out = proc.stdout.read() if proc.stdout else b""
    reader.join()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    done.set()
    if sampler.is_alive():
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = b"".join(err_chunks)
        raise RuntimeError(f"{argv[0]} failed: {err.decode(errors='replace')[-500:]}")
    return elapsed, usage.ru_maxrss // 1024, peak[0] // 1024, out.decode(errors="replace")


def _bare_fetch(host: str, port: int, user: str, password: str) -> tuple[float, int]:
    conn = imaplib.IMAP4(host, port)
    try:
        conn.login(user, password)
        conn.select("INBOX", readonly=True)
        started = time.perf_counter()
        _, data = conn.uid("FETCH", "1:*", "(BODY.PEEK[])")
        elapsed = time.perf_counter() - started
        return elapsed, sum(1 for item in data if isinstance(item, tuple))
    finally:
        conn.logout()


def _mbsync(host: str, port: int, user: str, password: str, tmp: Path) -> float | None:
    if not shutil.which("mbsync"):
        return None
    target = tmp / "mbsync-maildir"
    target.mkdir()
    config = tmp / "mbsyncrc"
    config.write_text(
        f"IMAPAccount bench\nHost {host}\nPort {port}\nUser {user}\nPass {password}\nSSLType None\n"
        "AuthMechs LOGIN\n\nIMAPStore remote\nAccount bench\n\n"
        f"MaildirStore local\nPath {target}/\nInbox {target}/INBOX\n\n"
        "Channel bench\nFar :remote:\nNear :local:\nPatterns INBOX\nCreate Near\nSync Pull\nSyncState *\n",
        encoding="utf-8",
    )
    started = time.perf_counter()
    done = subprocess.run(
        ["mbsync", "-c", str(config), "-a", "-q"], capture_output=True, timeout=600, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"mbsync failed: {done.stderr.strip()[-400:]}")
    return time.perf_counter() - started


def _workers() -> str:
    from outreach.ingest import default_workers

    return f"{default_workers()} (imap.parse_workers = 0: one per CPU, at most 4)"


def run() -> list[str]:
    """Measure and return printable lines."""
    if not os.access("/usr/sbin/dovecot", os.X_OK):
        return ["skipped: /usr/sbin/dovecot not installed (apt-get install dovecot-imapd)"]
    from tests.servers.dovecot import make_server

    tmp = Path(tempfile.mkdtemp(prefix="outreach-bench-ingest-"))
    (tmp / "dovecot").mkdir()
    tmp.chmod(0o755)  # Dovecot's mail processes (nobody when root) traverse it
    server = make_server(tmp / "dovecot")
    server._write_users(1)
    server.start()
    try:
        user = server.add_user()
        messages = _mailbox(MESSAGES, tmp / "sample")
        size = sum(map(len, messages))
        for start in range(0, len(messages), 2000):
            user.append_many("INBOX", messages[start : start + 2000])
        _bare_fetch(server.host, server.port, user.user, user.password)  # warm Dovecot's index
        bare, fetched = min(_bare_fetch(server.host, server.port, user.user, user.password) for _ in range(3))
        mbsync = _mbsync(server.host, server.port, user.user, user.password, tmp)

        env = user.cli_env(
            tmp / "store.db", OUTREACH_IMAP__SENT_FOLDERS="[]", OUTREACH_TEAM__DOMAINS='["northwind.example"]'
        )
        # An installed package has bytecode (pip and `make install` compile it);
        # without it every run would compile the project's modules again.
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", "outreach", "connectors", "flows"],
            cwd=REPO, check=True, env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        )
        argv = [sys.executable, "-m", "outreach.cli", "sync"]
        full, rss, tree_rss, out = _timed_child(argv, env, tmp)
        # The median of five: one run on a busy machine says little about a half-second process.
        noop = statistics.median(_timed_child(argv, env, tmp)[0] for _ in range(5))

        from connectors.factory import make_source
        from connectors.store import Store
        from flows import steps
        from outreach.settings import load_settings

        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            settings = load_settings()
            with Store.open(settings.store.url) as store:
                source = make_source(settings, "imap")
                started = time.perf_counter()
                steps.sync(store, source, settings)
                step_noop = time.perf_counter() - started
                source.close()
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        attached = _attachment_memory(user, tmp, env)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    lines = [
        f"mailbox: {fetched:,} messages, {size / 1e6:.0f} MB, plain IMAP on loopback",
        f"ceiling, bare imaplib UID FETCH 1:*: {bare:.2f} s ({fetched / bare:,.0f} msgs/s)",
        f"outreach sync (whole process): {full:.1f} s ({MESSAGES / full:,.0f} msgs/s), "
        f"{bare / full:.3f}x the ceiling (target >= 0.25x)",
        f"peak memory: sync process {rss} MB RSS; with its parser processes {tree_rss} MB PSS "
        f"(sampled every 20 ms; target < 300 MB); parse workers: {_workers()}",
    ]
    if mbsync is not None:
        lines.append(f"mbsync to Maildir: {mbsync:.1f} s; outreach is {mbsync / full:.2f}x faster (target >= 3x)")
    else:
        lines.append("mbsync: not installed (apt-get install isync)")
    lines.append(
        f"sync with nothing new: whole process {noop:.2f} s (median of 5), the step itself {step_noop * 1000:.0f} ms (target < 0.5 s)"
    )
    lines.append(f"last line of the sync: {out.strip().splitlines()[-1] if out.strip() else '-'}")
    lines.append(attached)
    return lines


def _attachment_memory(user: Any, tmp: Path, env: dict[str, str]) -> str:
    """Peak memory of a sync of mail with attachments, batches bounded by bytes vs by count alone."""
    from tests.servers.common import mail_with_attachment

    messages = [mail_with_attachment(n, ATTACHMENT_BYTES, domain="bench.example") for n in range(ATTACHED)]
    for start in range(0, len(messages), 25):
        user.append_many("Attached", messages[start : start + 25])
    size = sum(map(len, messages)) / 1e6
    argv = [sys.executable, "-m", "outreach.cli", "sync"]
    peaks = []
    for megabytes in ("8", "1024"):  # the default, and in effect no byte bound (a 300 MB folder)
        db = tmp / f"attached-{megabytes}.db"
        run_env = {**env, "OUTREACH_STORE__URL": f"sqlite:///{db}", "OUTREACH_IMAP__FOLDERS": '["Attached"]',
                   "OUTREACH_IMAP__BATCH_MEGABYTES": megabytes}
        elapsed, _rss, tree, _out = _timed_child(argv, run_env, tmp)
        peaks.append((tree, elapsed))
    (bounded, took), (by_count, _) = peaks
    # The largest mail Microsoft 365 accepts is 150 MB: one message of 100 MB, alone in its batch.
    user.append("Giant", mail_with_attachment(ATTACHED + 1, 100_000_000, domain="bench.example"))
    giant_env = {**env, "OUTREACH_STORE__URL": f"sqlite:///{tmp / 'giant.db'}", "OUTREACH_IMAP__FOLDERS": '["Giant"]'}
    _, _, giant, _ = _timed_child(argv, giant_env, tmp)
    return (
        f"mail with attachments: {ATTACHED} messages, {size:.0f} MB: peak {bounded} MB PSS with "
        f"8 MB batches, the default ({took:.1f} s; target < 300 MB), {by_count} MB by message count alone; "
        f"one 100 MB message: peak {giant} MB PSS"
    )
