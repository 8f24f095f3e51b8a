"""The driver-only look at the store that lets a sync with nothing new skip the store layer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from connectors.store import Store
from connectors.store_peek import peek
from flows.reply_steps import process_replies
from outreach.models import Candidate, ParsedMessage, StoredMessage
from outreach.ports import MailboxState
from outreach.settings import Settings

NOW = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
SOURCE = "imap://support@example.test@127.0.0.1:993"


def _url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def _message(n: int, *, token: str | None = None) -> StoredMessage:
    parsed = ParsedMessage(
        message_id=f"m{n}@example.com", in_reply_to=None, references=(), from_address="ann@example.com",
        from_name="Ann", to_addresses=("support@northwind.example",), date=NOW - timedelta(hours=10 - n),
        subject="Refund", text="Any news?", reply_text="Any news?", auto_kind=None, attachments=(),
        content_hash=f"hash{n:04d}", reply_token=token,
    )
    return StoredMessage("INBOX", 7, n, "in", parsed)


def _save(store: Store, *messages: StoredMessage, threaded: bool = True, last_uid: int = 1) -> None:
    mailbox_id, _ = store.mailbox_state(SOURCE, "INBOX")
    store.save_batch(
        mailbox_id, uidvalidity=7, last_uid=last_uid, highestmodseq=41, stored=list(messages), quarantined=[],
        threads=store.live_threads() if threaded else None,
    )


def test_the_peek_reads_each_folders_position_and_a_settled_store(any_store: Store) -> None:
    fresh = peek(_url(any_store), SOURCE)
    assert fresh is not None and fresh.folders == {} and fresh.settled
    any_store.mailbox_state(SOURCE, "Sent")  # registered, never synced: no position yet
    _save(any_store, _message(1), last_uid=5)
    seen = peek(_url(any_store), SOURCE)
    assert seen is not None and seen.settled
    assert seen.folders == {"INBOX": MailboxState("INBOX", 7, 5, 41)}
    other = peek(_url(any_store), "imap://someone-else@example.test@127.0.0.1:993")
    assert other is not None and other.folders == {}


def test_an_unthreaded_message_makes_the_store_unsettled_until_threaded(any_store: Store) -> None:
    _save(any_store, _message(1), threaded=False)
    seen = peek(_url(any_store), SOURCE)
    assert seen is not None and not seen.settled
    assert any_store.thread_unthreaded() == 1
    seen = peek(_url(any_store), SOURCE)
    assert seen is not None and seen.settled


def test_a_reply_to_a_draft_not_read_yet_makes_the_store_unsettled_until_read(any_store: Store) -> None:
    _save(any_store, _message(1))
    thread_id = int(any_store.frames()["threads"]["id"].iloc[0])
    any_store.sync_candidates([Candidate(thread_id, "ann@example.com", "check_in", 50, ["r"])], NOW)
    any_store.add_draft(
        {
            "candidate_id": any_store.list_candidates()[0]["id"], "thread_id": thread_id, "customer": "ann@example.com",
            "kind": "check_in", "priority": 50, "template": "email/en/check_in", "language": "en", "context": {},
            "status": "pending_review", "created_at": NOW, "idempotency_key": "k1", "reply_token": "tok1",
            "message_id": "o1@x",
        },
        render=lambda i: {"subject": f"Draft {i}", "text": "Hello", "html": "<p>Hello</p>"},
    )
    seen = peek(_url(any_store), SOURCE)
    assert seen is not None and seen.settled
    _save(any_store, _message(2, token="tok1"), last_uid=2)  # the customer answers our draft
    seen = peek(_url(any_store), SOURCE)
    assert seen is not None and not seen.settled
    assert process_replies(any_store, Settings(), NOW).replied == 1
    seen = peek(_url(any_store), SOURCE)
    assert seen is not None and seen.settled


def test_an_older_schema_or_a_store_that_does_not_exist_means_a_full_sync(any_store: Store, tmp_path: Path) -> None:
    with any_store.write() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    assert peek(_url(any_store), SOURCE) is None
    missing = tmp_path / "nowhere" / "store.db"
    assert peek(f"sqlite:///{missing}", SOURCE) is None
    assert not missing.parent.exists()  # looking created nothing
    assert peek("sqlite://", SOURCE) is None
    assert peek("mysql://localhost/outreach", SOURCE) is None
