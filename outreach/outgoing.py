"""Turn an approved draft into the email a sender delivers (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from outreach.drafting import has_footer, html_from_text, render_footer, stored_context, with_footer
from outreach.links import make_unsubscribe_token, unsubscribe_url
from outreach.models import OutgoingEmail
from outreach.settings import Settings


def reply_address(settings: Settings, token: str) -> str:
    """The plus-address a reply comes back to, carrying the draft's reply token."""
    return f"{settings.sender.reply_local}+{token}@{settings.sender.reply_domain}"


def footer_for(draft: Mapping[str, Any], settings: Settings, signing_key: str) -> str:
    """The draft's plain-text unsubscribe footer, in its language, with a fresh signed link."""
    url = unsubscribe_url(settings.sender.public_url, make_unsubscribe_token(draft["customer"], signing_key))
    ctx = stored_context(
        draft.get("context") or {}, kind=draft["kind"], customer=draft["customer"],
        language=draft.get("language") or settings.drafts.default_language, unsubscribe_url=url,
        agent_name=settings.drafts.agent_name, team_name=settings.team.name, thread_id=draft.get("thread_id"),
    )
    return render_footer(ctx, settings.templates_path)


def _with_footer(draft: Mapping[str, Any], settings: Settings, signing_key: str) -> tuple[str, str | None]:
    """Text and HTML that carry the unsubscribe footer, whatever happened to the draft.

    Rendered drafts and drafts edited through ``steps.edit`` already have it; one edited
    before the footer was re-applied on edit (or written to the store by hand) gets it here,
    so no customer ever receives a proactive email without a way out.
    """
    text, html = draft["text"], draft.get("html")
    base = settings.sender.public_url
    if not has_footer(text, base):
        text = with_footer(text, footer_for(draft, settings, signing_key))
        if html and not has_footer(html, base):
            # Such drafts' HTML was built from their text: rebuild it the same way.
            html = html_from_text(text, draft.get("language") or settings.drafts.default_language)
    return text, html


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
    text, html = _with_footer(draft, settings, signing_key)
    return OutgoingEmail(
        draft_id=int(draft["id"]),
        idempotency_key=draft["idempotency_key"],
        message_id=draft["message_id"],
        from_address=settings.sender.from_address,
        from_name=settings.sender.from_name or f"{agent} ({settings.team.name})",
        to_address=draft["customer"],
        reply_to=reply_address(settings, draft["reply_token"]),
        subject=draft["subject"],
        text=text,
        html=html,
        headers=headers,
        category=draft["kind"],
    )
