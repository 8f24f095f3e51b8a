"""classify_auto: real bounces, complaints and auto-replies; one constructed case per rule; people not flagged."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import compat32
from pathlib import Path

import pytest

from outreach.autoreply import classify_auto
from outreach.errors import MessageParseError
from outreach.mailparse import parse_message

CORPUS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus").resolve()
RAW = CORPUS / "A_raw_email"
TALON = CORPUS / "B_replies" / "mailgun-talon" / "standard_replies"
PERSON = {"from": "Jane Doe <jane@example.org>", "to": "support@example.com"}


def _kind(rel: str) -> str | None:
    path = RAW / rel
    if not path.is_file():
        pytest.skip(f"corpus not present: {path}")
    return parse_message(path.read_bytes(), fallback_date=datetime(2020, 1, 1, tzinfo=UTC)).auto_kind


@pytest.mark.parametrize(
    "rel",
    [
        "mailgun-flanker/bounce/gmail-invalid-address.eml",
        "mailgun-flanker/bounce/gmail-no-dns.eml",
        "mailgun-flanker/bounce/mailbox-full.eml",
        "mailgun-flanker/bounce/office365.eml",
        "mailgun-flanker/bounce/zed.eml",
        "jhillyerd-enmime/dsn/testdata/simple_dsn.raw",
        "jhillyerd-enmime/dsn/testdata/multi_recipient_dsn.raw",
        "mikel-mail/multipart_report_emails/report_530.eml",
        "jstedfast-MimeKit/messages/bounce.txt",
        "nodemailer-mailparser/delivery-status.eml",
    ],
)
def test_real_bounces(rel: str) -> None:
    assert _kind(rel) == "bounce"


@pytest.mark.parametrize(
    ("rel", "kind"),
    [
        ("mailgun-flanker/complaints/aol.eml", "complaint"),
        ("mailgun-flanker/complaints/yahoo.eml", "complaint"),
        ("jstedfast-MimeKit/messages/feedback-report.txt", "complaint"),
        ("php-mime-mail-parser/issue212", "auto_reply"),  # Polish "Automatyczna odpowiedź"
        ("mailgun-flanker/disposition-notification.eml", "auto_reply"),  # read receipt
        ("apache-spamassassin-t-data/nice/mailman_message.txt", "bulk"),
    ],
)
def test_real_complaints_auto_replies_and_bulk(rel: str, kind: str) -> None:
    assert _kind(rel) == kind


def test_ordinary_customer_mail_is_not_flagged() -> None:
    if not TALON.is_dir():
        pytest.skip(f"corpus not present: {TALON}")
    people = sorted(TALON.glob("*.eml"))
    assert len(people) >= 10
    for path in people:  # Android, AOL, Apple Mail, Gmail, Outlook, Yahoo... replies
        msg = message_from_bytes(path.read_bytes(), policy=compat32)
        assert classify_auto(msg, str(msg.get("subject", "")), "") is None, path.name
    flagged = []
    checked = 0
    for folder in ("jhillyerd-enmime/testdata/mail", "mikel-mail/plain_emails", "stalwartlabs-mail-parser/eml/legacy"):
        for path in sorted((RAW / folder).iterdir()):
            if path.name == "multipart-wo-boundary.raw":  # a real DSN whose boundary is missing
                continue
            try:
                parsed = parse_message(path.read_bytes(), fallback_date=datetime(2020, 1, 1, tzinfo=UTC))
            except MessageParseError:
                continue
            checked += 1
            if parsed.auto_kind is not None:
                flagged.append(path.name)
    assert checked >= 60
    assert flagged == []


@pytest.mark.parametrize(
    ("headers", "subject", "kind"),
    [
        ({"Content-Type": 'multipart/report; report-type="delivery-status"; boundary=x'}, "Hi", "bounce"),
        ({"Content-Type": "multipart/report; report-type=feedback-report; boundary=x"}, "FW", "complaint"),
        ({"Content-Type": "multipart/report; report-type=disposition-notification"}, "Read", "auto_reply"),
        ({"X-Failed-Recipients": "a@b.c"}, "Hi", "bounce"),
        ({"From": "MAILER-DAEMON@mx.example.com"}, "Whatever", "bounce"),
        ({"From": "Mail Delivery Subsystem <x@googlemail.com>"}, "Hi", "bounce"),
        ({"From": "postmaster@example.com", "Return-Path": "<>"}, "Notice", "bounce"),
        ({"Return-Path": "<>"}, "Undelivered Mail Returned to Sender", "bounce"),
        ({"Return-Path": "<>"}, "Delivery Status Notification (Failure)", "bounce"),
        ({"Return-Path": "<>"}, "Unzustellbar: Ihre Anfrage", "bounce"),
        ({"Auto-Submitted": "auto-replied"}, "Re: Order", "auto_reply"),
        ({"Auto-Submitted": "auto-generated"}, "Report", "auto_reply"),
        ({"X-Autoreply": "yes"}, "Re: Order", "auto_reply"),
        ({"X-Autorespond": "Out of office"}, "Re: Order", "auto_reply"),
        ({"X-Auto-Response-Suppress": "All"}, "Re: Order", "auto_reply"),
        ({"X-Auto-Response-Suppress": "DR, OOF, AutoReply"}, "Re: Order", "auto_reply"),
        ({"Precedence": "auto_reply"}, "Re: Order", "auto_reply"),
        ({}, "Out of Office: Re: Order", "auto_reply"),
        ({}, "Automatic reply: Your ticket", "auto_reply"),
        ({}, "Auto: Your ticket", "auto_reply"),
        ({}, "Abwesenheitsnotiz: Ihr Ticket", "auto_reply"),
        ({}, "Automatische Antwort: Ihr Ticket", "auto_reply"),
        ({}, "Absence du bureau", "auto_reply"),
        ({}, "Réponse automatique : votre ticket", "auto_reply"),
        ({}, "Fuera de la oficina", "auto_reply"),
        ({}, "Respuesta automática: su ticket", "auto_reply"),
        ({}, "Afwezig: uw ticket", "auto_reply"),
        ({}, "Risposta automatica: il suo ticket", "auto_reply"),
        ({"Precedence": "bulk"}, "Newsletter", "bulk"),
        ({"Precedence": "junk"}, "Offer", "bulk"),
        ({"Precedence": "list"}, "[list] topic", "bulk"),
        ({"List-Unsubscribe": "<mailto:u@x>", "From": "news@shop.example"}, "Sale", "bulk"),
        ({"List-Id": "<x.list>", "X-Mailchimp-Campaign": "123"}, "Sale", "bulk"),
    ],
)
def test_each_rule(headers: dict[str, str], subject: str, kind: str) -> None:
    assert classify_auto({**PERSON, **headers}, subject, "") == kind


@pytest.mark.parametrize(
    ("headers", "subject", "text"),
    [
        ({"Auto-Submitted": "no"}, "Re: Order", ""),
        ({"X-Auto-Response-Suppress": "DR, RN"}, "Re: Order", ""),
        # A support address run as a Google Group adds List-Id to a person's mail.
        ({"List-Id": "<support.example.com>", "List-Unsubscribe": "<mailto:x>"}, "Help", ""),
        ({"From": "postmaster@example.com"}, "Question about your DNS", "Hi, a question."),
        ({}, "My order is out of stock?", "Why is it out of stock?"),
        ({}, "Delivery failed again - third time!", "Your courier failed to deliver my parcel."),
        ({}, "Ferienwohnung buchen", ""),
    ],
)
def test_people_are_not_flagged(headers: dict[str, str], subject: str, text: str) -> None:
    assert classify_auto({**PERSON, **headers}, subject, text) is None


def test_accepts_message_objects_and_any_header_case() -> None:
    raw = b"From: a@b.c\r\nAUTO-SUBMITTED: auto-replied\r\nSubject: x\r\n\r\nbody\r\n"
    assert classify_auto(message_from_bytes(raw, policy=compat32), "x", "body") == "auto_reply"
    assert classify_auto({"PRECEDENCE": "Bulk"}, "x", "") == "bulk"
