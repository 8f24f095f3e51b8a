"""Turn an approved draft into the email a sender delivers (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from outreach.links import make_unsubscribe_token, unsubscribe_url
from outreach.models import OutgoingEmail
from outreach.settings import Settings


def reply_address(settings: Settings, token: str) -> str:
    """The plus-address a reply comes back to, carrying the draft's reply token."""
    return f"{settings.sender.reply_local}+{token}@{settings.sender.reply_domain}"


def outgoing_for(draft: Mapping[str, Any], settings: Settings, signing_key: str) -> OutgoingEmail:
    """Build the email for ``draft`` (a row of the drafts table).

    Headers follow RFC 8058 (one-click unsubscribe) and RFC 3834
    (Auto-Submitted, so other robots do not answer ours).
    """
    context = draft.get("context") or {}
    unsubscribe = unsubscribe_url(
        settings.sender.public_url, make_unsubscribe_token(draft["customer"], signing_key)
    )
    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
        "X-Outreach-Kind": draft["kind"],
    }
    parent = context.get("in_reply_to")
    if parent:
        headers["In-Reply-To"] = f"<{parent}>"
        headers["References"] = f"<{parent}>"
    agent = context.get("agent_name") or settings.drafts.agent_name
    return OutgoingEmail(
        draft_id=int(draft["id"]),
        idempotency_key=draft["idempotency_key"],
        message_id=draft["message_id"],
        from_address=settings.sender.from_address,
        from_name=settings.sender.from_name or f"{agent} ({settings.team.name})",
        to_address=draft["customer"],
        reply_to=reply_address(settings, draft["reply_token"]),
        subject=draft["subject"],
        text=draft["text"],
        html=draft.get("html"),
        headers=headers,
        category=draft["kind"],
    )
