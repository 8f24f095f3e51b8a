"""SMTP sender (implicit TLS, STARTTLS, AUTH) with the same interface as SendGrid's.

One connection is kept open across a batch and reopened when the server
drops it. Reply codes decide what a failure means: 5xx is permanent (the
draft fails, no retry), 4xx is temporary (the draft goes back to wait).
A connection lost after the message data was sent leaves the outcome
unknown, and it is not retried (that could deliver twice).
"""

from __future__ import annotations

import smtplib
import ssl
import threading
from datetime import UTC, datetime

from outreach.composer import build_mime
from outreach.errors import ConfigError, ProviderError, ProviderOutcomeUnknown
from outreach.models import OutgoingEmail, SendResult
from outreach.settings import SmtpSettings, is_loopback

PROVIDER = "smtp"


class SmtpSender:
    """Deliver drafts over SMTP.

    Args:
        settings: The ``[smtp]`` section (host, port, ssl/starttls, username, timeout).
        password: The password (from the environment); None: no AUTH.
        ssl_context: TLS context; default: verified against ``smtp.ca_file`` or the system CAs.
    """

    name = PROVIDER

    def __init__(
        self, settings: SmtpSettings, *, password: str | None = None, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        if settings.username and not settings.ssl and not settings.starttls and not is_loopback(settings.host):
            raise ConfigError(
                "smtp.starttls",
                f"refusing to send the SMTP password in plain text to {settings.host}: "
                "set smtp.starttls = true (port 587) or smtp.ssl = true (port 465)",
            )
        self.settings = settings
        self._password = password
        self._context = ssl_context or ssl.create_default_context(cafile=settings.ca_file or None)
        self._conn: smtplib.SMTP | None = None
        # smtplib connections are not thread-safe; one message at a time per sender.
        self._lock = threading.Lock()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            conn: smtplib.SMTP
            if s.ssl:
                conn = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=self._context)
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
            conn.ehlo()
            if s.starttls and not s.ssl:
                conn.starttls(context=self._context)
                conn.ehlo()
            if s.username:
                if self._password is None:
                    raise ProviderError(PROVIDER, "smtp.username is set but no password was given")
                conn.login(s.username, self._password)
        except smtplib.SMTPAuthenticationError as exc:
            raise ProviderError(PROVIDER, f"login refused: {_text(exc.smtp_error)}", status_code=exc.smtp_code) from None
        except smtplib.SMTPResponseException as exc:
            raise _reply_error(exc.smtp_code, exc.smtp_error, "connecting") from None
        except ssl.SSLError as exc:
            raise ProviderError(PROVIDER, f"TLS failed with {s.host}:{s.port}: {exc.reason}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise ProviderError(PROVIDER, f"cannot reach {s.host}:{s.port}: {exc}", retryable=True) from None
        return conn

    def send(self, email: OutgoingEmail, *, dry_run: bool = False) -> SendResult:
        """Send one email (``dry_run``: build it, connect, send nothing).

        Raises:
            ProviderError: 5xx (permanent), 4xx/connection failures before the data (retryable).
            ProviderOutcomeUnknown: the connection broke after the message data was sent.
        """
        message = build_mime(email, date=datetime.now(UTC))
        with self._lock:
            conn = self._live_connection()
            if dry_run:
                return SendResult(PROVIDER, None)
            try:
                refused = conn.send_message(message, from_addr=email.from_address, to_addrs=[email.to_address])
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                self._reset()
                raise _reply_error(code, text, "recipient refused") from None
            except smtplib.SMTPSenderRefused as exc:
                self._reset()
                raise _reply_error(exc.smtp_code, exc.smtp_error, "sender refused") from None
            except smtplib.SMTPDataError as exc:
                self._reset()
                raise _reply_error(exc.smtp_code, exc.smtp_error, "message refused") from None
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                # The connection was alive a moment ago (NOOP): it broke mid-transaction,
                # possibly after the data went out. Resending could deliver twice.
                self._drop()
                raise ProviderOutcomeUnknown(
                    PROVIDER, f"connection lost while sending ({exc.__class__.__name__}); it may have been delivered"
                ) from None
            except smtplib.SMTPException as exc:
                self._drop()
                raise ProviderError(PROVIDER, f"SMTP error: {exc}", retryable=True) from None
            if refused:
                code, text = next(iter(refused.values()))
                raise _reply_error(code, text, "recipient refused")
            return SendResult(PROVIDER, email.message_id)

    def verify(self) -> str:
        """Connect, negotiate TLS and log in as a send would, then QUIT without sending."""
        s = self.settings
        conn = self._connect()
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()
        security = "TLS" if s.ssl else "STARTTLS" if s.starttls else "no TLS"
        login = f", logged in as {s.username}" if s.username else ", no login"
        return f"{s.host}:{s.port} answered ({security}{login})"

    def _live_connection(self) -> smtplib.SMTP:
        """The kept-alive connection if the server still answers NOOP, else a new one."""
        if self._conn is not None:
            try:
                code, _ = self._conn.noop()
                if code == 250:
                    return self._conn
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()
        self._conn = self._connect()
        return self._conn
    def _reset(self) -> None:
        try:
            if self._conn is not None:
                self._conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        """QUIT and close the kept-alive connection."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is None:
                return
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _reply_error(code: int, text: bytes | str, what: str) -> ProviderError:
    # RFC 5321: 4yz is a transient failure (try again later), 5yz is permanent.
    return ProviderError(
        PROVIDER, f"{what}: {code} {_text(text)}", status_code=code, retryable=400 <= code < 500
    )


__all__ = ["SmtpSender"]
