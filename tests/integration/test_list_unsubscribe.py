"""List-Unsubscribe in the bytes that leave us (SMTP sink, outbox file): raw ``<URI>``s, never RFC 2047.

Gmail and Yahoo read RFC 8058 one-click unsubscribe from the header as written; an
encoded word (``=?utf-8?q?=3Chttp…``) is no URI to them.
"""

from __future__ import annotations

import re
from dataclasses import replace
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from connectors.files import FileOutbox
from connectors.smtp import SmtpSender
from outreach.models import OutgoingEmail
from outreach.outgoing import outgoing_for
from outreach.settings import Settings, SmtpSettings
from tests.servers.smtp import SmtpSink

MAILTO = "<mailto:support+unsubscribe@northwind.example?subject=unsubscribe>"


def real_email(settings: Settings) -> OutgoingEmail:
    """The email ``outgoing_for`` makes for a draft: a signed unsubscribe URL well over 78 characters."""
    draft = {
        "id": 5, "customer": "ann.long-address@example.org", "kind": "survey", "context": {},
        "idempotency_key": "idem-5", "message_id": "outreach.tok5@northwind.example", "reply_token": "tok5",
        "subject": "A quick question", "text": "Hi Ann,\n\nHow did we do?\n", "html": "<p>Hi Ann,</p>",
    }
    email = outgoing_for(draft, settings, "test-signing-key")
    assert len("List-Unsubscribe: " + email.headers["List-Unsubscribe"]) > 78
    return email


def raw_headers(data: bytes) -> dict[str, list[str]]:
    """Header lines exactly as sent, unfolded (CRLF + WSP removed) but not decoded."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    unfolded = re.sub(r"\r\n(?=[ \t])", "", head)
    out: dict[str, list[str]] = {}
    for line in unfolded.split("\r\n"):
        name, _, value = line.partition(":")
        out.setdefault(name.lower(), []).append(value.strip())
    return out


def assert_raw_list_headers(data: bytes, expected: str) -> None:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        assert len(line) <= 998
    headers = raw_headers(data)
    assert headers["list-unsubscribe"] == [expected]
    assert "=?" not in headers["list-unsubscribe"][0]
    assert headers["list-unsubscribe-post"] == ["List-Unsubscribe=One-Click"]
    # And a standard parser reads the same thing.
    msg = message_from_bytes(data, policy=policy.default)
    assert " ".join(str(msg["List-Unsubscribe"]).split()) == expected


@pytest.mark.parametrize("with_mailto", [False, True])
def test_smtp_sends_list_unsubscribe_raw_and_folded_only_between_uris(
    smtp_server: SmtpSink, settings: Settings, with_mailto: bool
) -> None:
    email = real_email(settings)
    expected = email.headers["List-Unsubscribe"] + (f", {MAILTO}" if with_mailto else "")
    email = replace(email, headers={**email.headers, "List-Unsubscribe": expected})
    sender = SmtpSender(SmtpSettings(host=smtp_server.host, port=smtp_server.port, starttls=False, timeout_seconds=5))
    sender.send(email)
    sender.close()
    [got] = smtp_server.messages
    assert re.fullmatch(r"<https?://[^<>\s]+/unsubscribe/[^<>\s]+>(, <mailto:[^<>\s]+>)?", expected)
    assert_raw_list_headers(got.data, expected)


def test_outbox_file_carries_list_unsubscribe_raw(tmp_path: Path, settings: Settings) -> None:
    email = real_email(settings)
    outbox = FileOutbox(tmp_path / "out")
    outbox.send(email)
    [eml] = (tmp_path / "out").glob("*.eml")
    assert_raw_list_headers(eml.read_bytes(), email.headers["List-Unsubscribe"])
