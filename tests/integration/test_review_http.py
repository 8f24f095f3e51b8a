"""The review app over HTTP (Starlette's TestClient): every route, auth, CSRF, rate limit, effects in the store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from connectors.store import Store
from outreach.errors import ConfigError
from outreach.review.app import create_app
from outreach.review.auth import SESSION_COOKIE, LoginLimiter
from outreach.review.context import WebContext
from outreach.settings import Settings
from tests.core_fixtures import tamper_signature
from tests.review_fixtures import ADMIN_PASSWORD, NOW, PASSWORD, Clock, Seeded

REPO = Path(__file__).resolve().parents[2]

# Every route of the review app that needs a session: (method, path template).
GUARDED = [
    ("GET", "/"),
    ("GET", "/drafts/{id}"),
    ("GET", "/audit"),
    ("GET", "/agents"),
    ("GET", "/surveys/review"),
    ("POST", "/logout"),
    ("POST", "/drafts/bulk-approve"),
    ("POST", "/drafts/{id}/approve"),
    ("POST", "/drafts/{id}/edit"),
    ("POST", "/drafts/{id}/reject"),
    ("POST", "/drafts/{id}/snooze"),
    ("POST", "/drafts/{id}/wake"),
    ("POST", "/agents/{name}/disable"),
    ("POST", "/surveys/{id}/resolve"),
]
OPEN = {("GET", "/login"), ("POST", "/login")}


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limiter_clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def app(review_settings: Settings, store: Store, seeded: Seeded, clock: Clock, limiter_clock: FakeMonotonic) -> Any:
    ctx = WebContext(review_settings, store, "test-signing-key", clock)
    return create_app(ctx, limiter=LoginLimiter(review_settings.review.login_attempts_per_minute, limiter_clock))


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as c:
        yield c


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


def login(client: TestClient, name: str = "priya", password: str = PASSWORD) -> str:
    """Log in; returns the session's CSRF token."""
    page = client.get("/login")
    response = client.post("/login", data={"csrf_token": csrf_of(page.text), "name": name, "password": password})
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)


def fill(path: str, seeded: Seeded) -> str:
    return path.replace("{id}", str(seeded.drafts["follow_up"])).replace("{name}", "priya")


# -- every route ------------------------------------------------------------------


def test_the_route_list_covers_every_route(app: Any) -> None:
    from outreach.review.app import public_routes

    # The public pages (unsubscribe, survey links, webhooks) need no login by design; their modules test them.
    public = {getattr(r, "path", None) for r in public_routes(app.state.ctx)}
    found = set()
    for route in app.routes:
        if getattr(route, "path", None) in public:
            continue
        if isinstance(route, Mount):
            assert route.path == "/static"
            continue
        assert isinstance(route, Route)
        path = re.sub(r"\{(draft|response)_id:int\}", "{id}", route.path)
        for method in route.methods or ():
            if method != "HEAD":
                found.add((method, path))
    assert found == set(GUARDED) | OPEN


