"""The store on SQLite and on a real PostgreSQL: idempotence, lifecycle, claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.store import MIGRATIONS, SCHEMA_HEAD, Store
from outreach.errors import DraftStateError
from outreach.models import Candidate, ParsedMessage, Quarantined, StoredMessage

NOW = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)


def parsed(n: int, *, sender: str = "ann@example.com", reply_to: str | None = None) -> ParsedMessage:
    return ParsedMessage(
        message_id=f"m{n}@example.com", in_reply_to=reply_to, references=(reply_to,) if reply_to else (),
        from_address=sender, from_name="Ann Lee", to_addresses=("support@northwind.example",),
        date=NOW - timedelta(hours=10 - n), subject="Refund", text=f"text {n}", reply_text=f"text {n}",
        auto_kind=None, attachments=(), content_hash=f"hash{n:04d}",
    )


def stored(n: int, **kw: object) -> StoredMessage:
    return StoredMessage("INBOX", 7, n, "in", parsed(n, **kw))  # type: ignore[arg-type]


def test_the_head_the_store_knows_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == SCHEMA_HEAD


def test_schema_is_versioned_and_reopening_does_not_migrate_again(any_store: Store) -> None:
    assert any_store.schema_version() == "0002"
    any_store.migrate()
    assert any_store.schema_version() == "0002"


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_a_store_made_by_the_first_release_upgrades_to_the_current_schema(
    db: str, tmp_path, request: pytest.FixtureRequest
) -> None:  # type: ignore[no-untyped-def]
    """Every migration runs on a populated store, and the result is exactly what schema.py describes."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine, text

    from connectors.accounts import get_agent
    from connectors.schema import metadata

    url = f"sqlite:///{tmp_path / 'old.db'}" if db == "sqlite" else request.getfixturevalue("postgres")
    engine = create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(text(
            "INSERT INTO agents (name, password_hash, role, created_at, disabled) "
            "VALUES ('priya', 'x', 'agent', '2026-03-05 14:00:00+00:00', false)"
        ))
    engine.dispose()
    with Store.open(url) as store:
        assert store.schema_version() == SCHEMA_HEAD
        agent = get_agent(store, "priya")
        assert agent is not None and agent.session_epoch == 0
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            assert compare_metadata(context, metadata) == []


def test_a_batch_rerun_stores_nothing_twice_and_advances_the_folder(any_store: Store) -> None:
    mailbox_id, state = any_store.mailbox_state("mbox:/x", "INBOX")
    assert state is None
    batch = [stored(1), stored(2)]
    bad = [Quarantined("INBOX", 7, 3, "no header block", "qhash", 12)]
    first = any_store.save_batch(mailbox_id, uidvalidity=7, last_uid=3, highestmodseq=None, stored=batch, quarantined=bad)
    again = any_store.save_batch(mailbox_id, uidvalidity=7, last_uid=3, highestmodseq=None, stored=batch, quarantined=bad)
    assert (first.stored, first.quarantined) == (2, 1)
    assert (again.stored, again.duplicates, again.quarantined) == (0, 2, 0)
    _, state = any_store.mailbox_state("mbox:/x", "INBOX")
    assert state is not None and (state.uidvalidity, state.last_uid) == (7, 3)
    status = any_store.status(NOW)
    assert (status["messages"], status["quarantined"]) == (2, 1)
    [folder] = status["folders"]
    assert (folder["source"], folder["folder"], folder["last_uid"]) == ("mbox:/x", "INBOX", 3)
    assert folder["synced_at"] is not None and folder["synced_at"].endswith("+00:00")
    assert any_store.quarantine_list()[0]["reason"] == "no header block"


def test_stored_fields_read_back_exactly_as_parsed(any_store: Store) -> None:
    from sqlalchemy import select

    from connectors.schema import messages

    mailbox_id, _ = any_store.mailbox_state("mbox:/x", "INBOX")
    message = stored(1, reply_to="m0@example.com")
    any_store.save_batch(mailbox_id, uidvalidity=7, last_uid=1, highestmodseq=None, stored=[message], quarantined=[])
    with any_store.engine.connect() as conn:
        row = conn.execute(select(messages).where(messages.c.content_hash == "hash0001")).mappings().one()
    p = message.parsed
    date = row["date"] if row["date"].tzinfo else row["date"].replace(tzinfo=UTC)
    assert date == p.date
    assert (row["references"], row["to_addresses"], row["attachments"]) == (["m0@example.com"], list(p.to_addresses), [])
    assert (row["message_id"], row["in_reply_to"], row["subject"], row["direction"]) == (
        "m1@example.com", "m0@example.com", "Refund", "in",
    )
    assert any_store.frames()["messages"].empty  # not threaded: saved without the live threads
    assert any_store.thread_unthreaded() == 1


def seed_thread(store: Store) -> int:
    mailbox_id, _ = store.mailbox_state("mbox:/x", "INBOX")
    store.save_batch(mailbox_id, uidvalidity=7, last_uid=1, highestmodseq=None, stored=[stored(1)], quarantined=[])
    rows = store.unthreaded()
    created = store.apply_threads({rows[0]["id"]: -1}, {}, {-1: rows[0]["message_id"]})
    return created[-1]


