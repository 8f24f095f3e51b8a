"""The store: SQLAlchemy 2 Core over SQLite (default) or PostgreSQL (by URL).

Every write that moves work along the pipeline happens in one transaction
together with the bookkeeping that makes it idempotent (a batch of messages
with its folder's ``last_uid``; a draft claim with the budget check), so a
crash at any point leaves a state that a rerun finishes without duplicates.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    Engine,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from connectors.schema import (
    agents,
    audit,
    candidates,
    customers,
    drafts,
    mailboxes,
    messages,
    metadata,
    quarantine,
    suppressions,
    survey_responses,
    threads,
)

# SCHEMA_HEAD is known without Alembic, so opening an up-to-date store skips
# importing it: a tenth of a second on every command.
from connectors.store_peek import SCHEMA_HEAD
from outreach.conversations import ThreadIndex, ThreadInput, ThreadUpdate
from outreach.errors import DraftStateError, StoreError
from outreach.models import Candidate, Quarantined, StoredMessage
from outreach.ports import MailboxState

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_ADVISORY_SEND_LOCK = 0x6F757472  # "outr": one send budget for every worker
_ADVISORY_INGEST_LOCK = 0x6F757473  # batches of concurrent syncs are stored one at a time

# Transitions a reviewer or the pipeline may make; anything else is refused.
DRAFT_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending_review": frozenset({"approved", "rejected", "expired", "pending_review"}),
    "approved": frozenset({"sending", "expired", "rejected", "pending_review"}),
    "sending": frozenset({"sent", "failed", "unknown", "approved"}),
    "failed": frozenset({"approved", "rejected"}),
    # An operator who checked the provider settles it: sent, or not sent (back in the queue).
    "unknown": frozenset({"sent", "failed", "approved"}),
    "rejected": frozenset(),
    "expired": frozenset(),
    "sent": frozenset(),
}


# What threading needs of a message, stored or new.
_THREADING_COLUMNS = (
    messages.c.id,
    messages.c.thread_id,
    messages.c.message_id,
    messages.c.in_reply_to,
    messages.c.references,
    messages.c.subject,
    messages.c.from_address,
    messages.c.to_addresses,
    messages.c.direction,
    messages.c.date,
    messages.c.reply_token,
    messages.c.auto_kind,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything in the store is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _thread_input(row: dict[str, Any]) -> ThreadInput:
    """A message's threading fields (a stored row, or a row about to be stored)."""
    return ThreadInput(
        key=int(row["id"]),
        message_id=row["message_id"],
        in_reply_to=row["in_reply_to"],
        references=tuple(row["references"] or ()),
        subject=row["subject"] or "",
        participants=frozenset([row["from_address"], *(row["to_addresses"] or [])]) - {""},
        customer=row["from_address"] if row["direction"] == "in" else None,
        date=_aware(row["date"]),  # type: ignore[arg-type]
        reply_token=row.get("reply_token"),
    )


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    stored: int
    duplicates: int
    quarantined: int
    threaded: int = 0


@dataclass(slots=True)
class LiveThreads:
    """The store's threading, held in memory for a sync so each batch is threaded as it is stored.

    Attributes:
        index: Every stored message's Message-ID links, with its thread.
        tokens: Reply token of each draft → its thread (kept in step with merges).
    """

    index: ThreadIndex
    tokens: dict[str, int]
    seen_up_to: int = 0
    """The largest message id taken in: a larger one in the store was written by another sync."""


