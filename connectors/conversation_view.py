"""Read-only views of a conversation for the review app: its messages and the customer's flags."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from connectors.schema import customers, messages, suppressions

if TYPE_CHECKING:
    from connectors.store import Store


def thread_messages(store: Store, thread_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The newest ``limit`` messages of a thread, oldest first.

    Each row has ``id``, ``direction`` (in/out), ``from_name``, ``date``,
    ``subject``, ``reply_text`` (the new part), ``text`` (with quoted history)
    and ``auto_kind`` (set for auto-replies).
    """
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                messages.c.id,
                messages.c.direction,
                messages.c.from_name,
                messages.c.date,
                messages.c.subject,
                messages.c.reply_text,
                messages.c.text,
                messages.c.auto_kind,
            )
            .where(messages.c.thread_id == thread_id)
            .order_by(messages.c.date.desc(), messages.c.id.desc())
            .limit(limit)
        ).mappings()
        found = [dict(r) for r in rows]
    for row in found:
        if isinstance(row["date"], datetime) and row["date"].tzinfo is None:
            row["date"] = row["date"].replace(tzinfo=UTC)
    found.reverse()
    return found


def customer_flags(store: Store, address: str) -> dict[str, Any]:
    """What a reviewer should know about the customer before approving.

    Returns:
        ``name``, ``language``, ``unsubscribed_at``, ``bounced_at``,
        ``complained_at`` (None when unknown) and ``suppressed`` (a reason or None).
    """
    with store.engine.connect() as conn:
        row = conn.execute(
            select(
                customers.c.name, customers.c.language, customers.c.unsubscribed_at,
                customers.c.bounced_at, customers.c.complained_at,
            ).where(customers.c.address == address)
        ).mappings().first()
        reason = conn.execute(
            select(suppressions.c.reason).where(suppressions.c.address == address.strip().lower())
        ).scalar()
    flags: dict[str, Any] = dict(row) if row else {
        "name": "", "language": None, "unsubscribed_at": None, "bounced_at": None, "complained_at": None,
    }
    flags["suppressed"] = reason
    return flags