@pytest.mark.parametrize(("method", "path"), GUARDED)
def test_without_a_session_every_route_redirects_to_login(client: TestClient, seeded: Seeded, method: str, path: str) -> None:
    url = fill(path, seeded)
    response = client.request(method, url, data={"csrf_token": "x"} if method == "POST" else None)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    if method == "GET":
        assert response.headers["location"] == f"/login?next={url}"
    htmx = client.request(method, url, headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"].startswith("/login")


@pytest.mark.parametrize(("method", "path"), [r for r in GUARDED if r[0] == "GET"])
def test_with_a_session_every_page_renders(client: TestClient, seeded: Seeded, method: str, path: str) -> None:
    login(client, "boss", ADMIN_PASSWORD)
    response = client.get(fill(path, seeded))
    assert response.status_code == 200
    assert "Content-Security-Policy" in response.headers
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(("method", "path"), [r for r in GUARDED if r[0] == "POST"])
def test_every_post_without_or_with_a_wrong_csrf_token_is_403(
    client: TestClient, store: Store, seeded: Seeded, method: str, path: str
) -> None:
    login(client, "boss", ADMIN_PASSWORD)
    url = fill(path, seeded)
    form = {"reason": "no", "subject": "s", "text": "t", "hours": "1", "all": "surveys", "disabled": "1"}
    assert client.post(url, data=form).status_code == 403
    assert client.post(url, data={**form, "csrf_token": "forged" * 8}).status_code == 403
    assert client.post(url, data=form, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert store.get_draft(seeded.drafts["follow_up"])["status"] == "pending_review"
    assert store.get_draft(seeded.drafts["survey"])["status"] == "pending_review"
    assert client.get("/").status_code == 200  # still logged in: nothing happened


def test_login_without_csrf_is_403(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"name": "priya", "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/").status_code == 303


def test_the_csrf_header_works_for_htmx(client: TestClient, store: Store, seeded: Seeded) -> None:
    token = login(client)
    draft_id = seeded.drafts["follow_up"]
    response = client.post(f"/drafts/{draft_id}/approve", headers={"X-CSRF-Token": token})
    assert response.status_code == 303
    assert store.get_draft(draft_id)["status"] == "approved"


def test_unknown_draft_is_404(client: TestClient) -> None:
    login(client)
    assert client.get("/drafts/999999").status_code == 404


# -- sessions and login -----------------------------------------------------------


def test_wrong_password_is_401_and_no_session(client: TestClient) -> None:
    page = client.get("/login")
    response = client.post("/login", data={"csrf_token": csrf_of(page.text), "name": "priya", "password": "nope nope nope"})
    assert response.status_code == 401
    assert "Wrong name or password" in response.text
    assert client.get("/").status_code == 303


def test_session_cookie_is_httponly_samesite_and_signed(client: TestClient) -> None:
    page = client.get("/login")
    response = client.post("/login", data={"csrf_token": csrf_of(page.text), "name": "priya", "password": PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "outreach_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # auto, and the test app's public URL is plain http
    value = client.cookies["outreach_session"]
    client.cookies.set("outreach_session", tamper_signature(value))
    assert client.get("/").status_code == 303  # tampered signature: no session


@pytest.mark.parametrize(
    ("public_url", "mode", "secure"),
    [
        ("https://care.example.com", "auto", True),
        ("http://127.0.0.1:8025", "auto", False),
        ("http://127.0.0.1:8025", True, True),
        ("https://care.example.com", False, False),
    ],
)
def test_the_cookie_is_secure_when_the_app_is_served_over_https(
    review_settings: Settings, store: Store, seeded: Seeded, clock: Clock, public_url: str, mode: Any, secure: bool
) -> None:
    settings = review_settings.model_copy(
        update={
            "review": review_settings.review.model_copy(update={"secure_cookies": mode}),
            "sender": review_settings.sender.model_copy(update={"public_url": public_url}),
        }
    )
    with TestClient(create_app(WebContext(settings, store, "k", clock)), follow_redirects=False,
                    base_url="https://testserver") as c:
        page = c.get("/login")
        response = c.post("/login", data={"csrf_token": csrf_of(page.text), "name": "priya", "password": PASSWORD})
        assert ("; secure" in response.headers["set-cookie"].lower()) is secure


def test_session_expires_after_session_minutes(client: TestClient, clock: Clock, review_settings: Settings) -> None:
    login(client)
    minutes = review_settings.review.session_minutes
    clock.now = NOW + timedelta(minutes=minutes - 1)
    assert client.get("/").status_code == 200
    clock.now = NOW + timedelta(minutes=minutes + 1)
    response = client.get("/")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    clock.now = NOW
    assert client.get("/").status_code == 303  # the expired session was cleared, not just hidden


def test_logout_ends_the_session(client: TestClient) -> None:
    token = login(client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/").status_code == 303


def test_logout_ends_copies_of_the_session_cookie_too(app: Any) -> None:
    """A cookie copied before logout (another tab's, a stolen one) must not stay valid for hours."""
    with TestClient(app, follow_redirects=False) as browser, TestClient(app, follow_redirects=False) as thief:
        token = login(browser)
        thief.cookies.set(SESSION_COOKIE, browser.cookies[SESSION_COOKIE])
        assert thief.get("/").status_code == 200
        assert browser.post("/logout", data={"csrf_token": token}).status_code == 303
        assert thief.get("/").status_code == 303
        login(browser)  # logging in again works
        assert browser.get("/").status_code == 200
        assert thief.get("/").status_code == 303


def test_a_new_password_ends_open_sessions(client: TestClient, store: Store) -> None:
    from connectors.accounts import set_password

    login(client)
    set_password(store, "priya", "a brand new password")
    assert client.get("/").status_code == 303
    login(client, password="a brand new password")
    assert client.get("/").status_code == 200


def test_a_disabled_agent_loses_the_session(client: TestClient, store: Store) -> None:
    from connectors.accounts import set_disabled

    login(client)
    set_disabled(store, "priya")
    assert client.get("/").status_code == 303
    page = client.get("/login")
    response = client.post("/login", data={"csrf_token": csrf_of(page.text), "name": "priya", "password": PASSWORD})
    assert response.status_code == 401


def test_login_is_rate_limited_per_name_and_address(
    client: TestClient, limiter_clock: FakeMonotonic, review_settings: Settings
) -> None:
    limit = review_settings.review.login_attempts_per_minute
    token = csrf_of(client.get("/login").text)
    for _ in range(limit):
        bad = client.post("/login", data={"csrf_token": token, "name": "priya", "password": "wrong password"})
        assert bad.status_code == 401
    blocked = client.post("/login", data={"csrf_token": token, "name": "priya", "password": PASSWORD})
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 60
    assert client.get("/").status_code == 303  # the right password did not get in while blocked
    # Another name from the same address is not blocked by priya's failures…
    assert client.post("/login", data={"csrf_token": token, "name": "boss", "password": "x" * 12}).status_code == 401
    limiter_clock.t += 61
    ok = client.post("/login", data={"csrf_token": token, "name": "priya", "password": PASSWORD})
    assert ok.status_code == 303


def test_parallel_guesses_cannot_outrun_the_login_limit(app: Any, review_settings: Settings) -> None:
    """Attempts sent at once: each is counted before its (slow) password check, not after."""
    import asyncio

    import httpx

    limit = review_settings.review.login_attempts_per_minute

    async def spray() -> list[int]:
        transport = httpx.ASGITransport(app=app, client=("203.0.113.5", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            token = csrf_of((await c.get("/login")).text)
            forms = [{"csrf_token": token, "name": "priya", "password": f"guess {i}"} for i in range(limit * 6)]
            forms.append({"csrf_token": token, "name": "priya", "password": PASSWORD})
            responses = await asyncio.gather(*(c.post("/login", data=form) for form in forms))
            return [r.status_code for r in responses]

    statuses = asyncio.run(spray())
    checked = [s for s in statuses if s != 429]
    assert len(checked) <= limit, f"{len(checked)} passwords checked, limit {limit}"
    assert statuses[-1] == 429  # the right password arrived after the limit was used up
    assert set(statuses) <= {401, 429}


def test_login_spray_from_one_address_is_limited(client: TestClient, review_settings: Settings) -> None:
    limit = review_settings.review.login_attempts_per_minute
    token = csrf_of(client.get("/login").text)
    statuses = [
        client.post("/login", data={"csrf_token": token, "name": f"user{i}", "password": "wrong password"}).status_code
        for i in range(limit * 4 + 1)
    ]
    assert statuses[:-1] == [401] * (limit * 4)
    assert statuses[-1] == 429


def test_behind_a_trusted_proxy_each_agent_has_their_own_login_limit(
    review_settings: Settings, store: Store, seeded: Seeded, clock: Clock
) -> None:
    """Behind nginx every request comes from the proxy: its X-Forwarded-For must name the agent."""
    settings = review_settings.model_copy(
        update={"review": review_settings.review.model_copy(update={"trusted_proxies": ["10.0.0.0/8"]})}
    )
    limit = settings.review.login_attempts_per_minute
    app = create_app(WebContext(settings, store, "k", clock), limiter=LoginLimiter(limit, FakeMonotonic()))

    def attempt(c: TestClient, token: str, password: str, forwarded_for: str) -> int:
        form = {"csrf_token": token, "name": "priya", "password": password}
        return c.post("/login", data=form, headers={"X-Forwarded-For": forwarded_for}).status_code

    with TestClient(app, follow_redirects=False, client=("10.1.2.3", 40000)) as proxy:
        token = csrf_of(proxy.get("/login").text)
        assert [attempt(proxy, token, "wrong password", "203.0.113.9") for _ in range(limit)] == [401] * limit
        assert attempt(proxy, token, PASSWORD, "203.0.113.9") == 429  # the guesser is stopped…
        assert attempt(proxy, token, PASSWORD, "198.51.100.7") == 303  # …priya at her desk is not
    with TestClient(app, follow_redirects=False, client=("192.0.2.1", 40000)) as direct:
        token = csrf_of(direct.get("/login").text)
        # Not a trusted proxy: the header is ignored, every attempt counts for 192.0.2.1.
        statuses = [attempt(direct, token, "wrong password", f"198.51.100.{i}") for i in range(limit)]
        assert statuses == [401] * limit
        assert attempt(direct, token, PASSWORD, "198.51.100.99") == 429


def test_login_next_never_leaves_the_site(client: TestClient) -> None:
    page = client.get("/login?next=//evil.example/x")
    assert 'value="/"' in page.text
    response = client.post(
        "/login",
        data={"csrf_token": csrf_of(page.text), "name": "priya", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response.headers["location"] == "/"


def test_app_refuses_to_start_without_a_session_secret(settings: Settings, store: Store) -> None:
    assert settings.review.session_secret is None
    with pytest.raises(ConfigError, match="OUTREACH_REVIEW__SESSION_SECRET"):
        create_app(WebContext(settings, store, "k"))


# -- what the pages show ------------------------------------------------------------


def test_script_in_a_customers_message_is_inert(client: TestClient, seeded: Seeded) -> None:
    login(client)
    page = client.get(f"/drafts/{seeded.drafts['follow_up']}").text
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in page  # shown, escaped
    assert "<script>alert" not in page
    assert "onerror=" not in page.replace("onerror=&#34;", "")  # only ever escaped
    assert "javascript:" not in page.replace("javascript:alert(3)&#34;", "")
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts == ['<script src="/static/htmx.min.js" defer>', '<script src="/static/review.js" defer>']
    preview = page.split('class="email-preview"', 1)[1].split("</div>", 1)[0]
    assert "<p>Hi Ada</p>" in preview and "<img" not in preview and "alert" not in preview
    queue = client.get("/").text
    assert "<script>alert" not in queue and "&lt;script&gt;" in queue  # the reason quoting it, escaped


def test_the_csp_forbids_inline_script(client: TestClient) -> None:
    login(client)
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp


def test_queue_is_sorted_by_priority_with_kind_reasons_and_budget(
    client: TestClient, seeded: Seeded, store: Store, review_settings: Settings
) -> None:
    from flows import steps

    login(client)
    page = client.get("/").text
    order = [int(x) for x in re.findall(r'data-id="(\d+)"', page)]
    priorities = {d["id"]: d["priority"] for d in store.list_drafts(status="pending_review")}
    assert order == sorted(priorities, key=lambda i: (-priorities[i], i))
    assert "customer&#39;s last message unanswered for 27 business hours" in page
    assert 'class="kind kind-follow_up">follow_up' in page
    budget = steps.budget_today(store, review_settings, NOW)
    assert f"<strong>{budget['day_left']}</strong><span>sends left in 24 h" in page
    assert f"<strong>{budget['hour_left']}</strong><span>this hour" in page
    assert "Approving the whole queue would bring about" in page


def test_conversation_shows_new_text_and_collapses_quoted_history(client: TestClient, seeded: Seeded) -> None:
    login(client)
    page = client.get(f"/drafts/{seeded.drafts['follow_up']}").text
    assert "Third time I ask: where is my refund?" in page
    before, _, after = page.partition("QUOTED-HISTORY-MARKER")
    assert after, "full text with history is on the page"
    assert before.rfind("<details>") > before.rfind("</details>")  # the marker sits inside an open <details>


# -- actions and their effects --------------------------------------------------------


def last_audit(store: Store, draft_id: int) -> dict[str, Any]:
    return store.audit_log(draft_id)[0]


def test_approve(client: TestClient, store: Store, seeded: Seeded) -> None:
    token = login(client)
    draft_id = seeded.drafts["follow_up"]
    response = client.post(f"/drafts/{draft_id}/approve", data={"csrf_token": token, "then": "next"})
    assert response.status_code == 303 and response.headers["location"].startswith("/drafts/")
    row = store.get_draft(draft_id)
    assert row["status"] == "approved" and row["reviewer"] == "priya" and row["reviewed_at"] == NOW
    entry = last_audit(store, draft_id)
    assert (entry["actor"], entry["action"], entry["detail"]["to"]) == ("priya", "approved", "approved")


def test_edit_then_approve(client: TestClient, store: Store, seeded: Seeded) -> None:
    token = login(client)
    draft_id = seeded.drafts["follow_up"]
    client.post(
        f"/drafts/{draft_id}/edit",
        data={"csrf_token": token, "subject": "Your refund", "text": "Hi Ada,\n\nrefund sent today.\n\nPriya",
              "action": "approve"},
    )
    row = store.get_draft(draft_id)
    assert row["status"] == "approved"
    assert row["subject"] == "Your refund" and "refund sent today" in row["text"]
    assert "refund sent today" in row["html"]
    actions = [(e["actor"], e["action"]) for e in reversed(store.audit_log(draft_id))]
    assert actions[-2:] == [("priya", "edited"), ("priya", "approved")]


def test_editing_an_approved_draft_sends_it_back_to_review(client: TestClient, store: Store, seeded: Seeded) -> None:
    """The approval was given to the old text: changed content is not sent without a new one."""
    token = login(client)
    draft_id = seeded.drafts["follow_up"]
    client.post(f"/drafts/{draft_id}/approve", data={"csrf_token": token})
    assert store.get_draft(draft_id)["status"] == "approved"
    client.post(f"/drafts/{draft_id}/edit", data={"csrf_token": token, "subject": "Changed", "text": "New words."})
    row = store.get_draft(draft_id)
    assert (row["status"], row["reviewer"], row["reviewed_at"], row["subject"]) == ("pending_review", None, None, "Changed")
    entry = last_audit(store, draft_id)
    assert (entry["action"], entry["detail"]["from"], entry["detail"]["to"]) == ("edited", "approved", "pending_review")
    assert "approve it again to send it" in client.get(f"/drafts/{draft_id}").text
    # Once claimed for sending, a draft can no longer change under the sender.
    client.post(f"/drafts/{draft_id}/approve", data={"csrf_token": token})
    with store.write() as conn:
        assert store.claim(conn, [draft_id], "sender-1", NOW) == [draft_id]
    client.post(f"/drafts/{draft_id}/edit", data={"csrf_token": token, "subject": "Too late", "text": "x"})
    assert store.get_draft(draft_id)["subject"] == "Changed"


def test_edit_refuses_a_long_subject(client: TestClient, store: Store, seeded: Seeded) -> None:
    token = login(client)
    draft_id = seeded.drafts["follow_up"]
    client.post(f"/drafts/{draft_id}/edit", data={"csrf_token": token, "subject": "x" * 79, "text": "t", "action": "approve"})
    row = store.get_draft(draft_id)
    assert row["status"] == "pending_review" and row["subject"] == "Re: Refund still missing"
    assert "keep it to 78" in client.get(f"/drafts/{draft_id}").text


def test_reject_needs_a_reason_and_keeps_it(client: TestClient, store: Store, seeded: Seeded) -> None:
    token = login(client)
    draft_id = seeded.drafts["follow_up"]
    client.post(f"/drafts/{draft_id}/reject", data={"csrf_token": token, "reason": "  "})
    assert store.get_draft(draft_id)["status"] == "pending_review"
    client.post(f"/drafts/{draft_id}/reject", data={"csrf_token": token, "reason": "answered by phone"})
    row = store.get_draft(draft_id)
    assert row["status"] == "rejected" and row["review_note"] == "answered by phone" and row["reviewer"] == "priya"
    entry = last_audit(store, draft_id)
    assert (entry["action"], entry["detail"]["reason"]) == ("rejected", "answered by phone")


def test_snooze_hides_until_then_and_wake_brings_back(client: TestClient, store: Store, seeded: Seeded, clock: Clock) -> None:
    token = login(client)
    draft_id = seeded.drafts["follow_up"]
    client.post(f"/drafts/{draft_id}/snooze", data={"csrf_token": token, "hours": "4"})
    row = store.get_draft(draft_id)
    assert row["status"] == "pending_review" and row["not_before"] == NOW + timedelta(hours=4)
    assert last_audit(store, draft_id)["action"] == "snoozed"
    assert f'data-id="{draft_id}"' not in client.get("/").text
    clock.now = NOW + timedelta(hours=4, minutes=1)
    assert f'data-id="{draft_id}"' in client.get("/").text
    clock.now = NOW
    client.post(f"/drafts/{draft_id}/wake", data={"csrf_token": token})
    assert store.get_draft(draft_id)["not_before"] is None
    assert f'data-id="{draft_id}"' in client.get("/").text


def test_snooze_past_expiry_is_refused(client: TestClient, store: Store, seeded: Seeded, review_settings: Settings) -> None:
    token = login(client)
    draft_id = seeded.drafts["follow_up"]
    hours = review_settings.drafts.expire_days * 24 + 1
    client.post(f"/drafts/{draft_id}/snooze", data={"csrf_token": token, "hours": str(hours)})
    assert store.get_draft(draft_id)["not_before"] is None
    assert "expires unreviewed" in client.get(f"/drafts/{draft_id}").text


def test_an_absurd_snooze_is_refused_not_a_server_error(client: TestClient, store: Store, seeded: Seeded) -> None:
    token = login(client)
    draft_id = seeded.drafts["follow_up"]
    response = client.post(f"/drafts/{draft_id}/snooze", data={"csrf_token": token, "hours": "99999999"})
    assert response.status_code == 303
    assert store.get_draft(draft_id)["not_before"] is None
    assert "snooze for 1 to" in client.get(f"/drafts/{draft_id}").text


def test_bulk_approve_surveys_only(client: TestClient, store: Store, seeded: Seeded) -> None:
    token = login(client)
    follow_up = seeded.drafts["follow_up"]
    client.post(
        "/drafts/bulk-approve",
        data={"csrf_token": token, "ids": [str(seeded.drafts["survey"]), str(follow_up)]},
    )
    assert store.get_draft(seeded.drafts["survey"])["status"] == "approved"
    assert store.get_draft(follow_up)["status"] == "pending_review"  # not a survey: one by one
    assert store.get_draft(seeded.drafts["survey2"])["status"] == "pending_review"
    client.post("/drafts/bulk-approve", data={"csrf_token": token, "all": "surveys"})
    assert store.get_draft(seeded.drafts["survey2"])["status"] == "approved"
    assert store.get_draft(follow_up)["status"] == "pending_review"
    assert last_audit(store, seeded.drafts["survey2"])["actor"] == "priya"


def test_policy_blocks_approval_of_an_unsubscribed_customer(client: TestClient, store: Store, seeded: Seeded) -> None:
    token = login(client)
    draft_id = seeded.drafts["blocked"]
    page = client.get(f"/drafts/{draft_id}").text
    assert 'id="blockers"' in page and "unsubscribed" in page  # warned before clicking
    response = client.post(f"/drafts/{draft_id}/approve", data={"csrf_token": token})
    assert response.headers["location"] == f"/drafts/{draft_id}"
    assert store.get_draft(draft_id)["status"] == "pending_review"
    entry = last_audit(store, draft_id)
    assert entry["action"] == "approval_blocked" and entry["actor"] == "priya"
    assert "not approved" in client.get(f"/drafts/{draft_id}").text
    client.post("/drafts/bulk-approve", data={"csrf_token": token, "all": "surveys"})
    assert store.get_draft(draft_id)["status"] == "pending_review"


def test_apology_gesture_is_written_into_the_email(
    client: TestClient, store: Store, seeded: Seeded, review_settings: Settings
) -> None:
    token = login(client)
    draft_id = seeded.drafts["apology"]
    row = store.get_draft(draft_id)
    gesture = review_settings.drafts.gestures[0]
    assert f'<option value="{gesture}"' in client.get(f"/drafts/{draft_id}").text.replace("&#36;", "$")
    client.post(
        f"/drafts/{draft_id}/edit",
        data={"csrf_token": token, "subject": row["subject"], "text": row["text"], "gesture": gesture, "action": "save"},
    )
    after = store.get_draft(draft_id)
    assert after["gesture"] == gesture
    assert gesture in after["text"] and gesture in after["html"]
    assert after["status"] == "pending_review"
    assert last_audit(store, draft_id)["action"] == "edited"
    # Re-rendered from a draft stored with our internal "#<thread id>": the customer never sees it.
    assert f"#{seeded.threads['cy']}" not in after["text"]


def test_the_editor_shows_the_agents_words_and_keeps_the_footer_out_of_reach(
    client: TestClient, store: Store, seeded: Seeded
) -> None:
    token = login(client)
    draft_id = seeded.drafts["follow_up"]
    client.post(f"/drafts/{draft_id}/edit", data={"csrf_token": token, "subject": "Re: Refund", "text": "New words."})
    assert store.get_draft(draft_id)["text"].count("/unsubscribe/") == 1
    page = client.get(f"/drafts/{draft_id}").text
    editor = re.search(r'<textarea name="text"[^>]*>(.*?)</textarea>', page, re.DOTALL)
    assert editor is not None and editor.group(1).strip() == "New words."
    # Saving the editor's text unchanged keeps exactly one footer.
    client.post(f"/drafts/{draft_id}/edit", data={"csrf_token": token, "subject": "Re: Refund", "text": editor.group(1)})
    assert store.get_draft(draft_id)["text"].count("/unsubscribe/") == 1


def test_an_unknown_gesture_is_refused(client: TestClient, store: Store, seeded: Seeded) -> None:
    token = login(client)
    draft_id = seeded.drafts["apology"]
    row = store.get_draft(draft_id)
    client.post(
        f"/drafts/{draft_id}/edit",
        data={"csrf_token": token, "subject": row["subject"], "text": row["text"], "gesture": "a free car"},
    )
    assert store.get_draft(draft_id)["gesture"] is None


def test_acting_on_a_decided_draft_is_refused(client: TestClient, store: Store, seeded: Seeded) -> None:
    token = login(client)
    draft_id = seeded.drafts["follow_up"]
    client.post(f"/drafts/{draft_id}/reject", data={"csrf_token": token, "reason": "no"})
    client.post(f"/drafts/{draft_id}/approve", data={"csrf_token": token})
    assert store.get_draft(draft_id)["status"] == "rejected"
    client.post(f"/drafts/{draft_id}/snooze", data={"csrf_token": token, "hours": "1"})
    assert store.get_draft(draft_id)["not_before"] is None


def test_audit_page_shows_who_did_what(client: TestClient, seeded: Seeded) -> None:
    token = login(client)
    draft_id = seeded.drafts["follow_up"]
    client.post(f"/drafts/{draft_id}/reject", data={"csrf_token": token, "reason": "duplicate of #12"})
    page = client.get(f"/audit?draft={draft_id}").text
    assert "<td>priya</td>" in page and "<td>rejected</td>" in page and "duplicate of #12" in page
    assert "<td>login</td>" in client.get("/audit").text


def test_agents_page_is_for_admins(client: TestClient, store: Store) -> None:
    from connectors.accounts import get_agent

    login(client)
    assert client.get("/agents").status_code == 403
    token = csrf_of(client.get("/").text)
    assert client.post("/agents/boss/disable", data={"csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": token})
    token = login(client, "boss", ADMIN_PASSWORD)
    assert "priya" in client.get("/agents").text
    client.post("/agents/priya/disable", data={"csrf_token": token, "disabled": "1"})
    assert get_agent(store, "priya").disabled
    assert store.audit_log()[0]["action"] == "agent_disabled"