def _dialect_insert(dialect: str) -> Any:
    """INSERT with ON CONFLICT for the store's dialect (imported on use: start-up stays quick)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


class Store:
    """The Outreach store. Open with :meth:`open`; close with :meth:`close`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    # -- lifecycle ---------------------------------------------------------

    @classmethod
    def open(cls, url: str, *, migrate: bool = True, echo: bool = False) -> Store:
        """Connect to ``url`` and bring the schema to the newest version.

        Raises:
            StoreError: when the database cannot be reached or migrated.
        """
        engine = _make_engine(url, echo=echo)
        store = cls(engine)
        if migrate:
            store.migrate()
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self) -> None:
        """Upgrade the schema with Alembic (a no-op when already at head)."""
        if self.schema_version() == SCHEMA_HEAD:
            return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.write() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate the store: {exc.__class__.__name__}: {exc}") from exc

    def schema_version(self) -> str | None:
        """The Alembic revision the database is at (None before the first migration)."""
        try:
            with self.engine.connect() as conn:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except SQLAlchemyError:
            return None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction; on SQLite it takes the write lock up front."""
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                yield conn

    # -- mailboxes and messages -------------------------------------------

    def mailbox_state(self, source: str, folder: str) -> tuple[int, MailboxState | None]:
        """The folder's row id and what the last sync saw (None before the first)."""
        with self.write() as conn:
            row = conn.execute(
                select(mailboxes).where(mailboxes.c.source == source, mailboxes.c.folder == folder)
            ).first()
            if row is None:
                mailbox_id = conn.execute(
                    insert(mailboxes).values(source=source, folder=folder, uidvalidity=0, last_uid=0)
                ).inserted_primary_key[0]
                return int(mailbox_id), None
            if row.uidvalidity == 0 and row.last_uid == 0:
                return int(row.id), None
            return int(row.id), MailboxState(
                folder=folder,
                uidvalidity=int(row.uidvalidity),
                last_uid=int(row.last_uid),
                highestmodseq=row.highestmodseq,
            )

    def save_batch(
        self,
        mailbox_id: int,
        *,
        uidvalidity: int,
        last_uid: int,
        highestmodseq: int | None,
        stored: Sequence[StoredMessage],
        quarantined: Sequence[Quarantined],
        threads: LiveThreads | None = None,
    ) -> BatchOutcome:
        """Store a batch and advance the folder's position in the same transaction.

        Messages already stored (same content hash, e.g. after a UIDVALIDITY
        change or a crash before this commit) are skipped, so rerunning a
        batch never duplicates anything. With ``threads`` every new message
        is stored with its thread (created or merged in the same
        transaction), so no message is ever left unthreaded by a crash and
        no second pass over the batch is needed.
        """
        now = utcnow()
        qrows = [
            {
                "mailbox_id": mailbox_id,
                "folder": q.folder,
                "uidvalidity": q.uidvalidity,
                "uid": q.uid,
                "content_hash": q.content_hash,
                "reason": q.reason,
                "size": q.size,
                "created_at": now,
            }
            for q in quarantined
        ]
        with self.write() as conn:
            if self.dialect == "postgresql" and threads is not None:
                # Batches take turns (SQLite's BEGIN IMMEDIATE does the same): what this one
                # finds already stored, and the newest id it threads against, cannot change
                # under it while another sync stores its own batch.
                conn.execute(select(func.pg_advisory_xact_lock(_ADVISORY_INGEST_LOCK)))
            fresh = self._not_stored(conn, stored)
            rows = [_message_row(mailbox_id, m, now) for m in fresh]
            touched: set[int] = set()
            if rows and threads is not None:
                touched = self._thread_batch(conn, threads, rows, now)
            new = self._insert_ignore(conn, messages, rows, "content_hash")
            qnew = self._insert_ignore(conn, quarantine, qrows, "content_hash")
            if touched:
                self._refresh_threads(conn, touched)
            if fresh:
                self._upsert_customers(conn, [m for m in fresh if m.direction == "in"])
            conn.execute(
                update(mailboxes)
                .where(mailboxes.c.id == mailbox_id)
                .values(
                    uidvalidity=uidvalidity,
                    last_uid=last_uid,
                    highestmodseq=highestmodseq,
                    synced_at=now,
                )
            )
        return BatchOutcome(
            stored=new, duplicates=len(stored) - new, quarantined=qnew, threaded=new if threads is not None else 0
        )

    def _not_stored(self, conn: Connection, batch: Sequence[StoredMessage]) -> list[StoredMessage]:
        """The batch without messages already stored or repeated in it (by content hash)."""
        unique: dict[str, StoredMessage] = {}
        for m in batch:
            unique.setdefault(m.parsed.content_hash, m)
        hashes = list(unique)
        for chunk in _chunks(hashes, 900):
            for (known,) in conn.execute(
                select(messages.c.content_hash).where(messages.c.content_hash.in_(chunk))
            ):
                unique.pop(known, None)
        return list(unique.values())

    def _thread_batch(self, conn: Connection, live: LiveThreads, rows: list[dict[str, Any]], now: datetime) -> set[int]:
        """Give each row its id and thread; create the batch's new threads, summaries included.

        Returns:
            The stored threads the batch joins or merges (their summaries need refreshing
            once the rows are in).
        """
        if _largest_id(conn, messages) > live.seen_up_to:
            # Another sync (``watch`` and a scheduled run, say) stored messages since this
            # index was loaded: take them, and its merges, in before linking to them.
            fresh = self.live_threads()
            live.index, live.tokens, live.seen_up_to = fresh.index, fresh.tokens, fresh.seen_up_to
        ids = self._reserve_ids(conn, messages, len(rows))
        for row, row_id in zip(rows, ids, strict=True):
            row["id"] = row_id
        live.seen_up_to = max(live.seen_up_to, *ids)
        update_ = live.index.add([_thread_input(r) for r in rows], live.tokens)
        resolved, touched = self._create_and_merge(conn, update_, now, rows)
        for placeholder in update_.new_roots:
            live.index.resolve(placeholder, resolved[placeholder])
        for token, thread_id in live.tokens.items():
            live.tokens[token] = update_.merges.get(thread_id, thread_id)
        return touched

    def _reserve_ids(self, conn: Connection, table: Any, count: int) -> range | list[int]:
        """Primary keys for ``count`` rows about to be inserted into ``table``.

        Known before the insert, so a batch's messages and threads can point at
        each other without reading ids back. SQLite: the batch holds the write lock
        (BEGIN IMMEDIATE), so the ids after the largest are free. PostgreSQL: taken
        from the column's sequence.
        """
        if count == 0:
            return range(0)
        if self.dialect == "postgresql":
            return list(
                conn.execute(
                    text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
                    {"table": table.name, "n": count},
                ).scalars()
            )
        first = _largest_id(conn, table) + 1
        return range(first, first + count)

    def touch_mailbox(self, mailbox_id: int, highestmodseq: int | None) -> None:
        with self.write() as conn:
            conn.execute(
                update(mailboxes)
                .where(mailboxes.c.id == mailbox_id)
                .values(synced_at=utcnow(), highestmodseq=highestmodseq)
            )

    def _insert_ignore(
        self, conn: Connection, table: Any, rows: list[dict[str, Any]], key: str
    ) -> int:
        if not rows:
            return 0
        if self.dialect == "sqlite":
            # sqlite3 sums the rows each statement of an executemany changed (skipped
            # duplicates change none), and values converted here skip SQLAlchemy's
            # per-value bind processing: several times faster for a batch of mail.
            columns = tuple(rows[0])
            sql, convert = _sqlite_insert(table, columns, key)
            values = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
            params = []
            for row in rows:
                param = list(values(row))
                for i, f in convert:
                    param[i] = f(param[i])
                params.append(tuple(param))
            return int(conn.exec_driver_sql(sql, params).rowcount)
        stmt = _dialect_insert(self.dialect)(table).on_conflict_do_nothing(index_elements=[key])
        # RETURNING yields only the rows actually inserted, so duplicates are counted for free.
        return len(conn.execute(stmt.returning(table.c.id), rows).all())

    def _upsert_customers(self, conn: Connection, inbound: Sequence[StoredMessage]) -> None:
        seen: dict[str, str] = {}
        for m in inbound:
            if m.parsed.from_address and m.parsed.auto_kind is None:
                seen[m.parsed.from_address] = m.parsed.from_name or seen.get(m.parsed.from_address, "")
        if not seen:
            return
        dialect_insert = _dialect_insert(self.dialect)
        rows = [{"address": a, "name": n} for a, n in seen.items()]
        stmt = dialect_insert(customers)
        stmt = stmt.on_conflict_do_update(
            index_elements=["address"],
            set_={"name": func.coalesce(func.nullif(stmt.excluded.name, ""), customers.c.name)},
        )
        conn.execute(stmt, rows)

    def unthreaded(self) -> list[dict[str, Any]]:
        """Messages not yet given a thread, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*_THREADING_COLUMNS)
                .where(messages.c.thread_id.is_(None))
                .order_by(messages.c.date, messages.c.id)
            ).mappings()
            return [dict(r) for r in rows]

    def threaded(self) -> Iterator[dict[str, Any]]:
        """Every threaded message's threading fields (streamed)."""
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=5000).execute(
                select(*_THREADING_COLUMNS).where(messages.c.thread_id.is_not(None))
            ).mappings()
            for row in result:
                yield dict(row)

    def token_threads(self) -> dict[str, int]:
        """Reply token of every draft → its thread (replies find their draft by it)."""
        with self.engine.connect() as conn:
            return {
                r.reply_token: r.thread_id
                for r in conn.execute(select(drafts.c.reply_token, drafts.c.thread_id))
            }

    def live_threads(self) -> LiveThreads:
        """The threading of every stored message, for :meth:`save_batch` to extend batch by batch."""
        with self.engine.connect() as conn:
            newest = _largest_id(conn, messages)  # first: whatever is stored later is loaded too
        index = ThreadIndex.empty()
        index.load((_thread_input(row), int(row["thread_id"])) for row in self.threaded())
        return LiveThreads(index=index, tokens=self.token_threads(), seen_up_to=newest)

    def thread_unthreaded(self) -> int:
        """Give every message stored without a thread its thread; returns how many.

        Syncs thread each batch as they store it; this catches messages stored
        any other way (or by an older version).
        """
        fresh = self.unthreaded()
        if not fresh:
            return 0
        live = self.live_threads()
        update_ = live.index.add([_thread_input(r) for r in fresh], live.tokens)
        self.apply_threads(update_.assigned, update_.merges, update_.new_roots)
        return len(fresh)

    def apply_threads(
        self,
        assigned: dict[int, int],
        merges: dict[int, int],
        new_roots: dict[int, str],
    ) -> dict[int, int]:
        """Create new threads, merge linked ones, point messages at their thread.

        Args:
            assigned: message row id → thread id (> 0) or placeholder (< 0).
            merges: thread id → thread id it merges into.
            new_roots: placeholder → root Message-ID of the new thread.

        Returns:
            placeholder → the thread id created for it.
        """
        now = utcnow()
        with self.write() as conn:
            resolved, touched = self._create_and_merge(
                conn, ThreadUpdate(assigned=assigned, merges=merges, new_roots=new_roots), now
            )
            if assigned:
                conn.execute(
                    update(messages).where(messages.c.id == bindparam("key")).values(thread_id=bindparam("tid")),
                    [{"key": k, "tid": resolved.get(ref, ref)} for k, ref in assigned.items()],
                )
            if touched:
                self._refresh_threads(conn, touched)
        return {p: t for p, t in resolved.items() if p < 0}

    def _create_and_merge(
        self, conn: Connection, update_: ThreadUpdate, now: datetime, rows: list[dict[str, Any]] | None = None
    ) -> tuple[dict[int, int], set[int]]:
        """Create the update's new threads and carry out its merges.

        Args:
            conn: The open write transaction.
            update_: What :meth:`ThreadIndex.add` decided.
            now: Time stamp for changed rows.
            rows: The new message rows (keyed by ``id``) when they are not stored yet:
                each gets its ``thread_id``, and the new threads are created with their
                summaries. Without rows, threads are created empty for a refresh.

        Returns:
            Every thread reference the update assigns (placeholder or stored id) → the
            thread id it ends in, and the stored threads whose summary must be refreshed.
        """
        ids_by_root: dict[str, int] = {}
        roots = sorted(set(update_.new_roots.values()))
        for chunk in _chunks(roots, 900):
            found = conn.execute(
                select(threads.c.root_message_id, threads.c.id).where(threads.c.root_message_id.in_(chunk))
            )
            ids_by_root.update((root, tid) for root, tid in found)
        missing = [r for r in roots if r not in ids_by_root]
        ids_by_root.update(zip(missing, self._reserve_ids(conn, threads, len(missing)), strict=True))
        merges = update_.merges
        resolved = {placeholder: int(ids_by_root[root]) for placeholder, root in update_.new_roots.items()}
        for ref in set(update_.assigned.values()):
            if ref > 0:
                resolved[ref] = merges.get(ref, ref)
        new_threads: dict[int, dict[str, Any]] = {
            ids_by_root[root]: {"id": ids_by_root[root], "root_message_id": root, "updated_at": now} for root in missing
        }
        created = set(new_threads)
        if rows is not None:
            for row in rows:
                row["thread_id"] = resolved[update_.assigned[row["id"]]]
            ordered = sorted(
                (r for r in rows if r["thread_id"] in created), key=lambda r: (r["thread_id"], r["date"], r["id"])
            )
            for summary in _thread_summaries(map(itemgetter(*_SUMMARY_COLUMNS), ordered), now):
                new_threads[summary.pop("tid")].update(summary)
        if new_threads:
            # Same keys in every row: threads without messages yet get the defaults.
            keys = set().union(*new_threads.values())
            self._insert_ignore(conn, threads, [{k: t.get(k) for k in keys} for t in new_threads.values()], "id")
        for source_id, target_id in merges.items():
            conn.execute(update(messages).where(messages.c.thread_id == source_id).values(thread_id=target_id))
            conn.execute(
                update(candidates)
                .where(candidates.c.thread_id == source_id, candidates.c.status != "closed")
                .values(status="closed", updated_at=now)
            )
            conn.execute(update(drafts).where(drafts.c.thread_id == source_id).values(thread_id=target_id))
            conn.execute(update(threads).where(threads.c.id == source_id).values(status="merged", message_count=0))
        touched = set(resolved.values()) | set(merges.values())
        if rows is not None:
            touched -= created  # summarised from the rows already
        return resolved, touched

    def _refresh_threads(self, conn: Connection, thread_ids: set[int]) -> None:
        """Recompute each touched thread's summary from its messages, in bulk."""
        found: list[tuple[Any, ...]] = []
        for chunk in _chunks(sorted(thread_ids), 900):
            found.extend(
                tuple(r)
                for r in conn.execute(
                    select(*(messages.c[name] for name in _SUMMARY_COLUMNS))
                    .where(messages.c.thread_id.in_(chunk))
                    .order_by(messages.c.thread_id, messages.c.date, messages.c.id)
                )
            )
        params = _thread_summaries(found, utcnow())
        if params:
            # The SET clause comes from the parameter names (every key but "tid").
            conn.execute(update(threads).where(threads.c.id == bindparam("tid")), params)

    # -- frames for the core ----------------------------------------------

    def frames(self, *, text_columns: bool = True) -> dict[str, pd.DataFrame]:
        """The tables detection and reports work on, as pandas frames.

        Returns:
            ``messages``, ``threads``, ``customers``, ``outreach`` (drafts) and
            ``surveys`` frames with UTC datetime columns.
        """

        mcols = [
            messages.c.id,
            messages.c.thread_id,
            messages.c.direction,
            messages.c.from_address,
            messages.c.date,
            messages.c.subject,
            messages.c.auto_kind,
            messages.c.tone,
        ]
        if text_columns:
            mcols.append(messages.c.reply_text)
        frames: dict[str, pd.DataFrame] = {}
        with self.engine.connect() as conn:
            frames["messages"] = _frame(
                conn, select(*mcols).where(messages.c.thread_id.is_not(None)), ["date"]
            )
            frames["threads"] = _frame(
                conn,
                select(threads).where(threads.c.status != "merged"),
                ["first_customer_at", "last_customer_at", "first_staff_at", "last_staff_at", "last_message_at", "updated_at"],
            )
            frames["customers"] = _frame(
                conn, select(customers), ["unsubscribed_at", "bounced_at", "complained_at"]
            )
            frames["outreach"] = _frame(
                conn,
                select(
                    drafts.c.id,
                    drafts.c.thread_id,
                    drafts.c.customer,
                    drafts.c.kind,
                    drafts.c.status,
                    drafts.c.priority,
                    drafts.c.created_at,
                    drafts.c.sent_at,
                    drafts.c.replied_at,
                ),
                ["created_at", "sent_at", "replied_at"],
            )
            frames["surveys"] = _frame(
                conn,
                select(
                    survey_responses,
                    drafts.c.thread_id,
                    drafts.c.customer,
                    drafts.c.kind.label("draft_kind"),
                    drafts.c.sent_at,
                ).join(drafts, drafts.c.id == survey_responses.c.draft_id),
                ["created_at", "updated_at", "sent_at"],
            )
        return frames

    # -- candidates --------------------------------------------------------

    def sync_candidates(self, found: Sequence[Candidate], now: datetime) -> dict[str, int]:
        """Make the live candidates match what detection found.

        One live candidate per thread and kind: new ones are added, existing
        ones re-scored, and open ones detection no longer finds are closed.
        Candidates created by the survey loop (``source='loop'``) are kept.
        """
        counts = {"added": 0, "updated": 0, "closed": 0}
        wanted = {(c.thread_id, c.kind): c for c in found}
        with self.write() as conn:
            live = conn.execute(
                select(candidates.c.id, candidates.c.thread_id, candidates.c.kind, candidates.c.status, candidates.c.source)
                .where(candidates.c.status != "closed")
            ).all()
            have = {(r.thread_id, r.kind): r for r in live}
            for key, row in have.items():
                cand = wanted.get(key)
                if cand is None:
                    if row.status == "open" and row.source == "detect":
                        conn.execute(
                            update(candidates).where(candidates.c.id == row.id).values(status="closed", updated_at=now)
                        )
                        counts["closed"] += 1
                    continue
                conn.execute(
                    update(candidates)
                    .where(candidates.c.id == row.id)
                    .values(priority=cand.priority, reasons=cand.reasons, updated_at=now)
                )
                counts["updated"] += 1
            new_rows = [
                {
                    "thread_id": c.thread_id,
                    "customer": c.customer,
                    "kind": c.kind,
                    "priority": c.priority,
                    "reasons": c.reasons,
                    "status": "open",
                    "source": "detect",
                    "created_at": now,
                    "updated_at": now,
                }
                for key, c in wanted.items()
                if key not in have
            ]
            if new_rows:
                conn.execute(insert(candidates), new_rows)
            counts["added"] = len(new_rows)
        return counts

    def add_loop_candidate(self, cand: Candidate, now: datetime) -> int | None:
        """A close-the-loop candidate (from a survey answer); None if one is live."""
        with self.write() as conn:
            live = conn.execute(
                select(candidates.c.id).where(
                    candidates.c.thread_id == cand.thread_id,
                    candidates.c.kind == cand.kind,
                    candidates.c.status != "closed",
                )
            ).scalar()
            if live is not None:
                return None
            return int(
                conn.execute(
                    insert(candidates).values(
                        thread_id=cand.thread_id,
                        customer=cand.customer,
                        kind=cand.kind,
                        priority=cand.priority,
                        reasons=cand.reasons,
                        status="open",
                        source="loop",
                        created_at=now,
                        updated_at=now,
                    )
                ).inserted_primary_key[0]
            )

    def candidates_to_draft(self) -> list[dict[str, Any]]:
        """Open candidates (not ``call``) with what drafting needs."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    candidates,
                    threads.c.subject.label("thread_subject"),
                    customers.c.name.label("customer_name"),
                    customers.c.language.label("customer_language"),
                )
                .join(threads, threads.c.id == candidates.c.thread_id)
                .join(customers, customers.c.address == candidates.c.customer, isouter=True)
                .where(candidates.c.status == "open", candidates.c.kind != "call")
                .order_by(candidates.c.priority.desc(), candidates.c.id)
            ).mappings()
            return [dict(r) for r in rows]

    def last_customer_message(self, thread_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(messages.c.reply_text, messages.c.language, messages.c.from_name, messages.c.message_id, messages.c.subject)
                .where(
                    messages.c.thread_id == thread_id,
                    messages.c.direction == "in",
                    messages.c.auto_kind.is_(None),
                )
                .order_by(messages.c.date.desc(), messages.c.id.desc())
                .limit(1)
            ).mappings().first()
            return dict(row) if row else None

    def first_customer_message(self, thread_id: int) -> dict[str, Any] | None:
        """The customer's first words in a thread: what the conversation is about (surveys name it)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(messages.c.reply_text, messages.c.subject)
                .where(
                    messages.c.thread_id == thread_id,
                    messages.c.direction == "in",
                    messages.c.auto_kind.is_(None),
                )
                .order_by(messages.c.date, messages.c.id)
                .limit(1)
            ).mappings().first()
            return dict(row) if row else None

    def list_candidates(self, status: str | None = "open") -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            q = select(candidates).order_by(candidates.c.priority.desc(), candidates.c.id)
            if status:
                q = q.where(candidates.c.status == status)
            return [dict(r) for r in conn.execute(q).mappings()]

    # -- drafts ------------------------------------------------------------

    def add_draft(
        self,
        row: dict[str, Any],
        *,
        render: Callable[[int], dict[str, Any]] | None = None,
        actor: str = "outreach",
    ) -> int | None:
        """Insert a draft for a candidate and mark the candidate drafted, atomically.

        ``render`` receives the new draft's id (survey links are bound to it)
        and returns ``subject``, ``text`` and ``html``; if it raises, nothing
        is stored and the candidate stays open.

        Returns:
            The draft id, or None when the candidate already has a draft.
        """
        with self.write() as conn:
            if row.get("candidate_id") is not None:
                taken = conn.execute(
                    update(candidates)
                    .where(candidates.c.id == row["candidate_id"], candidates.c.status == "open")
                    .values(status="drafted", updated_at=row["created_at"])
                ).rowcount
                if not taken:
                    return None
            values = {"subject": "", "text": "", "html": None, **row}
            draft_id = int(conn.execute(insert(drafts).values(**values)).inserted_primary_key[0])
            if render is not None:
                conn.execute(update(drafts).where(drafts.c.id == draft_id).values(**render(draft_id)))
            self._audit(conn, actor, "drafted", draft_id, {"kind": row["kind"], "status": row["status"]}, at=row["created_at"])
            if row["status"] == "approved":
                self._audit(conn, actor, "auto_approved", draft_id, {"policy": "drafts.auto_approve"}, at=row["created_at"])
            return draft_id

    def get_draft(self, draft_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(drafts).where(drafts.c.id == draft_id)).mappings().first()
            return _aware_row(dict(row)) if row else None

    def list_drafts(
        self, status: str | None = None, kind: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            q = select(drafts).order_by(drafts.c.priority.desc(), drafts.c.id)
            if status:
                q = q.where(drafts.c.status == status)
            if kind:
                q = q.where(drafts.c.kind == kind)
            if limit:
                q = q.limit(limit)
            return [_aware_row(dict(r)) for r in conn.execute(q).mappings()]

    def transition(
        self,
        draft_id: int,
        to: str,
        *,
        actor: str,
        action: str,
        now: datetime,
        values: dict[str, Any] | None = None,
        detail: dict[str, Any] | None = None,
        expect: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """Move a draft to ``to`` if its lifecycle allows it, with an audit entry.

        Raises:
            DraftStateError: unknown draft or a transition the lifecycle forbids.
        """
        with self.write() as conn:
            row = conn.execute(select(drafts.c.status).where(drafts.c.id == draft_id)).first()
            if row is None:
                raise DraftStateError(f"draft {draft_id} does not exist")
            allowed = set(expect) if expect is not None else set(DRAFT_TRANSITIONS)
            if row.status not in allowed or to not in DRAFT_TRANSITIONS.get(row.status, frozenset()):
                raise DraftStateError(f"draft {draft_id} is {row.status}; it cannot be {action.replace('_', ' ')}")
            changed = conn.execute(
                update(drafts)
                .where(drafts.c.id == draft_id, drafts.c.status == row.status)
                .values(status=to, **(values or {}))
            ).rowcount
            if not changed:
                raise DraftStateError(f"draft {draft_id} changed while it was being updated")
            self._audit(conn, actor, action, draft_id, {"from": row.status, "to": to, **(detail or {})}, at=now)
        result = self.get_draft(draft_id)
        assert result is not None
        return result

    def update_draft_content(
        self, draft_id: int, *, subject: str, text_body: str, html: str | None, actor: str, now: datetime,
        gesture: str | None = None,
    ) -> bool:
        """Replace a draft's content; an approved draft goes back to review (its approval covered the old text).

        Returns:
            True when the draft was approved and is now pending review again.

        Raises:
            DraftStateError: the draft does not exist, or is no longer editable (being sent, sent…).
        """
        with self.write() as conn:
            row = conn.execute(select(drafts.c.status).where(drafts.c.id == draft_id)).first()
            status = row.status if row is not None else None
            values: dict[str, Any] = {"subject": subject, "text": text_body, "html": html, "gesture": gesture}
            if status not in ("pending_review", "approved"):
                raise DraftStateError(f"draft {draft_id} cannot be edited in its current state")
            reopened = status == "approved"
            if reopened:
                values.update(status="pending_review", reviewer=None, reviewed_at=None)
            changed = conn.execute(
                update(drafts).where(drafts.c.id == draft_id, drafts.c.status == status).values(values)
            ).rowcount
            if not changed:
                raise DraftStateError(f"draft {draft_id} cannot be edited in its current state")
            detail: dict[str, Any] = {"subject": subject}
            if reopened:
                detail.update({"from": "approved", "to": "pending_review"})
            self._audit(conn, actor, "edited", draft_id, detail, at=now)
        return reopened

    def expire_drafts(self, *, review_before: datetime, approved_before: datetime, now: datetime) -> int:
        """Expire drafts never reviewed, and approved ones the throttle held too long."""
        with self.write() as conn:
            ids = [
                r.id
                for r in conn.execute(
                    select(drafts.c.id).where(
                        or_(
                            and_(drafts.c.status == "pending_review", drafts.c.created_at < review_before),
                            and_(
                                drafts.c.status == "approved",
                                func.coalesce(drafts.c.reviewed_at, drafts.c.created_at) < approved_before,
                            ),
                        )
                    )
                )
            ]
            for chunk in _chunks(ids, 500):
                conn.execute(update(drafts).where(drafts.c.id.in_(chunk)).values(status="expired"))
                for draft_id in chunk:
                    self._audit(conn, "outreach", "expired", draft_id, {}, at=now)
        return len(ids)

    # -- sending -----------------------------------------------------------

    @contextmanager
    def send_lock(self) -> Iterator[Connection]:
        """One transaction that serialises every sender's budget decision."""
        with self.write() as conn:
            if self.dialect == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(_ADVISORY_SEND_LOCK)))
            yield conn

    def send_history(self, conn: Connection, since: datetime) -> pd.DataFrame:
        """Drafts sent or being sent since ``since`` (what counts against caps)."""
        return _frame(
            conn,
            select(drafts.c.id, drafts.c.customer, drafts.c.kind, drafts.c.sent_at, drafts.c.claimed_at, drafts.c.status)
            .where(
                drafts.c.status.in_(["sent", "sending", "unknown"]),
                func.coalesce(drafts.c.sent_at, drafts.c.claimed_at) >= since,
            ),
            ["sent_at", "claimed_at"],
        )

    def approved_frame(self, conn: Connection) -> pd.DataFrame:
        return _frame(
            conn,
            select(
                drafts.c.id, drafts.c.customer, drafts.c.kind, drafts.c.priority, drafts.c.created_at,
                drafts.c.reviewed_at, drafts.c.thread_id, drafts.c.not_before,
            ).where(drafts.c.status == "approved"),
            ["created_at", "reviewed_at", "not_before"],
        )

    def claim(self, conn: Connection, draft_ids: Sequence[int], worker: str, now: datetime) -> list[int]:
        """Mark drafts ``sending`` inside the caller's send-lock transaction."""
        claimed: set[int] = set()
        for chunk in _chunks(list(draft_ids), 500):
            # One statement per chunk; RETURNING names exactly the rows this worker took.
            claimed.update(
                r.id for r in conn.execute(
                    update(drafts)
                    .where(drafts.c.id.in_(chunk), drafts.c.status == "approved")
                    .values(
                        status="sending", claimed_at=now, claimed_by=worker, attempts=drafts.c.attempts + 1,
                        wait_reason=None, not_before=None,
                    )
                    .returning(drafts.c.id)
                )
            )
        ordered = [d for d in draft_ids if d in claimed]
        if ordered:
            conn.execute(
                insert(audit),
                [{"at": now, "actor": worker, "action": "claimed", "draft_id": d, "detail": {}} for d in ordered],
            )
        return ordered

    def defer(self, conn: Connection, waits: dict[int, tuple[datetime | None, str]]) -> None:
        for draft_id, (not_before, reason) in waits.items():
            conn.execute(
                update(drafts)
                .where(drafts.c.id == draft_id, drafts.c.status == "approved")
                .values(not_before=not_before, wait_reason=reason)
            )

    def settle_sent(self, draft_id: int, *, provider: str, provider_id: str | None, now: datetime) -> None:
        """``sending → sent`` in one short transaction (the hot path of every send).

        Raises:
            DraftStateError: the draft is no longer ``sending``.
        """
        with self.write() as conn:
            changed = conn.execute(
                update(drafts)
                .where(drafts.c.id == draft_id, drafts.c.status == "sending")
                .values(status="sent", sent_at=now, provider=provider, provider_id=provider_id, error=None)
            ).rowcount
            if not changed:
                raise DraftStateError(f"draft {draft_id} is not sending; cannot settle it as sent")
            self._audit(conn, "sender", "sent", draft_id, {"from": "sending", "to": "sent", "provider": provider}, at=now)

    def drafts_by_id(self, draft_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Several drafts in one query (a send batch)."""
        out: dict[int, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(draft_ids), 500):
                for r in conn.execute(select(drafts).where(drafts.c.id.in_(chunk))).mappings():
                    out[int(r["id"])] = _aware_row(dict(r))
        return out

    def settle_failed(self, draft_id: int, *, provider: str, error: str, retryable: bool, now: datetime) -> None:
        """A provider error: retryable ones go back to ``approved``, others fail."""
        to = "approved" if retryable else "failed"
        self.transition(
            draft_id, to, actor="sender", action="send_failed", now=now, expect={"sending"},
            values={"provider": provider, "error": error[:2000], "claimed_at": None},
            detail={"provider": provider, "retryable": retryable},
        )

    def settle_unknown(self, draft_id: int, *, provider: str, error: str, now: datetime) -> None:
        """The provider may have accepted it (no answer came back): an operator decides, never a resend."""
        self.transition(
            draft_id, "unknown", actor="sender", action="send_unknown", now=now, expect={"sending"},
            values={"provider": provider, "error": error[:2000]},
            detail={"provider": provider},
        )

    def throttle_inputs(self, conn: Connection, now: datetime, pressure_days: float) -> dict[str, Any]:
        """Everything the throttle needs, read inside the send lock."""
        import pandas as pd

        contact = _frame(
            conn,
            select(drafts.c.customer, drafts.c.kind, drafts.c.sent_at, drafts.c.replied_at).where(
                drafts.c.status.in_(["sent", "unknown"]),
                drafts.c.sent_at >= now - timedelta(days=max(pressure_days, 1)),
            ),
            ["sent_at", "replied_at"],
        )
        rate_history = _frame(
            conn,
            select(drafts.c.kind, drafts.c.sent_at, drafts.c.replied_at).where(drafts.c.status == "sent"),
            ["sent_at", "replied_at"],
        )
        zones = {r.address: r.timezone for r in conn.execute(select(customers.c.address, customers.c.timezone))}
        # A thread whose last word is the customer's awaits us, unless detection judged it
        # resolved and calm (a live survey candidate: "thanks, all good" needs no answer).
        resolved = select(candidates.c.thread_id).where(
            candidates.c.status != "closed", candidates.c.kind.in_(["survey", "thank_you"])
        )
        waiting = conn.execute(
            select(threads.c.customer).where(
                threads.c.status == "open",
                threads.c.last_customer_at.is_not(None),
                or_(threads.c.last_staff_at.is_(None), threads.c.last_staff_at < threads.c.last_customer_at),
                threads.c.last_customer_at >= now - timedelta(days=14),
                threads.c.id.not_in(resolved),
            )
        ).all()
        return {
            "approved": self.approved_frame(conn),
            "recent_sends": self.send_history(conn, now - timedelta(hours=24)),
            "contact_history": contact if not contact.empty else pd.DataFrame(columns=["customer", "kind", "sent_at"]),
            "rate_history": rate_history,
            "customers": zones,
            "suppressed": {r.address for r in conn.execute(select(suppressions.c.address))},
            "awaiting_reply": {r.customer for r in waiting if r.customer},
            "backlog_threads": len(waiting),
        }

    def reconcile_sending(self, *, older_than: datetime, now: datetime) -> list[int]:
        """Drafts stuck in ``sending`` (a sender died) become ``unknown``, never resent."""
        with self.write() as conn:
            ids = [
                r.id
                for r in conn.execute(
                    select(drafts.c.id).where(drafts.c.status == "sending", drafts.c.claimed_at < older_than)
                )
            ]
            for draft_id in ids:
                conn.execute(update(drafts).where(drafts.c.id == draft_id).values(status="unknown"))
                self._audit(conn, "reconcile", "unknown", draft_id, {"reason": "sender stopped between claim and settle"}, at=now)
        return ids

    # -- suppression, customers ------------------------------------------

    def suppress(self, address: str, reason: str, source: str, now: datetime) -> bool:
        address = address.strip().lower()
        with self.write() as conn:
            n = self._insert_ignore(
                conn, suppressions,
                [{"address": address, "reason": reason, "source": source, "created_at": now}],
                "address",
            )
            column = {"unsubscribe": "unsubscribed_at", "bounce": "bounced_at", "complaint": "complained_at"}.get(reason)
            if column:
                conn.execute(
                    update(customers).where(customers.c.address == address, customers.c[column].is_(None)).values({column: now})
                )
        return bool(n)

    def recipients_of(self, message_ids: Sequence[str]) -> set[str]:
        """Whom we wrote in these messages: drafts we sent and staff replies in the store.

        A bounce or complaint may suppress only these addresses (see ``ParsedMessage.bounce_refs``).
        """
        ids = list(dict.fromkeys(message_ids))[:200]
        if not ids:
            return set()
        with self.engine.connect() as conn:
            found = {r.customer.lower() for r in conn.execute(select(drafts.c.customer).where(drafts.c.message_id.in_(ids)))}
            rows = conn.execute(
                select(messages.c.to_addresses).where(messages.c.message_id.in_(ids), messages.c.direction == "out")
            )
            for row in rows:
                found.update(str(a).lower() for a in row.to_addresses or ())
        return found

    def last_sent_to(self, customer: str) -> datetime | None:
        """When we last sent this customer anything."""
        with self.engine.connect() as conn:
            return _aware(
                conn.execute(
                    select(func.max(drafts.c.sent_at)).where(drafts.c.customer == customer, drafts.c.status == "sent")
                ).scalar()
            )

    def suppressed(self) -> set[str]:
        with self.engine.connect() as conn:
            return {r.address for r in conn.execute(select(suppressions.c.address))}

    # -- audit, agents -----------------------------------------------------

    def _audit(
        self, conn: Connection, actor: str, action: str, draft_id: int | None, detail: dict[str, Any],
        at: datetime | None = None,
    ) -> None:
        conn.execute(
            insert(audit).values(at=at or utcnow(), actor=actor, action=action, draft_id=draft_id, detail=detail)
        )

    def record_audit(self, actor: str, action: str, draft_id: int | None = None, **detail: Any) -> None:
        with self.write() as conn:
            self._audit(conn, actor, action, draft_id, detail)

    def audit_log(self, draft_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            q = select(audit).order_by(audit.c.id.desc()).limit(limit)
            if draft_id is not None:
                q = q.where(audit.c.draft_id == draft_id)
            return [_aware_row(dict(r)) for r in conn.execute(q).mappings()]

    # -- status ------------------------------------------------------------

    def quarantine_list(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(quarantine, mailboxes.c.source)
                .join(mailboxes, mailboxes.c.id == quarantine.c.mailbox_id, isouter=True)
                .order_by(quarantine.c.id)
                .limit(limit)
            ).mappings()
            return [_aware_row(dict(r)) for r in rows]

    def status(self, now: datetime) -> dict[str, Any]:
        """Counts for ``outreach status``."""
        with self.engine.connect() as conn:
            def count(table: Any, *where: Any) -> int:
                return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())

            by_status = {
                r.status: r.n
                for r in conn.execute(select(drafts.c.status, func.count().label("n")).group_by(drafts.c.status))
            }
            by_kind = {
                r.kind: r.n
                for r in conn.execute(
                    select(candidates.c.kind, func.count().label("n"))
                    .where(candidates.c.status != "closed")
                    .group_by(candidates.c.kind)
                )
            }
            return {
                "messages": count(messages),
                "threads": count(threads, threads.c.status != "merged"),
                "quarantined": count(quarantine),
                "candidates": sum(by_kind.values()),
                "candidates_by_kind": by_kind,
                "drafts": {s: int(by_status.get(s, 0)) for s in (
                    "pending_review", "approved", "rejected", "expired", "sending", "sent", "failed", "unknown")},
                "sent_last_24h": count(drafts, drafts.c.status == "sent", drafts.c.sent_at >= now - timedelta(hours=24)),
                "suppressed": count(suppressions),
                "survey_responses": count(survey_responses),
                "schema_version": conn.execute(text("SELECT version_num FROM alembic_version")).scalar(),
                "folders": [
                    {
                        "source": r.source, "folder": r.folder, "last_uid": int(r.last_uid),
                        "synced_at": _aware(r.synced_at).isoformat() if r.synced_at else None,
                    }
                    for r in conn.execute(
                        select(mailboxes.c.source, mailboxes.c.folder, mailboxes.c.last_uid, mailboxes.c.synced_at)
                        .order_by(mailboxes.c.source, mailboxes.c.folder)
                    )
                ],
            }


# -- helpers ---------------------------------------------------------------


def _make_engine(url: str, *, echo: bool) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 60, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, **kwargs)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreError(f"cannot open store {redact_url(url)}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _sqlite_transactions(engine)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        raise StoreError(f"cannot connect to store {redact_url(url)}: {exc.orig}") from exc
    return engine


def _sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, start transactions, so writers take the lock first.

    Without BEGIN IMMEDIATE two writers can both read, then deadlock when
    upgrading to write; with it the second waits (busy_timeout) instead.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        # A sync writes tens of MB in a run: a larger page cache and fewer, larger
        # checkpoints save a tenth of its time (the WAL is still checkpointed at ~40 MB).
        cur.execute("PRAGMA cache_size=-32768")
        cur.execute("PRAGMA wal_autocheckpoint=10000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def redact_url(url: str) -> str:
    """The store URL without its password, for messages and logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL must still produce a message
        return "<unparseable url>"


def _message_row(mailbox_id: int, m: StoredMessage, now: datetime) -> dict[str, Any]:
    p = m.parsed
    return {
        "mailbox_id": mailbox_id,
        "uidvalidity": m.uidvalidity,
        "uid": m.uid,
        "content_hash": p.content_hash,
        "message_id": p.message_id[:998],
        "in_reply_to": p.in_reply_to[:998] if p.in_reply_to else None,
        "references": list(p.references),
        "direction": m.direction,
        "from_address": p.from_address[:320],
        "from_name": p.from_name[:300],
        "to_addresses": list(p.to_addresses),
        "date": p.date,
        "subject": p.subject,
        "text": p.text,
        "reply_text": p.reply_text,
        "auto_kind": p.auto_kind,
        "attachments": list(p.attachments),
        "reply_token": p.reply_token,
        "language": p.language,
        "tone": m.tone,
        "created_at": now,
    }


def _sqlite_datetime(value: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite DateTime stores (UTC, no offset), so it reads back the same."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.isoformat(" ", "microseconds")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:-6]  # without "+00:00"


def _sqlite_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


@lru_cache(maxsize=32)
def _sqlite_insert(
    table: Any, columns: tuple[str, ...], key: str
) -> tuple[str, list[tuple[int, Callable[[Any], Any]]]]:
    """``INSERT … ON CONFLICT DO NOTHING`` for these columns, and which values need converting how."""
    convert: list[tuple[int, Callable[[Any], Any]]] = []
    for i, name in enumerate(columns):
        kind = table.c[name].type
        if isinstance(kind, JSON):
            convert.append((i, _sqlite_json))
        elif isinstance(kind, DateTime):
            convert.append((i, _sqlite_datetime))
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    return f'INSERT INTO {table.name} ({names}) VALUES ({marks}) ON CONFLICT ("{key}") DO NOTHING', convert


# What a thread's summary is computed from, per message, in this order.
_SUMMARY_COLUMNS = ("thread_id", "date", "subject", "from_address", "direction", "to_addresses", "auto_kind")


def _largest_id(conn: Connection, table: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())


def _thread_summaries(rows: Iterable[tuple[Any, ...]], now: datetime) -> list[dict[str, Any]]:
    """Each thread's summary from its messages.

    Args:
        rows: Values of ``_SUMMARY_COLUMNS``, ordered by thread, date and id.
        now: The summaries' ``updated_at``.

    Returns:
        One dict per thread: ``tid`` and the ``threads`` columns a summary sets.
    """
    summaries: dict[int, dict[str, Any]] = {}
    for thread_id, date, subject, from_address, direction, to_addresses, auto_kind in rows:
        when = _aware(date)
        t = summaries.get(thread_id)
        if t is None:
            t = summaries[thread_id] = {
                "tid": thread_id, "message_count": 0, "subject": subject,
                "first_customer_at": None, "last_customer_at": None,
                "first_staff_at": None, "last_staff_at": None, "last_message_at": None,
                "customer": None, "_recipient": None,
            }
        t["message_count"] += 1
        t["last_message_at"] = when
        if direction == "in" and auto_kind is None:
            t["first_customer_at"] = t["first_customer_at"] or when
            t["last_customer_at"] = when
            t["customer"] = t["customer"] or (from_address or None)
        elif direction == "out":
            t["first_staff_at"] = t["first_staff_at"] or when
            t["last_staff_at"] = when
            if t["_recipient"] is None and to_addresses:
                recipients = to_addresses if isinstance(to_addresses, list) else json.loads(to_addresses)
                t["_recipient"] = recipients[0] if recipients else None
    for t in summaries.values():
        recipient = t.pop("_recipient")
        t["customer"] = t["customer"] or recipient
        t["updated_at"] = now
    return list(summaries.values())


def _frame(conn: Connection, query: Any, dates: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    result = conn.execute(query)
    df = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    for col in dates:
        if col in df.columns:
            df[col] = pd.to_datetime(df[col], utc=True, format="mixed")
    return df


def _aware_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _aware(v) if isinstance(v, datetime) else v for k, v in row.items()}


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def reset_all(store: Store) -> None:
    """Drop every row (tests and the demo start clean); the schema stays."""
    with store.write() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))


__all__ = ["DRAFT_TRANSITIONS", "BatchOutcome", "LiveThreads", "Store", "redact_url", "reset_all", "utcnow"]
_ = (agents,)
