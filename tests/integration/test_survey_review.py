"""Survey answers the reader could not score go to the agents: the review page, its form, and CLI parity."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from starlette.testclient import TestClient
from typer.testing import CliRunner

from connectors.schema import audit, candidates, drafts, messages
from connectors.store import Store
from connectors.survey_store import (
    apply_reply_plan,
    count_needs_review,
    list_responses,
    reply_inputs,
    resolve_response,
    responses_to_review,
)
from outreach.cli import app as cli_app
from outreach.replies import SurveyReviewError, plan_replies
from outreach.review.app import create_app
from outreach.review.auth import LoginLimiter
from outreach.review.context import WebContext
from outreach.settings import Settings, SurveySettings
from tests.integration.test_review_http import login
from tests.review_fixtures import NOW, XSS, Clock, Seeded, seed

REPO = Path(__file__).resolve().parents[2]
UNCLEAR = "Honestly 2 or 3. The export still breaks every Monday."


@pytest.fixture
def client(review_settings: Settings, store: Store, seeded: Seeded) -> Iterator[TestClient]:
    ctx = WebContext(review_settings, store, "test-signing-key", Clock())
    app = create_app(ctx, limiter=LoginLimiter(100, lambda: 0.0))
    with TestClient(app, follow_redirects=False) as c:
        yield c


def customer_replies(store: Store, draft_id: int, body: str, n: int = 0) -> None:
    """The customer answers the survey draft by email (its reply token), as a sync would store it."""
    draft = store.get_draft(draft_id)
    assert draft is not None
    with store.write() as conn:
        conn.execute(insert(messages).values(
            content_hash=hashlib.sha256(f"answer{draft_id}.{n}".encode()).hexdigest(),
            message_id=f"<answer{draft_id}.{n}@example.org>", references=[], thread_id=draft["thread_id"],
            direction="in", from_address=draft["customer"], to_addresses=[], date=NOW + timedelta(hours=n),
            subject="Re: How did we do?", text=body, reply_text=body, attachments=[],
            reply_token=draft["reply_token"], created_at=NOW,
        ))


def read_replies(store: Store) -> dict[str, int]:
    """The survey loop's own reading step (what the flow runs after a sync)."""
    replies, found, existing = reply_inputs(store, NOW + timedelta(hours=6), 30)
    return apply_reply_plan(store, plan_replies(replies, found, existing, SurveySettings()), NOW + timedelta(hours=6))


def unclear_answer(store: Store, seeded: Seeded, body: str = UNCLEAR) -> int:
    """Bob answers his survey with words the reader must not guess from; returns the response id."""
    counts = read_replies_after(store, seeded.drafts["survey"], body)
    assert counts["responses"] == 1 and counts["candidates"] == 0
    [row] = responses_to_review(store)
    return int(row["id"])


def read_replies_after(store: Store, draft_id: int, body: str) -> dict[str, int]:
    customer_replies(store, draft_id, body)
    return read_replies(store)


def loop_candidates(store: Store) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(candidates).where(candidates.c.source == "loop")).mappings()]


def audit_of(store: Store, action: str) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(audit).where(audit.c.action == action)).mappings()]


def form_csrf(html: str, response_id: int) -> str:
    """The CSRF token inside the resolve form of one answer."""
    match = re.search(rf'action="/surveys/{response_id}/resolve"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"', html)
    assert match, "no resolve form for this answer"
    return match.group(1)


# -- the queue shows the section only when something waits ------------------------


def test_queue_shows_survey_answers_to_read_only_when_some_wait(client: TestClient, store: Store, seeded: Seeded) -> None:
    login(client)
    assert "Survey answers to read" not in client.get("/").text
    read_replies_after(store, seeded.drafts["survey2"], "5, thanks!")  # a clear answer: nothing to read
    assert count_needs_review(store) == 0
    assert "Survey answers to read" not in client.get("/").text

    unclear_answer(store, seeded)
    page = client.get("/").text
    assert "Survey answers to read" in page
    assert re.search(r"Survey answers to read: <strong>1</strong>", page)
    assert 'href="/surveys/review"' in page


def test_review_page_needs_login_and_resolve_needs_csrf(client: TestClient, store: Store, seeded: Seeded) -> None:
    response_id = unclear_answer(store, seeded)
    response = client.get("/surveys/review")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/surveys/review"
    assert client.post(f"/surveys/{response_id}/resolve", data={"score": "2"}).status_code == 303  # no session

    login(client)
    assert client.post(f"/surveys/{response_id}/resolve", data={"score": "2"}).status_code == 403
    forged = {"score": "2", "csrf_token": "forged" * 8}
    assert client.post(f"/surveys/{response_id}/resolve", data=forged).status_code == 403
    assert count_needs_review(store) == 1 and loop_candidates(store) == []


