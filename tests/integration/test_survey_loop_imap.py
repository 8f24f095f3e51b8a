"""The survey loop end to end on a real Dovecot.

A resolved conversation sits in the mailbox; detection finds it due a
survey; the survey is drafted, approved and sent to the file outbox; the
customer's reply (to our Reply-To plus-address, In-Reply-To our
Message-ID, the survey quoted below) is APPENDed to the INBOX; a sync over
IMAP reads the score and comment, stops automation on the thread and opens
the close-the-loop candidate. A second reply updates the score.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.files import FileOutbox
from connectors.imap import ImapSource
from connectors.schema import drafts, threads
from connectors.store import Store
from connectors.survey_store import list_responses
from flows import steps
from outreach.settings import ImapSettings, Settings

pytestmark = pytest.mark.integration

# A Tuesday inside Northwind's business hours, two days after the customer's thanks.
NOW = datetime(2026, 3, 17, 10, 0, tzinfo=UTC)
CUSTOMER = "ann.customer@example.org"


def message(*, sender: str, to: str, subject: str, mid: str, date: datetime, body: str,
            in_reply_to: str | None = None) -> bytes:
    head = [
        f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Message-ID: <{mid}>",
        f"Date: {format_datetime(date)}", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
    ]
    if in_reply_to:
        head += [f"In-Reply-To: <{in_reply_to}>", f"References: <{in_reply_to}>"]
    return ("\r\n".join(head) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    s = Store.open(settings.store.url)
    yield s
    s.close()


def imap_source(dovecot) -> ImapSource:
    return ImapSource(
        ImapSettings(host="127.0.0.1", port=dovecot.port, username=dovecot.user, ssl=False, starttls=False,
                     folders=["INBOX"], sent_folders=["Sent"], timeout_seconds=10),
        password=dovecot.password, oauth2_token=None,
    )


def sync(dovecot, store: Store, settings: Settings) -> None:
    source = imap_source(dovecot)
    try:
        steps.sync(store, source, settings)
    finally:
        source.close()


def customer_reply(sent: email.message.EmailMessage, body: str, *, mid: str, date: datetime) -> bytes:
    """What a mail client makes of 'Reply': our Reply-To, In-Reply-To our Message-ID, survey quoted."""
    survey_text = sent.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    quoted = "\n".join("> " + line for line in survey_text.splitlines())
    full = (
        f"{body}\n\nOn {format_datetime(NOW)}, {sent['From']} wrote:\n{quoted}\n"
    )
    return message(
        sender=f"Ann Customer <{CUSTOMER}>", to=str(sent["Reply-To"]), subject=f"Re: {sent['Subject']}",
        mid=mid, date=date, body=full, in_reply_to=sent["Message-ID"].strip("<>"),
    )


def test_survey_reply_over_imap_is_read_and_closes_the_loop(dovecot, settings: Settings, store: Store) -> None:
    # A resolved conversation: question, our answer, the customer's thanks, our goodbye.
    t0 = NOW - timedelta(days=2, hours=3)
    dovecot.append("INBOX", message(
        sender=f"Ann Customer <{CUSTOMER}>", to="support@northwind.example", subject="Export to CSV fails",
        mid="q1@example.org", date=t0, body="Hi, the CSV export fails with an error every time. Can you help?",
    ))
    dovecot.append("Sent", message(
        sender="Priya <priya@northwind.example>", to=CUSTOMER, subject="Re: Export to CSV fails",
        mid="a1@northwind.example", date=t0 + timedelta(hours=1), in_reply_to="q1@example.org",
        body="Hi Ann, we fixed the export bug; please try again.\n\nPriya",
    ))
    dovecot.append("INBOX", message(
        sender=f"Ann Customer <{CUSTOMER}>", to="support@northwind.example", subject="Re: Export to CSV fails",
        mid="q2@example.org", date=t0 + timedelta(hours=2), in_reply_to="a1@northwind.example",
        body="It works now, thank you so much for the quick help!",
    ))
    # Our closing line: a thread that ends with the customer's thanks still counts as
    # "awaiting our answer" for the throttle, which would hold the survey back.
    dovecot.append("Sent", message(
        sender="Priya <priya@northwind.example>", to=CUSTOMER, subject="Re: Export to CSV fails",
        mid="a2@northwind.example", date=t0 + timedelta(hours=3), in_reply_to="q2@example.org",
        body="Glad to hear it, Ann. Have a great day.\n\nPriya",
    ))
    sync(dovecot, store, settings)

    # Detection finds it due a survey; draft, approve, send to the file outbox.
    found = steps.detect(store, settings, NOW)
    assert [c.kind for c in found] == ["survey"], [(c.kind, c.reasons) for c in found]
    report = steps.draft(store, settings, NOW)
    assert report.created == 1, report.errors
    [survey] = store.list_drafts(kind="survey")
    if survey["status"] == "pending_review":
        done, refused = steps.approve(store, settings, [survey["id"]], "priya", NOW)
        assert done == [survey["id"]], refused
    outbox = FileOutbox(settings.outbox.path)
    sent_report = steps.send(store, outbox, settings, NOW)
    assert sent_report.sent == 1, sent_report
    [eml] = sorted(Path(settings.outbox.path).glob("*.eml"))
    sent = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert f"+{survey['reply_token']}@northwind.example" in str(sent["Reply-To"])
    assert "1 (poor) to 5 (great)" in sent.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]

    # The customer replies with a low score above the quoted survey; it lands in the INBOX.
    dovecot.append("INBOX", customer_reply(
        sent, "2 - still broken, very disappointed", mid="r1@example.org", date=NOW + timedelta(hours=1),
    ))
    sync(dovecot, store, settings)

    [response] = list_responses(store)
    assert (response["draft_id"], response["scale"], response["score"]) == (survey["id"], "csat", 2)
    assert response["comment"] == "still broken, very disappointed"
    assert (response["source"], response["needs_review"], response["customer"]) == ("reply", False, CUSTOMER)
    with store.engine.connect() as conn:
        replied_at = conn.execute(select(drafts.c.replied_at).where(drafts.c.id == survey["id"])).scalar()
        stopped = conn.execute(select(threads.c.automation_stopped).where(threads.c.id == survey["thread_id"])).scalar()
    assert replied_at is not None and stopped is True

    [loop] = [c for c in store.list_candidates(status="open") if c["source"] == "loop"]
    assert (loop["kind"], loop["thread_id"], loop["priority"]) == ("apology", survey["thread_id"], 90)
    assert "still broken, very disappointed" in loop["reasons"][0]

    # Detection leaves the stopped thread alone but keeps the loop candidate.
    steps.detect(store, settings, NOW + timedelta(hours=2))
    assert [c["id"] for c in store.list_candidates(status="open")] == [loop["id"]]
    # The loop candidate is drafted for an agent's review (apology is not auto-approved here).
    steps.draft(store, settings, NOW + timedelta(hours=2))
    [apology] = store.list_drafts(kind="apology")
    assert apology["status"] == "pending_review"

    # A second answer updates the first: one response, the new score and comment.
    dovecot.append("INBOX", customer_reply(
        sent, "Sorry, let me correct that: 4, it works after the restart.", mid="r2@example.org",
        date=NOW + timedelta(hours=3),
    ))
    sync(dovecot, store, settings)
    [response] = list_responses(store)
    assert (response["score"], response["message_id"]) == (4, "r2@example.org")
    assert "works after the restart" in response["comment"]

    # Syncing again changes nothing.
    before = list_responses(store)
    sync(dovecot, store, settings)
    assert list_responses(store) == before
