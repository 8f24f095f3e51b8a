"""IMAP IDLE over imaplib2: one verified, read-only connection per watched folder.

imaplib2 runs three threads per connection (reader, writer, handler) and, left alone, checks
neither the certificate chain nor the host name. :class:`IdleConnection` owns those threads
(``close()`` always joins them) and wraps every socket with a verifying ``SSLContext``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import imaplib2

from connectors._imap_common import (
    TokenSource,
    access_token,
    auth_failed,
    backoff_delay,
    check_transport,
    connect_errors,
    describe,
    is_retryable,
    quote,
    source_name,
    tls_context,
    xoauth2_authobject,
)
from outreach.errors import SourceError
from outreach.settings import ImapSettings

log = logging.getLogger("outreach.imap")

THREAD_PREFIX = "outreach-idle"
"""imaplib2's threads for a watched folder are named ``outreach-idle:<folder> reader`` etc."""


class _VerifiedTLS:
    """Mixin replacing imaplib2's TLS wrapping with a verifying context."""

    _tls: ssl.SSLContext
    _connect_timeout: float
    host: str
    port: int
    sock: Any
    read_fd: int

    def open_socket(self) -> socket.socket:
        # imaplib2 connects without a timeout; an unreachable host would hang forever.
        return socket.create_connection((self.host, self.port), timeout=self._connect_timeout)

    def ssl_wrap_socket(self) -> None:
        self.sock = self._tls.wrap_socket(self.sock, server_hostname=self.host)
        self.read_fd = self.sock.fileno()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self.sock.settimeout(None)  # imaplib2's reader polls; it expects a blocking socket


class _IMAP4(_VerifiedTLS, imaplib2.IMAP4):
    def __init__(self, host: str, port: int, tls: ssl.SSLContext, connect_timeout: float, **kw: Any):
        self._tls = tls
        self._connect_timeout = connect_timeout
        imaplib2.IMAP4.__init__(self, host, port, **kw)

    def open(self, host: str | None = None, port: int | None = None) -> None:
        imaplib2.IMAP4.open(self, host, port)
        self.sock.settimeout(None)  # imaplib2's reader polls; it expects a blocking socket


class _IMAP4_SSL(_VerifiedTLS, imaplib2.IMAP4_SSL):  # noqa: N801 - mirrors imaplib2's name
    def __init__(self, host: str, port: int, tls: ssl.SSLContext, connect_timeout: float, **kw: Any):
        self._tls = tls
        self._connect_timeout = connect_timeout
        imaplib2.IMAP4_SSL.__init__(self, host, port, **kw)

    def open(self, host: str | None = None, port: int | None = None) -> None:
        imaplib2.IMAP4_SSL.open(self, host, port)
        self.sock.settimeout(None)


