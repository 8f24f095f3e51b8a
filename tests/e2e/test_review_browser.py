"""The review app in a real browser: Debian's Chromium driven by Playwright against uvicorn.

An agent logs in, edits and approves one draft, rejects another with a
reason (keyboard), approves a third with the ``a`` key; the store and the
audit log must show exactly that, no script from a customer's message may
run, and the page must not trip its own Content Security Policy.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.store import Store
from outreach.review.app import create_app
from outreach.review.context import WebContext
from outreach.settings import Settings
from tests.review_fixtures import PASSWORD, Clock, Seeded
from tests.servers.common import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


@pytest.fixture
def server(review_settings: Settings, store: Store, seeded: Seeded) -> Iterator[str]:
    """The app under uvicorn on a free port, in a thread; stopped after the test."""
    import uvicorn

    port = free_port()
    app = create_app(WebContext(review_settings, store, "test-signing-key", Clock()))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="review-uvicorn", daemon=True)
    thread.start()
    if not wait_for_port(port, timeout=20):
        srv.should_exit = True
        pytest.fail("the review app did not start")
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def test_agent_edits_approves_and_rejects_in_a_browser(
    browser: Any, server: str, store: Store, seeded: Seeded, tmp_path: Path
) -> None:
    follow_up, survey, survey2 = seeded.drafts["follow_up"], seeded.drafts["survey"], seeded.drafts["survey2"]
    page = browser.new_page()
    dialogs: list[str] = []
    console_errors: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)

    page.goto(server + "/")
    assert "/login" in page.url
    page.fill("input[name=name]", "priya")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector(".draft-row")
    assert page.locator(".draft-row").first.get_attribute("data-id") == str(follow_up)  # highest priority first
    assert "sends left in 24 h" in page.inner_text(".load")

    # Open the selected (top) draft from the keyboard, then edit and approve it.
    page.wait_for_selector(".draft-row.selected")
    page.keyboard.press("o")
    page.wait_for_url(f"**/drafts/{follow_up}")
    page.wait_for_selector("#text")
    assert "<script>" in page.inner_text(".conversation")  # shown as text, never run
    page.fill("#subject", "Your refund, today")
    page.fill("#text", "Hi Ada,\n\nI sent your refund this morning; it shows within two days.\n\nPriya")
    page.click("#save-approve")
    page.wait_for_url(lambda url, d=follow_up: not url.endswith(f"/drafts/{d}"))

    # Reject a survey with a reason: 'r' jumps to the reason field.
    page.goto(f"{server}/drafts/{survey}")
    page.wait_for_selector("#reason")
    page.keyboard.press("r")
    page.keyboard.type("customer already said thanks on the phone")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url, d=survey: not url.endswith(f"/drafts/{d}"))

    # Approve the other survey with the 'a' key.
    page.goto(f"{server}/drafts/{survey2}")
    page.wait_for_selector("#approve-form")
    page.keyboard.press("a")
    page.wait_for_url(lambda url, d=survey2: not url.endswith(f"/drafts/{d}"))

    page.goto(server + "/audit")
    page.wait_for_selector("table.audit")
    page.screenshot(path=str(tmp_path / "review-audit.png"), full_page=True)
    page.goto(server + "/")
    page.wait_for_selector("main[data-page=queue]")
    page.screenshot(path=str(tmp_path / "review-queue.png"), full_page=True)
    assert (tmp_path / "review-queue.png").stat().st_size > 1000

    edited = store.get_draft(follow_up)
    assert edited["status"] == "approved" and edited["reviewer"] == "priya"
    assert edited["subject"] == "Your refund, today" and "refund this morning" in edited["text"]
    rejected = store.get_draft(survey)
    assert rejected["status"] == "rejected" and rejected["review_note"] == "customer already said thanks on the phone"
    assert store.get_draft(survey2)["status"] == "approved"
    assert store.get_draft(seeded.drafts["apology"])["status"] == "pending_review"

    trail = [(e["actor"], e["action"], e["draft_id"]) for e in reversed(store.audit_log())]
    mine = [t for t in trail if t[0] == "priya"]
    assert mine == [
        ("priya", "login", None),
        ("priya", "edited", follow_up),
        ("priya", "approved", follow_up),
        ("priya", "rejected", survey),
        ("priya", "approved", survey2),
    ]
    assert dialogs == []  # no alert() from the customer's message ever ran
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
    page.close()
