"""Turn an :class:`OutgoingEmail` into an RFC 5322 message (pure; senders share it)."""

from __future__ import annotations

import re
from datetime import datetime
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import SMTP, Policy
from email.utils import format_datetime, formataddr

from outreach.models import OutgoingEmail

# RFC 2369 / RFC 8058 headers: a list of <URI>s that mailbox providers (Gmail, Yahoo) read
# as they are. The default folding turns any such header longer than 78 characters into
# RFC 2047 encoded words (=?utf-8?q?=3Chttp...), which breaks one-click unsubscribe.
RAW_LIST_HEADERS = ("list-unsubscribe", "list-unsubscribe-post")
_URI_RE = re.compile(r"<[^<>]*>")
_HARD_LIMIT = 998  # RFC 5322 2.1.1: the longest line a message may carry


class RawListHeader(UnstructuredHeader):
    """A header that is folded only between its ``<URI>`` items, never encoded."""

    def fold(self, *, policy: Policy) -> str:
        value = str(self)
        if not value.isascii():
            return super().fold(policy=policy)  # cannot be sent raw; the header stays valid
        items = _URI_RE.findall(value)
        if not items or ", ".join(items) != " ".join(value.split()):
            items = [" ".join(value.split())]  # not a list of <URI>s (List-Unsubscribe-Post): one line
        soft = policy.max_line_length or _HARD_LIMIT
        lines = [f"{self.name}: {items[0]}"]
        for item in items[1:]:
            if len(lines[-1]) + 2 + len(item) <= soft:
                lines[-1] += f", {item}"
            else:
                lines[-1] += ","
                lines.append(f" {item}")  # folding white space: unfolds to ", <URI>"
        # A single URI longer than the soft limit stays whole: RFC 5322 allows 998 octets,
        # and a URI split by an encoder is one no client can use.
        return policy.linesep.join(lines) + policy.linesep


def _header_registry() -> HeaderRegistry:
    registry = HeaderRegistry()
    for name in RAW_LIST_HEADERS:
        registry.map_to_type(name, RawListHeader)
    return registry


MAIL_POLICY = SMTP.clone(header_factory=_header_registry())
"""``policy.SMTP`` (CRLF line ends) with the list headers kept raw; what every sender serialises with."""


def build_mime(email: OutgoingEmail, *, date: datetime) -> EmailMessage:
    """Build the MIME message: text, plus an HTML alternative when there is one.

    Args:
        email: What to send.
        date: The Date header (the moment of sending).

    Returns:
        A message that serialises with CRLF line ends (``MAIL_POLICY``), list headers raw.
    """
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = formataddr((email.from_name, email.from_address)) if email.from_name else email.from_address
    msg["To"] = email.to_address
    msg["Subject"] = email.subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = f"<{email.message_id}>"
    msg["Reply-To"] = email.reply_to
    for name, value in email.headers.items():
        msg[name] = value
    msg.set_content(email.text)
    if email.html:
        msg.add_alternative(email.html, subtype="html")
    return msg
