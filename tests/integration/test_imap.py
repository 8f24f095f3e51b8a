"""connectors.imap against a real Dovecot: fetch, resume, UIDVALIDITY, TLS, IDLE, cleanup."""

from __future__ import annotations

import imaplib
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import imaplib2
import pytest

from connectors.imap import IdleConnection, ImapSource, watch
from outreach.errors import SourceError
from outreach.ports import FolderBatch, MailboxState
from outreach.settings import ImapSettings
from tests.servers.common import mail_with_attachment

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
CORPUS_FILES = [
    "A_raw_email/cpython-test_email/msg_01.txt",
    "A_raw_email/cpython-test_email/msg_16.txt",
    "A_raw_email/mikel-mail/plain_emails/raw_email10.eml",
    "A_raw_email/apache-spamassassin-t-data/nice/001",
    "A_raw_email/jhillyerd-enmime/testdata/low-quality/unk-charset-part.raw",
]


def crlf(data: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", data)


def synthetic(n: int) -> bytes:
    return (
        f"From: Customer {n} <customer{n}@example.test>\r\n"
        f"To: support@example.test\r\nSubject: Question number {n}\r\n"
        f"Message-ID: <q{n}@example.test>\r\nDate: Mon, 2 Mar 2026 10:{n % 60:02d}:00 +0000\r\n"
        f"\r\nHello, this is message {n}.\r\n"
    ).encode()


def corpus_messages() -> list[bytes]:
    root = CORPUS.resolve()
    if not root.exists():
        pytest.skip(f"corpus not present: {root}")
    return [crlf((root / rel).read_bytes()) for rel in CORPUS_FILES]


def settings_for(dovecot, **overrides) -> ImapSettings:
    values = {
        "host": "127.0.0.1",
        "port": dovecot.port,
        "username": dovecot.user,
        "ssl": False,
        "starttls": False,
        "folders": ["INBOX"],
        "sent_folders": ["Sent"],
        "timeout_seconds": 10,
        "idle_seconds": 60,
    }
    values.update(overrides)
    return ImapSettings(**values)


@pytest.fixture
def source(dovecot) -> Iterator[ImapSource]:
    src = ImapSource(settings_for(dovecot), password=dovecot.password, oauth2_token=None, backoff_base=0.05)
    yield src
    src.close()


def uids_of(batches: list[FolderBatch]) -> list[int]:
    return [m.uid for b in batches for m in b.messages]


def state_after(batches: list[FolderBatch]) -> MailboxState:
    last = batches[-1]
    return MailboxState(last.folder, last.uidvalidity, last.last_uid, last.highestmodseq)


def idle_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("outreach-idle")]


# --- bulk fetch -----------------------------------------------------------------------------------


def test_first_fetch_gets_all_messages_in_batches(dovecot, source) -> None:
    appended = corpus_messages() + [synthetic(i) for i in range(1, 4)]
    dovecot.append_many("INBOX", appended)
    dovecot.append("Sent", synthetic(99))

    assert source.folders() == [("INBOX", False), ("Sent", True)]
    batches = list(source.fetch_new("INBOX", None, batch_size=3))

    assert [len(b.messages) for b in batches] == [3, 3, 2]
    assert uids_of(batches) == list(range(1, 9))
    assert [m.data for b in batches for m in b.messages] == appended
    assert [b.last_uid for b in batches] == [3, 6, 8]
    uidvalidity = dovecot.uidvalidity("INBOX")
    assert {b.uidvalidity for b in batches} == {uidvalidity}
    assert {m.uidvalidity for b in batches for m in b.messages} == {uidvalidity}
    assert not any(m.sent_folder for b in batches for m in b.messages)
    # Only the final batch carries HIGHESTMODSEQ (CONDSTORE is on in the fixture).
    assert [b.highestmodseq is None for b in batches] == [True, True, False]
    assert batches[-1].highestmodseq == dovecot.status("INBOX")["HIGHESTMODSEQ"]

    sent = list(source.fetch_new("Sent", None, batch_size=3))
    assert [m.sent_folder for b in sent for m in b.messages] == [True]