def test_page_lists_customer_subject_scale_words_and_time(client: TestClient, store: Store, seeded: Seeded) -> None:
    response_id = unclear_answer(store, seeded)
    login(client)
    page = client.get("/surveys/review")
    assert page.status_code == 200
    assert "Content-Security-Policy" in page.headers
    html = page.text
    assert "bob@example.org" in html
    assert "Invoice question" in html  # the thread's subject
    assert "csat 1–5" in html
    assert "export still breaks every Monday" in html
    assert "2025-03-12 10:00 UTC" in html  # the reply's date, not the time it was read
    assert 'min="1" max="5"' in html
    form_csrf(html, response_id)


def test_script_in_the_customers_words_is_inert(client: TestClient, store: Store, seeded: Seeded) -> None:
    unclear_answer(store, seeded, f"3 or 4 {XSS}")
    [row] = responses_to_review(store)
    assert "<script>" in row["comment"]  # stored as written
    login(client)
    html = client.get("/surveys/review").text
    assert "<script>alert" not in html
    assert "onerror=" not in html.replace("onerror=&#34;", "").replace("onerror=&quot;", "")
    assert "<img" not in html and 'href="javascript:' not in html
    assert "&lt;script&gt;alert(" in html


def test_a_detractor_score_closes_the_loop_like_a_read_score(client: TestClient, store: Store, seeded: Seeded) -> None:
    response_id = unclear_answer(store, seeded)
    csrf = login(client)
    response = client.post(f"/surveys/{response_id}/resolve", data={"score": "2", "csrf_token": csrf})
    assert response.status_code == 303 and response.headers["location"] == "/surveys/review"

    [row] = list_responses(store)
    assert (row["id"], row["score"], row["needs_review"], row["source"]) == (response_id, 2, False, "reply")
    assert row["comment"] == UNCLEAR  # the customer's words are kept
    [cand] = loop_candidates(store)
    settings = SurveySettings()
    assert (cand["kind"], cand["priority"], cand["status"]) == (settings.detractor_kind, settings.detractor_priority, "open")
    assert cand["thread_id"] == seeded.threads["bob"] and cand["customer"] == "bob@example.org"
    assert "export still breaks every Monday" in cand["reasons"][0]
    assert "CSAT 2/5 (by reply, 2025-03-12)" in cand["reasons"][1]
    [entry] = audit_of(store, "survey_scored")
    assert entry["actor"] == "priya" and entry["draft_id"] == seeded.drafts["survey"]
    assert entry["detail"]["score"] == 2 and entry["detail"]["candidate"] == cand["id"]

    page = client.get("/surveys/review").text
    assert f"recorded as 2; close-the-loop candidate #{cand['id']} added" in page
    assert f'action="/surveys/{response_id}/resolve"' not in page
    assert "Survey answers to read" not in client.get("/").text
    # Reading the same reply again (the loop re-reads recent survey replies) keeps the agent's score.
    read_replies(store)
    [again] = list_responses(store)
    assert (again["score"], again["needs_review"]) == (2, False) and len(loop_candidates(store)) == 1


def test_a_calm_score_records_without_a_candidate(store: Store, seeded: Seeded) -> None:
    response_id = unclear_answer(store, seeded)
    assert resolve_response(store, SurveySettings(), response_id, score=4, reviewer="priya", now=NOW) is None
    assert list_responses(store)[0]["score"] == 4 and loop_candidates(store) == []


def test_no_score_clears_the_flag_and_keeps_the_score_empty(client: TestClient, store: Store, seeded: Seeded) -> None:
    response_id = unclear_answer(store, seeded)
    csrf = login(client)
    html = client.get("/surveys/review").text
    response = client.post(
        f"/surveys/{response_id}/resolve", data={"no_score": "1", "score": "", "csrf_token": form_csrf(html, response_id)}
    )
    assert response.status_code == 303
    [row] = list_responses(store)
    assert (row["score"], row["needs_review"], row["comment"]) == (None, False, UNCLEAR)
    assert loop_candidates(store) == []
    [entry] = audit_of(store, "survey_no_score")
    assert entry["actor"] == "priya" and entry["detail"]["response"] == response_id
    assert audit_of(store, "survey_scored") == []
    # A second decision on the same answer is refused, not applied twice.
    again = client.post(f"/surveys/{response_id}/resolve", data={"score": "1", "csrf_token": csrf})
    assert again.status_code == 303
    assert "does not need review" in client.get("/surveys/review").text
    assert list_responses(store)[0]["score"] is None and loop_candidates(store) == []


