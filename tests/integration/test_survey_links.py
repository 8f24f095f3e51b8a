"""Survey score links: GET never records, only the confirm form's POST does; bad tokens are refused."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import itsdangerous.timed
import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import insert, select
from starlette.testclient import TestClient

from connectors.schema import audit, candidates, drafts, survey_responses, threads
from connectors.store import Store
from connectors.survey_store import list_responses
from outreach.links import SURVEY_SALT, make_survey_token
from outreach.review.context import WebContext
from outreach.review.public_surveys import make_nonce, make_public_app
from outreach.settings import Settings
from tests.core_fixtures import tamper_signature

KEY = "test-signing-key"
NOW = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)


@pytest.fixture
def web(sqlite_store: Store) -> Iterator[tuple[TestClient, Store]]:
    settings = Settings(team={"name": "Northwind Support"}, sender={"public_url": "http://testserver"})
    ctx = WebContext(settings=settings, store=sqlite_store, signing_key=KEY, clock=lambda: NOW)
    with TestClient(make_public_app(ctx)) as client:
        yield client, sqlite_store


def seed_draft(store: Store, *, kind: str = "survey", status: str = "sent", scale: str = "csat",
               language: str = "en") -> int:
    with store.write() as conn:
        tid = conn.execute(
            insert(threads).values(root_message_id=f"r-{uuid.uuid4().hex}", customer="ann@example.org", updated_at=NOW)
        ).inserted_primary_key[0]
        token = uuid.uuid4().hex
        return int(conn.execute(insert(drafts).values(
            thread_id=tid, customer="ann@example.org", kind=kind, template=f"email/{language}/{kind}", subject="s",
            text="t", context={"survey_scale": scale}, status=status, created_at=NOW, idempotency_key=token,
            reply_token=token[:26], message_id=f"m.{token}@x", language=language,
        )).inserted_primary_key[0])


def rows(store: Store) -> int:
    with store.engine.connect() as conn:
        return len(conn.execute(select(survey_responses.c.id)).all())


def nonce_of(page: str) -> str:
    match = re.search(r'name="nonce" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def test_get_shows_the_score_preselected_and_records_nothing(web: tuple[TestClient, Store]) -> None:
    client, store = web
    draft_id = seed_draft(store)
    token = make_survey_token(draft_id, 4, KEY)
    for _ in range(3):  # a scanner following the link, several times, and a HEAD probe
        page = client.get(f"/survey/{token}")
        assert page.status_code == 200
        client.head(f"/survey/{token}")
    assert 'value="4" checked' in page.text and page.text.count(" checked") == 1
    assert '<textarea id="comment" name="comment"' in page.text
    assert page.headers["cache-control"] == "no-store" and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "ann@example.org" not in page.text
    assert rows(store) == 0


def test_post_from_the_confirm_page_records_the_answer_and_closes_the_loop(web: tuple[TestClient, Store]) -> None:
    client, store = web
    draft_id = seed_draft(store)
    token = make_survey_token(draft_id, 4, KEY)
    nonce = nonce_of(client.get(f"/survey/{token}").text)
    # The customer changes the preselected 4 to a 2 and explains.
    done = client.post(f"/survey/{token}", data={"nonce": nonce, "score": "2", "comment": "Still  broken <b>x</b>"})
    assert done.status_code == 200 and "sorry" in done.text
    [resp] = list_responses(store)
    assert (resp["draft_id"], resp["score"], resp["scale"], resp["source"]) == (draft_id, 2, "csat", "link")
    assert resp["comment"] == "Still broken <b>x</b>" and resp["message_id"] is None
    with store.engine.connect() as conn:
        [cand] = conn.execute(select(candidates)).mappings().all()
    assert (cand["kind"], cand["source"], cand["priority"]) == ("apology", "loop", 90)
    assert "Still broken" in cand["reasons"][0] and "by link" in cand["reasons"][1]
    # Sending again updates the one answer.
    client.post(f"/survey/{token}", data={"nonce": nonce, "score": "5", "comment": ""})
    [resp] = list_responses(store)
    assert resp["score"] == 5 and rows(store) == 1


def test_post_without_the_pages_nonce_is_refused(web: tuple[TestClient, Store]) -> None:
    client, store = web
    draft_id, other_id = seed_draft(store), seed_draft(store)
    token = make_survey_token(draft_id, 5, KEY)
    other_token = make_survey_token(other_id, 5, KEY)
    other_nonce = nonce_of(client.get(f"/survey/{other_token}").text)
    assert client.post(f"/survey/{token}", data={"score": "5"}).status_code == 403
    assert client.post(f"/survey/{token}", data={"nonce": "forged", "score": "5"}).status_code == 403
    # A nonce belongs to its own survey's page only.
    assert client.post(f"/survey/{token}", data={"nonce": other_nonce, "score": "5"}).status_code == 403
    # A page of ours opened from a foreign site cannot be submitted cross-origin.
    nonce = make_nonce(token, KEY)
    foreign = client.post(f"/survey/{token}", data={"nonce": nonce, "score": "5"}, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert rows(store) == 0


def test_tampered_expired_and_foreign_tokens_are_refused(
    web: tuple[TestClient, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, store = web
    draft_id = seed_draft(store)
    token = make_survey_token(draft_id, 4, KEY)
    tampered = tamper_signature(token)
    # itsdangerous measures age against the real clock: sign 31 days in the past (expiry is 30).
    with monkeypatch.context() as m:
        real = time.time
        m.setattr(itsdangerous.timed.time, "time", lambda: real() - 31 * 86400)
        expired = URLSafeTimedSerializer(KEY, salt=SURVEY_SALT).dumps([draft_id, 4])
    other_key = make_survey_token(draft_id, 4, "another-key")
    follow_up = make_survey_token(seed_draft(store, kind="follow_up"), 4, KEY)
    unsent = make_survey_token(seed_draft(store, status="pending_review"), 4, KEY)
    wrong_scale = make_survey_token(draft_id, 9, KEY)  # an NPS score on a CSAT survey
    cases = {tampered: 400, expired: 410, other_key: 400, follow_up: 404, unsent: 404, wrong_scale: 400}
    for bad, status in cases.items():
        assert client.get(f"/survey/{bad}").status_code == status
        posted = client.post(f"/survey/{bad}", data={"nonce": make_nonce(bad, KEY), "score": "4"})
        assert posted.status_code == status
    assert rows(store) == 0


@pytest.mark.parametrize(
    ("language", "title"), [("en", "How did we do?"), ("fr", "Comment avons-nous fait ?"), ("es", "¿Qué tal lo hicimos?"),
                            ("it", "How did we do?")],
)
def test_the_confirm_page_speaks_the_drafts_language(web: tuple[TestClient, Store], language: str, title: str) -> None:
    from outreach.review.public_surveys import TEXTS

    assert all(texts.keys() == TEXTS["en"].keys() for texts in TEXTS.values())  # nothing missing in any language
    client, store = web
    page = client.get(f"/survey/{make_survey_token(seed_draft(store, language=language), 4, KEY)}")
    assert title in page.text
    assert f'lang="{language if language in TEXTS else "en"}"' in page.text


def test_a_score_outside_the_scale_is_refused(web: tuple[TestClient, Store]) -> None:
    client, store = web
    draft_id = seed_draft(store, scale="nps", language="de")
    token = make_survey_token(draft_id, 9, KEY)
    page = client.get(f"/survey/{token}")
    assert "Wie waren wir?" in page.text and 'value="9" checked' in page.text and 'value="0"' in page.text
    nonce = nonce_of(page.text)
    assert client.post(f"/survey/{token}", data={"nonce": nonce, "score": "11"}).status_code == 400
    assert client.post(f"/survey/{token}", data={"nonce": nonce, "score": "x"}).status_code == 400
    assert rows(store) == 0
    assert client.post(f"/survey/{token}", data={"nonce": nonce, "score": "10"}).status_code == 200
    [resp] = list_responses(store)
    assert (resp["scale"], resp["score"]) == ("nps", 10)
    with store.engine.connect() as conn:
        assert conn.execute(select(candidates.c.id)).all() == []  # promoters get no thank-you by default
        assert conn.execute(select(audit.c.id)).all() == []


def test_the_apology_after_a_low_score_by_link_answers_the_comment_not_the_old_thanks(
    web: tuple[TestClient, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A score given by link leaves no message: the thread's last words are the customer's old thanks."""
    from flows import steps
    from tests.review_fixtures import _thread

    client, store = web
    tid = _thread(store, "julia", "julia@copperpot.example", "Julia Hart", "Invoice wrong", [
        ("in", "My invoice is wrong.", "My invoice is wrong."),
        ("out", "Fixed, sorry!", "Fixed, sorry!"),
        ("in", "Thanks Priya, great help as always!", "Thanks Priya, great help as always!"),
    ])
    with store.write() as conn:
        token = uuid.uuid4().hex
        draft_id = int(conn.execute(insert(drafts).values(
            thread_id=tid, customer="julia@copperpot.example", kind="survey", template="email/en/survey", subject="s",
            text="t", context={"survey_scale": "csat"}, status="sent", created_at=NOW, idempotency_key=token,
            reply_token=token[:26], message_id=f"m.{token}@x", language="en",
        )).inserted_primary_key[0])
    link = make_survey_token(draft_id, 1, KEY)
    nonce = nonce_of(client.get(f"/survey/{link}").text)
    comment = "The invoice is still wrong and I was charged twice."
    client.post(f"/survey/{link}", data={"nonce": nonce, "score": "1", "comment": comment})
    monkeypatch.setenv("OUTREACH_SENDER__SIGNING_KEY", KEY)
    settings = Settings(team={"name": "Northwind Support"}, sender={"public_url": "http://testserver", "signing_key": KEY})
    steps.draft(store, settings, NOW)
    [apology] = [d for d in store.list_drafts(status=None) if d["kind"] == "apology"]
    assert "charged twice" in apology["text"]
    assert "great help" not in apology["text"]
