"""Turn raw RFC 5322 bytes into a :class:`~outreach.models.ParsedMessage`.

Built for throughput and for hostile input. The standard library's
``compat32`` parser is about 20× faster than ``policy.default`` and never
raises on malformed MIME, so it does the MIME work; headers are decoded here
with ``email.header.decode_header`` and a charset fallback chain, because the
modern policy raises on unknown charsets, broken encoded words and odd
address groups (see the ten known-bad files in the test corpus).

Contract: :func:`parse_message` returns a message or raises
:class:`~outreach.errors.MessageParseError` with a one-line reason. It never
raises anything else; any unexpected failure inside the standard library
becomes a ``MessageParseError`` too, so one bad message is quarantined and
never stops a batch.

Decisions a user may need to know:

* **Not mail**: empty input, Outlook ``.msg`` (CFBF) files, TNEF
  (``winmail.dat``) blobs, other binary data and text without a header block
  are rejected with a reason.
* **mbox**: a single message with a leading ``From `` envelope line is parsed
  (the line is dropped; its date is a last-resort date). A file that holds
  several mbox messages is rejected ("mbox file with several messages"),
  because silently keeping only the first would lose mail: read it with
  the mbox source instead.
* **Date**: the ``Date`` header; if missing, unparseable or absurd (before
  1980 or more than two days after the newest ``Received`` time), the newest
  ``Received`` time; else the mbox envelope date; else the caller's
  ``fallback_date`` (the IMAP INTERNALDATE or file time a source knows);
  else the message is rejected ("no usable date"), since a message with an
  invented date would corrupt every SLA computed from it.
* **Message-ID**: without one, ``<first 32 hex of sha256(raw)>@outreach.invalid``;
  the same bytes always get the same ID, so re-reading is idempotent.
* **Body**: the text/plain parts that are not attachments; if there is
  none (or it is blank), the HTML parts converted with html2text. Text is
  capped at ``MAX_TEXT_CHARS``. Attachments are noted by file name only.
* **Bounces**: ``bounced_addresses`` come from the DSN
  (``message/delivery-status``: ``Final-Recipient``/``Original-Recipient``
  of recipients whose ``Action`` is ``failed``), else ``X-Failed-Recipients``,
  else addresses named in the first lines of a non-standard bounce text.
  Complaints (feedback loops) name the complaining recipient there.
"""

from __future__ import annotations

import binascii
import codecs
import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.header import decode_header
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

import html2text

from outreach.attachment_bodies import drop_attachment_bodies
from outreach.autoreply import classify_lowercase
from outreach.errors import MessageParseError
from outreach.language import guess_language
from outreach.models import ParsedMessage
from outreach.replytext import extract_reply

__all__ = ["MAX_TEXT_CHARS", "decode_bytes", "decode_header_text", "html_to_text", "parse_message"]

MAX_TEXT_CHARS = 500_000
"""Longest body text kept; longer bodies are cut (a support mail is never this long)."""

_MAX_PARTS = 500  # MIME parts looked at; a bomb of nested parts costs no more
_MAX_HTML_CHARS = 2_000_000  # HTML converted; html2text is the slow step
_MAX_REFERENCES = 100
_MAX_BOUNCED = 50
_MAX_ADDRESS_CHARS = 8_000  # longer address headers are scanned, not parsed
_MIN_YEAR = 1980
_MAX_CLOCK_SKEW = timedelta(days=2)
_SYNTH_DOMAIN = "outreach.invalid"

_PARSER = BytesParser(policy=compat32)

