"""The store's tables (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Changing a table means a new Alembic revision in ``connectors/migrations``:
``alembic -c connectors/alembic.ini revision --autogenerate -m "..."``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = DateTime(timezone=True)

mailboxes = Table(
    "mailboxes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(300), nullable=False),
    Column("folder", String(300), nullable=False),
    Column("uidvalidity", BigInteger, nullable=False, server_default="0"),
    Column("last_uid", BigInteger, nullable=False, server_default="0"),
    Column("highestmodseq", BigInteger, nullable=True),
    Column("synced_at", TS, nullable=True),
    UniqueConstraint("source", "folder", name="uq_mailboxes_source_folder"),
)

threads = Table(
    "threads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("root_message_id", String(998), nullable=False, unique=True),
    Column("customer", String(320), nullable=True, index=True),
    Column("subject", Text, nullable=False, server_default=""),
    Column("status", String(32), nullable=False, server_default="open"),
    Column("message_count", Integer, nullable=False, server_default="0"),
    Column("first_customer_at", TS, nullable=True),
    Column("last_customer_at", TS, nullable=True),
    Column("first_staff_at", TS, nullable=True),
    Column("last_staff_at", TS, nullable=True),
    Column("last_message_at", TS, nullable=True),
    Column("automation_stopped", Boolean, nullable=False, server_default=text("false")),
    Column("updated_at", TS, nullable=True),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("mailbox_id", Integer, ForeignKey("mailboxes.id"), nullable=True),
    Column("uidvalidity", BigInteger, nullable=False, server_default="0"),
    Column("uid", BigInteger, nullable=False, server_default="0"),
    Column("content_hash", String(64), nullable=False, unique=True),
    Column("message_id", String(998), nullable=False, index=True),
    Column("in_reply_to", String(998), nullable=True),
    Column("references", JSON, nullable=False, default=list),
    Column("thread_id", Integer, ForeignKey("threads.id"), nullable=True, index=True),
    Column("direction", String(3), nullable=False),
    Column("from_address", String(320), nullable=False, index=True),
    Column("from_name", String(300), nullable=False, server_default=""),
    Column("to_addresses", JSON, nullable=False, default=list),
    Column("date", TS, nullable=False, index=True),
    Column("subject", Text, nullable=False, server_default=""),
    Column("text", Text, nullable=False, server_default=""),
    Column("reply_text", Text, nullable=False, server_default=""),
    Column("auto_kind", String(16), nullable=True),
    Column("attachments", JSON, nullable=False, default=list),
    Column("reply_token", String(64), nullable=True, index=True),
    Column("language", String(8), nullable=True),
    Column("tone", Float, nullable=True),
    Column("created_at", TS, nullable=False),
    Index("ix_messages_location", "mailbox_id", "uidvalidity", "uid"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("mailbox_id", Integer, ForeignKey("mailboxes.id"), nullable=True),
    Column("folder", String(300), nullable=False),
    Column("uidvalidity", BigInteger, nullable=False, server_default="0"),
    Column("uid", BigInteger, nullable=False, server_default="0"),
    Column("content_hash", String(64), nullable=False, unique=True),
    Column("reason", Text, nullable=False),
    Column("size", Integer, nullable=False, server_default="0"),
    Column("created_at", TS, nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("address", String(320), nullable=False, unique=True),
    Column("name", String(300), nullable=False, server_default=""),
    Column("timezone", String(64), nullable=True),
    Column("language", String(8), nullable=True),
    Column("value", Float, nullable=False, server_default="1.0"),
    Column("unsubscribed_at", TS, nullable=True),
    Column("bounced_at", TS, nullable=True),
    Column("complained_at", TS, nullable=True),
)

candidates = Table(
    "candidates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("thread_id", Integer, ForeignKey("threads.id"), nullable=False, index=True),
    Column("customer", String(320), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("reasons", JSON, nullable=False, default=list),
    # open: waiting for a draft; drafted: a draft exists; closed: settled or superseded.
    Column("status", String(16), nullable=False, server_default="open"),
    Column("source", String(16), nullable=False, server_default="detect"),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index(
        "uq_candidates_live_thread_kind",
        "thread_id",
        "kind",
        unique=True,
        sqlite_where=text("status != 'closed'"),
        postgresql_where=text("status != 'closed'"),
    ),
)

drafts = Table(
    "drafts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("candidate_id", Integer, ForeignKey("candidates.id"), nullable=True, index=True),
    Column("thread_id", Integer, ForeignKey("threads.id"), nullable=False, index=True),
    Column("customer", String(320), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("template", String(200), nullable=False),
    Column("language", String(8), nullable=False, server_default="en"),
    Column("subject", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("html", Text, nullable=True),
    Column("context", JSON, nullable=False, default=dict),
    Column("status", String(16), nullable=False, index=True),
    Column("reviewer", String(100), nullable=True),
    Column("review_note", Text, nullable=True),
    Column("gesture", String(200), nullable=True),
    Column("created_at", TS, nullable=False),
    Column("reviewed_at", TS, nullable=True),
    Column("not_before", TS, nullable=True),
    Column("wait_reason", Text, nullable=True),
    Column("claimed_at", TS, nullable=True),
    Column("claimed_by", String(100), nullable=True),
    Column("sent_at", TS, nullable=True, index=True),
    Column("provider", String(16), nullable=True),
    Column("provider_id", String(200), nullable=True),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("reply_token", String(64), nullable=False, unique=True),
    Column("message_id", String(300), nullable=False, unique=True),
    Column("error", Text, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("replied_at", TS, nullable=True),
)

survey_responses = Table(
    "survey_responses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("draft_id", Integer, ForeignKey("drafts.id"), nullable=False, unique=True),
    Column("scale", String(8), nullable=False),
    Column("score", Integer, nullable=True),
    Column("comment", Text, nullable=False, server_default=""),
    Column("source", String(8), nullable=False),
    Column("message_id", String(998), nullable=True),
    Column("needs_review", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("address", String(320), nullable=False, unique=True),
    Column("reason", String(32), nullable=False),
    Column("source", String(32), nullable=False),
    Column("created_at", TS, nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", TS, nullable=False, index=True),
    Column("actor", String(100), nullable=False),
    Column("action", String(32), nullable=False),
    Column("draft_id", Integer, ForeignKey("drafts.id"), nullable=True, index=True),
    Column("detail", JSON, nullable=False, default=dict),
)

agents = Table(
    "agents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("password_hash", String(300), nullable=False),
    Column("role", String(16), nullable=False, server_default="agent"),
    Column("created_at", TS, nullable=False),
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
    # Sessions carry the epoch they started in; logout and a new password bump it.
    Column("session_epoch", Integer, nullable=False, server_default="0"),
)
