"""Conversation threading that survives real mail, computed incrementally.

Which messages form one conversation is decided the way notmuch decides it:
a message belongs with every Message-ID it names in References or
In-Reply-To, and with every other copy of its own Message-ID. The threads
are the connected parts of that graph, so a missing parent (a "ghost") still
joins its children, duplicate Message-IDs join, and reference loops are
harmless. Two more links exist for support mail:

* **reply token** — a reply carrying the token of a draft we sent joins that
  draft's thread, whatever its headers say;
* **subject fallback** — for clients that drop the threading headers: a
  message with neither In-Reply-To nor References (nor a reply token) whose
  subject carries a reply/forward marker (``Re:``, ``AW:``, ``SV:``…) joins
  the messages with the same normalised subject that involve its customer
  (the customer is their customer, or among their participants when they
  have none recorded) dated within a window (30 days) of it. Generic subjects
  ("hello", "question", "") never link.

Every link is a property of a pair of messages, never of the order they were
seen in, so threading the same messages in one batch or in many (children
before parents, any split) ends with the same grouping. Threads only ever
grow or merge; when a late message links two stored threads, the younger is
merged into the older (smaller id), and ``ThreadUpdate.merges`` tells the
store.

The index keeps ids, not texts: Message-IDs and subject keys are held as
64-bit hashes (``hash()``, valid for one process, which is all an index
lives for), the union-find forest is an ``array``.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from outreach.errors import OutreachError
from outreach.subjects import DEFAULT_GENERIC_SUBJECTS, normalise_generic, split_subject

__all__ = [
    "DEFAULT_SUBJECT_WINDOW",
    "ThreadIndex",
    "ThreadInput",
    "ThreadUpdate",
    "ThreadingError",
    "clean_message_id",
    "group",
    "parent_of",
]

DEFAULT_SUBJECT_WINDOW = timedelta(days=30)
"""How far apart in time a header-less reply and its subject match may be."""

# A subject-index entry packs (minute, node) into one int64: minutes since
# 0001-01-01 need 33 bits, leaving 30 bits for the node.
_NODE_BITS = 30
_NODE_MASK = (1 << _NODE_BITS) - 1
_MINUTES_BEFORE_EPOCH = 62_135_596_800 // 60
_SUBJECT_CACHE_LIMIT = 65536
_ID_STRIP = " \t\r\n<>"
_EMPTY: Mapping[str, int] = {}


class ThreadingError(OutreachError):
    """The index was used out of protocol (unresolved placeholder, bad thread id)."""


@dataclass(frozen=True, slots=True)
class ThreadInput:
    """What threading needs to know about one message.

    Attributes:
        key: The message's row id in the store.
        message_id: Message-ID without angle brackets.
        in_reply_to: Parent Message-ID from In-Reply-To, if any.
        references: Message-IDs from References, oldest first.
        subject: Decoded subject.
        participants: Lower-cased From/To/Cc addresses.
        customer: The non-staff address, if known.
        date: Aware UTC datetime (naive values are taken as UTC).
        reply_token: Token from the plus-address the message was sent to.
    """

    key: int
    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    participants: frozenset[str]
    customer: str | None
    date: datetime
    reply_token: str | None = None


@dataclass(slots=True)
class ThreadUpdate:
    """What the store must write after :meth:`ThreadIndex.add`.

    Attributes:
        assigned: Message key → thread id: an existing id (> 0) or a
            placeholder (< 0: -1, -2…) shared by the messages of one new thread.
        merges: Existing thread id → existing thread id it is merged into
            (always the older, smaller id; chains are already flattened).
        new_roots: Placeholder → Message-ID of the new thread's earliest
            message in the batch (a unique, stable name for the new thread).
    """

    assigned: dict[int, int]
    merges: dict[int, int]
    new_roots: dict[int, str] = field(default_factory=dict)


def clean_message_id(value: str | None) -> str:
    """A Message-ID without surrounding whitespace and angle brackets.

    Args:
        value: A Message-ID as found in a header or the store, or None.

    Returns:
        The bare id, or ``""`` when there is none.
    """
    return value.strip(_ID_STRIP) if value else ""


def _minute(when: datetime) -> int:
    """Minutes since 0001-01-01 UTC (non-negative, fits 33 bits)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() // 60) + _MINUTES_BEFORE_EPOCH


