"""A store seeded for the review app: two customers' threads, pending drafts of several kinds, agents."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, update

from connectors.accounts import add_agent
from connectors.schema import customers, messages, threads
from connectors.store import Store
from outreach.settings import Settings, load_settings

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)  # a Wednesday, inside business hours
PASSWORD = "correct horse battery"
ADMIN_PASSWORD = "admin horse battery staple"
SESSION_SECRET = "test-session-secret-" + "x" * 40
REPO = Path(__file__).resolve().parents[1]
XSS = '<script>alert("pwned")</script><img src=x onerror="alert(2)"> <a href="javascript:alert(3)">click</a>'


@dataclass
class Clock:
    """A settable clock for the app under test."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Seeded:
    """Ids of what :func:`seed` created."""

    drafts: dict[str, int] = field(default_factory=dict)
    threads: dict[str, int] = field(default_factory=dict)


def _thread(store: Store, key: str, customer: str, name: str, subject: str, texts: list[tuple[str, str, str]]) -> int:
    """A thread with messages ``(direction, reply_text, full_text)``, an hour apart, ending a day ago."""
    start = NOW - timedelta(days=1, hours=len(texts))
    with store.write() as conn:
        thread_id = int(
            conn.execute(
                insert(threads).values(
                    root_message_id=f"<{key}@test>", customer=customer, subject=subject, status="open",
                    message_count=len(texts), updated_at=NOW,
                )
            ).inserted_primary_key[0]
        )
        conn.execute(insert(customers).values(address=customer, name=name))
        for i, (direction, reply_text, full_text) in enumerate(texts):
            when = start + timedelta(hours=i)
            conn.execute(
                insert(messages).values(
                    content_hash=hashlib.sha256(f"{key}{i}".encode()).hexdigest(),
                    message_id=f"<{key}.{i}@test>", references=[], thread_id=thread_id, direction=direction,
                    from_address=customer if direction == "in" else "support@northwind.example",
                    from_name=name if direction == "in" else "Priya", to_addresses=[], date=when,
                    subject=subject if i == 0 else f"Re: {subject}", text=full_text, reply_text=reply_text,
                    attachments=[], created_at=NOW,
                )
            )
        conn.execute(
            update(threads).where(threads.c.id == thread_id).values(
                last_customer_at=start + timedelta(hours=len(texts) - 1), last_message_at=NOW - timedelta(days=1)
            )
        )
    return thread_id


def _draft(store: Store, thread_id: int, customer: str, kind: str, priority: int, subject: str, text: str,
           context: dict[str, Any], html: str | None = None) -> int:
    token = secrets.token_hex(8)
    draft_id = store.add_draft(
        {
            "candidate_id": None, "thread_id": thread_id, "customer": customer, "kind": kind, "priority": priority,
            "template": f"email/en/{kind}", "language": "en", "subject": subject, "text": text,
            "html": html or f"<p>{text}</p>", "context": context, "status": "pending_review",
            "created_at": NOW - timedelta(hours=2), "idempotency_key": secrets.token_hex(16),
            "reply_token": token, "message_id": f"outreach.{token}@northwind.example",
        }
    )
    assert draft_id is not None
    return draft_id


def seed(store: Store) -> Seeded:
    """Threads for Ada (follow-up, script in her message), Bob (survey ×2), Cy (apology), Dee (unsubscribed)."""
    out = Seeded()
    base = {"agent_name": "Priya", "team_name": "Northwind Support", "signature": "", "language": "en",
            "survey_scale": "csat", "in_reply_to": None}
    ada = _thread(store, "ada", "ada@example.org", "Ada Lovelace", "Refund still missing", [
        ("in", f"Where is my refund? {XSS}", f"Where is my refund? {XSS}"),
        ("out", "We are on it.", "We are on it.\n\n> Where is my refund?"),
        ("in", "Third time I ask: where is my refund?",
         "Third time I ask: where is my refund?\n\nOn Monday Priya wrote:\n> We are on it.\n> QUOTED-HISTORY-MARKER"),
    ])
    out.threads["ada"] = ada
    out.drafts["follow_up"] = _draft(
        store, ada, "ada@example.org", "follow_up", 90, "Re: Refund still missing",
        "Hi Ada,\n\nyour refund has been waiting too long. I am on it today.\n\nPriya",
        {**base, "kind": "follow_up", "customer_name": "Ada", "customer_address": "ada@example.org",
         "thread_subject": "Refund still missing", "thread_ref": f"#{ada}", "key_sentence": "where is my refund?",
         "reasons": ["customer's last message unanswered for 27 business hours", f"said {XSS}"]},
        html=f"<p>Hi Ada</p>{XSS}",
    )
    bob = _thread(store, "bob", "bob@example.org", "Bob Stone", "Invoice question", [
        ("in", "Thanks, that fixed it.", "Thanks, that fixed it."),
    ])
    out.threads["bob"] = bob
    for n, priority in (("survey", 30), ("survey2", 20)):
        out.drafts[n] = _draft(
            store, bob, "bob@example.org", "survey", priority, "How did we do?", "Hi Bob,\n\nhow did we do? Reply 1-5.",
            {**base, "kind": "survey", "customer_name": "Bob", "customer_address": "bob@example.org",
             "thread_subject": "Invoice question", "thread_ref": f"#{bob}", "key_sentence": "",
             "reasons": ["resolved and calm"]},
        )
    cy = _thread(store, "cy", "cy@example.org", "Cy Young", "Outage", [
        ("in", "Your site was down all morning.", "Your site was down all morning."),
    ])
    out.threads["cy"] = cy
    out.drafts["apology"] = _draft(
        store, cy, "cy@example.org", "apology", 70, "Sorry about this morning", "Hi Cy,\n\nsorry.\n\nPriya",
        {**base, "kind": "apology", "customer_name": "Cy", "customer_address": "cy@example.org",
         "thread_subject": "Outage", "thread_ref": f"#{cy}", "key_sentence": "Your site was down all morning.",
         "reasons": ["known incident: EU checkout outage"]},
    )
    dee = _thread(store, "dee", "dee@example.org", "Dee Dee", "Cancel", [
        ("in", "Please stop emailing me.", "Please stop emailing me."),
    ])
    out.threads["dee"] = dee
    out.drafts["blocked"] = _draft(
        store, dee, "dee@example.org", "check_in", 60, "Checking in", "Hi Dee,\n\nall good?\n\nPriya",
        {**base, "kind": "check_in", "customer_name": "Dee", "customer_address": "dee@example.org",
         "thread_subject": "Cancel", "thread_ref": f"#{dee}", "key_sentence": "", "reasons": ["went quiet"]},
    )
    store.suppress("dee@example.org", "unsubscribe", "link", NOW - timedelta(hours=1))
    add_agent(store, "priya", PASSWORD, "agent", now=NOW)
    add_agent(store, "boss", ADMIN_PASSWORD, "admin", now=NOW)
    return out


# -- fixtures the review tests share (a plugin in tests/conftest.py) ----------------


@pytest.fixture
def review_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("OUTREACH_REVIEW__SESSION_SECRET", SESSION_SECRET)
    return load_settings(REPO / "config" / "demo.toml")


@pytest.fixture
def store(review_settings: Settings) -> Iterator[Store]:
    s = Store.open(review_settings.store.url)
    yield s
    s.close()


@pytest.fixture
def seeded(store: Store) -> Seeded:
    return seed(store)
