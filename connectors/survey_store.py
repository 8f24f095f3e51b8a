"""Store functions for replies and survey answers (on :class:`connectors.store.Store`).

Kept apart from ``store.py`` so the survey loop is one module: reading the
replies to our drafts, applying a :class:`outreach.replies.ReplyPlan` in one
transaction, recording link answers, and listing responses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from connectors.schema import candidates, drafts, messages, survey_responses, threads
from connectors.store import Store, _aware, _aware_row
from outreach.models import Candidate
from outreach.replies import (
    ExistingResponse,
    InboundReply,
    ReplyPlan,
    ResponseUpdate,
    SentDraft,
    SurveyReviewError,
    agent_reading,
    loop_candidate,
)
from outreach.settings import SurveySettings

STOP_NOTE = "the customer replied: automated outreach on this thread stopped; an agent decides"


def _sent_draft(row: Any) -> SentDraft:
    context = row.context or {}
    scale = context.get("survey_scale") if row.kind == "survey" else None
    return SentDraft(
        id=int(row.draft_id),
        thread_id=int(row.thread_id),
        customer=row.customer,
        kind=row.kind,
        scale=scale if scale in ("csat", "nps") else None,
        replied_at=_aware(row.replied_at),
    )


def reply_inputs(
    store: Store, now: datetime, window_days: float
) -> tuple[list[InboundReply], dict[int, SentDraft], dict[int, ExistingResponse]]:
    """Inbound messages carrying one of our drafts' reply tokens, with those drafts and answers.

    Every human reply to a draft not yet marked replied is read; replies to
    surveys are re-read while they were stored within ``window_days`` (a
    second answer may replace the first). Re-reading is harmless: applying
    the same plan twice changes nothing.
    """
    since = now - timedelta(days=window_days)
    query = (
        select(
            messages.c.message_id,
            messages.c.date,
            messages.c.reply_text,
            messages.c.text,
            messages.c.auto_kind,
            drafts.c.id.label("draft_id"),
            drafts.c.thread_id,
            drafts.c.customer,
            drafts.c.kind,
            drafts.c.context,
            drafts.c.replied_at,
        )
        .join(drafts, drafts.c.reply_token == messages.c.reply_token)
        .where(
            messages.c.reply_token.is_not(None),
            messages.c.direction == "in",
            messages.c.thread_id.is_not(None),
            or_(
                and_(drafts.c.replied_at.is_(None), messages.c.auto_kind.is_(None)),
                and_(drafts.c.kind == "survey", messages.c.created_at >= since),
            ),
        )
        .order_by(messages.c.date, messages.c.id)
    )
    replies: list[InboundReply] = []
    found: dict[int, SentDraft] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            found.setdefault(int(row.draft_id), _sent_draft(row))
            replies.append(
                InboundReply(
                    draft_id=int(row.draft_id),
                    message_id=row.message_id,
                    date=_aware(row.date),  # type: ignore[arg-type]
                    reply_text=row.reply_text or "",
                    text=row.text or "",
                    auto_kind=row.auto_kind,
                )
            )
        existing = _existing(conn, [d for d, s in found.items() if s.kind == "survey"])
    return replies, found, existing


def _existing(conn: Connection, draft_ids: Sequence[int]) -> dict[int, ExistingResponse]:
    if not draft_ids:
        return {}
    answered = (
        select(func.max(messages.c.date))
        .where(messages.c.message_id == survey_responses.c.message_id)
        .scalar_subquery()
    )
    out: dict[int, ExistingResponse] = {}
    for chunk in _chunks(list(draft_ids), 500):
        rows = conn.execute(
            select(
                survey_responses.c.draft_id,
                survey_responses.c.score,
                survey_responses.c.message_id,
                survey_responses.c.updated_at,
                answered.label("answered_at"),
            ).where(survey_responses.c.draft_id.in_(chunk))
        )
        for r in rows:
            out[int(r.draft_id)] = ExistingResponse(
                draft_id=int(r.draft_id),
                score=r.score,
                answered_at=_aware(r.answered_at or r.updated_at),  # type: ignore[arg-type]
                message_id=r.message_id,
            )
    return out


def apply_reply_plan(store: Store, plan: ReplyPlan, now: datetime) -> dict[str, int]:
    """Apply a plan in one transaction; running it twice changes nothing more.

    Marks drafts replied (first reply only), stops automation on the threads,
    sends approvals given before the customer's reply back to review (never a
    draft already being sent), stores the answers, and adds or refreshes the
    close-the-loop candidates.

    Returns:
        Counts: ``replied``, ``stopped``, ``held``, ``responses``, ``candidates``.
    """
    counts = {"replied": 0, "stopped": 0, "held": 0, "responses": 0, "candidates": 0}
    with store.write() as conn:
        for draft_id, when in plan.replied.items():
            counts["replied"] += conn.execute(
                update(drafts)
                .where(drafts.c.id == draft_id, drafts.c.replied_at.is_(None))
                .values(replied_at=when)
            ).rowcount
        for thread_id, last_reply in plan.stop_threads.items():
            counts["stopped"] += conn.execute(
                update(threads)
                .where(threads.c.id == thread_id, threads.c.automation_stopped.is_(False))
                .values(automation_stopped=True, updated_at=now)
            ).rowcount
            counts["held"] += _hold_for_review(store, conn, thread_id, last_reply, now)
        for answer in plan.responses:
            counts["responses"] += _save_response(conn, answer, now)
        for cand in plan.candidates:
            counts["candidates"] += _upsert_loop_candidate(conn, cand, now) is not None
    return counts


def _hold_for_review(store: Store, conn: Connection, thread_id: int, before: datetime, now: datetime) -> int:
    """Approved drafts on the thread, approved before the customer's reply, go back to review."""
    stale = [
        r.id
        for r in conn.execute(
            select(drafts.c.id).where(
                drafts.c.thread_id == thread_id,
                drafts.c.status == "approved",
                func.coalesce(drafts.c.reviewed_at, drafts.c.created_at) < before,
            )
        )
    ]
    for draft_id in stale:
        conn.execute(
            update(drafts)
            .where(drafts.c.id == draft_id, drafts.c.status == "approved")
            .values(status="pending_review", wait_reason=STOP_NOTE, not_before=None)
        )
        store._audit(  # noqa: SLF001 - the store's own audit writer, same transaction
            conn, "outreach", "held_for_review", draft_id, {"from": "approved", "to": "pending_review",
                                                            "reason": "customer replied"}, at=now,
        )
    return len(stale)


