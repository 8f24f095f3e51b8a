"""Drop the encoded bodies of large attachments before a message is parsed.

Outreach notes attachments (their names) and never reads their contents, but the
standard library's parser splits every line of every part into its own string: a
message with a 25 MB attachment costs about 190 MB and a second of CPU to parse. Cut
out beforehand, a base64 attachment costs nothing, and the parse gives the same text,
headers and attachment names.

Only base64 bodies are cut: their alphabet has no ``-``, so no line inside one can be
taken for a MIME boundary. A part keeps its header block (type, disposition, file name)
and gets an empty body.
"""

from __future__ import annotations

import re
from itertools import pairwise

__all__ = ["TRIM_FROM_BYTES", "drop_attachment_bodies"]

TRIM_FROM_BYTES = 256 * 1024
"""Messages smaller than this are parsed as they are (cutting would not pay)."""

_MIN_BODY_BYTES = 16 * 1024  # smaller attachment bodies are left in place
_MAX_BOUNDARIES = 64  # real mail nests a handful of multiparts

_BOUNDARY_PARAM_RE = re.compile(rb'(?i)\bboundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))')
_HEAD_END_RE = re.compile(rb"\r?\n\r?\n")
_BASE64_RE = re.compile(rb"(?im)^content-transfer-encoding:[ \t]*base64[ \t]*\r?$")
_TYPE_RE = re.compile(rb"(?im)^content-type:[ \t]*([!-~]+?)[ \t]*(?:;|\r?$)")
_ATTACHMENT_RE = re.compile(rb"(?im)^content-disposition:[ \t]*attachment\b")


def drop_attachment_bodies(data: bytes) -> bytes:
    """The message with the bodies of large base64 attachments emptied.

    An attachment here is a part that is not text (an image, a PDF, an archive) or any
    part marked ``Content-Disposition: attachment``: the parts the body text never comes
    from. Multipart and enclosed-message parts are never touched, nor is anything in a
    message below :data:`TRIM_FROM_BYTES` or without MIME boundaries.

    Args:
        data: The raw message.

    Returns:
        ``data`` itself when nothing was cut, else a smaller copy.
    """
    if len(data) < TRIM_FROM_BYTES:
        return data
    found = {m.group(1) or m.group(2) for m in _BOUNDARY_PARAM_RE.finditer(data)}
    if not found or len(found) > _MAX_BOUNDARIES:
        return data  # nothing to cut, or a structure too odd to be worth it: parsed as it is
    delimiter = re.compile(
        rb"^--(?:" + b"|".join(re.escape(b) for b in sorted(found)) + rb")(?:--)?[ \t]*\r?$", re.MULTILINE
    )
    pieces: list[bytes] = []
    kept_to = 0
    for this, following in pairwise(delimiter.finditer(data)):
        part_start = data.find(b"\n", this.end()) + 1
        part_end = following.start()
        if part_start <= 0 or part_end - part_start < _MIN_BODY_BYTES:
            continue
        head_end = _HEAD_END_RE.search(data, part_start, min(part_end, part_start + 8192))
        if head_end is None:
            continue
        body_start = head_end.end()
        if part_end - body_start < _MIN_BODY_BYTES or not _is_attachment(data[part_start:body_start]):
            continue
        pieces.append(data[kept_to:body_start])
        # The line break before a delimiter belongs to the delimiter (RFC 2046): kept.
        kept_to = part_end - (2 if data[part_end - 2 : part_end] == b"\r\n" else 1)
    if not pieces:
        return data
    pieces.append(data[kept_to:])
    return b"".join(pieces)


def _is_attachment(head: bytes) -> bool:
    """Whether a part's header block declares a base64 body that is never text we read."""
    if not _BASE64_RE.search(head):
        return False
    kind = _TYPE_RE.search(head)
    ctype = kind.group(1).lower() if kind else b"text/plain"
    if ctype.startswith((b"multipart/", b"message/")):
        return False
    return not ctype.startswith(b"text/") or _ATTACHMENT_RE.search(head) is not None
