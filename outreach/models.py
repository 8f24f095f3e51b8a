"""Plain data the core passes around: no I/O, no ORM, cheap to build in bulk."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Direction = Literal["in", "out"]
"""``in``: written by a customer. ``out``: written by our staff (or by Outreach)."""

AutoKind = Literal["auto_reply", "bounce", "bulk", "complaint"]
"""Why a message is machine-written and never counts as a customer's words.

``complaint`` is a feedback-loop report (RFC 5965): the recipient marked our
mail as spam; its ``bounced_addresses`` name that recipient, who must not be
written to again."""

CandidateKind = Literal["follow_up", "check_in", "survey", "apology", "call"]
CANDIDATE_KINDS: tuple[CandidateKind, ...] = ("follow_up", "check_in", "survey", "apology", "call")
UNHAPPY_KINDS: frozenset[str] = frozenset({"check_in", "apology", "call"})

DraftKind = Literal["follow_up", "check_in", "survey", "apology", "thank_you"]
"""``call`` candidates get no email; ``thank_you`` closes the loop with promoters."""

DraftStatus = Literal[
    "pending_review", "approved", "rejected", "expired", "sending", "sent", "failed", "unknown"
]
DRAFT_STATUSES: tuple[DraftStatus, ...] = (
    "pending_review", "approved", "rejected", "expired", "sending", "sent", "failed", "unknown",
)


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One message as a source hands it over, before parsing.

    Attributes:
        folder: Mailbox folder (``INBOX``, ``Sent``) or a file source's name.
        uidvalidity: IMAP UIDVALIDITY (0 for file sources).
        uid: IMAP UID, or the position/key in a file source (unique per folder).
        data: The RFC 5322 bytes.
        sent_folder: True when the folder holds staff replies.
        received_at: When the server got it (IMAP INTERNALDATE, Maildir delivery
            time): the date of last resort for mail without usable headers.
    """

    folder: str
    uidvalidity: int
    uid: int
    data: bytes
    sent_folder: bool = False
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """A message reduced to what Outreach needs.

    Attributes:
        message_id: Message-ID without angle brackets; synthesised from the
            content hash (``…@outreach.invalid``) when the header is missing.
        in_reply_to: Parent Message-ID, if any.
        references: Ancestors, oldest first.
        from_address: Lower-cased sender address ("" when unparseable).
        from_name: Display name, best effort.
        to_addresses: Lower-cased recipients (To and Cc).
        date: Aware UTC datetime (the Date header, else the newest Received).
        subject: Decoded subject.
        text: Readable body text (HTML converted to text).
        reply_text: Only the new words: quoted history and signature removed.
        auto_kind: Set when the message is an auto-reply, bounce or bulk mail.
        attachments: File names of attachments (noted, never stored).
        content_hash: SHA-256 hex of the raw bytes.
        reply_token: The token found in a ``+token`` plus-address we sent from.
        bounced_addresses: For bounces/DSNs, the addresses that failed.
        bounce_refs: For bounces and complaints, the Message-IDs they point back
            to (the returned message's first): only recipients of mail we sent
            are ever suppressed.
        language: Two-letter guess of the text's language, if known.
    """

    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    from_address: str
    from_name: str
    to_addresses: tuple[str, ...]
    date: datetime
    subject: str
    text: str
    reply_text: str
    auto_kind: AutoKind | None
    attachments: tuple[str, ...]
    content_hash: str
    reply_token: str | None = None
    bounced_addresses: tuple[str, ...] = ()
    bounce_refs: tuple[str, ...] = ()
    language: str | None = None


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A parsed message ready for the store, with where it came from and who wrote it."""

    folder: str
    uidvalidity: int
    uid: int
    direction: Direction
    parsed: ParsedMessage
    tone: float | None = None
    """Tone of a customer's own words, scored once at ingest (None for staff and robots)."""


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A raw message that could not be parsed, kept with its one-line reason."""

    folder: str
    uidvalidity: int
    uid: int
    reason: str
    content_hash: str
    size: int


@dataclass(slots=True)
class Candidate:
    """Someone we should reach out to, and why.

    Attributes:
        thread_id: The conversation.
        customer: The customer's address.
        kind: What kind of outreach fits.
        priority: 0–100, higher first.
        reasons: Sentences an agent can check in seconds, quoting evidence.
    """

    thread_id: int
    customer: str
    kind: CandidateKind
    priority: int
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """A rendered email ready for a sender.

    Attributes:
        draft_id: The draft this email comes from.
        idempotency_key: Stable per draft; providers that support it dedupe on it.
        message_id: Our Message-ID (without brackets).
        from_address: The team's sending address.
        from_name: Shown name (the agent who signs it).
        to_address: The customer.
        reply_to: Plus-address carrying the reply token.
        subject: Subject line.
        text: Plain-text body.
        html: HTML body (CSS inlined), or None.
        headers: Extra headers (List-Unsubscribe, Auto-Submitted, In-Reply-To…).
        category: The outreach kind, for provider analytics.
    """

    draft_id: int
    idempotency_key: str
    message_id: str
    from_address: str
    from_name: str
    to_address: str
    reply_to: str
    subject: str
    text: str
    html: str | None
    headers: dict[str, str]
    category: str


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a provider said after accepting a message."""

    provider: str
    provider_id: str | None