class ThreadIndex:
    """Incremental, order-independent threading over the messages of a store.

    Use: ``empty()``, ``load()`` the stored messages with their thread ids,
    then ``add()`` new batches; after each ``add`` the store creates the new
    threads and reports their ids with ``resolve()`` before the next ``add``.
    """

    __slots__ = (
        "_anchor", "_by_subject", "_fallback", "_generic", "_node_of", "_parent",
        "_pending", "_tid", "_unresolved", "_window",
    )

    def __init__(
        self,
        *,
        subject_window: timedelta | None = DEFAULT_SUBJECT_WINDOW,
        generic_subjects: Iterable[str] = DEFAULT_GENERIC_SUBJECTS,
    ) -> None:
        """Create an empty index.

        Args:
            subject_window: How far apart a header-less reply and a message
                with its subject may be; None turns the subject fallback off.
            generic_subjects: Subjects never linked on (normalised here).
        """
        self._window = None if subject_window is None else int(subject_window.total_seconds() // 60)
        self._generic = normalise_generic(generic_subjects)
        self._node_of: dict[int, int] = {}  # hash(Message-ID) -> node
        self._parent = array("q")  # union-find forest over nodes
        self._tid: dict[int, int] = {}  # root node -> thread id of that component
        self._anchor: dict[int, int] = {}  # thread id -> some node of it
        # hash((subject, address)) -> packed (minute, node) entry, or a sorted array of them
        self._by_subject: dict[int, int | array] = {}
        self._fallback: dict[int, int | array] = {}  # same, header-less replies only
        self._pending: dict[int, int] = {}  # merges not yet reported: loser -> winner
        self._unresolved: dict[int, int] = {}  # placeholder -> node

    @classmethod
    def empty(
        cls,
        *,
        subject_window: timedelta | None = DEFAULT_SUBJECT_WINDOW,
        generic_subjects: Iterable[str] = DEFAULT_GENERIC_SUBJECTS,
    ) -> ThreadIndex:
        """An index that knows no message yet.

        Args:
            subject_window: See :class:`ThreadIndex`; None disables the fallback.
            generic_subjects: Subjects never linked on.

        Returns:
            A new, empty index.
        """
        return cls(subject_window=subject_window, generic_subjects=generic_subjects)

    def __len__(self) -> int:
        """Number of distinct Message-IDs known (messages and ghosts)."""
        return len(self._parent)

    # -- public protocol --------------------------------------------------

    def load(self, known: Iterable[tuple[ThreadInput, int]]) -> None:
        """Take in messages already stored, with the thread each belongs to.

        If the stored grouping joins what these rules keep apart, nothing is
        split; if it keeps apart what they join (an older algorithm, a
        changed window), the merges are reported by the next :meth:`add`.

        Args:
            known: ``(message, thread_id)`` pairs; ``thread_id`` > 0.

        Raises:
            ThreadingError: A thread id is not positive, or a placeholder
                from the last ``add`` is still unresolved.
        """
        self._check_resolved()
        cache: dict[str, tuple[str | None, bool]] = {}
        for message, thread_id in known:
            if thread_id <= 0:
                raise ThreadingError(f"stored thread id must be positive, got {thread_id}")
            node = self._link(message, _EMPTY, cache)
            self._attach(node, thread_id)

    def add(
        self, batch: Sequence[ThreadInput], token_threads: Mapping[str, int] = _EMPTY
    ) -> ThreadUpdate:
        """Thread a batch of new messages.

        Args:
            batch: Messages not stored with a thread yet, in any order.
            token_threads: Reply token of each draft we sent → its thread id,
                as stored now (drafts re-pointed by earlier merges).

        Returns:
            Where each message goes, which stored threads merge, and a root
            Message-ID for each new thread.

        Raises:
            ThreadingError: A placeholder from the previous ``add`` was not
                resolved.
        """
        self._check_resolved()
        cache: dict[str, tuple[str | None, bool]] = {}
        nodes = [self._link(message, token_threads, cache) for message in batch]
        assigned: dict[int, int] = {}
        earliest: dict[int, tuple[int, str]] = {}
        next_placeholder = -1
        for message, node in zip(batch, nodes):
            root = self._find(node)
            thread = self._tid.get(root)
            if thread is None:
                thread = next_placeholder
                next_placeholder -= 1
                self._tid[root] = thread
                self._unresolved[thread] = node
            assigned[message.key] = thread
            if thread < 0:
                # A thread's name must be unique in the store, even without a Message-ID.
                name = clean_message_id(message.message_id) or f"no-id.{message.key}@outreach.invalid"
                mark = (_minute(message.date), name)
                best = earliest.get(thread)
                if best is None or mark < best:
                    earliest[thread] = mark
        return ThreadUpdate(
            assigned=assigned,
            merges=self._take_merges(),
            new_roots={p: mid for p, (_, mid) in earliest.items()},
        )

    def resolve(self, placeholder: int, thread_id: int) -> None:
        """Record the thread id the store created for a placeholder.

        Args:
            placeholder: A negative id from the last :meth:`add`.
            thread_id: The stored thread's id (> 0).

        Raises:
            ThreadingError: Unknown placeholder or non-positive thread id.
        """
        if thread_id <= 0:
            raise ThreadingError(f"thread id must be positive, got {thread_id}")
        node = self._unresolved.pop(placeholder, None)
        if node is None:
            raise ThreadingError(f"unknown placeholder {placeholder}")
        root = self._find(node)
        if self._tid.get(root) == placeholder:
            del self._tid[root]
        self._attach(node, thread_id)

    def thread_of(self, message_id: str) -> int | None:
        """The thread id a Message-ID (message or ghost) belongs to, if known."""
        node = self._node_of.get(hash(clean_message_id(message_id)))
        return None if node is None else self._tid.get(self._find(node))

    # -- union-find ---------------------------------------------------------

    def _node(self, hashed: int) -> int:
        node = self._node_of.get(hashed)
        if node is None:
            node = len(self._parent)
            if node > _NODE_MASK:
                raise ThreadingError("too many Message-IDs for one index")
            self._parent.append(node)
            self._node_of[hashed] = node
        return node

    def _find(self, node: int) -> int:
        parent = self._parent
        while (up := parent[node]) != node:
            # Path halving keeps trees shallow without recursion.
            parent[node] = parent[up]
            node = parent[node]
        return node

    def _union(self, a: int, b: int) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            self._join(ra, rb)

    def _join(self, ra: int, rb: int) -> int:
        """Join two distinct roots; return the surviving root."""
        if rb < ra:
            ra, rb = rb, ra
        self._parent[rb] = ra
        moved = self._tid.pop(rb, None)
        if moved is not None:
            self._settle(ra, moved)
        return ra

    def _settle(self, root: int, thread: int) -> None:
        """Give ``root``'s component ``thread``; two stored threads merge into the older."""
        have = self._tid.get(root)
        if have is None or have == thread:
            self._tid[root] = thread
            return
        keep, drop = min(have, thread), max(have, thread)
        self._tid[root] = keep
        self._pending[drop] = keep

    def _attach(self, node: int, thread: int) -> None:
        anchor = self._anchor.get(thread)
        if anchor is None:
            self._anchor[thread] = node
            self._settle(self._find(node), thread)
        else:
            self._union(node, anchor)

    # -- linking ------------------------------------------------------------

    def _link(
        self,
        message: ThreadInput,
        token_threads: Mapping[str, int],
        cache: dict[str, tuple[str | None, bool]],
    ) -> int:
        """Add one message's links; return its node."""
        own = message.message_id.strip(_ID_STRIP)
        # A message without any Message-ID must not join every other one.
        node = self._node(hash(own) if own else hash(("\0key", message.key)))
        irt = message.in_reply_to
        refs = message.references
        # The hot loop of a sync: union-find inlined, new ghosts hung
        # straight under the current root instead of a full union.
        node_of = self._node_of
        parent = self._parent
        find = self._find
        root = find(node)
        for ref in (*refs, irt) if irt else refs:
            ref = ref.strip(_ID_STRIP)
            if not ref or ref == own:  # self-references are common and meaningless
                continue
            hashed = hash(ref)
            other = node_of.get(hashed)
            if other is None:
                other = len(parent)
                if other > _NODE_MASK:
                    raise ThreadingError("too many Message-IDs for one index")
                parent.append(root)
                node_of[hashed] = other
                continue
            other_root = find(other)
            if other_root != root:
                root = self._join(root, other_root)
        token = message.reply_token
        if token:
            thread = token_threads.get(token)
            if thread is not None and thread > 0:
                self._attach(node, thread)
        if self._window is not None:
            self._link_subject(message, node, cache, headerless=not irt and not refs and not token)
        return node

    def _link_subject(
        self,
        message: ThreadInput,
        node: int,
        cache: dict[str, tuple[str | None, bool]],
        *,
        headerless: bool,
    ) -> None:
        raw = message.subject or ""
        seen = cache.get(raw)
        if seen is None:
            norm, is_reply = split_subject(raw)
            seen = (None if norm in self._generic else norm, is_reply)
            if len(cache) >= _SUBJECT_CACHE_LIMIT:
                cache.clear()
            cache[raw] = seen
        norm, is_reply = seen
        if norm is None:
            return
        customer = (message.customer or "").strip().lower()
        addresses = (customer,) if customer else tuple(a for a in message.participants if a)
        minute = _minute(message.date)
        window = self._window
        assert window is not None
        # The pair rule, from both sides: a header-less reply links to any
        # message of its subject involving its customer; any message links to
        # the header-less replies of its subject whose customer it involves.
        fallback_child = headerless and is_reply and bool(customer)
        if fallback_child:
            for other in _within(self._by_subject.get(hash((norm, customer))), minute, window):
                self._union(node, other)
        for address in addresses:
            for other in _within(self._fallback.get(hash((norm, address))), minute, window):
                self._union(node, other)
        packed = (minute << _NODE_BITS) | node
        for address in addresses:
            _insert(self._by_subject, hash((norm, address)), packed)
        if fallback_child:
            _insert(self._fallback, hash((norm, customer)), packed)

    # -- bookkeeping --------------------------------------------------------

    def _check_resolved(self) -> None:
        if self._unresolved:
            raise ThreadingError(
                f"{len(self._unresolved)} new thread(s) from the last add() not resolved"
            )

    def _take_merges(self) -> dict[int, int]:
        pending, self._pending = self._pending, {}
        merges: dict[int, int] = {}
        for drop, keep in pending.items():
            while keep in pending:
                keep = pending[keep]
            merges[drop] = keep
        return merges


def _within(entries: int | array | None, minute: int, window: int) -> list[int]:
    """Nodes of the packed entries dated within ``window`` minutes of ``minute``."""
    if entries is None:
        return []
    low = (minute - window) << _NODE_BITS
    high = (minute + window + 1) << _NODE_BITS
    if isinstance(entries, int):
        return [entries & _NODE_MASK] if low <= entries < high else []
    start = bisect_left(entries, low)
    stop = bisect_left(entries, high, start)
    return [e & _NODE_MASK for e in entries[start:stop]]


def _insert(table: dict[int, int | array], key: int, packed: int) -> None:
    """Add a packed entry, keeping each key's entries sorted and unique."""
    have = table.get(key)
    if have is None:
        table[key] = packed  # most keys have one entry: skip the array
    elif isinstance(have, int):
        if have != packed:
            table[key] = array("q", sorted((have, packed)))
    else:
        at = bisect_left(have, packed)
        if at == len(have) or have[at] != packed:
            have.insert(at, packed)


def group(
    messages: Sequence[ThreadInput],
    *,
    subject_window: timedelta | None = DEFAULT_SUBJECT_WINDOW,
    generic_subjects: Iterable[str] = DEFAULT_GENERIC_SUBJECTS,
    token_threads: Mapping[str, int] = _EMPTY,
) -> dict[int, int]:
    """Thread messages in one go.

    Args:
        messages: The messages.
        subject_window: See :class:`ThreadIndex`; None disables the fallback.
        generic_subjects: Subjects never linked on.
        token_threads: Reply token → thread id, if replies should join them.

    Returns:
        Message key → group number (0, 1, 2… in order of first appearance;
        messages joined to a ``token_threads`` thread share one group).
    """
    index = ThreadIndex(subject_window=subject_window, generic_subjects=generic_subjects)
    update = index.add(messages, token_threads)
    numbers: dict[int, int] = {}
    out: dict[int, int] = {}
    for message in messages:
        thread = update.assigned[message.key]
        out[message.key] = numbers.setdefault(thread, len(numbers))
    return out


def parent_of(message: ThreadInput, present: Container[str] | None = None) -> str | None:
    """The Message-ID a message answers, for drawing a conversation as a tree.

    Grouping never depends on this; it only orders a thread. The rule is
    notmuch's: In-Reply-To when it names a message we have, else the newest
    References entry we have. Without knowledge of what is present, the
    JWZ rule: the last References entry, else In-Reply-To. (When
    In-Reply-To dangles and several References entries are present, notmuch
    takes the deepest in its tree with alphabetical ties; we take the newest
    entry, which on gmane-rewritten LKML mail is more often the true parent.)

    Args:
        message: The message.
        present: Message-IDs of the messages in its thread, if known.

    Returns:
        The parent's Message-ID, or None for a top-level message.
    """
    own = clean_message_id(message.message_id)
    irt = clean_message_id(message.in_reply_to)
    refs = [r for r in map(clean_message_id, message.references) if r and r != own]
    if irt == own:
        irt = ""
    if present is None:
        return refs[-1] if refs else (irt or None)
    if irt and irt in present:
        return irt
    for ref in reversed(refs):
        if ref in present:
            return ref
    return None
