"""The SMTP sender against aiosmtpd: plain, STARTTLS + AUTH, reply codes, kept-alive connection."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from connectors.smtp import SmtpSender
from outreach.errors import ConfigError, ProviderError
from outreach.models import OutgoingEmail
from outreach.settings import SmtpSettings
from tests.core_fixtures import outgoing_email
from tests.servers.common import free_port
from tests.servers.smtp import SmtpSink


def email(draft_id: int = 7) -> OutgoingEmail:
    return outgoing_email(draft_id, kind="check_in", subject="Checking in", text="Is the export working again?")


def plain(sink: SmtpSink) -> SmtpSender:
    return SmtpSender(SmtpSettings(host=sink.host, port=sink.port, starttls=False, timeout_seconds=5))


def test_plain_smtp_delivers_the_mime_message_with_its_headers(smtp_server: SmtpSink) -> None:
    sender = plain(smtp_server)
    result = sender.send(email(7))
    sender.close()
    assert (result.provider, result.provider_id) == ("smtp", "outreach.tok7@example.com")
    [got] = smtp_server.messages
    assert got.mail_from == "support@example.com" and got.rcpt_tos == ["customer7@example.org"]
    msg = message_from_bytes(got.data, policy=policy.default)
    assert msg["Reply-To"] == "support+tok7@example.com"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Message-ID"] == "<outreach.tok7@example.com>"
    assert msg.get_body(("plain",)).get_content().strip() == "Is the export working again?"


def test_starttls_and_auth_with_a_verified_certificate(smtp_tls_server: SmtpSink) -> None:
    sink = smtp_tls_server
    settings = SmtpSettings(
        host="localhost", port=sink.port, starttls=True, username=sink.user or "", ca_file=str(sink.ca_file),
        timeout_seconds=5,
    )
    sender = SmtpSender(settings, password=sink.password)
    sender.send(email(1))
    sender.send(email(2))  # same kept-alive connection
    sender.close()
    assert [m.login for m in sink.messages] == [sink.user, sink.user]
    assert [m.rcpt_tos for m in sink.messages] == [["customer1@example.org"], ["customer2@example.org"]]


def test_wrong_password_is_a_permanent_error(smtp_tls_server: SmtpSink) -> None:
    sink = smtp_tls_server
    settings = SmtpSettings(host="localhost", port=sink.port, username=sink.user or "", ca_file=str(sink.ca_file))
    with pytest.raises(ProviderError) as info:
        SmtpSender(settings, password="wrong").send(email())
    assert not info.value.retryable and info.value.status_code == 535
    assert sink.messages == []


def test_untrusted_certificate_is_refused(smtp_tls_server: SmtpSink) -> None:
    settings = SmtpSettings(host="localhost", port=smtp_tls_server.port, username="mailer")
    with pytest.raises(ProviderError) as info:
        SmtpSender(settings, password="s3cret-pass").send(email())
    assert "TLS failed" in info.value.problem and not info.value.retryable


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [("550 5.1.1 mailbox unavailable", False), ("554 5.7.1 message rejected", False), ("451 4.3.0 try again later", True)],
)
def test_reply_codes_decide_whether_a_retry_may_work(smtp_server: SmtpSink, reply: str, retryable: bool) -> None:
    smtp_server.reply_next(reply)
    sender = plain(smtp_server)
    with pytest.raises(ProviderError) as info:
        sender.send(email())
    assert info.value.retryable is retryable
    assert info.value.status_code == int(reply[:3])
    assert reply[4:] in info.value.problem
    # The connection is still usable for the next draft.
    sender.send(email(8))
    sender.close()
    assert [m.rcpt_tos for m in smtp_server.messages] == [["customer8@example.org"]]


def test_unreachable_server_is_retryable() -> None:
    sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=free_port(), starttls=False, timeout_seconds=2))
    with pytest.raises(ProviderError) as info:
        sender.send(email())
    assert info.value.retryable and "cannot reach" in info.value.problem


def test_a_password_is_never_sent_in_plain_text_to_a_remote_relay() -> None:
    remote = SmtpSettings(host="smtp.example.com", port=25, starttls=False, username="mailer", timeout_seconds=2)
    with pytest.raises(ConfigError) as info:
        SmtpSender(remote, password="secret")
    assert info.value.key == "smtp.starttls" and "plain text" in info.value.problem
    assert "secret" not in str(info.value)
    # Without a login (an internal relay), or on loopback, or with TLS, plain connections are allowed.
    SmtpSender(remote.model_copy(update={"username": ""}))
    SmtpSender(remote.model_copy(update={"host": "127.0.0.1"}), password="secret")
    SmtpSender(remote.model_copy(update={"starttls": True}), password="secret")
