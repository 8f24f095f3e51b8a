"""From raw bytes to storable messages: parse, decide who wrote it, or quarantine.

:func:`parse_batch` does one batch in this process. :class:`BatchParser`
spreads many batches over a few processes (parsing and tone scoring are
CPU-bound; the sync process meanwhile fetches, stores and threads) and
hands the results back in fetch order, because each stored batch advances
its folder's position.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from outreach.errors import MessageParseError
from outreach.mailparse import parse_message
from outreach.models import Direction, ParsedMessage, Quarantined, RawMessage, StoredMessage
from outreach.ports import FolderBatch
from outreach.settings import Settings

log = logging.getLogger("outreach.ingest")


def direction_of(parsed: ParsedMessage, sent_folder: bool, settings: Settings) -> Direction:
    """Staff wrote it when it sits in a sent folder or comes from a team address or domain."""
    if sent_folder or settings.is_staff(parsed.from_address):
        return "out"
    return "in"


def parse_batch(
    raws: Sequence[RawMessage], settings: Settings
) -> tuple[list[StoredMessage], list[Quarantined]]:
    """Parse a batch; a message that cannot be parsed is quarantined, never fatal."""
    stored: list[StoredMessage] = []
    bad: list[Quarantined] = []
    local, domain = settings.sender.reply_local, settings.sender.reply_domain
    for raw in raws:
        try:
            parsed = parse_message(
                raw.data, reply_local=local, reply_domain=domain, fallback_date=raw.received_at
            )
        except MessageParseError as exc:
            bad.append(
                Quarantined(
                    folder=raw.folder,
                    uidvalidity=raw.uidvalidity,
                    uid=raw.uid,
                    reason=exc.reason,
                    content_hash=hashlib.sha256(raw.data).hexdigest(),
                    size=len(raw.data),
                )
            )
            continue
        stored.append(
            StoredMessage(
                folder=raw.folder,
                uidvalidity=raw.uidvalidity,
                uid=raw.uid,
                direction=direction_of(parsed, raw.sent_folder, settings),
                parsed=parsed,
            )
        )
    return _with_tone(stored), bad


def _with_tone(stored: list[StoredMessage]) -> list[StoredMessage]:
    """Score customers' own words once, here, so detection never re-scores the whole store."""
    from dataclasses import replace

    from outreach.tone import score_texts

    human = [i for i, m in enumerate(stored) if m.direction == "in" and m.parsed.auto_kind is None]
    if not human:
        return stored
    tones = score_texts([stored[i].parsed.reply_text for i in human])
    for i, tone in zip(human, tones, strict=True):
        stored[i] = replace(stored[i], tone=tone.score)
    return stored


# -- parallel parsing ---------------------------------------------------------

POOL_MIN_BATCH = 200
"""Smaller batches are parsed in the calling process: shipping them costs more than it saves..."""

POOL_MIN_BYTES = 2 * 1024 * 1024
"""...unless they are this large: a few messages with attachments cost as much to parse as hundreds."""

_MAX_WORKERS = 4  # the main process stores, fetches and threads: more parsers only queue up
_PARENT_POLL_SECONDS = 0.2

_worker_settings: Settings | None = None


def default_workers(configured: int = 0) -> int:
    """Parser processes to use: ``configured`` if set, else one per usable CPU (at most 4)."""
    if configured > 0:
        return configured
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, _MAX_WORKERS))


def _worker_init(settings: Settings, sync_pid: int) -> None:
    """Runs once in each parser process."""
    global _worker_settings
    _worker_settings = settings
    threading.Thread(
        target=_exit_with, args=(sync_pid,), name="outreach-sync-watch", daemon=True
    ).start()