def test_batches_stay_under_the_byte_bound_when_mail_carries_attachments(dovecot, source) -> None:
    """Batches by count alone could hold gigabytes of attachments; sizes bound them too."""
    mailbox = [synthetic(i) for i in range(1, 6)] + [mail_with_attachment(6, 700_000), synthetic(7)]
    mailbox += [mail_with_attachment(8, 300_000), mail_with_attachment(9, 300_000), mail_with_attachment(10, 2_500_000)]
    mailbox += [synthetic(i) for i in range(11, 15)]
    dovecot.append_many("INBOX", mailbox)
    cap = 1_000_000

    batches = list(source.fetch_new("INBOX", None, batch_size=6, max_bytes=cap))

    assert [m.data for b in batches for m in b.messages] == mailbox  # each once, in order
    sizes = [sum(len(m.data) for m in b.messages) for b in batches]
    for batch, size in zip(batches, sizes, strict=True):
        assert size <= cap or len(batch.messages) == 1, sizes  # only a message alone may exceed it
    # Unmeasured (small) messages count as cap / batch_size = 166 kB each: five of them, then
    # 700 kB + one small, then 300 + 300 kB, the 2.5 MB one alone, four small.
    assert [len(b.messages) for b in batches] == [5, 2, 2, 1, 4]
    assert [b.last_uid for b in batches] == [5, 7, 9, 10, 14]
    assert [b.highestmodseq is None for b in batches] == [True, True, True, True, False]
    # Without a byte bound the same messages come in batches of six.
    unbounded = list(source.fetch_new("INBOX", None, batch_size=6))
    assert [len(b.messages) for b in unbounded] == [6, 6, 2]
    assert [m.data for b in unbounded for m in b.messages] == mailbox


def test_a_byte_bound_costs_one_search_when_all_mail_is_small(dovecot, source) -> None:
    dovecot.append_many("INBOX", [synthetic(i) for i in range(1, 8)])
    source.folders()
    before = source.round_trips
    list(source.fetch_new("INBOX", None, batch_size=3))
    count_only = source.round_trips - before
    before = source.round_trips
    batches = list(source.fetch_new("INBOX", None, batch_size=3, max_bytes=16 * 1024 * 1024))
    assert source.round_trips - before == count_only + 1  # SEARCH LARGER found nothing to measure
    assert [len(b.messages) for b in batches] == [3, 3, 1]


@pytest.mark.parametrize("offset", [timedelta(hours=-1, minutes=-30), timedelta(hours=5, minutes=45)])
def test_fetch_carries_the_servers_internaldate_with_its_offset(dovecot, source, offset) -> None:
    # INTERNALDATE dates mail whose own Date header is missing or broken.
    when = datetime(2025, 3, 7, 9, 4, 5, tzinfo=timezone(offset))
    conn = dovecot.connect()
    try:
        typ, _ = conn.append("INBOX", None, imaplib.Time2Internaldate(when), synthetic(1))
        assert typ == "OK"
    finally:
        conn.logout()
    (message,) = [m for b in source.fetch_new("INBOX", None, batch_size=10) for m in b.messages]
    assert message.received_at == when  # the same instant (Dovecot answers in its own zone)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'7 (UID 9 INTERNALDATE " 7-Mar-2025 09:04:05 -0130" BODY[] {10}',
         datetime(2025, 3, 7, 9, 4, 5, tzinfo=timezone(-timedelta(hours=1, minutes=30)))),
        (b'7 (UID 9 INTERNALDATE "17-Dec-2024 23:59:59 +0545" BODY[] {10}',
         datetime(2024, 12, 17, 23, 59, 59, tzinfo=timezone(timedelta(hours=5, minutes=45)))),
        (b'7 (UID 9 INTERNALDATE "17-Foo-2024 23:59:59 +0000" BODY[] {10}', None),
        (b'7 (UID 9 INTERNALDATE "31-Feb-2024 10:00:00 +0000" BODY[] {10}', None),
        (b"7 (UID 9 BODY[] {10}", None),
    ],
    ids=["west", "east", "bad-month", "bad-day", "absent"],
)
def test_internaldate_of_any_server_zone_or_none_when_unreadable(head: bytes, expected: datetime | None) -> None:
    from connectors.imap import _note_internaldate

    received: dict[int, datetime] = {}
    _note_internaldate(received, 9, head)
    assert received.get(9) == expected
    if expected is not None:
        assert received[9].utcoffset() == expected.utcoffset()


