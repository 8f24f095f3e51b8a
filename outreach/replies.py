"""What a customer's reply to one of our emails means (pure: no store, no I/O).

A reply finds its draft by the reply token in our Reply-To plus-address,
never by its subject. Then:

* any human reply (auto-replies never count) marks the draft replied and
  stops automated outreach on that thread: the conversation is back in the
  agents' hands;
* a reply to a survey is read for a score. A clear score is recorded; an
  ambiguous or out-of-range one is recorded without a score and flagged for
  an agent (never guessed); a reply with no score keeps an earlier answer.
  A later answer replaces an earlier one;
* a detractor (CSAT ≤ 2, NPS ≤ 6) gets a high-priority close-the-loop
  candidate whose reason quotes the customer's comment; a promoter (CSAT 5,
  NPS ≥ 9) may get a thank-you candidate.

The store applies the resulting :class:`ReplyPlan` idempotently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from outreach.errors import OutreachError
from outreach.models import Candidate
from outreach.settings import SurveySettings
from outreach.surveys import SCALES, Scale, ScoreStatus, parse_score

ResponseSource = Literal["reply", "link"]

DETRACTOR_MAX: dict[str, int] = {"csat": 2, "nps": 6}
"""Highest score that still makes a detractor, per scale."""
PROMOTER_MIN: dict[str, int] = {"csat": 5, "nps": 9}
"""Lowest score that makes a promoter, per scale."""

COMMENT_QUOTE_CHARS = 200
"""How much of a comment a candidate's reason quotes (an agent opens the thread for more)."""


@dataclass(frozen=True, slots=True)
class SentDraft:
    """What deciding about a reply needs to know of the draft it answers.

    Attributes:
        id: Draft id.
        thread_id: Its conversation.
        customer: The customer's address.
        kind: ``survey``, ``follow_up``…
        scale: The survey's scale (``csat``/``nps``), None for other kinds.
        replied_at: When the customer first replied, if they did.
    """

    id: int
    thread_id: int
    customer: str
    kind: str
    scale: Scale | None = None
    replied_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class InboundReply:
    """An inbound message that carries the reply token of one of our drafts.

    Attributes:
        draft_id: The draft it answers.
        message_id: Its Message-ID.
        date: When it was written.
        reply_text: The new words (quotes and signature removed).
        text: The whole body (a second opinion for the score reader).
        auto_kind: Set for auto-replies, bounces and bulk mail.
    """

    draft_id: int
    message_id: str
    date: datetime
    reply_text: str
    text: str
    auto_kind: str | None = None


@dataclass(frozen=True, slots=True)
class ExistingResponse:
    """The survey answer already stored for a draft.

    Attributes:
        draft_id: The survey draft.
        score: The score, None when none could be read.
        answered_at: When the answer was given (the reply's date or the link's POST).
        message_id: The reply it came from (None for a link answer).
    """

    draft_id: int
    score: int | None
    answered_at: datetime
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class ResponseUpdate:
    """A survey answer to store (insert, or replace the draft's earlier one).

    Attributes:
        draft_id: The survey draft.
        scale: ``csat`` or ``nps``.
        score: The score; None when the answer could not be read.
        comment: The customer's words beyond the score.
        status: What the reader saw (``ok``, ``none``, ``ambiguous``, ``out_of_range``).
        needs_review: An agent must read it (ambiguous or out of range).
        source: ``reply`` or ``link``.
        message_id: The reply's Message-ID (None for a link).
        answered_at: When the customer answered.
    """

    draft_id: int
    scale: Scale
    score: int | None
    comment: str
    status: ScoreStatus
    needs_review: bool
    source: ResponseSource
    message_id: str | None
    answered_at: datetime


@dataclass(slots=True)
class ReplyPlan:
    """Everything a batch of replies changes.

    Attributes:
        replied: draft id → the first human reply's time (only drafts not yet marked).
        stop_threads: thread id → the latest human reply's time: automated outreach on
            the thread stops, and approvals given before that time no longer hold.
        responses: Survey answers to store.
        candidates: Close-the-loop candidates to add.
        ignored_auto: Auto-replies, bounces and bulk mail that were not taken as replies.
        unknown_draft: Replies naming a draft the caller did not pass.
    """

    replied: dict[int, datetime] = field(default_factory=dict)
    stop_threads: dict[int, datetime] = field(default_factory=dict)
    responses: list[ResponseUpdate] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    ignored_auto: int = 0
    unknown_draft: int = 0


