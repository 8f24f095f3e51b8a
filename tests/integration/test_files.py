"""mbox and Maildir sources, and the file outbox."""

from __future__ import annotations

import email
import mailbox
from email.policy import default
from pathlib import Path

import pytest

from connectors.files import FileOutbox, MaildirSource, MboxSource
from outreach.errors import SourceError
from outreach.models import OutgoingEmail


def message(n: int) -> bytes:
    return (
        f"From: c{n}@example.com\r\nTo: support@northwind.example\r\nSubject: Q{n}\r\n"
        f"Message-ID: <q{n}@example.com>\r\nDate: Thu, 5 Mar 2026 10:00:00 +0000\r\n\r\nBody {n}\r\n"
    ).encode()


def test_mbox_fetches_in_batches_then_only_new(tmp_path: Path) -> None:
    path = tmp_path / "box.mbox"
    box = mailbox.mbox(str(path))
    for n in range(5):
        box.add(message(n))
    box.flush()
    source = MboxSource(path)
    batches = list(source.fetch_new("box.mbox", None, batch_size=2))
    assert [len(b.messages) for b in batches] == [2, 2, 1]
    assert [b.last_uid for b in batches] == [2, 4, 5]
    from outreach.ports import MailboxState

    state = MailboxState("box.mbox", batches[0].uidvalidity, 5)
    box.add(message(5))
    box.flush()
    new = list(source.fetch_new("box.mbox", state, batch_size=2))
    assert [m.uid for b in new for m in b.messages] == [6]
    assert b"Body 5" in new[0].messages[0].data


def padded(n: int, size: int) -> bytes:
    """Message ``n`` with a body of about ``size`` bytes (an attachment, say)."""
    return message(n).replace(f"Body {n}".encode(), f"Body {n} ".encode() + b"x" * size)


@pytest.mark.parametrize("kind", ["mbox", "maildir"])
def test_file_sources_bound_batches_by_bytes_too(tmp_path: Path, kind: str) -> None:
    sizes = [10, 10, 600_000, 10, 500_000, 1_500_000, 10, 10]
    if kind == "mbox":
        box: mailbox.Mailbox = mailbox.mbox(str(tmp_path / "box.mbox"))
    else:
        box = mailbox.Maildir(str(tmp_path / "md"))
    keys = [box.add(padded(n, size)) for n, size in enumerate(sizes)]
    box.flush()
    source = MboxSource(tmp_path / "box.mbox") if kind == "mbox" else MaildirSource(tmp_path / "md")
    folder = "box.mbox" if kind == "mbox" else "INBOX"

    batches = [b for b in source.fetch_new(folder, None, batch_size=3, max_bytes=1_000_000) if b.messages]

    got = [m.data for b in batches for m in b.messages]
    if kind == "maildir":  # a Maildir walks its files in name order
        order = sorted(range(len(keys)), key=lambda i: keys[i])
        sizes = [sizes[i] for i in order]
    assert [len(d) for d in got] == [len(padded(0, s)) for s in sizes]  # every message once
    for batch in batches:
        held = sum(len(m.data) for m in batch.messages)
        assert held <= 1_000_000 or len(batch.messages) == 1
        assert len(batch.messages) <= 3
    assert [m.uid for b in batches for m in b.messages] == list(range(1, 9))


def test_missing_mbox_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such mbox"):
        MboxSource(tmp_path / "nope.mbox")


def test_maildir_lists_sent_folder_and_reads_every_message(tmp_path: Path) -> None:
    root = mailbox.Maildir(str(tmp_path / "md"))
    root.add(message(1))
    sent = root.add_folder("Sent")
    sent.add(message(2))
    source = MaildirSource(tmp_path / "md", ["Sent"])
    assert source.folders() == [("INBOX", False), ("Sent", True)]
    inbox = [m for b in source.fetch_new("INBOX", None, 10) for m in b.messages]
    staff = [m for b in source.fetch_new("Sent", None, 10) for m in b.messages]
    assert len(inbox) == 1 and not inbox[0].sent_folder
    assert len(staff) == 1 and staff[0].sent_folder


def outgoing(draft_id: int = 3) -> OutgoingEmail:
    return OutgoingEmail(
        draft_id=draft_id, idempotency_key="key-3", message_id="outreach.tok@northwind.example",
        from_address="support@northwind.example", from_name="Priya (Northwind Support)", to_address="ann@example.com",
        reply_to="support+tok@northwind.example", subject="Your refund", text="Hi Ann,\nIt is on its way.\n",
        html="<p>Hi Ann,</p>", headers={"List-Unsubscribe": "<https://x/u/t>", "Auto-Submitted": "auto-generated"},
        category="follow_up",
    )


def test_outbox_writes_a_real_message_once(tmp_path: Path) -> None:
    outbox = FileOutbox(tmp_path / "out")
    first = outbox.send(outgoing())
    again = outbox.send(outgoing())
    files = list((tmp_path / "out").glob("*.eml"))
    assert len(files) == 1 and first.provider_id == again.provider_id == files[0].name
    msg = email.message_from_bytes(files[0].read_bytes(), policy=default)
    assert msg["To"] == "ann@example.com"
    assert msg["Message-ID"] == "<outreach.tok@northwind.example>"
    assert msg["Reply-To"] == "support+tok@northwind.example"
    assert msg["List-Unsubscribe"] == "<https://x/u/t>"
    assert msg["Date"] is not None
    assert msg.get_body(("plain",)).get_content().startswith("Hi Ann")
    assert msg.get_body(("html",)) is not None


def test_outbox_dry_run_writes_nothing(tmp_path: Path) -> None:
    FileOutbox(tmp_path / "out").send(outgoing(), dry_run=True)
    assert not (tmp_path / "out").exists()


def test_maildir_delivery_time_dates_mail_without_a_date_header(tmp_path: Path) -> None:
    from outreach.ingest import parse_batch
    from outreach.settings import Settings

    md = tmp_path / "md"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    (md / "new" / "1773400000.M1P1.host").write_bytes(
        b"From: c@example.com\r\nTo: support@example.com\r\nSubject: no date\r\n\r\nHello\r\n"
    )
    raws = [m for b in MaildirSource(md).fetch_new("INBOX", None, 10) for m in b.messages]
    stored, quarantined = parse_batch(raws, Settings())
    assert quarantined == []
    assert stored[0].parsed.date.timestamp() == 1773400000