_CFBF_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_TNEF_MAGIC = b"\x78\x9f\x3e\x22"
_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (_CFBF_MAGIC, "Outlook .msg (CFBF compound file), not an RFC 5322 message"),
    (_TNEF_MAGIC, "TNEF (winmail.dat) attachment, not an RFC 5322 message"),
    (b"%PDF-", "PDF file, not an RFC 5322 message"),
    (b"PK\x03\x04", "ZIP archive, not an RFC 5322 message"),
    (b"\x1f\x8b", "gzip data, not an RFC 5322 message"),
    (b"\x89PNG", "PNG image, not an RFC 5322 message"),
    (b"\xff\xd8\xff", "JPEG image, not an RFC 5322 message"),
)
# A header field line: printable name without spaces or colon, then a colon.
# Bytes that may appear in mail text; what remains after deleting them are
# control characters, which only binary data has in quantity.
_TEXT_BYTES = bytes([9, 10, 11, 12, 13, 27, *range(32, 256)])  # 27: ESC of ISO-2022-JP
_FIELD_RE = re.compile(rb"^[!-9;-~]{1,76}[ \t]*:")
# The header names at least one of which a real message carries.
_MAIL_HEADERS = frozenset(
    "from to cc subject date message-id received return-path mime-version content-type "
    "sender reply-to in-reply-to references delivered-to x-mailer".split()
)
# RFC 5322 obsolete syntax allows blanks before the colon ("Subject  : Hi").
_OBS_FIELD_RE = re.compile(rb"^([!-9;-~]{1,76})[ \t]+:", re.MULTILINE)
# A header field line the feed parser takes without a defect (name, colon).
_HEAD_LINE_RE = re.compile(r"[!-9;-~]+:")
_COMPOUND_RE = re.compile(rb"(?im)^content-type:[ \t]*(?:multipart|message)/")
_BOUNDARY_RE = re.compile(rb"(?i)boundary=\"?([^\";\r\n]{1,200})")
_ENVELOPE_RE = re.compile(rb"^From \S*[ \t]+(.{10,80}?)[ \t]*$", re.MULTILINE)
# Another mbox envelope: a "From " line followed by two header fields (some
# writers omit the blank line before it, so that is not required).
_SECOND_ENVELOPE_RE = re.compile(
    rb"\nFrom (?![ \t]*:)[^\r\n]{0,200}\r?\n[!-9;-~]{1,76}:[^\r\n]{0,998}\r?\n[!-9;-~]{1,76}:"
)
_MSGID_RE = re.compile(r"<([^<>\s]{1,500})>")
# "Message-ID: <…>" as a line of a returned message's headers (a text/rfc822-headers part or quoted text).
_INLINE_MSGID_RE = re.compile(r"(?im)^[ \t>]*message-id:[ \t]*<([^<>\s]{1,500})>")
_BARE_MSGID_RE = re.compile(r"^\s*([^<>\s@]{1,400}@[^<>\s@]{1,200})\s*$")
_FOLD_RE = re.compile(r"\r?\n[ \t]*")
_WS_RE = re.compile(r"\s+")
_ADDR_RE = re.compile(r"[A-Za-z0-9._%+'=-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}")
# One address, no comments, groups, quoted commas or routes: "Name <a@b.c>" or "a@b.c".
_SIMPLE_ADDR_RE = re.compile(
    r"^\s*(?:([^\"<>,;:()\\@\r\n]{0,200}|\"[^\"\\\r\n]{0,200}\")\s*"
    r"<([A-Za-z0-9._%+'=/!#$&*?^`{|}~-]{1,64}@[A-Za-z0-9.-]{1,255})>"
    r"|([A-Za-z0-9._%+'=/!#$&*?^`{|}~-]{1,64}@[A-Za-z0-9.-]{1,255}))\s*$"
)
_CHARSET_RE = re.compile(r"(?i)\bcharset\s*=\s*[\"']?([^\"';\s]{1,60})")
_TEXT_ATTACHMENTS = frozenset({"text/calendar", "text/x-vcard", "text/vcard", "text/csv", "text/x-vcalendar"})
_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]{1,60})\?([bBqQ])\?([^?\s]{0,2000})\?=")
_BLANK_EW_GAP_RE = re.compile(r"(\?=)[ \t\r\n]+(=\?)")
_BASE64_RE = re.compile(r"[A-Za-z0-9+/=\s]{8,}")
_DSN_ACTION_RE = re.compile(r"(?im)^action:\s*(\S+)")
_DSN_RCPT_RE = re.compile(r"(?im)^(?:final|original)-recipient:\s*([^\n]{1,400})")
_TOKEN_CHARS = r"[A-Za-z0-9_-]{6,64}"

# Charset labels mail clients write that Python does not know, or that mean
# something else in practice (WHATWG: iso-8859-1 is decoded as windows-1252).
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
    "us-ascii": "utf-8", "ascii": "utf-8", "ansi_x3.4-1968": "utf-8",
    "x-unknown": "utf-8", "unknown-8bit": "utf-8", "unknown": "utf-8", "x-user-defined": "cp1252",
    "default": "utf-8", "charset": "utf-8", "8bit": "utf-8", "binary": "utf-8",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "x-gbk": "gbk", "gb2312": "gb18030",
    "gbk": "gb18030", "big5": "big5hkscs", "x-sjis": "shift_jis", "shift-jis": "shift_jis",
    "windows-874": "cp874", "tis-620": "cp874", "x-mac-roman": "mac_roman",
    "unicode-1-1-utf-7": "utf-7", "utf8": "utf-8", "iso-8859-8-i": "iso-8859-8",
}
_codec_cache: dict[str, str | None] = {}
_SINGLE_BYTE_CODECS = ("cp125", "cp1252", "iso8859", "latin", "mac-", "mac_", "cp437", "cp850", "koi8")