def is_detractor(scale: str, score: int | None) -> bool:
    """CSAT ≤ 2 or NPS ≤ 6."""
    return score is not None and score <= DETRACTOR_MAX[scale]


def is_promoter(scale: str, score: int | None) -> bool:
    """CSAT 5 or NPS ≥ 9."""
    return score is not None and score >= PROMOTER_MIN[scale]


def read_answer(reply: InboundReply, scale: Scale) -> ResponseUpdate:
    """Read one reply to a survey into a response (which may hold no score)."""
    reading = parse_score(reply.reply_text, scale, full_text=reply.text)
    return ResponseUpdate(
        draft_id=reply.draft_id,
        scale=scale,
        score=reading.score if reading.status == "ok" else None,
        comment=reading.comment,
        status=reading.status,
        needs_review=reading.status in ("ambiguous", "out_of_range")
        or (reading.status == "none" and not _only_thanks(reading.comment or reply.reply_text)),
        source="reply",
        message_id=reply.message_id,
        answered_at=reply.date,
    )


# Words of a reply that only says thanks: it needs no agent. Anything else without a
# score ("terrible", "it took 3 days") is the customer's verdict in words: an agent reads it.
_THANKS_WORDS = frozenset(
    "thanks thank you thx ty cheers many a lot so much very again ok okay kind regards best all "
    "for asking the your help note "
    "merci beaucoup danke vielen dank schön gracias muchas".split()
)
_WORD = re.compile(r"[^\W\d_]+")


def _only_thanks(text: str) -> bool:
    words = _WORD.findall(text.lower())
    return not words or all(w in _THANKS_WORDS for w in words)


def supersedes(new: ResponseUpdate, old: ExistingResponse | None) -> bool:
    """Whether ``new`` replaces the stored answer ``old``.

    A reply without any score ("thanks!") never replaces an answer; any
    other later answer does, including an unreadable one (the customer's
    latest word is unclear, so an agent must look rather than trust the old
    score). The same reply seen twice changes nothing.
    """
    if old is None:
        return True
    if new.message_id is not None and new.message_id == old.message_id:
        return False
    if new.status == "none":
        return False
    return new.answered_at >= old.answered_at


def loop_candidate(
    draft: SentDraft, answer: ResponseUpdate, settings: SurveySettings
) -> Candidate | None:
    """The close-the-loop candidate an answer calls for, if any.

    A detractor gets ``surveys.detractor_kind`` at ``surveys.detractor_priority``
    with the customer's comment as its reason; a promoter gets a ``thank_you``
    when ``surveys.thank_promoters`` is on. Unread answers get none: an agent
    reads them first.
    """
    if answer.score is None:
        return None
    label = f"{answer.scale.upper()} {answer.score}/{SCALES[answer.scale][1]}"
    comment = _quote(answer.comment)
    how = "by link" if answer.source == "link" else "by reply"
    if is_detractor(answer.scale, answer.score):
        reasons = [
            f"{COMMENT_REASON}{comment}" if comment else "customer left no comment",
            f"detractor: answered the survey {label} ({how}, {answer.answered_at:%Y-%m-%d})",
        ]
        return Candidate(
            thread_id=draft.thread_id,
            customer=draft.customer,
            kind=settings.detractor_kind,
            priority=settings.detractor_priority,
            reasons=reasons,
        )
    if settings.thank_promoters and is_promoter(answer.scale, answer.score):
        reasons = [f"promoter: answered the survey {label} ({how}, {answer.answered_at:%Y-%m-%d})"]
        if comment:
            reasons.insert(0, f"customer's comment: {comment}")
        return Candidate(
            thread_id=draft.thread_id,
            customer=draft.customer,
            kind="thank_you",  # type: ignore[arg-type]  # a draft kind only the survey loop creates
            priority=settings.promoter_priority,
            reasons=reasons,
        )
    return None


class SurveyReviewError(OutreachError):
    """An agent's reading of a survey answer cannot be recorded (unknown, already read, score off the scale)."""