def add_draft(store: Store, thread_id: int, n: int, status: str = "pending_review", customer: str = "ann@example.com") -> int:
    store.sync_candidates([Candidate(thread_id, customer, "check_in", 50, ["r"])], NOW)
    cand = store.list_candidates()[0]
    draft_id = store.add_draft(
        {
            "candidate_id": cand["id"], "thread_id": thread_id, "customer": customer, "kind": "check_in",
            "priority": 50, "template": "email/en/check_in", "language": "en", "context": {}, "status": status,
            "created_at": NOW, "idempotency_key": f"k{n}", "reply_token": f"tok{n}", "message_id": f"o{n}@x",
        },
        render=lambda i: {"subject": f"Draft {i}", "text": "Hello", "html": "<p>Hello</p>"},
    )
    assert draft_id is not None
    return draft_id


def test_thread_summary_and_candidate_sync(any_store: Store) -> None:
    thread_id = seed_thread(any_store)
    threads = any_store.frames()["threads"]
    row = threads.set_index("id").loc[thread_id]
    assert row["customer"] == "ann@example.com" and row["message_count"] == 1
    counts = any_store.sync_candidates([Candidate(thread_id, "ann@example.com", "follow_up", 70, ["late"])], NOW)
    assert counts["added"] == 1
    assert any_store.sync_candidates([Candidate(thread_id, "ann@example.com", "follow_up", 80, ["later"])], NOW)["updated"] == 1
    assert any_store.list_candidates()[0]["priority"] == 80
    assert any_store.sync_candidates([], NOW)["closed"] == 1
    assert any_store.list_candidates() == []


def test_draft_lifecycle_is_enforced_and_audited(any_store: Store) -> None:
    draft_id = add_draft(any_store, seed_thread(any_store), 1)
    assert any_store.get_draft(draft_id)["subject"] == f"Draft {draft_id}"
    with pytest.raises(DraftStateError):
        any_store.transition(draft_id, "sent", actor="x", action="sent", now=NOW)
    any_store.transition(draft_id, "approved", actor="agent", action="approved", now=NOW, expect={"pending_review"})
    actions = [e["action"] for e in any_store.audit_log(draft_id)]
    assert actions[:2] == ["approved", "drafted"]


def test_a_draft_is_claimed_once_and_a_dead_sender_leaves_it_unknown(any_store: Store) -> None:
    draft_id = add_draft(any_store, seed_thread(any_store), 1, status="approved")
    with any_store.send_lock() as conn:
        assert any_store.claim(conn, [draft_id], "w1", NOW) == [draft_id]
    with any_store.send_lock() as conn:
        assert any_store.claim(conn, [draft_id], "w2", NOW) == []
    assert any_store.reconcile_sending(older_than=NOW - timedelta(minutes=15), now=NOW) == []
    assert any_store.reconcile_sending(older_than=NOW + timedelta(minutes=1), now=NOW) == [draft_id]
    row = any_store.get_draft(draft_id)
    assert row["status"] == "unknown" and row["claimed_by"] == "w1"


def test_retryable_failure_returns_to_approved_and_permanent_failure_fails(any_store: Store) -> None:
    thread_id = seed_thread(any_store)
    first = add_draft(any_store, thread_id, 1, status="approved")
    with any_store.send_lock() as conn:
        any_store.claim(conn, [first], "w", NOW)
    any_store.settle_failed(first, provider="sendgrid", error="503 busy", retryable=True, now=NOW)
    assert any_store.get_draft(first)["status"] == "approved"
    with any_store.send_lock() as conn:
        any_store.claim(conn, [first], "w", NOW)
    any_store.settle_failed(first, provider="sendgrid", error="400 bad address", retryable=False, now=NOW)
    row = any_store.get_draft(first)
    assert row["status"] == "failed" and "bad address" in row["error"]


def test_suppression_is_recorded_once_and_marks_the_customer(any_store: Store) -> None:
    seed_thread(any_store)
    assert any_store.suppress("Ann@Example.com", "unsubscribe", "link", NOW)
    assert not any_store.suppress("ann@example.com", "unsubscribe", "link", NOW)
    assert any_store.suppressed() == {"ann@example.com"}
    customers = any_store.frames()["customers"].set_index("address")
    assert customers.loc["ann@example.com", "unsubscribed_at"] == NOW


def test_a_resolved_thread_ending_with_thanks_does_not_await_us(any_store: Store) -> None:
    thread_id = seed_thread(any_store)
    with any_store.engine.connect() as conn:
        before = any_store.throttle_inputs(conn, NOW, 30)
    assert before["awaiting_reply"] == {"ann@example.com"} and before["backlog_threads"] == 1
    any_store.sync_candidates([Candidate(thread_id, "ann@example.com", "survey", 20, ["resolved, calm"])], NOW)
    with any_store.engine.connect() as conn:
        after = any_store.throttle_inputs(conn, NOW, 30)
    assert after["awaiting_reply"] == set() and after["backlog_threads"] == 0
