"""Files as a mail source (mbox, Maildir: backfills and the demo) and as an outbox.

The mbox source numbers messages by position (its UIDVALIDITY is the file's
inode, so a rewritten file restarts); a Maildir has no stable order, so every
sync walks it and the store skips what it already holds by content hash.
"""

from __future__ import annotations

import hashlib
import mailbox
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from outreach.composer import build_mime
from outreach.errors import ProviderError, SourceError
from outreach.models import OutgoingEmail, RawMessage, SendResult
from outreach.ports import FolderBatch, MailboxState


class MboxSource:
    """One mbox file as a single folder of customer and staff mail."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).resolve()
        self.name = f"mbox:{self.path}"
        if not self.path.is_file():
            raise SourceError(self.name, "no such mbox file")

    def folders(self) -> list[tuple[str, bool]]:
        # Direction comes from the sender's address, so one folder holds both.
        return [(self.path.name, False)]

    def fetch_new(
        self, folder: str, state: MailboxState | None, batch_size: int, max_bytes: int | None = None
    ) -> Iterator[FolderBatch]:
        uidvalidity = self.path.stat().st_ino or 1
        start = state.last_uid if state and state.uidvalidity == uidvalidity else 0
        try:
            box = mailbox.mbox(str(self.path), create=False)
            keys = box.keys()
        except (OSError, mailbox.Error) as exc:
            raise SourceError(self.name, f"cannot read: {exc}") from exc
        try:
            batch = FolderBatch(folder=folder, uidvalidity=uidvalidity, last_uid=start)
            held = 0
            for uid, key in enumerate(keys, start=1):
                if uid <= start:
                    continue
                data = box.get_bytes(key)
                if _full(batch, held + len(data), batch_size, max_bytes):
                    yield batch
                    batch = FolderBatch(folder=folder, uidvalidity=uidvalidity, last_uid=batch.last_uid)
                    held = 0
                batch.messages.append(RawMessage(folder, uidvalidity, uid, data))
                batch.last_uid = uid
                held += len(data)
            if batch.messages or batch.last_uid != start or state is None:
                yield batch
        finally:
            box.close()

    def close(self) -> None:
        """Nothing stays open between batches."""


class MaildirSource:
    """A Maildir tree: the root is ``INBOX``; sub-folders named in ``sent_folders`` hold staff mail."""

    def __init__(self, path: str | Path, sent_folders: list[str] | None = None) -> None:
        self.path = Path(path).resolve()
        self.name = f"maildir:{self.path}"
        self.sent = {f.lower() for f in (sent_folders or ["Sent"])}
        if not (self.path / "cur").is_dir() and not (self.path / "new").is_dir():
            raise SourceError(self.name, "not a Maildir (no cur/ or new/)")

    def _box(self) -> mailbox.Maildir:
        return mailbox.Maildir(str(self.path), factory=None, create=False)

    def folders(self) -> list[tuple[str, bool]]:
        names = [("INBOX", False)]
        try:
            subs = self._box().list_folders()
        except OSError as exc:
            raise SourceError(self.name, f"cannot list folders: {exc}") from exc
        names += [(name, name.lower() in self.sent) for name in sorted(subs)]
        return names

    def fetch_new(
        self, folder: str, state: MailboxState | None, batch_size: int, max_bytes: int | None = None
    ) -> Iterator[FolderBatch]:
        box = self._box() if folder == "INBOX" else self._box().get_folder(folder)
        sent = folder.lower() in self.sent
        # Walk in a stable order; position is only a label, dedupe is by content hash.
        keys = sorted(box.keys())
        batch = FolderBatch(folder=folder, uidvalidity=1)
        held = 0
        for uid, key in enumerate(keys, start=1):
            try:
                data = box.get_bytes(key)
            except (OSError, KeyError):
                continue  # delivered and removed while we walked: the next sync sees the truth
            if _full(batch, held + len(data), batch_size, max_bytes):
                yield batch
                batch = FolderBatch(folder=folder, uidvalidity=1, last_uid=batch.last_uid)
                held = 0
            batch.messages.append(
                RawMessage(folder, 1, uid, data, sent_folder=sent, received_at=_delivered_at(key))
            )
            batch.last_uid = uid
            held += len(data)
        yield batch

    def close(self) -> None:
        """Nothing stays open between batches."""


def _full(batch: FolderBatch, with_next: int, batch_size: int, max_bytes: int | None) -> bool:
    """Whether ``batch`` is complete before the next message (``with_next``: its bytes with it).

    A message larger than ``max_bytes`` still gets a batch: its own.
    """
    if not batch.messages:
        return False
    return len(batch.messages) >= batch_size or (max_bytes is not None and with_next > max_bytes)


def _delivered_at(key: str) -> datetime | None:
    """Maildir file names start with the delivery time in seconds ("1382298770.002930_1.host")."""
    head = key.split(".", 1)[0]
    return datetime.fromtimestamp(int(head), UTC) if head.isdigit() else None


class FileOutbox:
    """A sender that writes each email as ``<outbox>/<draft>-<hash>.eml``.

    Writing is atomic (temp file, then rename) and idempotent: a draft whose
    file exists is not written again.
    """

    name = "outbox"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def file_for(self, email: OutgoingEmail) -> Path:
        digest = hashlib.sha256(email.idempotency_key.encode()).hexdigest()[:12]
        return self.path / f"{email.draft_id:06d}-{digest}.eml"

    def send(self, email: OutgoingEmail, *, dry_run: bool = False) -> SendResult:
        target = self.file_for(email)
        if dry_run:
            return SendResult(self.name, None)
        if target.exists():
            return SendResult(self.name, target.name)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            data = build_mime(email, date=datetime.now(UTC)).as_bytes()
            fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".tmp-", suffix=".eml")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            raise ProviderError(self.name, f"cannot write {target.name}: {exc.strerror}", retryable=True) from exc
        return SendResult(self.name, target.name)

    def verify(self) -> str:
        """Check the outbox folder can be created and written (a test file, removed at once)."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".check-")
            os.close(fd)
            os.unlink(tmp)
        except OSError as exc:
            raise ProviderError(self.name, f"cannot write to {self.path}: {exc.strerror}") from exc
        return f"writes .eml files to {self.path}"

    def close(self) -> None:
        """Nothing to release."""
