"""A read-only look at the store with the database driver alone: has a sync anything to do?

``outreach sync`` runs every few minutes, and most runs find nothing new. Opening
the store through SQLAlchemy costs a quarter of a second of imports before the
first query; this module answers the three questions a sync with nothing new
needs (where each folder stands, whether any message waits for its thread,
whether a customer's reply waits to be read) with ``sqlite3`` or ``psycopg``
directly. Anything unexpected answers "don't know" (``None``), and the caller
takes the full path, which opens, migrates and reports problems properly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outreach.ports import MailboxState

log = logging.getLogger(__name__)

SCHEMA_HEAD = "0002"
"""The newest revision under ``migrations/versions`` (a test keeps it equal to Alembic's head)."""

_FOLDERS = "SELECT folder, uidvalidity, last_uid, highestmodseq FROM mailboxes WHERE source = {p}"
_UNTHREADED = "SELECT 1 FROM messages WHERE thread_id IS NULL LIMIT 1"
# A customer's reply to one of our drafts that the reply step has not marked yet
# (the step marks every human reply it reads; see flows.reply_steps).
_UNREAD_REPLY = (
    "SELECT 1 FROM messages m JOIN drafts d ON d.reply_token = m.reply_token"
    " WHERE m.reply_token IS NOT NULL AND m.direction = 'in' AND m.auto_kind IS NULL"
    " AND d.replied_at IS NULL LIMIT 1"
)


@dataclass(frozen=True, slots=True)
class StorePeek:
    """What the store says about one source.

    Attributes:
        folders: Each folder synced before → where it stands.
        settled: True when no message waits for its thread and no reply to a
            draft waits to be read: a sync that fetches nothing would change nothing.
    """

    folders: dict[str, MailboxState]
    settled: bool


def peek(url: str, source: str) -> StorePeek | None:
    """Read where ``source``'s folders stand, without SQLAlchemy.

    Args:
        url: The store URL (``store.url``).
        source: The source's name as the store records it (``MessageSource.name``).

    Returns:
        The folders' states and whether the store is settled, or ``None`` when the
        store cannot be read this way (no file yet, an older schema, another
        database, a driver error).
    """
    try:
        if url.startswith("sqlite:"):
            return _peek_sqlite(url, source)
        if url.startswith(("postgresql:", "postgresql+psycopg:")):
            return _peek_postgresql(url, source)
    except Exception as exc:  # noqa: BLE001 - any doubt means: take the full path
        log.debug("store peek failed (%s); full sync", type(exc).__name__)
    return None


def _peek_sqlite(url: str, source: str) -> StorePeek | None:
    import sqlite3

    path = url.split(":///", 1)[1] if ":///" in url else ""
    if not path or path == ":memory:" or "?" in path or not Path(path).expanduser().is_file():
        return None
    conn = sqlite3.connect(Path(path).expanduser(), timeout=5)
    try:
        return _read(conn.cursor(), "?", source)
    finally:
        conn.close()


def _peek_postgresql(url: str, source: str) -> StorePeek | None:
    import psycopg

    conninfo = "postgresql:" + url.split(":", 1)[1]
    with psycopg.connect(conninfo, connect_timeout=10, autocommit=True) as conn, conn.cursor() as cur:
        return _read(cur, "%s", source)


def _read(cur: Any, param: str, source: str) -> StorePeek | None:
    cur.execute("SELECT version_num FROM alembic_version")
    version = cur.fetchone()
    if version is None or version[0] != SCHEMA_HEAD:
        return None  # the full path migrates first
    cur.execute(_FOLDERS.format(p=param), (source,))
    folders = {
        folder: MailboxState(folder=folder, uidvalidity=int(uidvalidity), last_uid=int(last_uid), highestmodseq=modseq)
        for folder, uidvalidity, last_uid, modseq in cur.fetchall()
        if uidvalidity or last_uid  # a row with zeros was created but never synced
    }
    cur.execute(_UNTHREADED)
    unthreaded = cur.fetchone() is not None
    cur.execute(_UNREAD_REPLY)
    unread = cur.fetchone() is not None
    return StorePeek(folders=folders, settled=not unthreaded and not unread)
