"""Review actions beyond ``flows.steps`` (approve, reject, edit): snooze, wake, pick a gesture.

Snooze needs no schema change: a snoozed draft stays ``pending_review`` with
``not_before`` set, and the queue hides drafts whose ``not_before`` is in the
future. The throttle never reads ``not_before`` of pending drafts (it sets
its own on approved ones and clears it on claim), and expiry still counts
from ``created_at``, so a snooze cannot outlive ``drafts.expire_days``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from outreach.errors import DraftStateError, OutreachError

if TYPE_CHECKING:
    from connectors.store import Store
    from outreach.settings import Settings


def expires_at(settings: Settings, draft: dict[str, Any]) -> datetime:
    """When a pending draft expires unreviewed."""
    return draft["created_at"] + timedelta(days=settings.drafts.expire_days)


def is_snoozed(draft: dict[str, Any], now: datetime) -> bool:
    """A pending draft hidden from the queue until its ``not_before``."""
    return draft["status"] == "pending_review" and draft.get("not_before") is not None and draft["not_before"] > now


MAX_SNOOZE_HOURS = 24 * 90


def snooze(
    store: Store, settings: Settings, draft_id: int, *, hours: float, reviewer: str, now: datetime
) -> datetime:
    """Hide a pending draft from the queue for ``hours``.

    Returns:
        When it comes back.

    Raises:
        OutreachError: non-positive hours, or the draft would expire first.
        DraftStateError: the draft is not pending review.
    """
    if not 0 < hours <= MAX_SNOOZE_HOURS:
        # The upper bound also keeps the date arithmetic in range (no OverflowError on 99999999).
        raise OutreachError(f"snooze for 1 to {MAX_SNOOZE_HOURS} hours; a draft expires unreviewed long before more")
    draft = store.get_draft(draft_id)
    if draft is None:
        raise DraftStateError(f"draft {draft_id} does not exist")
    until = now + timedelta(hours=hours)
    if draft["status"] == "pending_review" and until >= expires_at(settings, draft):
        raise OutreachError(
            f"draft {draft_id} expires unreviewed at {expires_at(settings, draft):%Y-%m-%d %H:%M} UTC; "
            "snooze it for less or decide now"
        )
    store.transition(
        draft_id, "pending_review", actor=reviewer, action="snoozed", now=now, expect={"pending_review"},
        values={"not_before": until}, detail={"until": until.isoformat()},
    )
    return until


def wake(store: Store, draft_id: int, *, reviewer: str, now: datetime) -> None:
    """Bring a snoozed draft back to the queue now."""
    store.transition(
        draft_id, "pending_review", actor=reviewer, action="woken", now=now, expect={"pending_review"},
        values={"not_before": None},
    )


def regesture(
    store: Store, settings: Settings, draft: dict[str, Any], gesture: str | None, *, signing_key: str,
    reviewer: str, now: datetime,
) -> None:
    """Re-render an apology from its template with the gesture the agent picked.

    Only for drafts whose text the agent has not changed (their words win).

    Raises:
        OutreachError: not an apology, or a gesture not in ``drafts.gestures``.
    """
    from dataclasses import replace

    from outreach.drafting import render_draft, stored_context
    from outreach.links import make_unsubscribe_token, unsubscribe_url

    if draft["kind"] != "apology":
        raise OutreachError("only apologies carry a gesture")
    if gesture is not None and gesture not in settings.drafts.gestures:
        raise OutreachError(f"gesture {gesture!r} is not one of drafts.gestures")
    ctx = stored_context(
        draft.get("context") or {}, kind="apology", customer=draft["customer"],
        language=draft.get("language") or settings.drafts.default_language,
        unsubscribe_url=unsubscribe_url(settings.sender.public_url, make_unsubscribe_token(draft["customer"], signing_key)),
        agent_name=settings.drafts.agent_name, team_name=settings.team.name, thread_id=draft.get("thread_id"),
    )
    rendered = render_draft("apology", replace(ctx, gesture=gesture), settings.templates_path)
    store.update_draft_content(
        draft["id"], subject=rendered.subject, text_body=rendered.text, html=rendered.html,
        actor=reviewer, now=now, gesture=gesture,
    )