def _save_response(conn: Connection, answer: ResponseUpdate, now: datetime) -> int:
    """Insert the draft's answer or replace the earlier one (one row per survey)."""
    values = {
        "scale": answer.scale,
        "score": answer.score,
        "comment": answer.comment,
        "source": answer.source,
        "message_id": answer.message_id,
        "needs_review": answer.needs_review,
        "updated_at": now,
    }
    current = conn.execute(
        select(
            survey_responses.c.id, survey_responses.c.score, survey_responses.c.comment,
            survey_responses.c.message_id, survey_responses.c.source, survey_responses.c.needs_review,
        ).where(survey_responses.c.draft_id == answer.draft_id)
    ).first()
    if current is None:
        conn.execute(insert(survey_responses).values(draft_id=answer.draft_id, created_at=now, **values))
        return 1
    same = (
        current.score == answer.score and current.comment == answer.comment
        and current.message_id == answer.message_id and current.source == answer.source
        and bool(current.needs_review) == answer.needs_review
    )
    if same:
        return 0
    conn.execute(update(survey_responses).where(survey_responses.c.id == current.id).values(**values))
    return 1


def _upsert_loop_candidate(conn: Connection, cand: Candidate, now: datetime) -> int | None:
    """Add a close-the-loop candidate, or refresh a live one's reasons while it is still open."""
    live = conn.execute(
        select(candidates.c.id, candidates.c.status, candidates.c.reasons, candidates.c.priority).where(
            candidates.c.thread_id == cand.thread_id,
            candidates.c.kind == cand.kind,
            candidates.c.status != "closed",
        )
    ).first()
    if live is not None:
        if live.status == "open" and list(live.reasons or []) != cand.reasons:
            conn.execute(
                update(candidates)
                .where(candidates.c.id == live.id)
                .values(reasons=cand.reasons, priority=max(int(live.priority), cand.priority), updated_at=now)
            )
            return int(live.id)
        return None
    return int(
        conn.execute(
            insert(candidates).values(
                thread_id=cand.thread_id, customer=cand.customer, kind=cand.kind, priority=cand.priority,
                reasons=cand.reasons, status="open", source="loop", created_at=now, updated_at=now,
            )
        ).inserted_primary_key[0]
    )