class IdleConnection:
    """A read-only imaplib2 connection to one folder that can wait for new mail.

    Use as a context manager, or call :meth:`open` and :meth:`close`.

    Args:
        settings: The ``[imap]`` section.
        folder: Folder to EXAMINE and watch.
        password: LOGIN password (``auth = "login"``).
        oauth2_token: Access token, or a callable returning a valid one at each
            :meth:`open` (``auth = "xoauth2"``).
    """

    def __init__(
        self,
        settings: ImapSettings,
        folder: str,
        *,
        password: str | None = None,
        oauth2_token: TokenSource | None = None,
    ) -> None:
        check_transport(settings)
        self.settings = settings
        self.folder = folder
        self.name = f"{source_name(settings)}/{folder}"
        self.identifier = f"{THREAD_PREFIX}:{folder}"
        self._password = password
        self._token = oauth2_token
        self._conn: imaplib2.IMAP4 | None = None
        self.offers_idle = True
        """Whether the server offers IDLE (known once open); without it :meth:`wait` polls."""

    def __enter__(self) -> IdleConnection:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connection(self) -> imaplib2.IMAP4:
        """The underlying imaplib2 object (open)."""
        if self._conn is None:
            raise SourceError(self.name, "connection is not open")
        return self._conn

    def open(self) -> None:
        """Connect, authenticate and EXAMINE the folder.

        Raises:
            SourceError: refused certificate, failed authentication, missing folder, no
                access token (``retryable`` when its endpoint could not be reached).
            OSError, imaplib2.IMAP4.abort: network trouble (retryable).
        """
        s = self.settings
        kw = {"identifier": self.identifier, "timeout": s.timeout_seconds}
        with connect_errors(self.name):
            if s.ssl:
                conn: imaplib2.IMAP4 = _IMAP4_SSL(s.host, s.port, tls_context(s), s.timeout_seconds, **kw)
            else:
                tls = tls_context(s)
                # imaplib2's STARTTLS restarts its reader thread around the handshake; with
                # TLS 1.3 (session tickets sent after the handshake) the reply to the next
                # command was lost in ~1 of 60 connections here, never with TLS 1.2.
                tls.maximum_version = ssl.TLSVersion.TLSv1_2
                conn = _IMAP4(s.host, s.port, tls, s.timeout_seconds, **kw)
        self._conn = conn
        try:
            if s.starttls and not s.ssl:
                conn.starttls()  # the overridden ssl_wrap_socket verifies
            if s.auth == "xoauth2":
                conn.authenticate("XOAUTH2", xoauth2_authobject(s.username, access_token(self._token)))
            else:
                conn.login(s.username, self._password or "")
        except (imaplib2.IMAP4.abort, SourceError):
            self.close()
            raise
        except ssl.SSLError as exc:
            self.close()
            raise SourceError(self.name, describe(exc)) from exc
        except imaplib2.IMAP4.error as exc:
            self.close()
            raise auth_failed(self.name, s, self._token, exc) from exc
        self.offers_idle = _offers_idle(conn)
        typ, data = conn.examine(quote(self.folder))
        if typ != "OK":
            self.close()
            raise SourceError(self.name, f"cannot EXAMINE folder: {data!r}"[:300])
        # EXAMINE's own EXISTS is the baseline, not news.
        conn.response("EXISTS")

    def wait(self, timeout: float, stop: threading.Event) -> bool:
        """IDLE until the server reports a change, ``timeout`` seconds pass, or ``stop`` is set.

        Returns:
            True when the folder got new messages (an ``EXISTS`` arrived).

        Raises:
            imaplib2.IMAP4.abort, OSError: the connection dropped (reconnect and retry).
        """
        if not self.offers_idle:
            return self._poll(timeout, stop)
        conn = self.connection
        done = threading.Event()
        outcome: list[Any] = []

        def finished(result: Any) -> None:
            outcome.append(result)
            done.set()

        conn.idle(timeout=timeout, callback=finished)
        while not done.wait(0.2):
            if stop.is_set():
                conn.noop()  # any command makes imaplib2 send DONE and end the IDLE
                done.wait(self.settings.timeout_seconds)
                return False
        _response, _arg, error = outcome[0]
        if error is not None:
            exc_class, reason = error
            raise exc_class(reason)
        _typ, exists = conn.response("EXISTS")
        return bool(exists and any(x is not None for x in exists))

    def _poll(self, timeout: float, stop: threading.Event) -> bool:
        """:meth:`wait` for a server without IDLE: a NOOP every ``poll_seconds``.

        The server reports new mail (``EXISTS``) in its answer to any command.
        """
        conn = self.connection
        deadline = time.monotonic() + timeout
        while True:
            conn.noop()
            _typ, exists = conn.response("EXISTS")
            if exists and any(x is not None for x in exists):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0 or stop.wait(min(self.settings.poll_seconds, remaining)):
                return False

    def close(self) -> None:
        """Log out and join imaplib2's threads, even when the connection is already dead."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.logout()
        except (imaplib2.IMAP4.error, OSError) as exc:
            log.debug("%s: logout failed (%s); closing threads", self.name, describe(exc))
        # logout() joins the threads on success; on a broken socket it may not get there.
        for thread in (getattr(conn, "wrth", None), getattr(conn, "rdth", None), getattr(conn, "inth", None)):
            if thread is not None and thread.is_alive():
                conn.Terminate = conn.TerminateReader = True
                with contextlib.suppress(queue.Full):  # the writer is already stopping
                    conn.ouq.put_nowait(None)
                try:
                    conn.sock.close()
                except OSError:
                    pass
                thread.join(timeout=5)


def watch(
    settings: ImapSettings,
    on_new: Callable[[str], None],
    *,
    stop: threading.Event,
    password: str | None = None,
    oauth2_token: TokenSource | None = None,
    folders: Sequence[str] | None = None,
    on_ready: Callable[[str], None] | None = None,
    backoff_base: float = 1.0,
    backoff_cap: float = 60.0,
) -> None:
    """Watch folders with IMAP IDLE and call ``on_new(folder)`` soon after new mail arrives.

    One thread and one imaplib2 connection per folder. IDLE is renewed every
    ``settings.idle_seconds`` (before the server's 29-minute limit). A dropped connection (or
    a token endpoint that cannot be reached) is re-opened with exponential backoff and
    jitter, and ``on_new`` is then called once, since mail may have arrived while
    disconnected. Blocks until ``stop`` is set, then closes every connection and joins
    every thread.

    Args:
        settings: The ``[imap]`` section.
        on_new: Called from a watcher thread with the folder name; exceptions it raises are
            logged and watching goes on. Keep it quick or hand the work to another thread.
        stop: Set it to stop watching.
        password: LOGIN password.
        oauth2_token: XOAUTH2 access token, or a callable returning a valid one at each login.
        folders: Folders to watch; default ``settings.folders + settings.sent_folders``.
        on_ready: Called with the folder name each time its IDLE connection is (re)established.
        backoff_base: First reconnect delay in seconds.
        backoff_cap: Longest reconnect delay in seconds.

    Raises:
        SourceError: a folder cannot be watched at all (authentication refused, certificate
            rejected, folder missing); the other watchers are stopped first.
    """
    check_transport(settings)
    names = list(folders) if folders is not None else [*settings.folders, *settings.sent_folders]
    quit_all = threading.Event()
    fatal: list[SourceError] = []

    def run(folder: str) -> None:
        attempt = 0
        connected_before = False
        while not quit_all.is_set():
            idle = IdleConnection(settings, folder, password=password, oauth2_token=oauth2_token)
            try:
                idle.open()
                attempt = 0
                if connected_before:
                    _safe_call(on_new, folder)
                connected_before = True
                if on_ready is not None:
                    _safe_call(on_ready, folder)
                if idle.offers_idle:
                    log.info("%s: watching with IDLE", idle.name)
                else:
                    log.info(
                        "%s: the server does not offer IDLE; checking for new mail every %s s",
                        idle.name,
                        settings.poll_seconds,
                    )
                while not quit_all.is_set():
                    if idle.wait(settings.idle_seconds, quit_all):
                        _safe_call(on_new, folder)
            except Exception as exc:  # noqa: BLE001 - classified below
                if not is_retryable(exc):
                    error = exc if isinstance(exc, SourceError) else SourceError(idle.name, describe(exc))
                    log.error("%s: cannot watch: %s", idle.name, error.problem)
                    fatal.append(error)
                    quit_all.set()
                else:
                    delay = backoff_delay(attempt, backoff_base, backoff_cap)
                    attempt += 1
                    log.warning("%s: connection lost (%s); reconnecting in %.1fs", idle.name, describe(exc), delay)
                    quit_all.wait(delay)
            finally:
                idle.close()

    threads = [
        threading.Thread(target=run, args=(f,), name=f"{THREAD_PREFIX}-watch:{f}", daemon=True)
        for f in names
    ]
    for t in threads:
        t.start()
    try:
        while not stop.wait(0.2) and not quit_all.is_set():
            pass
    finally:
        quit_all.set()
        for t in threads:
            t.join(timeout=settings.timeout_seconds + 10)
    if fatal:
        raise fatal[0]


def _offers_idle(conn: imaplib2.IMAP4) -> bool:
    """Whether the server offers IDLE, asked after login (the greeting's list may differ)."""
    typ, data = conn.capability()
    words = b" ".join(d if isinstance(d, bytes) else str(d).encode() for d in data or () if d)
    return typ == "OK" and b"IDLE" in words.upper().split()


def _safe_call(callback: Callable[[str], None], folder: str) -> None:
    try:
        callback(folder)
    except Exception:  # noqa: BLE001 - a failing callback must not stop the watcher
        log.exception("watch callback failed for folder %r", folder)