def test_incremental_fetch_gets_only_new_and_noop_is_one_round_trip(dovecot, source) -> None:
    dovecot.append_many("INBOX", [synthetic(i) for i in range(1, 6)])
    first = list(source.fetch_new("INBOX", None, batch_size=10))
    state = state_after(first)
    assert state.last_uid == 5

    before = source.round_trips
    assert list(source.fetch_new("INBOX", state, batch_size=10)) == []
    assert source.round_trips - before == 1  # a single STATUS

    dovecot.append_many("INBOX", [synthetic(6), synthetic(7)])
    second = list(source.fetch_new("INBOX", state, batch_size=10))
    assert uids_of(second) == [6, 7]
    assert [m.data for m in second[0].messages] == [synthetic(6), synthetic(7)]

    # Without HIGHESTMODSEQ in the state the UIDNEXT check alone keeps it to one round trip.
    plain_state = MailboxState("INBOX", state.uidvalidity, 7, None)
    before = source.round_trips
    assert list(source.fetch_new("INBOX", plain_state, batch_size=10)) == []
    assert source.round_trips - before == 1


def test_new_messages_counts_what_a_sync_would_fetch_with_one_status_per_folder(dovecot, source) -> None:
    dovecot.create_folder("Sent")
    dovecot.append_many("INBOX", [synthetic(i) for i in range(1, 6)])
    assert source.new_messages({}) == 5 + 1  # never synced: every message, and the empty Sent's position
    inbox = state_after(list(source.fetch_new("INBOX", None, batch_size=10)))
    sent = state_after(list(source.fetch_new("Sent", None, batch_size=10)))
    known = {"INBOX": inbox, "Sent": sent}
    before = source.round_trips
    assert source.new_messages(known) == 0
    assert source.round_trips - before == 3  # LIST and a STATUS per folder
    dovecot.append_many("INBOX", [synthetic(6), synthetic(7)])
    assert source.new_messages(known) == 2
    assert source.new_messages({**known, "INBOX": MailboxState("INBOX", inbox.uidvalidity + 1, 5)}) == 7


def test_state_from_an_interrupted_sync_resumes_after_last_uid(dovecot, source) -> None:
    dovecot.append_many("INBOX", [synthetic(i) for i in range(1, 8)])
    it = source.fetch_new("INBOX", None, batch_size=3)
    first = next(it)
    it.close()  # the process stopped after storing the first batch
    resumed = list(source.fetch_new("INBOX", state_after([first]), batch_size=3))
    assert uids_of([first] + resumed) == list(range(1, 8))


def test_uidvalidity_change_restarts_at_uid_1(dovecot, source) -> None:
    dovecot.append_many("INBOX", [synthetic(i) for i in range(1, 4)])
    state = state_after(list(source.fetch_new("INBOX", None, batch_size=10)))
    source.close()  # a sync run uses one connection; the renumbering happens between runs
    new_validity = dovecot.set_uidvalidity_change("INBOX")
    assert new_validity != state.uidvalidity

    batches = list(source.fetch_new("INBOX", state, batch_size=2))
    assert {b.uidvalidity for b in batches} == {new_validity}
    assert uids_of(batches) == [1, 2, 3]
    assert [m.data for b in batches for m in b.messages] == [synthetic(i) for i in range(1, 4)]


def test_empty_folder_first_sync_yields_its_uidvalidity(dovecot, source) -> None:
    dovecot.create_folder("Sent")
    batches = list(source.fetch_new("Sent", None, batch_size=10))
    assert len(batches) == 1
    assert batches[0].messages == [] and batches[0].last_uid == 0
    assert batches[0].uidvalidity == dovecot.uidvalidity("Sent")