def _exit_with(sync_pid: int) -> None:
    """End this parser as soon as the sync process is gone.

    A sync killed with SIGKILL cannot shut its pool down, and the parent
    process is no help: parsers are children of the fork server, which
    lives as long as they do (each holds its liveness pipe). Orphaned
    parsers would keep the sync's stdout pipe open for ever.
    """
    import select

    try:
        fd = os.pidfd_open(sync_pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd (not Linux 5.3+): poll
        while True:
            try:
                os.kill(sync_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass
            time.sleep(_PARENT_POLL_SECONDS)
    select.select([fd], [], [])  # readable once the process has exited
    os._exit(1)


def _worker_parse(raws: list[RawMessage]) -> tuple[list[StoredMessage], list[Quarantined]]:
    assert _worker_settings is not None, "parser process started without settings"
    return parse_batch(raws, _worker_settings)


def _ready() -> None:
    """A no-op job: returns once a parser process is up."""


@dataclass(slots=True)
class _Pending:
    """A batch waiting for the parser pool or in it."""

    batch: FolderBatch
    size: int
    """Bytes of mail it holds."""
    job: Any = None
    """The pool's future once shipped; None: not shipped, or parsed here."""
    shipped: bool = False


class BatchParser:
    """Parse fetched batches in parallel processes, handing results back in fetch order.

    Each batch advances a folder's position when it is stored, so results
    come back strictly in the order the batches were fetched. The pool starts
    only when a batch is large enough to be worth shipping (by messages or
    bytes); small batches (and every batch when ``workers`` is 1) are parsed
    in this process.

    The pool starts in the background (its fork server loads the parser and
    the tone model, about a second): meanwhile fetching goes on and up to
    ``BOOT_BACKLOG`` batches wait for it. Once it runs, at most ``workers + 1``
    batches are in flight; either way never more than ``MAX_PENDING_BYTES``,
    so memory stays bounded. A pool that cannot start
    or a parser process that dies (out of memory, killed) is not fatal: the
    batches are parsed here and the rest of the run stays in-process.

    Use as a context manager so the pool is always shut down::

        with BatchParser(settings) as parser:
            for batch, stored, bad in parser.parse(source.fetch_new(...)):
                store.save_batch(...)
    """

    BOOT_BACKLOG = 16
    """Batches fetched ahead while the pool starts (16 × 500 messages: a few MB)..."""

    MAX_PENDING_BYTES = 32 * 1024 * 1024
    """Most bytes of mail waiting for or in the pool at once (while it starts and after).

    Batches of ``imap.batch_megabytes`` stay far below it; a message larger than this
    (fetched alone) is parsed here instead: shipping it would copy it twice more.
    """

    def __init__(self, settings: Settings, workers: int | None = None) -> None:
        self.settings = settings
        self.workers = default_workers(settings.imap.parse_workers) if workers is None else max(1, workers)
        self._pool: Any = None
        self._boot: threading.Thread | None = None
        self._booted = threading.Event()
        self._broken = False
        self.pooled = 0
        """Batches parsed by the pool so far (the rest were parsed in this process)."""

    def __enter__(self) -> BatchParser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the parser processes (pending batches are dropped)."""
        self._stop_pool(wait=True)

    def _stop_pool(self, *, wait: bool) -> None:
        if self._boot is not None:
            self._boot.join()
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)

    def start(self) -> None:
        """Start the parser processes in the background now (once), not at the first large batch.

        For a caller that knows plenty of mail is coming: the pool's half-second start
        then overlaps whatever the caller does next. No-op with fewer than two workers.
        """
        if self.workers < 2 or self._broken:
            return
        if self._boot is None:
            self._boot = threading.Thread(target=self._run_boot, name="outreach-parser-boot", daemon=True)
            self._boot.start()

    def _run_boot(self) -> None:
        try:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # Not fork: the caller may run threads (Prefect tasks, a progress
            # bar) whose locks a forked child would inherit held. The fork
            # server imports the parser and builds the tone model once.
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
            if "forkserver" in methods:
                # Each parser re-runs the main module (multiprocessing's rule);
                # with its imports loaded in the fork server that costs nothing.
                main_spec = getattr(sys.modules.get("__main__"), "__spec__", None)
                main_name = getattr(main_spec, "name", None)
                preload = ["outreach.ingest_warm"]
                if main_name and main_name != "__main__" and not main_name.endswith(".__main__"):
                    preload.append(main_name)
                ctx.set_forkserver_preload(preload)
            pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=ctx,
                initializer=_worker_init,
                initargs=(self.settings, os.getpid()),
            )
            self._pool = pool
            pool.submit(_ready).result()
        except Exception as exc:  # noqa: BLE001 - any failure means: parse in-process
            log.warning("parser processes unavailable (%s); parsing in-process", type(exc).__name__)
            self._broken = True
        finally:
            self._booted.set()

    def _give_up_pool(self, reason: str) -> None:
        log.warning("%s; parsing the rest in-process", reason)
        self._broken = True
        self._stop_pool(wait=False)

    def parse(
        self, batches: Iterable[FolderBatch]
    ) -> Iterator[tuple[FolderBatch, list[StoredMessage], list[Quarantined]]]:
        """Yield ``(batch, stored, quarantined)`` for every batch, in the order given."""
        from collections import deque
        from concurrent.futures.process import BrokenProcessPool

        # Unshipped batches wait for the pool; shipped ones hold their job (None: parse here).
        pending: deque[_Pending] = deque()

        def ship() -> None:
            """Hand waiting batches to the pool once it runs."""
            if not self._booted.is_set():
                return
            for entry in pending:
                if entry.shipped:
                    continue
                entry.shipped = True
                if self._broken or self._pool is None:
                    continue
                try:
                    entry.job = self._pool.submit(_worker_parse, entry.batch.messages)
                    self.pooled += 1
                except (BrokenProcessPool, RuntimeError) as exc:
                    self._give_up_pool(f"parser processes unavailable ({type(exc).__name__})")

        def settle() -> tuple[FolderBatch, list[StoredMessage], list[Quarantined]]:
            if not pending[0].shipped:
                self._booted.wait()
                ship()
            entry = pending.popleft()
            if entry.job is not None:
                try:
                    stored, bad = entry.job.result()
                    return entry.batch, stored, bad
                except BrokenProcessPool:
                    self._give_up_pool("a parser process died")
            return (entry.batch, *parse_batch(entry.batch.messages, self.settings))

        for batch in batches:
            size = sum(len(m.data) for m in batch.messages)
            small = len(batch.messages) < POOL_MIN_BATCH and size < POOL_MIN_BYTES
            if self.workers < 2 or self._broken or small or size > self.MAX_PENDING_BYTES:
                while pending:  # in order: everything already in flight goes first
                    yield settle()
                yield (batch, *parse_batch(batch.messages, self.settings))
                continue
            self.start()
            pending.append(_Pending(batch, size))
            ship()
            while pending and (
                len(pending) > (self.workers if self._booted.is_set() else self.BOOT_BACKLOG)
                or sum(e.size for e in pending) > self.MAX_PENDING_BYTES
            ):
                yield settle()
        while pending:
            yield settle()
