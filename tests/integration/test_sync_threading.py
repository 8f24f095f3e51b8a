"""A sync threads every batch as it stores it: same conversations whatever the batch size or order."""

from __future__ import annotations

import mailbox
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.files import MboxSource
from connectors.store import Store
from flows import steps
from outreach.models import Candidate, ParsedMessage, StoredMessage
from outreach.settings import Settings

NOW = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def shuffled_mbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample mailbox in random order, so replies often arrive a batch before their parent."""
    from outreach.sample import generate

    folder = tmp_path_factory.mktemp("shuffled")
    sample = generate(folder, conversations=160).mbox_path
    source = mailbox.mbox(str(sample))
    try:
        datas = [source.get_bytes(k) for k in source.iterkeys()]
    finally:
        source.close()
    random.Random(11).shuffle(datas)
    path = folder / "shuffled.mbox"
    box = mailbox.mbox(str(path))
    for data in datas:
        box.add(data)
    box.close()
    return path


def _sync(url: str, mbox: Path, batch_size: int) -> tuple[Store, steps.SyncReport]:
    settings = Settings(store={"url": url}, imap={"batch_size": batch_size}, team={"domains": ["northwind.example"]})
    store = Store.open(url)
    source = MboxSource(mbox)
    try:
        report = steps.sync(store, source, settings)
    finally:
        source.close()
    return store, report


def _conversations(store: Store) -> dict[frozenset[str], tuple[object, ...]]:
    """Each thread as the set of its Message-IDs → its summary (ids differ between stores)."""
    frames = store.frames(text_columns=False)
    with store.engine.connect() as conn:
        from sqlalchemy import select

        from connectors.schema import messages

        ids = dict(conn.execute(select(messages.c.id, messages.c.message_id)).all())
        unthreaded = conn.execute(select(messages.c.id).where(messages.c.thread_id.is_(None))).all()
    assert unthreaded == []
    members: dict[int, set[str]] = {}
    for row in frames["messages"].itertuples():
        members.setdefault(int(row.thread_id), set()).add(ids[row.id])
    summary = frames["threads"].set_index("id")
    columns = ["customer", "message_count", "subject", "first_customer_at", "last_customer_at", "last_staff_at"]
    return {frozenset(m): tuple(summary.loc[tid, columns]) for tid, m in members.items()}


def test_batch_by_batch_threading_matches_threading_everything_at_once(shuffled_mbox: Path, tmp_path: Path) -> None:
    whole, whole_report = _sync(f"sqlite:///{tmp_path / 'whole.db'}", shuffled_mbox, 100_000)
    small, small_report = _sync(f"sqlite:///{tmp_path / 'small.db'}", shuffled_mbox, 13)
    try:
        assert small_report.stored == whole_report.stored > 400
        assert small_report.threaded == small_report.stored  # every message threaded as it was stored
        expected, got = _conversations(whole), _conversations(small)
        assert len(expected) > 120
        assert got == expected
        assert sum(int(summary[1]) for summary in got.values()) == small_report.stored  # counts kept up to date
    finally:
        whole.close()
        small.close()


def _parsed(n: int, *, refs: tuple[str, ...] = (), subject: str = "Refund", sender: str = "ann@example.com") -> ParsedMessage:
    return ParsedMessage(
        message_id=f"m{n}@example.com", in_reply_to=refs[-1] if refs else None, references=refs,
        from_address=sender, from_name="", to_addresses=("support@northwind.example",),
        date=NOW - timedelta(hours=10 - n), subject=subject, text=f"text {n}", reply_text=f"text {n}",
        auto_kind=None, attachments=(), content_hash=f"hash{n:04d}",
    )


def test_a_late_message_linking_two_stored_threads_merges_them_and_repoints_drafts(any_store: Store) -> None:
    mailbox_id, _ = any_store.mailbox_state("mbox:/x", "INBOX")
    live = any_store.live_threads()
    first = [
        StoredMessage("INBOX", 7, 1, "in", _parsed(1, subject="Refund", sender="ann@example.com")),
        StoredMessage("INBOX", 7, 2, "in", _parsed(2, subject="Login broken", sender="bob@example.com")),
    ]
    out = any_store.save_batch(
        mailbox_id, uidvalidity=7, last_uid=2, highestmodseq=None, stored=first, quarantined=[], threads=live
    )
    assert out.threaded == 2
    by_message = _threads_by_message(any_store)
    older, newer = sorted({by_message["m1@example.com"], by_message["m2@example.com"]})
    any_store.sync_candidates([Candidate(newer, "bob@example.com", "check_in", 50, ["r"])], NOW)
    cand = any_store.list_candidates()[0]
    any_store.add_draft(
        {
            "candidate_id": cand["id"], "thread_id": newer, "customer": "bob@example.com", "kind": "check_in",
            "priority": 50, "template": "email/en/check_in", "language": "en", "context": {}, "status": "pending_review",
            "created_at": NOW, "idempotency_key": "k1", "reply_token": "tok1", "message_id": "o1@x",
        },
        render=lambda i: {"subject": f"Draft {i}", "text": "Hello", "html": "<p>Hello</p>"},
    )
    live.tokens.update(any_store.token_threads())
    linking = [StoredMessage("INBOX", 7, 3, "in", _parsed(3, refs=("m1@example.com", "m2@example.com")))]
    any_store.save_batch(
        mailbox_id, uidvalidity=7, last_uid=3, highestmodseq=None, stored=linking, quarantined=[], threads=live
    )
    assert set(_threads_by_message(any_store).values()) == {older}
    assert any_store.token_threads() == {"tok1": older} == live.tokens
    threads = any_store.frames()["threads"].set_index("id")
    assert threads.loc[older, "message_count"] == 3 and newer not in threads.index  # merged threads are hidden
    assert any_store.list_candidates() == []  # the merged thread's candidate closed
    assert any_store.thread_unthreaded() == 0


def _threads_by_message(store: Store) -> dict[str, int]:
    from sqlalchemy import select

    from connectors.schema import messages

    with store.engine.connect() as conn:
        return {m: t for m, t in conn.execute(select(messages.c.message_id, messages.c.thread_id)).all()}


def test_a_reply_finds_its_parent_stored_meanwhile_by_another_sync(any_store: Store) -> None:
    other = Store.open(any_store.engine.url.render_as_string(hide_password=False))  # `watch` next to a scheduled sync
    try:
        mailbox_id, _ = any_store.mailbox_state("mbox:/x", "INBOX")
        ours = any_store.live_threads()
        theirs = other.live_threads()
        parent = [StoredMessage("INBOX", 7, 1, "in", _parsed(1))]
        other.save_batch(mailbox_id, uidvalidity=7, last_uid=1, highestmodseq=None, stored=parent, quarantined=[], threads=theirs)
        reply = [StoredMessage("INBOX", 7, 2, "out", _parsed(2, refs=("m1@example.com",), sender="kim@northwind.example"))]
        any_store.save_batch(mailbox_id, uidvalidity=7, last_uid=2, highestmodseq=None, stored=reply, quarantined=[], threads=ours)
        by_message = _threads_by_message(any_store)
        assert by_message["m2@example.com"] == by_message["m1@example.com"]
        threads = any_store.frames()["threads"]
        assert len(threads) == 1 and int(threads["message_count"].iloc[0]) == 2
    finally:
        other.close()