@pytest.mark.parametrize("how", ["kick", "restart"])
def test_connection_dropped_mid_fetch_resumes_without_gap_or_repeat(dovecot, source, how, caplog) -> None:
    dovecot.append_many("INBOX", [synthetic(i) for i in range(1, 12)])
    caplog.set_level(logging.WARNING, logger="outreach.imap")
    seen: list[int] = []
    for n, batch in enumerate(source.fetch_new("INBOX", None, batch_size=2)):
        seen.extend(m.uid for m in batch.messages)
        if n == 1:
            if how == "kick":
                dovecot.kick()
            else:
                dovecot.restart()
    assert seen == list(range(1, 12))
    assert any("retry" in r.getMessage() for r in caplog.records)
    # Never log message contents or addresses.
    assert not any("customer" in r.getMessage() or "Hello" in r.getMessage() for r in caplog.records)


def test_gives_up_with_source_error_when_server_stays_down(dovecot) -> None:
    dovecot.append("INBOX", synthetic(1))
    src = ImapSource(settings_for(dovecot), password=dovecot.password, oauth2_token=None,
                     retries=2, backoff_base=0.01, backoff_cap=0.02)
    dovecot.stop()  # the fixture starts it again after the test
    try:
        with pytest.raises(SourceError) as err:
            list(src.fetch_new("INBOX", None, batch_size=1))
    finally:
        src.close()
    assert "gave up after 3 attempts" in err.value.problem
    assert f"127.0.0.1:{dovecot.port}" in err.value.source


def test_fetch_never_changes_flags(dovecot, source) -> None:
    dovecot.append("INBOX", synthetic(1))
    dovecot.append("INBOX", synthetic(2), flags=["\\Seen"])
    dovecot.append("INBOX", synthetic(3), flags=["\\Flagged"])
    before = dovecot.flags("INBOX")
    before_status = dovecot.status("INBOX")
    assert "\\Seen" not in before[1]

    assert uids_of(list(source.fetch_new("INBOX", None, batch_size=10))) == [1, 2, 3]
    source.close()

    after = dovecot.flags("INBOX")
    assert {u: f - {"\\Recent"} for u, f in after.items()} == {
        u: f - {"\\Recent"} for u, f in before.items()
    }
    assert dovecot.status("INBOX")["MESSAGES"] == before_status["MESSAGES"]
    # Nothing written means no modification sequence was used up.
    assert dovecot.status("INBOX")["HIGHESTMODSEQ"] == before_status["HIGHESTMODSEQ"]


# --- folders, auth, transport ---------------------------------------------------------------------


def test_missing_folders_are_skipped_or_refused(dovecot, caplog) -> None:
    dovecot.append("Sent", synthetic(1))  # the fixture marks "Sent" as the \Sent special-use folder
    settings = settings_for(dovecot, folders=["INBOX", "Nope"], sent_folders=["Sent Items"])
    with ImapSource(settings, password=dovecot.password, oauth2_token=None) as src:
        caplog.set_level(logging.INFO, logger="outreach.imap")
        assert src.folders() == [("INBOX", False), ("Sent", True)]
        assert any("'Nope' does not exist" in r.getMessage() for r in caplog.records)
        assert [m.sent_folder for b in src.fetch_new("Sent", None, 10) for m in b.messages] == [True]
        with pytest.raises(SourceError) as err:
            list(src.fetch_new("Nope", None, 10))
        assert err.value.source.endswith("/Nope")
        assert "does not exist" in err.value.problem

    only_missing = settings_for(dovecot, folders=["Nope"], sent_folders=[])
    with ImapSource(only_missing, password=dovecot.password, oauth2_token=None) as src:
        with pytest.raises(SourceError, match="none of imap.folders"):
            src.folders()