# -- link answers --------------------------------------------------------------


def survey_draft(store: Store, draft_id: int) -> SentDraft | None:
    """The survey draft a link names, if it exists, is a survey and went out."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(
                drafts.c.id.label("draft_id"), drafts.c.thread_id, drafts.c.customer, drafts.c.kind,
                drafts.c.context, drafts.c.replied_at,
            ).where(
                drafts.c.id == draft_id,
                drafts.c.kind == "survey",
                drafts.c.status.in_(["sent", "unknown"]),
            )
        ).first()
    return _sent_draft(row) if row is not None else None


def existing_response(store: Store, draft_id: int) -> ExistingResponse | None:
    """The answer stored for a survey draft, if any."""
    with store.engine.connect() as conn:
        return _existing(conn, [draft_id]).get(draft_id)


def save_answer(
    store: Store, answer: ResponseUpdate, candidate: Candidate | None, now: datetime
) -> int | None:
    """Store one answer (a link's POST) and its close-the-loop candidate in one transaction.

    Returns:
        The candidate's id when one was added or refreshed.
    """
    with store.write() as conn:
        _save_response(conn, answer, now)
        return _upsert_loop_candidate(conn, candidate, now) if candidate is not None else None


# -- listing -------------------------------------------------------------------


def list_responses(store: Store, *, needs_review: bool | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Every survey response, newest first, with its customer and thread.

    Args:
        needs_review: Only answers an agent must read (True) or only the others (False).
        limit: At most this many.

    Returns:
        Rows with ``id``, ``draft_id``, ``customer``, ``thread_id``, ``scale``,
        ``score`` (None when none could be read), ``comment``, ``source``,
        ``needs_review``, ``message_id``, ``created_at``, ``updated_at``.
    """
    query = (
        select(
            survey_responses.c.id,
            survey_responses.c.draft_id,
            drafts.c.customer,
            drafts.c.thread_id,
            survey_responses.c.scale,
            survey_responses.c.score,
            survey_responses.c.comment,
            survey_responses.c.source,
            survey_responses.c.needs_review,
            survey_responses.c.message_id,
            survey_responses.c.created_at,
            survey_responses.c.updated_at,
        )
        .join(drafts, drafts.c.id == survey_responses.c.draft_id)
        .order_by(survey_responses.c.updated_at.desc(), survey_responses.c.id.desc())
    )
    if needs_review is not None:
        query = query.where(survey_responses.c.needs_review.is_(needs_review))
    if limit:
        query = query.limit(limit)
    with store.engine.connect() as conn:
        return [_aware_row(dict(r)) for r in conn.execute(query).mappings()]


# -- the agents' reading queue -------------------------------------------------


def count_needs_review(store: Store) -> int:
    """How many answers wait for an agent to read them (ambiguous or out of range)."""
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(survey_responses).where(survey_responses.c.needs_review.is_(True))
            ).scalar_one()
        )


def _review_query() -> Any:
    answered = (
        select(func.max(messages.c.date))
        .where(messages.c.message_id == survey_responses.c.message_id)
        .scalar_subquery()
    )
    return (
        select(
            survey_responses.c.id,
            survey_responses.c.draft_id,
            drafts.c.customer,
            drafts.c.thread_id,
            drafts.c.kind,
            drafts.c.context,
            drafts.c.replied_at,
            func.coalesce(threads.c.subject, "").label("subject"),
            survey_responses.c.scale,
            survey_responses.c.score,
            survey_responses.c.comment,
            survey_responses.c.source,
            survey_responses.c.needs_review,
            survey_responses.c.message_id,
            survey_responses.c.updated_at,
            func.coalesce(answered, survey_responses.c.updated_at).label("answered_at"),
        )
        .join(drafts, drafts.c.id == survey_responses.c.draft_id)
        .join(threads, threads.c.id == drafts.c.thread_id, isouter=True)
    )