@pytest.mark.parametrize("score", ["0", "6", "-1", "55", "two", ""])
def test_scores_off_the_scale_are_refused_with_a_message(
    client: TestClient, store: Store, seeded: Seeded, score: str
) -> None:
    response_id = unclear_answer(store, seeded)
    csrf = login(client)
    response = client.post(f"/surveys/{response_id}/resolve", data={"score": score, "csrf_token": csrf})
    assert response.status_code == 303
    page = client.get("/surveys/review").text
    assert f"Answer #{response_id} not recorded" in page
    if score in ("0", "6", "55"):
        assert "CSAT scores go from 1 to 5" in page
    [row] = list_responses(store)
    assert (row["score"], row["needs_review"]) == (None, True)
    assert loop_candidates(store) == [] and audit_of(store, "survey_scored") == []


def test_nps_answers_take_the_nps_range(store: Store, seeded: Seeded) -> None:
    survey = store.get_draft(seeded.drafts["survey"])
    assert survey is not None
    with store.write() as conn:
        conn.execute(update(drafts).where(drafts.c.id == survey["id"]).values(
            context={**survey["context"], "survey_scale": "nps"}))
    response_id = unclear_answer(store, seeded, "11 out of 10!")
    assert responses_to_review(store)[0]["scale"] == "nps"
    with pytest.raises(SurveyReviewError, match="0 to 10"):
        resolve_response(store, SurveySettings(), response_id, score=11, reviewer="priya", now=NOW)
    resolve_response(store, SurveySettings(), response_id, score=6, reviewer="priya", now=NOW)
    [cand] = loop_candidates(store)
    assert "NPS 6/10" in cand["reasons"][1]


def test_unknown_response_is_refused(client: TestClient, store: Store, seeded: Seeded) -> None:
    with pytest.raises(SurveyReviewError, match="does not exist"):
        resolve_response(store, SurveySettings(), 424242, score=3, reviewer="priya", now=NOW)
    csrf = login(client)
    assert client.post("/surveys/424242/resolve", data={"score": "3", "csrf_token": csrf}).status_code == 303
    assert "does not exist" in client.get("/surveys/review").text


# -- CLI parity ---------------------------------------------------------------------


def test_cli_resolve_does_what_the_page_does(store: Store, seeded: Seeded) -> None:
    response_id = unclear_answer(store, seeded)
    runner = CliRunner()
    app = cli_app
    neither = runner.invoke(app, ["surveys", "resolve", str(response_id)])
    assert neither.exit_code != 0 and count_needs_review(store) == 1
    both = runner.invoke(app, ["surveys", "resolve", str(response_id), "--score", "2", "--no-score"])
    assert both.exit_code != 0 and count_needs_review(store) == 1
    off = runner.invoke(app, ["surveys", "resolve", str(response_id), "--score", "9", "--as", "ana"])
    assert off.exit_code != 0 and isinstance(off.exception, SurveyReviewError)
    assert count_needs_review(store) == 1

    done = runner.invoke(app, ["surveys", "resolve", str(response_id), "--score", "1", "--as", "ana"])
    assert done.exit_code == 0, done.output
    [cand] = loop_candidates(store)
    assert f"answer #{response_id} recorded as 1; close-the-loop candidate #{cand['id']}" in done.output
    [row] = list_responses(store)
    assert (row["score"], row["needs_review"]) == (1, False)
    [entry] = audit_of(store, "survey_scored")
    assert entry["actor"] == "ana" and entry["detail"]["score"] == 1


def test_cli_no_score(store: Store, seeded: Seeded) -> None:
    response_id = unclear_answer(store, seeded)
    result = CliRunner().invoke(cli_app, ["surveys", "resolve", str(response_id), "--no-score"])
    assert result.exit_code == 0, result.output
    assert "recorded without a score" in result.output
    [row] = list_responses(store)
    assert (row["score"], row["needs_review"]) == (None, False)
    [entry] = audit_of(store, "survey_no_score")
    assert entry["actor"] == "cli"


# -- the store on SQLite and PostgreSQL ---------------------------------------------


def test_resolve_on_both_databases(any_store: Store) -> None:
    seeded = seed(any_store)
    response_id = unclear_answer(any_store, seeded)
    assert count_needs_review(any_store) == 1
    cand_id = resolve_response(any_store, SurveySettings(), response_id, score=1, reviewer="priya", now=NOW)
    assert cand_id is not None and count_needs_review(any_store) == 0
    with pytest.raises(SurveyReviewError, match="does not need review"):
        resolve_response(any_store, SurveySettings(), response_id, score=1, reviewer="boss", now=NOW)
    assert len(loop_candidates(any_store)) == 1 and len(audit_of(any_store, "survey_scored")) == 1