def test_non_ascii_folder_names_round_trip(dovecot) -> None:
    name = "Éléments envoyés"
    settings = settings_for(dovecot, sent_folders=[name])
    with ImapSource(settings, password=dovecot.password, oauth2_token=None) as src:
        conn = src.connection()
        from connectors._imap_common import quote

        conn.create(quote(name))
        conn.append(quote(name), None, None, synthetic(1))
        assert (name, True) in src.folders()
        batches = list(src.fetch_new(name, None, 10))
        assert [m.data for b in batches for m in b.messages] == [synthetic(1)]
        assert batches[0].messages[0].sent_folder


def test_wrong_password_is_a_clear_source_error(dovecot) -> None:
    with ImapSource(settings_for(dovecot), password="wrong", oauth2_token=None) as src:
        with pytest.raises(SourceError) as err:
            src.folders()
    assert "authentication failed" in err.value.problem
    assert "wrong" not in str(err.value)


def test_plain_text_to_a_remote_host_is_refused() -> None:
    settings = ImapSettings(host="imap.example.com", port=143, username="u", ssl=False)
    with pytest.raises(SourceError, match="plain-text"):
        ImapSource(settings, password="p", oauth2_token=None)
    with pytest.raises(SourceError, match="plain-text"):
        IdleConnection(settings, "INBOX", password="p")


def test_missing_credentials_are_refused() -> None:
    settings = ImapSettings(host="127.0.0.1", port=143, username="u", ssl=False)
    with pytest.raises(SourceError, match="no password"):
        ImapSource(settings, password=None, oauth2_token=None)
    with pytest.raises(SourceError, match="no OAuth2 token"):
        ImapSource(settings.model_copy(update={"auth": "xoauth2"}), password=None, oauth2_token=None)


def test_ssl_with_fixture_ca(dovecot) -> None:
    dovecot.append("INBOX", synthetic(1))
    settings = settings_for(
        dovecot, host="localhost", port=dovecot.ssl_port, ssl=True, ca_file=str(dovecot.ca_file)
    )
    with ImapSource(settings, password=dovecot.password, oauth2_token=None) as src:
        assert uids_of(list(src.fetch_new("INBOX", None, 10))) == [1]
        sock = src.connection().sock
        assert isinstance(sock, ssl.SSLSocket) and sock.version() in ("TLSv1.2", "TLSv1.3")


def test_starttls_with_fixture_ca(dovecot) -> None:
    dovecot.append("INBOX", synthetic(1))
    settings = settings_for(dovecot, starttls=True, ca_file=str(dovecot.ca_file))
    with ImapSource(settings, password=dovecot.password, oauth2_token=None) as src:
        assert uids_of(list(src.fetch_new("INBOX", None, 10))) == [1]
        assert isinstance(src.connection().sock, ssl.SSLSocket)
    with IdleConnection(settings, "INBOX", password=dovecot.password) as idle:
        assert isinstance(idle.connection.sock, ssl.SSLSocket)


@pytest.mark.parametrize("mode", ["ssl", "starttls"])
def test_untrusted_ca_is_refused(dovecot, mode) -> None:
    settings = settings_for(
        dovecot,
        port=dovecot.ssl_port if mode == "ssl" else dovecot.port,
        ssl=mode == "ssl",
        starttls=mode == "starttls",
        ca_file=str(dovecot.server.other_ca_file),
    )
    with ImapSource(settings, password=dovecot.password, oauth2_token=None) as src:
        with pytest.raises(SourceError, match="certificate rejected"):
            src.folders()
    with pytest.raises(SourceError, match="certificate rejected"):
        IdleConnection(settings, "INBOX", password=dovecot.password).open()
    assert idle_threads() == []


def test_system_cas_do_not_trust_the_test_server(dovecot) -> None:
    settings = settings_for(dovecot, host="localhost", port=dovecot.ssl_port, ssl=True, ca_file="")
    with ImapSource(settings, password=dovecot.password, oauth2_token=None) as src:
        with pytest.raises(SourceError, match="certificate rejected"):
            src.folders()