def responses_to_review(store: Store, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Answers an agent must read, oldest answer first (the customer who waited longest).

    Returns:
        Rows with ``id``, ``draft_id``, ``customer``, ``thread_id``, ``subject``,
        ``scale``, ``comment`` (the customer's words), ``source``, ``message_id``
        and ``answered_at`` (the reply's date).
    """
    query = (
        _review_query()
        .where(survey_responses.c.needs_review.is_(True))
        .order_by(survey_responses.c.updated_at, survey_responses.c.id)
    )
    if limit:
        query = query.limit(limit)
    keep = ("id", "draft_id", "customer", "thread_id", "subject", "scale", "comment", "source", "message_id",
            "answered_at")
    with store.engine.connect() as conn:
        return [_aware_row({k: r[k] for k in keep}) for r in conn.execute(query).mappings()]


def resolve_response(
    store: Store,
    settings: SurveySettings,
    response_id: int,
    *,
    score: int | None,
    reviewer: str,
    now: datetime,
) -> int | None:
    """Record an agent's reading of an answer that needed review, in one transaction.

    With a score: the score is stored and the flag cleared, audit
    ``survey_scored``; a detractor (or, when enabled, a promoter) gets the
    close-the-loop candidate :func:`outreach.replies.loop_candidate` makes for
    any read score. With ``score=None`` ("no score"): the flag is cleared and
    the score stays empty, audit ``survey_no_score``. The row keeps the
    customer's words, source and answer time.

    Args:
        store: The store.
        settings: The ``[surveys]`` section (close-the-loop kind and priority).
        response_id: ``survey_responses.id``.
        score: The score the agent read, or None for "no score".
        reviewer: The agent's name (audit).
        now: The time of the decision (audit).

    Returns:
        The close-the-loop candidate's id when one was added or refreshed.

    Raises:
        SurveyReviewError: unknown response, no longer waiting for review
            (someone else read it first), or a score off the survey's scale.
    """
    with store.write() as conn:
        row = conn.execute(_review_query().where(survey_responses.c.id == response_id)).first()
        if row is None:
            raise SurveyReviewError(f"survey response {response_id} does not exist")
        if not row.needs_review:
            raise SurveyReviewError(f"survey response {response_id} does not need review (already read)")
        scale = row.scale if row.scale in ("csat", "nps") else settings.scale
        answer = agent_reading(
            int(row.draft_id), scale, score, comment=row.comment or "", source=row.source,
            message_id=row.message_id, answered_at=_aware(row.answered_at),  # type: ignore[arg-type]
        )
        # Guarded on the flag so two agents reading at once cannot both close the loop.
        changed = conn.execute(
            update(survey_responses)
            .where(survey_responses.c.id == response_id, survey_responses.c.needs_review.is_(True))
            .values(score=score, needs_review=False)
        ).rowcount
        if changed != 1:
            raise SurveyReviewError(f"survey response {response_id} does not need review (already read)")
        draft = _sent_draft(row)
        candidate = loop_candidate(draft, answer, settings) if score is not None else None
        candidate_id = _upsert_loop_candidate(conn, candidate, now) if candidate is not None else None
        detail: dict[str, Any] = {"response": response_id, "scale": scale, "score": score}
        if candidate is not None:
            detail.update({"candidate": candidate_id, "candidate_kind": candidate.kind})
        store._audit(  # noqa: SLF001 - the store's own audit writer, same transaction
            conn, reviewer, "survey_scored" if score is not None else "survey_no_score", int(row.draft_id),
            detail, at=now,
        )
    return candidate_id


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


__all__ = [
    "apply_reply_plan",
    "count_needs_review",
    "existing_response",
    "list_responses",
    "reply_inputs",
    "resolve_response",
    "responses_to_review",
    "save_answer",
    "survey_draft",
]
