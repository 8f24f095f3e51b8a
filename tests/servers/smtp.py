"""An SMTP sink for tests (aiosmtpd), collecting every envelope it receives.

Fixtures:
    smtp_server: plain SMTP on 127.0.0.1, no AUTH (:class:`SmtpSink`).
    smtp_tls_server: STARTTLS required, AUTH PLAIN/LOGIN required after TLS, certificate
        from a throw-away CA (``ca_file``), credentials ``user``/``password``.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.servers.common import free_port, missing
from tests.servers.tls import TestCA


@dataclass(frozen=True)
class Received:
    """One accepted message: envelope sender, recipients, raw bytes, who authenticated."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        reply = self.sink.next_reply()
        if reply is not None:
            return reply
        login = session.auth_data.login.decode() if session.auth_data else None
        with self.sink.lock:
            self.sink.messages.append(
                Received(
                    mail_from=envelope.mail_from,
                    rcpt_tos=list(envelope.rcpt_tos),
                    data=bytes(envelope.original_content or envelope.content),
                    login=login,
                )
            )
        return "250 Message accepted for delivery"


@dataclass
class SmtpSink:
    """A running SMTP sink.

    Attributes:
        host, port: Where it listens.
        messages: Everything received, in order.
        ca_file: CA of the STARTTLS certificate (TLS variant only).
        user, password: Accepted credentials (TLS variant only).
    """

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[Received] = field(default_factory=list)
    ca_file: Path | None = None
    user: str | None = None
    password: str | None = None
    replies: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reply_next(self, *codes: str) -> None:
        """Answer the next DATA commands with these replies (e.g. ``"451 4.3.0 try later"``)."""
        with self.lock:
            self.replies.extend(codes)

    def next_reply(self) -> str | None:
        with self.lock:
            return self.replies.pop(0) if self.replies else None


def _controller(sink: SmtpSink, **kwargs: Any) -> Any:
    try:
        from aiosmtpd.controller import Controller
    except ImportError:  # pragma: no cover - dev extra not installed
        missing("aiosmtpd is not installed (pip install -e '.[dev]')")
        raise
    return Controller(_Handler(sink), hostname=sink.host, port=sink.port, **kwargs)


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    """Plain SMTP sink on a free port; no AUTH, no TLS."""
    sink = SmtpSink(port=free_port())
    controller = _controller(sink)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def smtp_tls_server() -> Iterator[SmtpSink]:
    """SMTP sink that requires STARTTLS, then AUTH (PLAIN or LOGIN) as ``user``/``password``."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    base = Path(tempfile.mkdtemp(prefix="outreach-smtp-"))
    ca = TestCA.create(base, "SMTP Test CA")
    cert = ca.issue(base, "smtp", ["localhost", "127.0.0.1"])
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert.cert, cert.key)
    sink = SmtpSink(port=free_port(), ca_file=ca.ca_file, user="mailer", password="s3cret-pass")

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == sink.user
            and auth_data.password.decode() == sink.password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    controller = _controller(
        sink,
        tls_context=ctx,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
        shutil.rmtree(base, ignore_errors=True)