@pytest.fixture
def wrong_host_server(dovecot_server, tmp_path) -> Iterator[int]:
    """A TLS server whose certificate (signed by the fixture CA) names another host."""
    cert = dovecot_server.ca.issue(tmp_path, "other", ["mail.other.test"])
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert.cert, cert.key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                with ctx.wrap_socket(raw, server_side=True) as tls:
                    tls.sendall(b"* OK [CAPABILITY IMAP4rev1] ready\r\n")
                    tls.recv(100)
            except (ssl.SSLError, OSError):
                raw.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    done.set()
    thread.join(5)
    listener.close()


def test_certificate_for_another_host_name_is_refused(dovecot, wrong_host_server) -> None:
    settings = settings_for(
        dovecot, port=wrong_host_server, ssl=True, ca_file=str(dovecot.ca_file)
    )
    with ImapSource(settings, password="x", oauth2_token=None) as src:
        with pytest.raises(SourceError) as err:
            src.folders()
    assert "certificate rejected" in err.value.problem
    assert "127.0.0.1" in err.value.problem  # Python's message names the mismatched host
    with pytest.raises(SourceError, match="certificate rejected"):
        IdleConnection(settings, "INBOX", password="x").open()
    assert idle_threads() == []


# --- IDLE -----------------------------------------------------------------------------------------


def test_idle_connection_close_leaves_no_threads(dovecot) -> None:
    before = set(threading.enumerate())
    with IdleConnection(settings_for(dovecot), "INBOX", password=dovecot.password):
        assert len(idle_threads()) == 3  # imaplib2's reader, writer, handler
    assert idle_threads() == []
    assert set(threading.enumerate()) <= before


def test_idle_connection_close_after_server_drop_leaves_no_threads(dovecot) -> None:
    idle = IdleConnection(settings_for(dovecot), "INBOX", password=dovecot.password)
    idle.open()
    dovecot.kick()
    stop = threading.Event()
    with pytest.raises((imaplib2.IMAP4.abort, OSError)):  # wait()'s documented "reconnect" signal
        while True:
            idle.wait(5, stop)
    idle.close()
    assert idle_threads() == []


class Recorder:
    def __init__(self) -> None:
        self.new: list[tuple[str, float]] = []
        self.ready: list[str] = []
        self.cond = threading.Condition()

    def on_new(self, folder: str) -> None:
        with self.cond:
            self.new.append((folder, time.monotonic()))
            self.cond.notify_all()

    def on_ready(self, folder: str) -> None:
        with self.cond:
            self.ready.append(folder)
            self.cond.notify_all()

    def wait(self, predicate, timeout: float = 15.0) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)


@pytest.fixture
def watching(dovecot) -> Iterator[tuple[Recorder, threading.Event, list[BaseException]]]:
    dovecot.create_folder("Sent")
    rec = Recorder()
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            watch(
                settings_for(dovecot),
                rec.on_new,
                stop=stop,
                password=dovecot.password,
                on_ready=rec.on_ready,
                backoff_base=0.1,
                backoff_cap=0.5,
            )
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)

    thread = threading.Thread(target=run, name="test-watch")
    thread.start()
    assert rec.wait(lambda: sorted(rec.ready) == ["INBOX", "Sent"]), "watchers never became ready"
    yield rec, stop, errors
    stop.set()
    thread.join(30)
    assert not thread.is_alive(), "watch() did not return after stop was set"
    assert errors == []
    assert idle_threads() == [], "imaplib2 threads left behind"


def test_watch_reports_new_mail_within_seconds(dovecot, watching) -> None:
    rec, _stop, _errors = watching
    assert rec.new == []
    appended_at = time.monotonic()
    dovecot.append("Sent", synthetic(1))
    assert rec.wait(lambda: any(f == "Sent" for f, _ in rec.new), timeout=10), "no IDLE notice"
    assert [f for f, _ in rec.new] == ["Sent"]  # INBOX saw nothing
    dovecot.append("INBOX", synthetic(2))
    assert rec.wait(lambda: any(f == "INBOX" for f, _ in rec.new), timeout=10)
    delay = next(t for f, t in rec.new if f == "Sent") - appended_at
    assert delay < 10