def check_score(scale: str, score: int) -> None:
    """Refuse a score outside the scale (CSAT 1–5, NPS 0–10).

    Raises:
        SurveyReviewError: the score is off the scale.
    """
    low, high = SCALES[scale]
    if not low <= score <= high:
        raise SurveyReviewError(f"{scale.upper()} scores go from {low} to {high}; {score} is not one of them")


def agent_reading(
    draft_id: int,
    scale: Scale,
    score: int | None,
    *,
    comment: str,
    source: ResponseSource,
    message_id: str | None,
    answered_at: datetime,
) -> ResponseUpdate:
    """The answer an agent read by hand: their score (or none), off the review queue.

    The customer's words, source and time stay those of the answer itself, so
    the close-the-loop candidate built from it (:func:`loop_candidate`) is
    the one an automatically read score would have made.

    Raises:
        SurveyReviewError: the score is off the scale.
    """
    if score is not None:
        check_score(scale, score)
    return ResponseUpdate(
        draft_id=draft_id,
        scale=scale,
        score=score,
        comment=comment,
        status="ok" if score is not None else "none",
        needs_review=False,
        source=source,
        message_id=message_id,
        answered_at=answered_at,
    )


def plan_replies(
    replies: Iterable[InboundReply],
    drafts: Mapping[int, SentDraft],
    existing: Mapping[int, ExistingResponse],
    settings: SurveySettings,
) -> ReplyPlan:
    """Decide what a batch of replies changes.

    Args:
        replies: Inbound messages naming one of our drafts, any order.
        drafts: The drafts they name, by id.
        existing: Survey answers already stored, by draft id.
        settings: The ``[surveys]`` section.

    Returns:
        The plan; applying it twice changes nothing the second time.
    """
    plan = ReplyPlan()
    latest: dict[int, ResponseUpdate] = {}
    for reply in sorted(replies, key=lambda r: (r.date, r.message_id)):
        draft = drafts.get(reply.draft_id)
        if draft is None:
            plan.unknown_draft += 1
            continue
        if reply.auto_kind is not None:
            # Out-of-office and bounces are robots: they neither answer nor hand the thread back.
            plan.ignored_auto += 1
            continue
        if draft.replied_at is None and reply.draft_id not in plan.replied:
            plan.replied[reply.draft_id] = reply.date
        plan.stop_threads[draft.thread_id] = max(reply.date, plan.stop_threads.get(draft.thread_id, reply.date))
        if draft.kind != "survey":
            continue
        answer = read_answer(reply, draft.scale or settings.scale)
        before = latest.get(reply.draft_id)
        old = (
            ExistingResponse(before.draft_id, before.score, before.answered_at, before.message_id)
            if before is not None
            else existing.get(reply.draft_id)
        )
        if supersedes(answer, old):
            latest[reply.draft_id] = answer
    for draft_id, answer in latest.items():
        plan.responses.append(answer)
        old = existing.get(draft_id)
        if old is not None and old.score == answer.score:
            continue  # same verdict as before: the loop was already closed (or not needed)
        cand = loop_candidate(drafts[draft_id], answer, settings)
        if cand is not None:
            plan.candidates.append(cand)
    return plan


COMMENT_REASON = "customer's comment: "
"""How a close-the-loop candidate's reasons carry the survey comment (see :func:`survey_comment`)."""


def survey_comment(reasons: Iterable[str]) -> str:
    """The customer's survey comment a close-the-loop candidate was made for ("" when none).

    What the apology should answer: the customer's last message is often their
    old thanks, since a score given by link leaves no message in the thread.
    """
    for reason in reasons:
        if reason.startswith(COMMENT_REASON):
            return reason[len(COMMENT_REASON) :].strip().strip("“”").rstrip("…").strip()
    return ""


def _quote(comment: str) -> str:
    text = " ".join(comment.split())
    if not text:
        return ""
    if len(text) > COMMENT_QUOTE_CHARS:
        text = text[: COMMENT_QUOTE_CHARS - 1].rstrip() + "…"
    return f"“{text}”"


__all__ = [
    "DETRACTOR_MAX",
    "PROMOTER_MIN",
    "ExistingResponse",
    "InboundReply",
    "ReplyPlan",
    "ResponseUpdate",
    "SentDraft",
    "SurveyReviewError",
    "agent_reading",
    "check_score",
    "is_detractor",
    "is_promoter",
    "loop_candidate",
    "plan_replies",
    "read_answer",
    "supersedes",
]
