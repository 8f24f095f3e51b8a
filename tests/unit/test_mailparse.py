"""parse_message: the whole raw-mail corpus, the known-bad files, and each promised behaviour."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from outreach.errors import MessageParseError
from outreach.mailparse import decode_bytes, decode_header_text, parse_message

CORPUS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus").resolve()
RAW = CORPUS / "A_raw_email"

# The ten files SOURCES.md lists as raising under policy.default.
KNOWN_BAD = [
    "jhillyerd-enmime/testdata/mail/html-mime-bad-charset-inline.raw",
    "jhillyerd-enmime/testdata/mail/html-mime-bad-unknown-charset-inline.raw",
    "jhillyerd-enmime/testdata/low-quality/unk-charset-part.raw",
    "mikel-mail/plain_emails/raw_email10.eml",
    "php-mime-mail-parser/issue230",
    "jhillyerd-enmime/testdata/mail/qp-utf8-header-recursed.raw",
    "jstedfast-MimeKit/messages/delivery-status.txt",
    "jstedfast-MimeKit/messages/delivery-status2.txt",
    "jstedfast-MimeKit/messages/delivery-status-no-blank-line.txt",
    "notmuch-test-corpora/lkml/cur/1382298770.002930:2,",
]


def _raw(rel: str) -> bytes:
    path = RAW / rel
    if not path.is_file():
        pytest.skip(f"corpus not present: {path}")
    return path.read_bytes()


def _corpus_files() -> list[Path]:
    if not RAW.is_dir():
        return []
    return sorted(p for p in RAW.rglob("*") if p.is_file())


def _msg(body: str = "Hello, my order never arrived.\n", **headers: str) -> bytes:
    base = {
        "From": "Jane Doe <Jane.Doe@Example.org>",
        "To": "Support <support@example.com>",
        "Subject": "Order",
        "Date": "Tue, 02 Apr 2024 10:00:00 +0200",
        "Message-ID": "<m1@example.org>",
    }
    base.update({k.replace("_", "-"): v for k, v in headers.items()})
    head = "".join(f"{k}: {v}\r\n" for k, v in base.items() if v is not None)
    return (head + "\r\n" + body).encode("utf-8")


# --- the whole corpus -------------------------------------------------------


def test_every_corpus_file_parses_or_raises_message_parse_error() -> None:
    files = _corpus_files()
    if not files:
        pytest.skip(f"corpus not present: {RAW}")
    parsed = rejected = 0
    for path in files:
        try:
            msg = parse_message(path.read_bytes(), reply_local="support", reply_domain="example.com")
        except MessageParseError as exc:
            rejected += 1
            assert exc.reason and "\n" not in exc.reason, path
            continue
        except Exception as exc:  # noqa: BLE001 - the point of the test
            pytest.fail(f"{path.relative_to(RAW)} raised {type(exc).__name__}: {exc}")
        parsed += 1
        assert msg.date.tzinfo is not None and msg.date.utcoffset().total_seconds() == 0, path
        assert msg.message_id and "<" not in msg.message_id, path
        assert msg.from_address == msg.from_address.lower(), path
        assert all(a == a.lower() and "@" in a for a in msg.to_addresses), path
        assert len(msg.content_hash) == 64
    print(f"\ncorpus A: {parsed} parsed, {rejected} rejected with a reason, of {len(files)} files")
    # Most of the corpus is real mail: a parser rejecting much of it is broken.
    assert parsed >= 0.8 * len(files)


@pytest.mark.parametrize("rel", KNOWN_BAD)
def test_known_bad_files_parse_with_readable_headers(rel: str) -> None:
    msg = parse_message(_raw(rel), fallback_date=datetime(2020, 1, 1, tzinfo=UTC))
    assert msg.message_id
    assert "=?" not in msg.subject and "=?" not in msg.from_name


def test_group_syntax_in_to_is_flattened() -> None:
    msg = parse_message(_raw("jstedfast-MimeKit/messages/delivery-status.txt"))
    assert msg.to_addresses == ("postmaster@mm1.sprynet.com",)
    constructed = parse_message(
        _msg(To="A Group:Chris Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;", Cc="Undisclosed recipients:;")
    )
    assert constructed.to_addresses == ("c@a.test", "joe@where.test", "jdoe@one.test")


def test_unknown_charset_part_still_yields_text() -> None:
    msg = parse_message(_raw("php-mime-mail-parser/issue230"))  # x-mac-cyrillic
    assert "ACADEMIC NEWSLETTER" in msg.text
    unk = parse_message(_raw("jhillyerd-enmime/testdata/low-quality/unk-charset-part.raw"))
    assert unk.text == "A text section"
    x_unknown = parse_message(_raw("mikel-mail/plain_emails/raw_email10.eml"))
    assert x_unknown.text.startswith("Test test. Hi. Waving.")


def test_broken_rfc2047_from_header_is_decoded() -> None:
    msg = parse_message(_raw("jhillyerd-enmime/testdata/mail/qp-utf8-header-recursed.raw"))
    assert msg.from_name == "James Hillyerd"
    assert msg.subject == "MIME UTF8 Test ¢ More Text"


def test_html_only_mail_becomes_text_without_tags() -> None:
    msg = parse_message(_raw("jhillyerd-enmime/testdata/mail/non-mime-html.raw"))
    assert msg.text == "This is a test mailing"
    html = parse_message(
        _msg(
            "<html><head><style>p{color:red}</style></head><body><p>Hello <b>team</b>,</p>"
            "<p>the invoice is wrong.</p><blockquote>old quoted text</blockquote></body></html>",
            Content_Type="text/html; charset=utf-8",
        )
    )
    assert not re.search(r"<[a-z/][^>]*>", html.text)
    assert "Hello team," in html.text and "color:red" not in html.text
    assert html.reply_text == "Hello team,\n\nthe invoice is wrong."


def test_attachments_are_noted_by_name_only() -> None:
    msg = parse_message(_raw("jhillyerd-enmime/testdata/mail/attachment.raw"))
    assert msg.attachments == ("test.html",)
    assert msg.text == "A text section"
    assert "<html" not in msg.text.lower()


def test_outlook_msg_and_other_non_mail_are_rejected_with_reason() -> None:
    with pytest.raises(MessageParseError, match="Outlook .msg"):
        parse_message(_raw("spamscope-mail-parser/mail_outlook_1"))
    with pytest.raises(MessageParseError, match="TNEF"):
        parse_message(_raw("jstedfast-MimeKit/tnef/winmail.tnef"))
    with pytest.raises(MessageParseError, match="empty"):
        parse_message(b"  \r\n")
    with pytest.raises(MessageParseError, match="no header block"):
        parse_message(b"Dear support,\nplease help.\n")
    with pytest.raises(MessageParseError, match="binary"):
        parse_message(b"From: a@b.c\n\x00\x01\x02\x03garbage")


def test_mbox_with_several_messages_is_rejected_single_envelope_is_parsed() -> None:
    for rel in ("jstedfast-MimeKit/mbox/content-length.mbox.txt", "jstedfast-MimeKit/mbox/simple.mbox.txt"):
        with pytest.raises(MessageParseError, match="mbox file with several messages"):
            parse_message(_raw(rel))
    # One message whose body has an unquoted "From " line is still one message.
    single = parse_message(_raw("cpython-test_email/mailbox_01.mbox"), fallback_date=datetime(2020, 1, 1, tzinfo=UTC))
    assert single.subject == "unquoted From in body; extra info on From line"
    assert "From time to time" in single.text
    one = parse_message(b"From jane@example.org Tue Apr  2 10:00:00 2024\n" + _msg())
    assert one.from_address == "jane.doe@example.org"
    # An mbox attached inside a MIME part is not a second message.
    attached = parse_message(_raw("notmuch-test-corpora/insert/mbox-attachment.eml"))
    assert attached.from_address == "david@tethera.net"


def test_synthesised_message_id_is_stable_and_content_based() -> None:
    data = _msg(Message_ID=None)
    first, again = parse_message(data), parse_message(data)
    assert first.message_id == again.message_id
    assert re.fullmatch(r"[0-9a-f]{32}@outreach\.invalid", first.message_id)
    assert first.message_id.startswith(first.content_hash[:32])
    other = parse_message(_msg("Different body.\n", Message_ID=None))
    assert other.message_id != first.message_id


def test_threading_headers() -> None:
    msg = parse_message(
        _msg(In_Reply_To="<p2@example.com>", References="<p1@example.com>\r\n <p2@example.com>")
    )
    assert msg.message_id == "m1@example.org"
    assert msg.in_reply_to == "p2@example.com"
    assert msg.references == ("p1@example.com", "p2@example.com")


def test_reply_token_from_plus_address_case_insensitive() -> None:
    data = _msg(To="Support <Support+abc123XYZ_-@Example.COM>")
    msg = parse_message(data, reply_local="support", reply_domain="example.com")
    assert msg.reply_token == "abc123xyz_-"
    via_delivered = parse_message(
        _msg(Delivered_To="support+tok3nvalue@example.com"), reply_local="support", reply_domain="example.com"
    )
    assert via_delivered.reply_token == "tok3nvalue"
    assert parse_message(data).reply_token is None  # not configured
    too_short = parse_message(_msg(To="support+abc@example.com"), reply_local="support", reply_domain="example.com")
    assert too_short.reply_token is None
    other_domain = parse_message(
        _msg(To="support+abc123xyz@other.com"), reply_local="support", reply_domain="example.com"
    )
    assert other_domain.reply_token is None


def test_date_header_else_newest_received_else_fallback_else_rejected() -> None:
    msg = parse_message(_msg())
    assert msg.date == datetime(2024, 4, 2, 8, 0, tzinfo=UTC)
    received = (
        "Received: from a by b; Tue, 02 Apr 2024 11:00:00 +0000\r\n"
        "Received: from c by a; Tue, 02 Apr 2024 10:59:00 +0000\r\n"
    )
    no_date = received.encode() + _msg(Date=None)
    assert parse_message(no_date).date == datetime(2024, 4, 2, 11, 0, tzinfo=UTC)
    broken = received.encode() + _msg(Date="yesterday-ish")
    assert parse_message(broken).date == datetime(2024, 4, 2, 11, 0, tzinfo=UTC)
    future = received.encode() + _msg(Date="Tue, 02 Apr 2999 10:00:00 +0000")
    assert parse_message(future).date == datetime(2024, 4, 2, 11, 0, tzinfo=UTC)
    when = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    assert parse_message(_msg(Date=None), fallback_date=when).date == when
    with pytest.raises(MessageParseError, match="no usable date"):
        parse_message(_msg(Date=None))


def test_bounce_addresses_from_corpus_dsns() -> None:
    gmail = parse_message(_raw("mailgun-flanker/bounce/gmail-invalid-address.eml"))
    assert gmail.auto_kind == "bounce"
    assert gmail.bounced_addresses == ("awfawfawfawfawfaw@someserverhere.com",)
    multi = parse_message(_raw("jhillyerd-enmime/dsn/testdata/multi_recipient_dsn.raw"))
    assert set(multi.bounced_addresses) == {"arathib@vnet.ibm.com", "wsnell@sdcc13.ucsd.edu"}
    # Postfix behind a gateway that base64-encoded the recipient block.
    encoded = parse_message(_raw("jstedfast-MimeKit/messages/bounce.txt"))
    assert encoded.bounced_addresses == ("netec.test@netecgc.com",)
    # A delay notice is machine mail but names no failed address.
    delayed = parse_message(_raw("jhillyerd-enmime/dsn/testdata/delayed_dsn.raw"))
    assert delayed.auto_kind == "bounce" and delayed.bounced_addresses == ()


def test_bounces_and_complaints_name_the_message_they_return() -> None:
    """Only recipients of mail we sent may be suppressed: the report must say which mail it returns."""
    gmail = parse_message(_raw("mailgun-flanker/bounce/gmail-invalid-address.eml"))
    assert gmail.bounce_refs == ("CAKsfaBUUGqVZiaMrmH3TRPfq1odQPtM7Ey5YW1SgyJJRHtAjgw@mail.gmail.com",)
    encoded = parse_message(_raw("jstedfast-MimeKit/messages/bounce.txt"))
    assert encoded.bounce_refs == ("44565655.JitbitHelpdesk.13439.691a0afc-a0a0-457c-8208-f20b7c4a4cb1@jitbit.com",)
    complaint = parse_message(_raw("mailgun-flanker/complaints/yahoo.eml"))
    assert complaint.bounce_refs == ("20120711015015.4A8BE2E088E@www.example.com",)
    # Returned without a Message-ID: nothing to point to.
    assert parse_message(_raw("jhillyerd-enmime/dsn/testdata/multi_recipient_dsn.raw")).bounce_refs == ()
    # A bounce quoting the returned message as text.
    inline = parse_message(_msg(
        From="MAILER-DAEMON@mx.example.com", Subject="Undelivered Mail Returned to Sender",
        body="Delivery to gone@example.org failed: user unknown.\n\n--- returned message ---\n"
        "To: gone@example.org\nMessage-ID: <ours-1@northwind.example>\n\nHello",
    ))
    assert inline.auto_kind == "bounce" and inline.bounce_refs == ("ours-1@northwind.example",)
    assert parse_message(_msg()).bounce_refs == ()  # ordinary mail


def test_feedback_loop_complaint_names_the_complainer() -> None:
    msg = parse_message(_raw("mailgun-flanker/complaints/yahoo.eml"))
    assert msg.auto_kind == "complaint"
    assert msg.bounced_addresses == ("user@yahoo.com",)


def test_reply_text_language_and_auto_kind_on_a_customer_reply() -> None:
    body = (
        "Hallo, ich habe meine Bestellung immer noch nicht erhalten. Können Sie mir bitte helfen?\n\n"
        "Am Mo., 1. Apr. 2024 um 10:00 Uhr schrieb Support <support@example.com>:\n"
        "> Ihre Bestellung ist unterwegs.\n"
    )
    msg = parse_message(_msg(body))
    assert msg.reply_text.startswith("Hallo, ich habe") and "unterwegs" not in msg.reply_text
    assert msg.language == "de"
    assert msg.auto_kind is None
    assert msg.from_address == "jane.doe@example.org" and msg.from_name == "Jane Doe"


def test_header_decoding_helpers() -> None:
    assert decode_header_text("=?utf-8?q?J=C3=A9r=C3=B4me?= <j@x.org>") == "Jérôme <j@x.org>"
    assert decode_header_text("=?x-unknown?q?caf=E9?=") == "café"  # unknown charset: cp1252 fallback
    assert decode_header_text("=?utf-8?b?w6k?=") == "é"  # missing base64 padding
    assert decode_bytes(b"caf\xe9", "us-ascii") == "café"
    assert decode_bytes("Grüße".encode(), "iso-8859-1") == "Grüße"  # mislabelled UTF-8


def test_cjk_mail_with_escape_sequences_is_not_taken_for_binary() -> None:
    msg = parse_message(_raw("apache-spamassassin-t-data/nice/cjk/iso-2022-jp.2"))
    assert msg.subject.startswith("[ports-jp 8947]")
    assert msg.text  # decoded, not rejected as control-character garbage


def test_alternative_prefers_plain_and_html_is_used_only_without_it() -> None:
    alternative = (
        'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlain words.\r\n"
        "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>HTML words.</p>\r\n--b--\r\n"
    )
    head = _msg("").decode().rstrip("\r\n") + "\r\n"  # the header block, open for one more field
    msg = parse_message((head + alternative).encode())
    assert msg.text == "Plain words."
    blank_plain = alternative.replace("Plain words.", "   ")
    assert parse_message((head + blank_plain).encode()).text == "HTML words."