def test_watch_reconnects_after_drop_and_catches_up(dovecot, watching) -> None:
    rec, _stop, _errors = watching
    dovecot.kick()
    # Both folders reconnect, and each reports once in case mail came while it was away.
    assert rec.wait(lambda: rec.ready.count("INBOX") >= 2 and rec.ready.count("Sent") >= 2)
    assert rec.wait(lambda: {f for f, _ in rec.new} == {"INBOX", "Sent"})
    count = len(rec.new)
    dovecot.append("INBOX", synthetic(3))
    assert rec.wait(lambda: len(rec.new) > count and rec.new[-1][0] == "INBOX", timeout=10)


def test_watch_renews_idle_before_the_timeout(dovecot, monkeypatch) -> None:
    # idle_seconds is at least 60 in settings; renewal logic is the same with 1 s.
    settings = settings_for(dovecot).model_copy(update={"idle_seconds": 1})
    rec = Recorder()
    stop = threading.Event()
    idles: list[float] = []
    original = IdleConnection.wait

    def counting_wait(self, timeout, stop_event):
        idles.append(timeout)
        return original(self, timeout, stop_event)

    monkeypatch.setattr(IdleConnection, "wait", counting_wait)
    thread = threading.Thread(
        target=watch,
        args=(settings, rec.on_new),
        kwargs={"stop": stop, "password": dovecot.password, "folders": ["INBOX"], "on_ready": rec.on_ready},
    )
    thread.start()
    try:
        assert rec.wait(lambda: rec.ready == ["INBOX"])
        deadline = time.monotonic() + 10
        while len(idles) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(idles) >= 3 and set(idles) == {1}
        assert rec.ready == ["INBOX"]  # renewed on the same connection, no reconnect
        dovecot.append("INBOX", synthetic(1))
        assert rec.wait(lambda: [f for f, _ in rec.new] == ["INBOX"], timeout=10)
    finally:
        stop.set()
        thread.join(30)
    assert idle_threads() == []


def test_idle_connection_knows_whether_the_server_offers_idle(dovecot, dovecot_without_idle) -> None:
    with IdleConnection(settings_for(dovecot), "INBOX", password=dovecot.password) as idle:
        assert idle.offers_idle
    with IdleConnection(settings_for(dovecot_without_idle), "INBOX", password=dovecot_without_idle.password) as idle:
        assert not idle.offers_idle
    assert idle_threads() == []


def test_watch_polls_a_server_without_idle(dovecot_without_idle, caplog, monkeypatch) -> None:
    # poll_seconds is at least 5 in settings; the loop is the same with 0.5 s.
    settings = settings_for(dovecot_without_idle, sent_folders=[]).model_copy(update={"poll_seconds": 0.5})
    sent: list[str] = []
    original = imaplib2.IMAP4._simple_command

    def recording(self, name, *args, **kw):
        sent.append(name)
        return original(self, name, *args, **kw)

    monkeypatch.setattr(imaplib2.IMAP4, "_simple_command", recording)
    rec = Recorder()
    stop = threading.Event()
    thread = threading.Thread(
        target=watch,
        args=(settings, rec.on_new),
        kwargs={"stop": stop, "password": dovecot_without_idle.password, "on_ready": rec.on_ready},
    )
    caplog.set_level(logging.INFO, logger="outreach.imap")
    thread.start()
    try:
        assert rec.wait(lambda: rec.ready == ["INBOX"])
        time.sleep(1.2)
        assert rec.new == []  # polling with nothing new reports nothing
        dovecot_without_idle.append("INBOX", synthetic(1))
        assert rec.wait(lambda: [f for f, _ in rec.new] == ["INBOX"], timeout=10)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive(), "watch() did not return after stop was set"
    assert "IDLE" not in sent and sent.count("NOOP") >= 3
    assert "does not offer IDLE; checking for new mail every 0.5 s" in caplog.text
    assert idle_threads() == []


def test_watch_with_wrong_password_raises_and_cleans_up(dovecot) -> None:
    stop = threading.Event()
    with pytest.raises(SourceError, match="authentication failed"):
        watch(settings_for(dovecot), lambda f: None, stop=stop, password="wrong")
    assert idle_threads() == []