def _html_converter() -> html2text.HTML2Text:
    """A fresh converter per document: html2text keeps parse state on the
    instance, so sharing one would leak state between mails and threads."""
    conv = html2text.HTML2Text()
    conv.body_width = 0
    conv.ignore_images = True
    conv.ignore_links = True
    conv.ignore_emphasis = True
    conv.unicode_snob = True
    return conv


def _codec_for(charset: str | None) -> str | None:
    """Python codec name for a MIME charset label, or None when unknown."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    if "*" in label:  # RFC 2231 language suffix: utf-8*en
        label = label.split("*", 1)[0]
    if label in _codec_cache:
        return _codec_cache[label]
    name = _CHARSET_ALIASES.get(label, label)
    if name.startswith("x-mac-"):
        name = "mac_" + name[6:]
    try:
        codec: str | None = codecs.lookup(name).name
    except (LookupError, ValueError):
        codec = None
    if len(_codec_cache) < 1000:
        _codec_cache[label] = codec
    return codec


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode text bytes: declared charset, then UTF-8, then Windows-1252.

    Never raises: the last step replaces undecodable bytes.

    Args:
        data: The bytes of a body part or header.
        charset: The declared charset label (may be unknown or wrong).

    Returns:
        The text.
    """
    if data.isascii():
        return data.decode("ascii")
    codec = _codec_for(charset)
    if codec and codec != "utf-8":
        if codec.startswith(_SINGLE_BYTE_CODECS):
            # Text that is valid UTF-8 is UTF-8, whatever the label says:
            # by accident, Latin-1 text almost never forms valid sequences.
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                pass
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if codec and codec not in ("utf-8", "cp1252"):
        return data.decode(codec, errors="replace")
    return data.decode("cp1252", errors="replace")


