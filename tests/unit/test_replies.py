"""Deciding what replies to our outreach mean: answers, review, stop automation, close the loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from outreach.replies import (
    ExistingResponse,
    InboundReply,
    SentDraft,
    is_detractor,
    is_promoter,
    loop_candidate,
    plan_replies,
    read_answer,
)
from outreach.settings import SurveySettings

T0 = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)
QUOTED = (
    "\n\nOn Mon, 16 Mar 2026 at 09:00, Priya <support@northwind.example> wrote:\n"
    "> How did we do? Just reply with a number from 1 (poor) to 5 (great).\n> 1 2 3 4 5\n"
)


def survey(draft_id: int = 1, thread_id: int = 10, scale: str = "csat", replied_at: datetime | None = None) -> SentDraft:
    return SentDraft(id=draft_id, thread_id=thread_id, customer="ann@example.org", kind="survey",
                     scale=scale, replied_at=replied_at)  # type: ignore[arg-type]


def reply(body: str, *, draft_id: int = 1, minutes: int = 0, auto: str | None = None, mid: str | None = None) -> InboundReply:
    return InboundReply(
        draft_id=draft_id,
        message_id=mid or f"r{draft_id}-{minutes}@example.org",
        date=T0 + timedelta(minutes=minutes),
        reply_text=body,
        text=body + QUOTED,
        auto_kind=auto,
    )


def plan(replies: list[InboundReply], drafts: list[SentDraft], existing: dict[int, ExistingResponse] | None = None,
         **settings: object):
    return plan_replies(replies, {d.id: d for d in drafts}, existing or {}, SurveySettings(**settings))


# --- scores ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "scale", "score"),
    [("4", "csat", 4), ("I'd say 9", "nps", 9), ("2 - still broken, very disappointed", "csat", 2),
     ("8 out of 10", "nps", 8), ("fünf", "csat", 5)],
)
def test_a_clear_answer_is_recorded_with_its_score(body: str, scale: str, score: int) -> None:
    result = plan([reply(body)], [survey(scale=scale)])
    [answer] = result.responses
    assert (answer.score, answer.status, answer.needs_review, answer.source) == (score, "ok", False, "reply")
    assert answer.scale == scale and answer.message_id == "r1-0@example.org"


def test_the_comment_is_the_words_beyond_the_score() -> None:
    [answer] = plan([reply("2 - still broken, very disappointed")], [survey()]).responses
    assert answer.comment == "still broken, very disappointed"


def test_the_quoted_survey_scale_is_never_read_as_an_answer() -> None:
    [answer] = plan([reply("Thanks for asking!")], [survey()]).responses
    assert answer.score is None and answer.status == "none" and not answer.needs_review


@pytest.mark.parametrize("body", ["terrible", "Not sure, it took 3 days to get an answer and I had to write 2 times."])
def test_a_verdict_in_words_without_a_score_goes_to_an_agent(body: str) -> None:
    """An unhappy customer who answers without a number must not just disappear."""
    [answer] = plan([reply(body)], [survey()]).responses
    assert answer.score is None and answer.status == "none" and answer.needs_review
    assert answer.comment


# --- ambiguity goes to review, never guessed -----------------------------------------------------


@pytest.mark.parametrize(("body", "status"), [("3 or 4", "ambiguous"), ("8/10", "out_of_range"), ("7", "out_of_range")])
def test_unreadable_answers_go_to_review_without_a_score(body: str, status: str) -> None:
    result = plan([reply(body)], [survey()])
    [answer] = result.responses
    assert (answer.score, answer.status, answer.needs_review) == (None, status, True)
    assert body in answer.comment  # the agent sees the customer's text
    assert result.candidates == []  # no loop on a guess


# --- a second answer updates the first ------------------------------------------------------------


def test_a_second_answer_in_the_same_batch_wins() -> None:
    result = plan([reply("5", minutes=60), reply("2 - actually it broke again", minutes=0)], [survey()])
    [answer] = result.responses
    assert answer.score == 5 and answer.message_id == "r1-60@example.org"


def test_a_later_answer_replaces_the_stored_one_and_the_same_reply_changes_nothing() -> None:
    stored = {1: ExistingResponse(draft_id=1, score=2, answered_at=T0, message_id="r1-0@example.org")}
    later = plan([reply("2 - broken", minutes=0), reply("4, it works now", minutes=90)],
                 [survey(replied_at=T0)], stored)
    [answer] = later.responses
    assert (answer.score, answer.comment) == (4, "it works now")
    assert later.replied == {}  # already marked at the first reply
    again = plan([reply("2 - broken", minutes=0)], [survey(replied_at=T0)], stored)
    assert again.responses == [] and again.candidates == []


def test_a_later_reply_without_a_score_keeps_the_answer() -> None:
    stored = {1: ExistingResponse(draft_id=1, score=4, answered_at=T0, message_id="r1-0@example.org")}
    result = plan([reply("Thanks again, have a nice day", minutes=30)], [survey(replied_at=T0)], stored)
    assert result.responses == []


# --- auto-replies are never answers ---------------------------------------------------------------


def test_auto_replies_neither_answer_nor_stop_automation() -> None:
    result = plan([reply("I am out of office until 5 April. 4", auto="auto_reply")], [survey()])
    assert result.responses == [] and result.replied == {} and result.stop_threads == {}
    assert result.ignored_auto == 1


# --- any human reply stops automation ---------------------------------------------------------------


def test_a_human_reply_to_any_outreach_marks_the_draft_and_stops_the_thread() -> None:
    follow_up = SentDraft(id=7, thread_id=70, customer="bob@example.org", kind="follow_up")
    result = plan([reply("Still waiting, please call me", draft_id=7, minutes=5)], [follow_up])
    assert result.replied == {7: T0 + timedelta(minutes=5)}
    assert result.stop_threads == {70: T0 + timedelta(minutes=5)}
    assert result.responses == [] and result.candidates == []  # not a survey: nothing to read


def test_the_first_reply_time_is_kept() -> None:
    result = plan([reply("4", minutes=30), reply("5", minutes=10)], [survey()])
    assert result.replied == {1: T0 + timedelta(minutes=10)}
    assert result.stop_threads == {10: T0 + timedelta(minutes=30)}


def test_replies_to_unknown_drafts_are_counted_not_used() -> None:
    result = plan([reply("5", draft_id=99)], [survey()])
    assert result.unknown_draft == 1 and result.responses == [] and result.replied == {}


# --- close the loop -------------------------------------------------------------------------------------


def test_detractor_gets_a_high_priority_apology_with_the_comment_as_reason() -> None:
    result = plan([reply("2 - still broken, very disappointed")], [survey()])
    [cand] = result.candidates
    assert (cand.kind, cand.thread_id, cand.customer) == ("apology", 10, "ann@example.org")
    assert cand.priority == 90
    assert "still broken, very disappointed" in cand.reasons[0]
    assert "CSAT 2/5" in cand.reasons[1]


def test_detractor_kind_and_priority_follow_settings() -> None:
    result = plan([reply("6")], [survey(scale="nps")], detractor_kind="follow_up", detractor_priority=80)
    [cand] = result.candidates
    assert (cand.kind, cand.priority) == ("follow_up", 80)


@pytest.mark.parametrize(("scale", "score", "detractor", "promoter"), [
    ("csat", 1, True, False), ("csat", 2, True, False), ("csat", 3, False, False), ("csat", 4, False, False),
    ("csat", 5, False, True), ("nps", 0, True, False), ("nps", 6, True, False), ("nps", 7, False, False),
    ("nps", 8, False, False), ("nps", 9, False, True), ("nps", 10, False, True),
])
def test_thresholds(scale: str, score: int, detractor: bool, promoter: bool) -> None:
    assert (is_detractor(scale, score), is_promoter(scale, score)) == (detractor, promoter)


def test_promoter_gets_a_thank_you_only_when_enabled() -> None:
    assert plan([reply("5, you were great")], [survey()]).candidates == []
    [cand] = plan([reply("5, you were great")], [survey()], thank_promoters=True).candidates
    assert (cand.kind, cand.priority) == ("thank_you", 20)
    assert "you were great" in cand.reasons[0]


def test_a_passive_or_unchanged_score_opens_no_loop() -> None:
    assert plan([reply("4")], [survey()], thank_promoters=True).candidates == []
    stored = {1: ExistingResponse(draft_id=1, score=2, answered_at=T0, message_id="old@example.org")}
    result = plan([reply("2 - still the same", minutes=60)], [survey(replied_at=T0)], stored)
    assert [a.comment for a in result.responses] == ["still the same"]
    assert result.candidates == []  # same verdict: the loop is already open


def test_link_answers_use_the_same_loop() -> None:
    answer = read_answer(reply("1"), "csat")
    linked = type(answer)(**{**{f: getattr(answer, f) for f in answer.__slots__}, "source": "link", "message_id": None})
    cand = loop_candidate(survey(), linked, SurveySettings())
    assert cand is not None and "by link" in cand.reasons[1]
