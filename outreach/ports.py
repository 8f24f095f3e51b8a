"""The small typed interfaces connectors implement and the core is handed.

The core never imports a connector: steps receive objects that satisfy these
protocols (an IMAP client, an mbox reader, SendGrid, SMTP, the file outbox).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from outreach.models import OutgoingEmail, RawMessage, SendResult


@dataclass(frozen=True, slots=True)
class MailboxState:
    """What the store remembers of one folder between syncs."""

    folder: str
    uidvalidity: int
    last_uid: int
    highestmodseq: int | None = None


@dataclass(slots=True)
class FolderBatch:
    """A batch of new messages from one folder.

    Attributes:
        folder: The folder they came from.
        uidvalidity: The folder's current UIDVALIDITY; a value other than the
            stored one means the server renumbered and the sync restarts at 1.
        messages: The raw messages, in UID order.
        last_uid: Highest UID this batch covers (store it with the batch, in
            one transaction, so a crash never skips or repeats a message).
        highestmodseq: The folder's HIGHESTMODSEQ when CONDSTORE is there.
    """

    folder: str
    uidvalidity: int
    messages: list[RawMessage] = field(default_factory=list)
    last_uid: int = 0
    highestmodseq: int | None = None


class MessageSource(Protocol):
    """Where mail comes from: IMAP, an mbox file, a Maildir."""

    name: str
    """Stable identity of the source (``imap://user@host:993``, ``mbox:/abs/path``)."""

    def folders(self) -> list[tuple[str, bool]]:
        """The folders to sync as ``(name, holds_staff_replies)``."""
        ...

    def fetch_new(
        self, folder: str, state: MailboxState | None, batch_size: int, max_bytes: int | None = None
    ) -> Iterator[FolderBatch]:
        """Yield batches of messages newer than ``state`` (all when ``None``).

        A batch holds at most ``batch_size`` messages and, unless one message alone is
        larger, at most ``max_bytes`` bytes (None: no byte bound).
        """
        ...

    def close(self) -> None:
        """Release connections and threads."""
        ...


@runtime_checkable
class ChangeProbe(Protocol):
    """A source that can tell cheaply whether anything arrived since the store's positions."""

    def new_messages(self, known: Mapping[str, MailboxState]) -> int:
        """At most how many messages came after ``known`` (folder → state); 0 exactly when none."""
        ...


class Sender(Protocol):
    """Who delivers our email: SendGrid, SMTP, or the file outbox."""

    name: str

    def send(self, email: OutgoingEmail, *, dry_run: bool = False) -> SendResult:
        """Deliver one email.

        Raises:
            ProviderError: with ``retryable`` telling whether a later try may work.
        """
        ...

    def verify(self) -> str:
        """Check that sending could work (reach the provider, log in), sending nothing.

        Returns:
            One line saying what was checked.

        Raises:
            ProviderError: what stands in the way.
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...