def _raw_to_text(value: str) -> str:
    """compat32 keeps 8-bit header bytes as surrogates; decode them properly."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return decode_bytes(value.encode("ascii", "surrogateescape"), None)
    return value


def _decode_words_leniently(value: str) -> str:
    """Decode RFC 2047 encoded words one by one, tolerating broken ones."""
    value = _BLANK_EW_GAP_RE.sub(r"\1\2", value)

    def word(match: re.Match[str]) -> str:
        charset, enc, payload = match.group(1), match.group(2).lower(), match.group(3)
        try:
            if enc == "b":
                raw = binascii.a2b_base64(payload + "=" * (-len(payload) % 4))
            else:
                raw = binascii.a2b_qp(payload.encode("ascii", "replace"), header=True)
        except (binascii.Error, ValueError):
            return match.group(0)
        return decode_bytes(raw, charset)

    return _ENCODED_WORD_RE.sub(word, value)


def decode_header_text(value: str | None) -> str:
    """Decode a raw header value into one line of readable text.

    Handles RFC 2047 encoded words (also broken ones, best effort), unknown
    charsets, raw 8-bit bytes, and folding.

    Args:
        value: The raw value as the compat32 parser keeps it.

    Returns:
        The decoded, unfolded, stripped text ("" for None).
    """
    if not value:
        return ""
    if not isinstance(value, str):
        value = str(value)
    value = _raw_to_text(value)
    if "\n" in value:
        value = _FOLD_RE.sub(" ", value)
    if "=?" not in value:
        return value.strip()
    try:
        parts = decode_header(value)
    except (ValueError, LookupError, binascii.Error, IndexError, AssertionError):
        return _decode_words_leniently(value).strip()
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
        elif charset is None:
            out.append(chunk.decode("raw-unicode-escape", errors="replace"))
        else:
            out.append(decode_bytes(chunk, charset))
    text = "".join(out)
    if "=?" in text:
        # decode_header leaves words it could not parse (e.g. inside a
        # quoted string or glued to text); try them once more.
        text = _decode_words_leniently(text)
    return text.strip()


def html_to_text(html: str) -> str:
    """Convert an HTML body to readable plain text (blockquotes become ``>``).

    Args:
        html: The HTML source.

    Returns:
        Plain text; "" when the converter gives up on broken markup.
    """
    if len(html) > _MAX_HTML_CHARS:
        html = html[:_MAX_HTML_CHARS]
    try:
        text = _html_converter().handle(html)
    except (AssertionError, ValueError, IndexError, KeyError, TypeError, RecursionError):
        # html2text trips over some broken markup; drop the tags crudely.
        text = re.sub(r"<[^>]{0,2000}>", " ", html)
    # html2text keeps Markdown hard breaks ("  \n") and non-breaking spaces.
    return text.replace("\xa0", " ").replace("  \n", "\n").strip()


def _reject_non_mail(data: bytes) -> None:
    """Raise MessageParseError when the bytes are obviously not a message."""
    if not data or data.isspace():  # not strip(): that copies the whole message
        raise MessageParseError("empty message")
    head = data[:8]
    for magic, reason in _BINARY_MAGIC:
        if head.startswith(magic):
            raise MessageParseError(reason)
    sample = data[:4096]
    if b"\x00" in sample:
        raise MessageParseError("binary data (NUL bytes), not an RFC 5322 message")
    controls = len(sample.translate(None, _TEXT_BYTES))
    if controls > len(sample) // 20 + 2:
        raise MessageParseError("binary data (control characters), not an RFC 5322 message")


def _strip_envelope(data: bytes) -> tuple[bytes, datetime | None]:
    """Drop an mbox ``From `` line; refuse a whole mbox file; return its date."""
    if not data.startswith(b"From "):
        return data, None
    end = data.find(b"\n")
    if end < 0:
        raise MessageParseError("only an mbox envelope line, no message")
    line = data[:end].rstrip(b"\r")
    rest = data[end + 1 :]
    # Envelopes only start after a message's header block.
    body_start = rest.find(b"\n\n")
    if body_start < 0:
        body_start = rest.find(b"\n\r\n")
    second = _SECOND_ENVELOPE_RE.search(rest, max(body_start, 0))
    if second and not _inside_final_boundary(rest, second.start()):
        raise MessageParseError("mbox file with several messages; read it with the mbox source")
    when = None
    match = _ENVELOPE_RE.match(line)
    if match:
        when = _parse_date(match.group(1).decode("ascii", "replace"))
    return rest, when


def _parse_mime(data: bytes) -> Message:
    """compat32 parse, skipping the line-by-line body pass for single-part mail.

    The feed parser handles a non-multipart body by collecting its lines one
    by one; parsing the header block alone and attaching the body as one
    string gives the same message at twice the speed. Anything unusual
    (a header block with stray lines, multipart or message/* types) takes
    the full parse.
    """
    cut = data.find(b"\n\n")
    cut_crlf = data.find(b"\r\n\r\n")
    if cut < 0 and cut_crlf < 0:
        return _PARSER.parsebytes(data)
    end = cut + 2 if cut_crlf < 0 or 0 <= cut < cut_crlf else cut_crlf + 4
    if _COMPOUND_RE.search(data, 0, end):
        return _PARSER.parsebytes(data)
    head = _plain_head(data[:end])
    if head is None:
        head = _PARSER.parsebytes(data[:end], headersonly=True)
        if head.defects or head.get_payload():
            return _PARSER.parsebytes(data)
    if head.get_content_maintype() in ("multipart", "message"):
        return _PARSER.parsebytes(data)
    head.set_payload(data[end:].decode("ascii", "surrogateescape"))
    return head


def _plain_head(block: bytes) -> Message | None:
    """The header block of well-formed mail, split as compat32's feed parser would.

    Returns None for anything that parser treats specially (a continuation
    or ``From `` line first, a line without a field name, a blank line
    inside the block), so the caller uses the stdlib for those.
    ``block`` ends with the blank line that closes the header block.
    """
    lines = block.decode("ascii", "surrogateescape").splitlines(True)
    # bytes and StringIO split lines alike (\r\n, \r, \n), the decode is
    # 1:1, so these are the feed parser's lines.
    if not lines or lines[-1] not in ("\n", "\r\n") or lines[0][0] in " \t":
        return None
    msg = Message()
    fields: list[list[str]] = []
    for line in lines[:-1]:
        if line[0] in " \t":
            fields[-1].append(line)
        elif _HEAD_LINE_RE.match(line) and not line.startswith("From "):
            fields.append([line])
        else:
            return None
    for field in fields:
        # compat32's header_source_parse, inlined: it runs for every header.
        name, value = field[0].split(":", 1)
        value = value.lstrip(" \t")
        if len(field) > 1:
            value += "".join(field[1:])
        msg.set_raw(name, value.rstrip("\r\n"))
    return msg


def _inside_final_boundary(data: bytes, pos: int) -> bool:
    """True when ``pos`` lies inside the top-level multipart (an attached mbox)."""
    head_end = data.find(b"\n\n")
    match = _BOUNDARY_RE.search(data[: head_end if head_end > 0 else 20_000])
    if not match:
        return False
    return data.find(b"--" + match.group(1) + b"--", pos) >= 0


def _fix_obsolete_fields(data: bytes) -> bytes:
    """Rewrite "Name  :" field names as "Name:" in the header block only."""
    end = data.find(b"\n\n")
    end_crlf = data.find(b"\r\n\r\n")
    cuts = [i for i in (end, end_crlf) if i >= 0]
    cut = min(cuts) if cuts else len(data)
    return _OBS_FIELD_RE.sub(rb"\1:", data[:cut]) + data[cut:]


def _parse_date(value: str) -> datetime | None:
    """An aware UTC datetime from an RFC 5322 (or asctime) date, None if broken."""
    value = value.strip()
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    try:
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    if when.year < _MIN_YEAR or when.year > 2200:
        return None
    return when


def _received_date(values: Iterable[str]) -> datetime | None:
    """The newest date among Received headers (the part after the last ';')."""
    newest: datetime | None = None
    for value in values:
        _, sep, tail = value.rpartition(";")
        if not sep:
            continue
        when = _parse_date(_FOLD_RE.sub(" ", tail))
        if when and (newest is None or when > newest):
            newest = when
    return newest


def _choose_date(
    date_header: str, received: list[str], envelope: datetime | None, fallback: datetime | None
) -> datetime:
    date = _parse_date(_FOLD_RE.sub(" ", date_header)) if date_header else None
    if date is not None and date <= datetime.now(UTC) + _MAX_CLOCK_SKEW:
        return date
    newest_received = _received_date(received) if received else None
    if date is not None and (newest_received is None or date <= newest_received + _MAX_CLOCK_SKEW):
        return date
    # A sender clock ahead of the receiving servers would pin the thread to
    # the future: the servers' time is the better one.
    for candidate in (newest_received, envelope, fallback):
        if candidate is not None:
            if candidate.tzinfo is None:
                return candidate.replace(tzinfo=UTC)
            return candidate.astimezone(UTC)
    raise MessageParseError("no usable date: Date header missing or broken and no Received header")


def _message_ids(value: str) -> list[str]:
    if not value:
        return []
    value = _raw_to_text(value)
    ids = _MSGID_RE.findall(value)
    if not ids:
        bare = _BARE_MSGID_RE.match(value)
        if bare:
            ids = [bare.group(1)]
    return ids


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    """(decoded name, lower-cased address) pairs; groups flattened, junk dropped."""
    if not values:
        return []
    if len(values) == 1:
        # Fast path for the common single "Name <addr>" or bare address.
        simple = _SIMPLE_ADDR_RE.match(values[0])
        if simple:
            name = simple.group(1) or ""
            addr = (simple.group(2) or simple.group(3)).lower()
            return [(decode_header_text(name.strip().strip('"').strip()) if name else "", addr)]
    texts = [_FOLD_RE.sub(" ", _raw_to_text(v)) for v in values]
    pairs: list[tuple[str, str]]
    if sum(len(t) for t in texts) > _MAX_ADDRESS_CHARS:
        # The stdlib address parser recurses per address: a huge list
        # would exhaust the stack; take the addresses it contains instead.
        pairs = [("", m) for text in texts for m in _ADDR_RE.findall(text)]
    else:
        try:
            pairs = getaddresses(texts)
        except (ValueError, IndexError, TypeError, AttributeError, RecursionError):
            pairs = [("", m) for text in texts for m in _ADDR_RE.findall(text)]
    out: list[tuple[str, str]] = []
    for name, addr in pairs:
        addr = addr.strip().strip("<>").strip().lower()
        if "@" not in addr or " " in addr or len(addr) > 320:
            continue
        out.append((decode_header_text(name) if name else "", addr))
    if not out:
        # getaddresses gives up on some broken lists ("a@b.c; d@e.f"); salvage.
        out = [("", m.lower()) for text in texts for m in _ADDR_RE.findall(text)]
    return out


class _Body:
    __slots__ = ("attachments", "dsn_blocks", "enclosed_ids", "enclosed_to", "feedback", "html", "plain")

    def __init__(self) -> None:
        self.plain: list[str] = []
        # HTML parts stay undecoded until needed: most mail has a text part.
        self.html: list[tuple[Message, str]] = []
        self.attachments: list[str] = []
        self.dsn_blocks: list[Message] = []
        self.feedback: list[Message] = []
        self.enclosed_to: list[str] = []
        self.enclosed_ids: list[str] = []


def _part_filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except (ValueError, LookupError, TypeError, IndexError, AttributeError):
        name = None
    if name is None:
        return None
    if not isinstance(name, str):
        name = str(name)
    name = decode_header_text(name)
    return name.replace("\r", " ").replace("\n", " ").strip()[:255] or None


def _content_type(part: Message) -> tuple[str, str]:
    """(lower-cased type/subtype, raw header) without the slower generic accessors."""
    raw = part.get("content-type")
    if raw is None:
        return part.get_default_type(), ""
    if not isinstance(raw, str):
        raw = str(raw)
    ctype = raw.split(";", 1)[0].strip().lower()
    if ctype.count("/") != 1:
        ctype = "text/plain"  # RFC 2045: an invalid type means text/plain
    return ctype, raw


def _part_text(part: Message, raw_ctype: str = "") -> str:
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, LookupError, TypeError, binascii.Error, AssertionError):
        raw = part.get_payload()
        payload = raw.encode("ascii", "surrogateescape") if isinstance(raw, str) else b""
    if not isinstance(payload, bytes):
        return ""
    charset: str | None = None
    if "charset*" in raw_ctype.lower():
        try:
            charset = part.get_content_charset()
        except (ValueError, LookupError, TypeError, AttributeError):
            charset = None
    elif raw_ctype:
        match = _CHARSET_RE.search(raw_ctype)
        charset = match.group(1) if match else None
    return decode_bytes(payload, charset)


def _walk_body(msg: Message, root_headers: dict[str, str] | None = None) -> _Body:
    """Collect text, HTML, attachment names and report parts, iteratively.

    ``root_headers`` (first value per lower-cased name) spares the slow
    linear header look-ups of ``Message.get`` on the top-level message.
    """
    body = _Body()
    stack: list[Message] = [msg]
    seen = 0
    while stack and seen < _MAX_PARTS:
        part = stack.pop()
        seen += 1
        if part is msg and root_headers is not None:
            raw_root = root_headers.get("content-type")
            if raw_root is None:
                ctype, raw_ctype = "text/plain", ""
            else:
                raw_ctype = raw_root
                ctype = raw_root.split(";", 1)[0].strip().lower()
                if ctype.count("/") != 1:
                    ctype = "text/plain"
        else:
            ctype, raw_ctype = _content_type(part)
        payload = part.get_payload()
        if ctype == "message/delivery-status":
            if isinstance(payload, list):
                body.dsn_blocks.extend(p for p in payload if isinstance(p, Message))
            continue
        if ctype == "message/feedback-report":
            if isinstance(payload, list):
                body.feedback.extend(p for p in payload if isinstance(p, Message))
            continue
        if ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            # A forwarded or returned message: noted, never taken for the body.
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                body.enclosed_to.extend(str(v) for v in (inner.get_all("to") or []))
                body.enclosed_ids.extend(_message_ids(str(inner.get("message-id") or "")))
                subject = decode_header_text(inner.get("subject"))
                body.attachments.append(_part_filename(part) or f"{subject or 'message'}.eml")
            elif ctype != "message/rfc822":
                headers_text = _part_text(part, raw_ctype)[:20_000]
                body.enclosed_to.extend(_ADDR_RE.findall(headers_text))
                body.enclosed_ids.extend(_INLINE_MSGID_RE.findall(headers_text))
            continue
        if isinstance(payload, list):
            # Multipart (or an enclosed message): reverse so popping keeps order.
            stack.extend(p for p in reversed(payload) if isinstance(p, Message))
            continue
        raw_disp = (
            root_headers.get("content-disposition")
            if part is msg and root_headers is not None
            else part.get("content-disposition")
        )
        disposition = str(raw_disp).split(";", 1)[0].strip().lower() if raw_disp else ""
        filename = (
            _part_filename(part) if raw_disp or "name" in raw_ctype.lower() else None
        )
        if not ctype.startswith("text/") or disposition == "attachment" or ctype in _TEXT_ATTACHMENTS:
            body.attachments.append(filename or f"(unnamed {ctype})")
        elif filename and disposition != "inline":
            body.attachments.append(filename)  # a named text file, e.g. notes.txt
        elif ctype == "text/html":
            body.html.append((part, raw_ctype))
        else:
            body.plain.append(_part_text(part, raw_ctype))
    return body


def _body_text(body: _Body) -> str:
    plain = "\n\n".join(t.strip("\n") for t in body.plain if t and not t.isspace())
    if plain:
        text = plain
    elif body.html:
        htmls = (_part_text(part, raw_ctype) for part, raw_ctype in body.html)
        text = "\n\n".join(html_to_text(h) for h in htmls if h and not h.isspace())
    else:
        text = ""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS]
    return text.strip()


def _recipient(value: str) -> str | None:
    """'rfc822; User@Example.com' → 'user@example.com'."""
    value = _raw_to_text(value)
    _, _, addr = value.partition(";")
    addr = (addr or value).strip().strip("<>").strip().lower()
    return addr if "@" in addr and " " not in addr and len(addr) <= 320 else None


def _dsn_text_recipients(blocks: list[Message]) -> list[str]:
    """Failed recipients from DSN blocks whose fields hide in an encoded payload."""
    found: list[str] = []
    for block in blocks:
        payload = block.get_payload()
        if not isinstance(payload, str) or not payload.strip():
            continue
        raw = payload[:200_000].strip()
        text = raw
        if _BASE64_RE.fullmatch(raw):
            # Postfix behind some gateways base64-encodes the recipient block
            # and leaves the Content-Transfer-Encoding in the block above.
            try:
                text = decode_bytes(binascii.a2b_base64(raw), "utf-8")
            except (binascii.Error, ValueError):
                text = raw
        for group in re.split(r"\n\s*\n", text):
            action = _DSN_ACTION_RE.search(group)
            if action and not action.group(1).lower().startswith("failed"):
                continue
            rcpt = _DSN_RCPT_RE.search(group)
            if rcpt:
                addr = _recipient(rcpt.group(1))
                if addr:
                    found.append(addr)
    return found


def _bounced(
    kind: str, body: _Body, headers: dict[str, list[str]], text: str, own: set[str]
) -> tuple[str, ...]:
    found: list[str] = []
    if kind == "bounce":
        for block in body.dsn_blocks:
            action = str(block.get("action") or "").strip().lower()
            if action and not action.startswith("failed"):
                continue
            status = str(block.get("status") or "").strip()
            if not action and status and not status.startswith(("5", "4")):
                continue
            value = block.get("final-recipient") or block.get("original-recipient")
            if value:
                addr = _recipient(str(value))
                if addr:
                    found.append(addr)
        if not found and body.dsn_blocks:
            # Some MTAs base64-encode the per-recipient fields; read them as text.
            found.extend(_dsn_text_recipients(body.dsn_blocks))
        if not found and not body.dsn_blocks:
            for value in headers.get("x-failed-recipients", []):
                found.extend(a for _, a in _addresses([value]))
        if not found and not body.dsn_blocks:
            # Non-standard bounce text: the addresses it names, minus our own.
            found.extend(m.lower() for m in _ADDR_RE.findall(text[:3000]))
    elif kind == "complaint":
        for block in body.feedback:
            value = block.get("original-rcpt-to")
            if value:
                addr = _recipient(str(value))
                if addr:
                    found.append(addr)
        if not found:
            found.extend(a for _, a in _addresses(body.enclosed_to))
    out: list[str] = []
    for addr in found:
        local = addr.split("@", 1)[0]
        if addr in own or local in ("mailer-daemon", "postmaster") or addr in out:
            continue
        out.append(addr)
        if len(out) >= _MAX_BOUNCED:
            break
    return tuple(out)


def _bounce_refs(body: _Body, text: str, parent: list[str], refs: list[str]) -> tuple[str, ...]:
    """Message-IDs a bounce or complaint points back to: the returned message's, then its own links.

    Without them nothing ties the report to mail we sent (anyone can write a
    bounce-like message naming any address), so the sync suppresses only
    recipients of the messages found here.
    """
    found = [*body.enclosed_ids]
    if not found:
        # Bounces that quote the returned message as plain text.
        found.extend(_INLINE_MSGID_RE.findall(text[:20_000]))
    found.extend(parent)
    found.extend(refs)
    return tuple(dict.fromkeys(found))[:_MAX_BOUNCED]


def _reply_token(addresses: Iterable[str], local: str | None, domain: str | None) -> str | None:
    if not local or not domain:
        return None
    prefix = f"{local.lower()}+"
    suffix = f"@{domain.lower()}"
    for addr in addresses:
        if addr.startswith(prefix) and addr.endswith(suffix):
            token = addr[len(prefix) : -len(suffix)]
            if re.fullmatch(_TOKEN_CHARS, token):
                return token
    return None


def _header_lists(msg: Message) -> tuple[dict[str, list[str]], dict[str, str]]:
    """All raw values per lower-cased name, and the first value per name."""
    every: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        key = name.lower().strip()
        if not isinstance(value, str):
            value = str(value)
        every.setdefault(key, []).append(value)
    first = {k: v[0] for k, v in every.items()}
    return every, first


def parse_message(
    data: bytes,
    *,
    reply_local: str | None = None,
    reply_domain: str | None = None,
    fallback_date: datetime | None = None,
) -> ParsedMessage:
    """Parse one raw message into what Outreach stores.

    Args:
        data: The RFC 5322 bytes (an mbox ``From `` line in front is allowed).
        reply_local: Local part of our Reply-To plus-address (``support``).
        reply_domain: Its domain; with ``reply_local`` it enables
            ``reply_token`` detection in To, Cc, Delivered-To and
            X-Original-To (``support+<token>@domain``).
        fallback_date: Used when neither Date nor Received nor an mbox
            envelope gives a date (e.g. the IMAP INTERNALDATE).

    Returns:
        The parsed message. ``language`` is guessed from the reply text (else
        the whole text) of mail a person wrote; machine mail gets ``None``.

    Raises:
        MessageParseError: When the bytes cannot become a message; its
            ``reason`` is one line. No other exception escapes.
    """
    try:
        return _parse(bytes(data), reply_local, reply_domain, fallback_date)
    except MessageParseError:
        raise
    except RecursionError:
        raise MessageParseError("message structure too deeply nested") from None
    except Exception as exc:  # noqa: BLE001 - the contract: one bad message never stops a batch
        raise MessageParseError(f"unparseable message ({type(exc).__name__})") from exc


def _parse(
    data: bytes, reply_local: str | None, reply_domain: str | None, fallback_date: datetime | None
) -> ParsedMessage:
    _reject_non_mail(data)
    content_hash = hashlib.sha256(data).hexdigest()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a UTF-8 byte-order mark written by some exporters
    body_bytes, envelope_date = _strip_envelope(data.lstrip(b" \t\r\n"))
    # Blank or space-only lines before the first field confuse the parser
    # into reading every header as body; they carry nothing.
    body_bytes = body_bytes.lstrip(b" \t\r\n")
    if not _FIELD_RE.match(body_bytes[:100]):
        raise MessageParseError("no header block: the first line is not a header field")
    if _OBS_FIELD_RE.match(body_bytes[:100]):
        body_bytes = _fix_obsolete_fields(body_bytes)
    msg = _parse_mime(drop_attachment_bodies(body_bytes))
    every, first = _header_lists(msg)
    if not _MAIL_HEADERS.intersection(first):
        raise MessageParseError("no mail headers (From, To, Subject, Date, Message-ID...)")

    ids = _message_ids(first.get("message-id", ""))
    message_id = ids[0] if ids else f"{content_hash[:32]}@{_SYNTH_DOMAIN}"
    parent = _message_ids(first.get("in-reply-to", ""))
    refs: list[str] = []
    for value in every.get("references", ()):
        for ref in _message_ids(value):
            if ref not in refs and ref != message_id:
                refs.append(ref)
    if len(refs) > _MAX_REFERENCES:
        refs = refs[:1] + refs[-(_MAX_REFERENCES - 1) :]

    senders = _addresses(every.get("from", []))
    if not senders and "sender" in every:
        senders = _addresses(every["sender"])
    from_name, from_address = senders[0] if senders else ("", "")
    recipients: list[str] = []
    for name in ("to", "cc"):
        for _, addr in _addresses(every.get(name, [])):
            if addr not in recipients:
                recipients.append(addr)

    date = _choose_date(first.get("date", ""), every.get("received", []), envelope_date, fallback_date)
    subject = _WS_RE.sub(" ", decode_header_text(first.get("subject"))).strip()

    body = _walk_body(msg, first)
    text = _body_text(body)
    reply_text = extract_reply(text)
    auto_kind = classify_lowercase(first, subject, text)

    token = None
    if reply_local and reply_domain:
        extra = [a for name in ("delivered-to", "x-original-to") for _, a in _addresses(every.get(name, []))]
        token = _reply_token([*recipients, *extra], reply_local, reply_domain)

    bounced: tuple[str, ...] = ()
    bounce_refs: tuple[str, ...] = ()
    if auto_kind in ("bounce", "complaint"):
        own = {from_address, *recipients}
        if auto_kind == "complaint":
            own = {from_address}
        bounced = _bounced(auto_kind, body, every, text, own)
        if bounced:
            bounce_refs = _bounce_refs(body, text, parent, refs)

    return ParsedMessage(
        message_id=message_id,
        in_reply_to=parent[0] if parent else None,
        references=tuple(refs),
        from_address=from_address,
        from_name=from_name,
        to_addresses=tuple(recipients),
        date=date,
        subject=subject,
        text=text,
        reply_text=reply_text,
        auto_kind=auto_kind,
        attachments=tuple(body.attachments),
        content_hash=content_hash,
        reply_token=token,
        bounced_addresses=bounced,
        bounce_refs=bounce_refs,
        language=guess_language(reply_text or text) if auto_kind is None else None,
    )
