"""Agents who may use the review app: add, verify, list, disable.

Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106 low-memory
profile); only the hash is stored. Verifying an unknown or disabled name still
runs one hash so response times do not tell which names exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from connectors.schema import agents
from outreach.errors import OutreachError

if TYPE_CHECKING:
    from connectors.store import Store

Role = Literal["agent", "admin"]
ROLES: tuple[str, ...] = ("agent", "admin")
MIN_PASSWORD_LENGTH = 10
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")

_hasher = PasswordHasher()
# Verified against when the name is unknown, so a miss costs as much as a hit.
_DUMMY_HASH = _hasher.hash("outreach-no-such-agent")


class AccountError(OutreachError):
    """An agent cannot be added or changed (bad name, weak password, duplicate)."""


@dataclass(frozen=True, slots=True)
class Agent:
    """An agent of the review app.

    Attributes:
        name: Login name (also the reviewer name in the audit log).
        role: ``agent`` reviews drafts; ``admin`` also manages agents.
        disabled: Disabled agents cannot log in and lose open sessions.
        created_at: When the agent was added.
        session_epoch: Sessions started in an older epoch are over (bumped at
            logout and by a new password, so a copied cookie dies with them).
    """

    name: str
    role: str
    disabled: bool
    created_at: datetime
    session_epoch: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password``."""
    return _hasher.hash(password)


def add_agent(store: Store, name: str, password: str, role: Role = "agent", now: datetime | None = None) -> Agent:
    """Create an agent.

    Raises:
        AccountError: invalid name or role, password shorter than
            ``MIN_PASSWORD_LENGTH``, or the name is taken.
    """
    if not _NAME_RE.match(name):
        raise AccountError(f"agent name {name!r} must be 1-100 letters, digits, '.', '_', '@' or '-'")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    created = now or datetime.now(UTC)
    try:
        with store.write() as conn:
            conn.execute(
                insert(agents).values(
                    name=name, password_hash=hash_password(password), role=role, created_at=created, disabled=False
                )
            )
    except IntegrityError:
        raise AccountError(f"an agent named {name!r} already exists") from None
    return Agent(name=name, role=role, disabled=False, created_at=created)


def get_agent(store: Store, name: str) -> Agent | None:
    """The agent called ``name``, or None."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(
                agents.c.name, agents.c.role, agents.c.disabled, agents.c.created_at, agents.c.session_epoch
            ).where(agents.c.name == name)
        ).first()
    return _agent(row) if row else None


def list_agents(store: Store) -> list[Agent]:
    """Every agent, by name."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(agents.c.name, agents.c.role, agents.c.disabled, agents.c.created_at).order_by(agents.c.name)
        ).all()
    return [_agent(r) for r in rows]


def verify_agent(store: Store, name: str, password: str) -> Agent | None:
    """The agent if ``password`` is right and the agent is enabled, else None.

    A hash made with older parameters is upgraded on a successful login.
    """
    with store.engine.connect() as conn:
        row = conn.execute(select(agents).where(agents.c.name == name)).first()
    stored = row.password_hash if row is not None else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled:
        return None
    if _hasher.check_needs_rehash(stored):
        with store.write() as conn:
            conn.execute(update(agents).where(agents.c.name == name).values(password_hash=hash_password(password)))
    return _agent(row)


def set_disabled(store: Store, name: str, disabled: bool = True) -> None:
    """Disable (or re-enable) an agent.

    Raises:
        AccountError: no such agent.
    """
    with store.write() as conn:
        n = conn.execute(update(agents).where(agents.c.name == name).values(disabled=disabled)).rowcount
    if not n:
        raise AccountError(f"no agent named {name!r}")


def set_password(store: Store, name: str, password: str) -> None:
    """Replace an agent's password.

    Raises:
        AccountError: no such agent, or the password is too short.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    with store.write() as conn:
        n = conn.execute(
            update(agents)
            .where(agents.c.name == name)
            .values(password_hash=hash_password(password), session_epoch=agents.c.session_epoch + 1)
        ).rowcount
    if not n:
        raise AccountError(f"no agent named {name!r}")


def end_sessions(store: Store, name: str) -> None:
    """End every session of the agent (all browsers): the next request must log in again."""
    with store.write() as conn:
        conn.execute(update(agents).where(agents.c.name == name).values(session_epoch=agents.c.session_epoch + 1))


def _agent(row: object) -> Agent:
    created = row.created_at  # type: ignore[attr-defined]
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return Agent(
        name=row.name,  # type: ignore[attr-defined]
        role=row.role,  # type: ignore[attr-defined]
        disabled=bool(row.disabled),  # type: ignore[attr-defined]
        created_at=created,
        session_epoch=int(getattr(row, "session_epoch", 0) or 0),
    )
