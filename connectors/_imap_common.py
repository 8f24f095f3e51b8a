"""Pieces shared by the IMAP bulk reader (stdlib imaplib) and the IDLE watcher (imaplib2).

TLS policy, XOAUTH2, folder-name encoding, response parsing, retry classification and backoff.
Nothing here opens a connection.
"""

from __future__ import annotations

import base64
import imaplib
import random
import re
import ssl
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import imaplib2

from outreach.errors import SourceError
from outreach.settings import ImapSettings, is_loopback

TokenSource = str | Callable[[], str]
"""An XOAUTH2 access token as given, or a callable returning a valid one at each login
(:class:`connectors.oauth2.RefreshingToken`)."""


def source_name(settings: ImapSettings) -> str:
    """Stable identity of an IMAP source: ``imap://user@host:port``."""
    user = f"{settings.username}@" if settings.username else ""
    return f"imap://{user}{settings.host}:{settings.port}"


def tls_context(settings: ImapSettings) -> ssl.SSLContext:
    """A verifying client context: CA chain and host name are always checked.

    Uses ``settings.ca_file`` when set, else the system CAs. imaplib2's own TLS code verifies
    neither, which is why every connection is wrapped with this context instead.
    """
    try:
        ctx = ssl.create_default_context(cafile=settings.ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise SourceError(source_name(settings), f"cannot load imap.ca_file: {exc}") from exc
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def check_transport(settings: ImapSettings) -> None:
    """Refuse settings that would send the password in clear over a network.

    Raises:
        SourceError: when IMAP is disabled, or neither TLS nor STARTTLS is on for a
            non-loopback host.
    """
    name = source_name(settings)
    if not settings.host:
        raise SourceError(name, "imap.host is empty: IMAP is disabled")
    if settings.ssl and settings.starttls:
        raise SourceError(name, "set either imap.ssl (port 993) or imap.starttls, not both")
    if not settings.ssl and not settings.starttls and not is_loopback(settings.host):
        raise SourceError(
            name, "refusing plain-text IMAP to a non-loopback host: set imap.ssl or imap.starttls"
        )


def xoauth2_string(user: str, token: str) -> bytes:
    """The SASL XOAUTH2 initial response (before base64, which imaplib adds)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


def access_token(token: TokenSource | None) -> str:
    """The token to log in with now (a callable is asked each time: it renews expired ones).

    Raises:
        SourceError: the token could not be renewed (see :class:`connectors.oauth2.RefreshingToken`).
    """
    if callable(token):
        return token()
    return token or ""


def auth_failed(name: str, settings: ImapSettings, token: TokenSource | None, exc: BaseException) -> SourceError:
    """The error for a refused login, with a hint when a fixed access token has likely expired."""
    problem = f"authentication failed ({settings.auth}): {exc}"
    if settings.auth == "xoauth2" and not callable(token):
        problem += (
            "; access tokens expire after about an hour: set imap.oauth2_token_url, "
            "imap.oauth2_client_id and imap.oauth2_refresh_token to renew them automatically"
        )
    return SourceError(name, problem)


def xoauth2_authobject(user: str, token: str) -> Callable[[bytes], bytes]:
    """An ``authenticate()`` callback: the credentials first, then an empty reply.

    When the server rejects the token it sends a continuation with an error document; the
    empty reply lets it finish with a tagged NO instead of hanging.
    """
    sent = False

    def respond(_challenge: bytes) -> bytes:
        nonlocal sent
        if sent:
            return b""
        sent = True
        return xoauth2_string(user, token)

    return respond


# --- folder names ---------------------------------------------------------------------------------


def encode_folder(name: str) -> str:
    """Encode a folder name as IMAP modified UTF-7 (RFC 3501 section 5.1.3)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def decode_folder(name: str) -> str:
    """Decode IMAP modified UTF-7 into a normal string."""

    def repl(match: re.Match[str]) -> str:
        chunk = match.group(1)
        if not chunk:
            return "&"
        padded = chunk.replace(",", "/") + "=" * (-len(chunk) % 4)
        return base64.b64decode(padded).decode("utf-16-be")

    return re.sub(r"&([A-Za-z0-9+,]*)-", repl, name)


def quote(name: str) -> str:
    """A folder name as an IMAP quoted string (modified UTF-7 inside)."""
    encoded = encode_folder(name)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- responses ------------------------------------------------------------------------------------

_STATUS_ITEM = re.compile(rb"([A-Z]+) (\d+)")
_LIST_LINE = re.compile(rb'\((?P<flags>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (?P<name>.+)$')


@dataclass(frozen=True, slots=True)
class FolderStatus:
    """What ``STATUS`` says about a folder."""

    uidvalidity: int
    uidnext: int
    messages: int
    highestmodseq: int | None


def parse_status(line: bytes) -> FolderStatus:
    """Parse the data of an untagged ``STATUS`` response."""
    items = dict(_STATUS_ITEM.findall(line[line.rfind(b"(") :]))
    modseq = items.get(b"HIGHESTMODSEQ")
    return FolderStatus(
        uidvalidity=int(items.get(b"UIDVALIDITY", 0)),
        uidnext=int(items.get(b"UIDNEXT", 0)),
        messages=int(items.get(b"MESSAGES", 0)),
        highestmodseq=int(modseq) if modseq is not None else None,
    )


def parse_list(lines: Iterable[bytes | tuple[bytes, bytes] | None]) -> dict[str, set[str]]:
    """``{folder name: {attributes}}`` from LIST responses (names decoded)."""
    out: dict[str, set[str]] = {}
    for item in lines:
        if item is None:
            continue
        if isinstance(item, tuple):  # a name sent as a literal
            head, literal = item
            m = _LIST_LINE.match(head.rstrip() + b" x")
            if m:
                out[decode_folder(literal.decode("utf-8", "replace"))] = set(
                    m.group("flags").decode().split()
                )
            continue
        m = _LIST_LINE.match(item)
        if not m:
            continue
        raw = m.group("name").strip()
        if raw.startswith(b'"') and raw.endswith(b'"'):
            raw = re.sub(rb"\\(.)", rb"\1", raw[1:-1])
        out[decode_folder(raw.decode("utf-8", "replace"))] = set(m.group("flags").decode().split())
    return out


def uid_set(uids: Sequence[int]) -> str:
    """Compress ascending UIDs into an IMAP sequence set (``1:5,8,10:12``)."""
    parts: list[str] = []
    start = prev = uids[0]
    for uid in uids[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        parts.append(f"{start}:{prev}" if prev != start else str(start))
        start = prev = uid
    parts.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(parts)


def size_bounded_chunks(
    uids: Sequence[int], sizes: dict[int, int], count: int, max_bytes: int, small: int
) -> list[list[int]]:
    """UIDs, in order, cut into fetches of at most ``count`` messages and ``max_bytes`` bytes.

    Args:
        uids: Ascending UIDs to fetch.
        sizes: Sizes of the larger messages; every other one counts as ``small`` (the
            ``LARGER`` bound they were found under), so no fetch can exceed ``max_bytes``
            unless one message alone does: that one is fetched on its own.
        count: Most messages per fetch.
        max_bytes: Most bytes per fetch.
        small: The size an unlisted message counts as.
    """
    chunks: list[list[int]] = []
    current: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, small)
        if current and (len(current) >= count or total + size > max_bytes):
            chunks.append(current)
            current, total = [], 0
        current.append(uid)
        total += size
    if current:
        chunks.append(current)
    return chunks


# --- failures -------------------------------------------------------------------------------------


def is_retryable(exc: BaseException) -> bool:
    """Whether a new connection may succeed: network trouble yes, refusals no.

    Certificate failures are ``OSError`` subclasses but never retryable; server-side aborts
    (``BYE``, dropped connection) are, and so is a :class:`SourceError` that says so (a
    token endpoint that could not be reached).
    """
    if isinstance(exc, SourceError):
        return exc.retryable
    if isinstance(exc, ssl.SSLCertVerificationError):
        return False
    if isinstance(exc, (imaplib.IMAP4.abort, imaplib2.IMAP4.abort)):
        return True
    if isinstance(exc, (imaplib.IMAP4.error, imaplib2.IMAP4.error)):
        return False
    return isinstance(exc, (OSError, EOFError))


@contextmanager
def connect_errors(name: str) -> Iterator[None]:
    """Let retryable failures through as they are; turn refusals into a :class:`SourceError`.

    Args:
        name: The source's name, for the error.
    """
    try:
        yield
    except SourceError:
        raise
    except Exception as exc:
        if is_retryable(exc):
            raise
        raise SourceError(name, describe(exc)) from exc


def describe(exc: BaseException) -> str:
    """One line about a failure, without message contents."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate rejected: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    text = str(exc)
    if isinstance(text, str) and len(text) > 200:
        text = text[:200] + "…"
    return f"{type(exc).__name__}: {text}"


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter: uniform in ``[base/2, min(cap, base * 2**attempt)]``."""
    ceiling = min(cap, base * (2**attempt))
    return random.uniform(min(base / 2, ceiling), ceiling)
