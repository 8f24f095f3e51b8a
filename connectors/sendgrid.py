"""SendGrid sender on the official ``sendgrid`` client (v3 ``/mail/send``).

One message per draft. Facts about the client this module works around:

* ``python_http_client`` has no timeout by default, so a silent server
  hangs a send forever: we set ``client.client.timeout``.
* It never retries: 429 (after ``X-RateLimit-Reset``), 5xx and connection
  failures are retried here with exponential backoff and jitter.
* Its exceptions are subclasses per status (``BadRequestsError``…) that
  come back as the plain base class after pickling (Prefect results,
  multiprocessing), so we branch on ``status_code``, never on the class.

A request that reached SendGrid and then timed out or lost its connection
may have been accepted: it is *not* retried (that could send twice); the
draft's outcome is reported as unknown for an operator to check in
SendGrid's activity feed (search by the ``draft_id`` custom arg).
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import socket
import threading
import time
import urllib.error
from collections.abc import Callable
from typing import Any

from outreach.errors import ProviderError, ProviderOutcomeUnknown
from outreach.models import OutgoingEmail, SendResult
from outreach.settings import SendgridSettings

log = logging.getLogger(__name__)

PROVIDER = "sendgrid"
MAIL_SEND_PATH = "/v3/mail/send"
# Headers SendGrid sets itself and refuses in "headers" (400 otherwise).
_RESERVED_HEADERS = frozenset(
    {"x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type", "content-transfer-encoding",
     "to", "from", "subject", "reply-to", "cc", "bcc"}
)
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0
RATE_LIMIT_MAX_WAIT_SECONDS = 120.0


def mail_payload(email: OutgoingEmail, *, sandbox: bool = False) -> dict[str, Any]:
    """The v3 ``/mail/send`` body for one email, built with the sendgrid ``Mail`` helper.

    Args:
        email: The rendered email.
        sandbox: Ask SendGrid to validate but not deliver (``--dry-run``).

    Returns:
        A JSON-able dict: one personalization, ``custom_args`` naming the
        draft and idempotency key (echoed in Event Webhook events),
        ``categories`` with the outreach kind, RFC 8058 and RFC 3834 headers.
    """
    from sendgrid.helpers.mail import (
        Category,
        Content,
        CustomArg,
        From,
        Header,
        Mail,
        MailSettings,
        ReplyTo,
        SandBoxMode,
        To,
    )

    mail = Mail(
        from_email=From(email.from_address, email.from_name or None),
        to_emails=To(email.to_address),
        subject=email.subject,
    )
    mail.content = Content("text/plain", email.text)
    if email.html:
        mail.content = Content("text/html", email.html)
    mail.reply_to = ReplyTo(email.reply_to)
    mail.custom_arg = [
        CustomArg("draft_id", str(email.draft_id)),
        CustomArg("idempotency_key", email.idempotency_key),
    ]
    mail.category = Category(email.category)
    headers = {"Message-ID": f"<{email.message_id}>", **email.headers}
    mail.header = [Header(k, v) for k, v in headers.items() if k.lower() not in _RESERVED_HEADERS]
    if sandbox:
        settings = MailSettings()
        settings.sandbox_mode = SandBoxMode(True)
        mail.mail_settings = settings
    return mail.get()


class SendgridSender:
    """Deliver drafts through SendGrid's v3 API.

    Thread-safe: each thread gets its own API client (``python_http_client``
    mutates per-client header state while building a request).

    Args:
        settings: The ``[sendgrid]`` section (host, timeout, retries).
        api_key: The API key (from the environment or a Prefect Secret block).
        sleep: How to wait between attempts (tests pass a recorder).
        jitter: Random factor in [0, 1) for backoff (tests pass a constant).
    """

    name = PROVIDER

    def __init__(
        self,
        settings: SendgridSettings,
        *,
        api_key: str,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self._api_key = api_key
        self._sleep = sleep
        self._jitter = jitter
        self._local = threading.local()

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            import sendgrid

            client = sendgrid.SendGridAPIClient(self._api_key, host=self.settings.api_host.rstrip("/"))
            # The client's default is no timeout at all: a silent server would hang us forever.
            client.client.timeout = self.settings.timeout_seconds
            # The client opens a new connection per request; reuse one per thread instead.
            client.client = _pooled_client(client, self.settings.timeout_seconds)
            self._local.client = client
        return client

    def send(self, email: OutgoingEmail, *, dry_run: bool = False) -> SendResult:
        """Send one email; retry what is safe to retry.

        Returns:
            ``SendResult("sendgrid", <X-Message-Id>)``.

        Raises:
            ProviderError: 4xx (not retryable, with SendGrid's reason), or
                429/5xx/connection failures still failing after
                ``max_retries`` retries (retryable: a later run may work).
            ProviderOutcomeUnknown: the request reached SendGrid but no answer
                came back (timeout, reset): it may have been accepted.
        """
        payload = mail_payload(email, sandbox=dry_run)
        attempts = self.settings.max_retries + 1
        last: ProviderError | None = None
        for attempt in range(attempts):
            try:
                response = self._client().send(payload)
            except Exception as exc:  # noqa: BLE001 - classified below, re-raised as ProviderError
                last = self._classify(exc)
            else:
                return SendResult(PROVIDER, _header(response.headers, "X-Message-Id"))
            if not last.retryable or attempt == attempts - 1:
                break
            wait = last.retry_after if last.retry_after is not None else self._backoff(attempt)
            log.info("sendgrid: draft %s attempt %d failed (%s); retrying in %.1fs",
                     email.draft_id, attempt + 1, last.problem, wait)
            self._sleep(wait)
        assert last is not None
        raise last

    def verify(self) -> str:
        """Ask SendGrid which permissions the API key has (``GET /v3/scopes``); it must send mail."""
        try:
            response = self._client().client.scopes.get()
        except Exception as exc:  # noqa: BLE001 - classified below, re-raised as ProviderError
            error = self._classify(exc)
            if isinstance(error, ProviderOutcomeUnknown):  # nothing was being sent: just no answer
                error = ProviderError(PROVIDER, f"no answer from {self.settings.api_host} ({type(exc).__name__})")
            raise error from None
        try:
            scopes = json.loads(response.body or b"{}").get("scopes") or []
        except (ValueError, AttributeError):
            raise ProviderError(PROVIDER, "unreadable answer to GET /v3/scopes") from None
        if "mail.send" not in scopes:
            raise ProviderError(PROVIDER, "the API key lacks the mail.send permission")
        return f"API key accepted by {self.settings.api_host} (mail.send allowed)"

    def _backoff(self, attempt: int) -> float:
        # Full jitter: parallel senders that failed together do not retry together.
        ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
        return ceiling / 2 + self._jitter() * ceiling / 2

    def _classify(self, exc: Exception) -> ProviderError:
        status = getattr(exc, "status_code", None)
        if isinstance(status, int):
            return _http_error(status, getattr(exc, "body", b""), getattr(exc, "headers", None))
        if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
            # URLError wraps failures of connect() and of sending the request: nothing was accepted.
            return ProviderError(PROVIDER, f"cannot reach {self.settings.api_host}: {exc.reason}", retryable=True)
        if isinstance(exc, (TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException)):
            return ProviderOutcomeUnknown(
                PROVIDER,
                f"no answer after the request was sent ({exc.__class__.__name__}); it may have been "
                "accepted: check SendGrid's activity for this draft before resending",
            )
        if isinstance(exc, OSError):
            return ProviderError(PROVIDER, f"network error: {exc}", retryable=True)
        raise exc

    def close(self) -> None:
        """Close this thread's kept-alive connection and forget every thread's client."""
        client = getattr(self._local, "client", None)
        if client is not None:
            client.client._transport.close()
        self._local = threading.local()


class _Answer:
    """What ``python_http_client.Response`` reads from a urllib response."""

    def __init__(self, status: int, body: bytes, headers: Any) -> None:
        self._status, self._body, self._headers = status, body, headers

    def getcode(self) -> int:
        return self._status

    def read(self) -> bytes:
        return self._body

    def info(self) -> Any:
        return self._headers


class _KeepAlive:
    """One kept-alive HTTP(S) connection, used through python_http_client's ``_make_request`` hook.

    Errors keep urllib's meaning, which :meth:`SendgridSender._classify`
    relies on: failing to connect or to write the request raises
    ``URLError`` (nothing was accepted: safe to retry); failing while
    waiting for the answer raises the socket error itself (outcome unknown).
    """

    def __init__(self, host_url: str, timeout: float) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(host_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def _stale(self) -> bool:
        import select

        sock = self.conn.sock if self.conn is not None else None
        if sock is None:
            return True
        # An idle kept-alive socket that is readable was closed by the server (EOF).
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def open(self, request: Any, timeout: float | None) -> _Answer:
        from urllib.parse import urlsplit

        from python_http_client.exceptions import handle_error

        if self.conn is not None and self._stale():
            self.close()
        try:
            if self.conn is None:
                cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
                self.conn = cls(self.host, self.port, timeout=timeout or self.timeout)
                self.conn.connect()
            url = urlsplit(request.full_url)
            target = url.path + (f"?{url.query}" if url.query else "")
            self.conn.request(request.get_method(), target, body=request.data, headers=dict(request.header_items()))
        except OSError as exc:
            self.close()
            raise urllib.error.URLError(exc) from None
        try:
            response = self.conn.getresponse()
            body = response.read()
        except BaseException:
            self.close()
            raise
        if response.will_close:
            self.close()
        if response.status >= 400:
            import io

            error = urllib.error.HTTPError(request.full_url, response.status, response.reason, response.msg, io.BytesIO(body))
            raise handle_error(error)
        return _Answer(response.status, body, response.msg)


def _pooled_client(api: Any, timeout: float) -> Any:
    """The API client's ``python_http_client.Client`` with a kept-alive transport."""
    import python_http_client

    class PooledClient(python_http_client.Client):  # type: ignore[misc]
        def __init__(self, *args: Any, transport: _KeepAlive, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._transport = transport

        def _build_client(self, name: str | None = None) -> PooledClient:
            url_path = self._url_path + [name] if name else self._url_path
            return PooledClient(
                host=self.host, version=self._version, request_headers=self.request_headers,
                url_path=url_path, append_slash=self.append_slash, timeout=self.timeout,
                transport=self._transport,
            )

        def _make_request(self, opener: Any, request: Any, timeout: float | None = None) -> Any:
            return self._transport.open(request, timeout or self.timeout)

    return PooledClient(
        host=api.host, request_headers=api._default_headers, version=3, timeout=timeout,
        transport=_KeepAlive(api.host, timeout),
    )


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    value = headers.get(name)
    if value is None and hasattr(headers, "items"):
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return str(value) if value else None


def _http_error(status: int, body: Any, headers: Any) -> ProviderError:
    reason = _reason(body)
    if status == 429:
        reset = _header(headers, "X-RateLimit-Reset")
        wait = None
        if reset and reset.isdigit():
            # SendGrid sends the reset as a Unix time; never wait past our own bound.
            wait = min(max(float(reset) - time.time(), 0.0), RATE_LIMIT_MAX_WAIT_SECONDS)
        return ProviderError(PROVIDER, f"rate limited: {reason}", status_code=429, retryable=True, retry_after=wait)
    if status >= 500:
        return ProviderError(PROVIDER, f"server error: {reason}", status_code=status, retryable=True)
    return ProviderError(PROVIDER, reason, status_code=status, retryable=False)


def _reason(body: Any) -> str:
    """SendGrid's own words: ``{"errors": [{"message": …, "field": …}]}``."""
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    try:
        data = json.loads(raw)
    except ValueError:
        return raw.strip()[:300] or "no reason given"
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list) and errors:
        parts = []
        for err in errors[:5]:
            if isinstance(err, dict):
                msg = str(err.get("message") or "")
                field = err.get("field")
                parts.append(f"{msg} ({field})" if field else msg)
        if any(parts):
            return "; ".join(p for p in parts if p)
    return raw.strip()[:300] or "no reason given"


__all__ = ["MAIL_SEND_PATH", "SendgridSender", "mail_payload"]
