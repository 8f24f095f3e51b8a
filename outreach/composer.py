"""Turn an :class:`OutgoingEmail` into an RFC 5322 message (pure; senders share it)."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from outreach.models import OutgoingEmail


def build_mime(email: OutgoingEmail, *, date: datetime) -> EmailMessage:
    """Build the MIME message: text, plus an HTML alternative when there is one.

    Args:
        email: What to send.
        date: The Date header (the moment of sending).

    Returns:
        A message that serialises with CRLF line ends (``policy.SMTP``).
    """
    msg = EmailMessage(policy=SMTP)
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
