"""IMAP sync cost against a real, local Dovecot (started here on 127.0.0.1, temp dir).

Prints, measured in the same run on the same mailbox:

- bulk fetch of every body with :class:`connectors.imap.ImapSource` (stdlib imaplib,
  ``UID FETCH ... BODY.PEEK[]`` in batches), as messages/s and as a ratio against imaplib2
  doing the same fetches (the library the watcher uses; the baseline);
- the cost of a sync that finds nothing new: wall time and IMAP round trips per folder.

Skipped (one line) when Dovecot is not installed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

MESSAGES = 3000
BATCH = 500


def _message(n: int) -> bytes:
    body = ("Hello, I have a question about my order. " * 20 + "\r\n") * 3
    return (
        f"From: Customer {n} <c{n}@example.test>\r\nTo: support@example.test\r\n"
        f"Subject: Order {n}\r\nMessage-ID: <m{n}@example.test>\r\n"
        f"Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n\r\n{body}"
    ).encode()


def _imaplib2_fetch(host: str, port: int, user: str, password: str, uids: list[int]) -> int:
    import imaplib2

    from connectors._imap_common import uid_set

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        conn = imaplib2.IMAP4(host, port, timeout=120)
    count = 0
    try:
        conn.login(user, password)
        conn.examine("INBOX")
        for start in range(0, len(uids), BATCH):
            _typ, data = conn.uid("FETCH", uid_set(uids[start : start + BATCH]), "(UID BODY.PEEK[])")
            count += sum(1 for item in data if isinstance(item, tuple))
    finally:
        conn.logout()
    return count


def run() -> list[str]:
    """Measure and return printable lines."""
    if not os.access("/usr/sbin/dovecot", os.X_OK):
        return ["skipped: /usr/sbin/dovecot not installed (apt-get install dovecot-imapd)"]
    from connectors.imap import ImapSource
    from outreach.ports import MailboxState
    from outreach.settings import ImapSettings
    from tests.servers.dovecot import make_server

    base = Path(tempfile.mkdtemp(prefix="outreach-bench-imap-"))
    server = make_server(base)
    server._write_users(1)
    server.start()
    try:
        user = server.add_user()
        user.append_many("INBOX", [_message(n) for n in range(MESSAGES)])
        size = sum(len(_message(n)) for n in range(MESSAGES))
        settings = ImapSettings(
            host="127.0.0.1", port=server.port, username=user.user, ssl=False,
            folders=["INBOX"], sent_folders=[], timeout_seconds=120,
        )

        source = ImapSource(settings, password=user.password, oauth2_token=None)
        started = time.perf_counter()
        batches = list(source.fetch_new("INBOX", None, BATCH))
        fast = time.perf_counter() - started
        got = sum(len(b.messages) for b in batches)
        uids = [m.uid for b in batches for m in b.messages]

        started = time.perf_counter()
        slow_count = _imaplib2_fetch(server.host, server.port, user.user, user.password, uids)
        slow = time.perf_counter() - started

        last = batches[-1]
        state = MailboxState("INBOX", last.uidvalidity, last.last_uid, last.highestmodseq)
        rounds = 50
        trips = source.round_trips
        started = time.perf_counter()
        for _ in range(rounds):
            assert list(source.fetch_new("INBOX", state, BATCH)) == []
        noop = (time.perf_counter() - started) / rounds
        trips = (source.round_trips - trips) / rounds
        source.close()

        fresh = ImapSource(settings, password=user.password, oauth2_token=None)
        started = time.perf_counter()
        assert list(fresh.fetch_new("INBOX", state, BATCH)) == []
        fresh.close()
        cold = time.perf_counter() - started
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)

    return [
        f"mailbox: {got} messages, {size / 1e6:.1f} MB, batch {BATCH}, plain IMAP on loopback",
        f"baseline imaplib2 bulk fetch: {slow_count / slow:,.0f} msgs/s ({slow:.2f} s)",
        f"ImapSource bulk fetch (stdlib imaplib): {got / fast:,.0f} msgs/s ({fast:.2f} s), "
        f"{slow / fast:.1f}x the baseline",
        f"no-op sync, open connection: {noop * 1000:.2f} ms and {trips:.0f} round trip(s) per folder",
        f"no-op sync, new connection (connect+login+CAPABILITY+STATUS): {cold * 1000:.1f} ms",
    ]
