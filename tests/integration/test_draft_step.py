"""The draft step on a real SQLite store: language, what the email restates, and what it refers to.

Each test seeds one conversation and its candidate the way detection leaves them,
runs ``steps.draft`` and reads the stored draft.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from connectors.schema import candidates, customers, messages, threads
from connectors.store import Store
from flows import steps
from outreach.settings import Settings

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)  # a Wednesday, inside business hours


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    s = Store.open(settings.store.url)
    yield s
    s.close()


def seed(
    store: Store,
    *,
    kind: str,
    customer: str,
    name: str,
    subject: str,
    texts: list[tuple[str, str]],
    language: str | None = None,
) -> int:
    """A thread of ``(direction, reply_text)`` messages an hour apart, with an open candidate of ``kind``."""
    start = NOW - timedelta(days=1, hours=len(texts))
    with store.write() as conn:
        thread_id = int(conn.execute(insert(threads).values(
            root_message_id=f"<{customer}.root@test>", customer=customer, subject=subject, status="open",
            message_count=len(texts), updated_at=NOW,
        )).inserted_primary_key[0])
        conn.execute(insert(customers).values(address=customer, name=name, language=language))
        for i, (direction, text) in enumerate(texts):
            conn.execute(insert(messages).values(
                content_hash=hashlib.sha256(f"{customer}{i}".encode()).hexdigest(),
                message_id=f"<{customer}.{i}@test>", references=[], thread_id=thread_id, direction=direction,
                from_address=customer if direction == "in" else "support@northwind.example",
                from_name=name if direction == "in" else "Priya", to_addresses=[], date=start + timedelta(hours=i),
                subject=subject if i == 0 else f"Re: {subject}", text=text, reply_text=text, attachments=[],
                language=language if direction == "in" else None, created_at=NOW,
            ))
        conn.execute(insert(candidates).values(
            thread_id=thread_id, customer=customer, kind=kind, priority=50, reasons=["test"], status="open",
            created_at=NOW, updated_at=NOW,
        ))
    return thread_id


def draft_for(store: Store, settings: Settings, thread_id: int) -> dict[str, Any]:
    report = steps.draft(store, settings, NOW)
    assert not report.errors, report.errors
    rows = [d for d in store.list_drafts() if d["thread_id"] == thread_id]
    assert len(rows) == 1
    return rows[0]


REFUND = [
    ("in", "Hello, I ordered a lamp three weeks ago and it never arrived. Where is my parcel?"),
    ("out", "Sorry about that, we have sent a new one."),
]


def test_french_and_spanish_customers_get_their_templates_and_others_the_default(
    store: Store, settings: Settings
) -> None:
    cases = {  # customer's language -> (template language, first line)
        "fr": ("fr", "Bonjour Amélie,"),
        "es": ("es", "Hola, Amélie:"),
        "fr-CA": ("fr", "Bonjour Amélie,"),
        "it": ("en", "Hi Amélie,"),  # no Italian templates: drafts.default_language
    }
    seeded = {
        language: seed(store, kind="follow_up", customer=f"amelie.{language}@example.org", name="Amélie Durand",
                       subject="Lampe", texts=[REFUND[0]], language=language)
        for language in cases
    }
    report = steps.draft(store, settings, NOW)
    assert not report.errors, report.errors
    rows = {d["thread_id"]: d for d in store.list_drafts()}
    assert settings.drafts.default_language == "en"
    for language, (expected, greeting) in cases.items():
        row = rows[seeded[language]]
        assert (row["language"], row["template"]) == (expected, f"email/{expected}/follow_up"), language
        assert row["text"].splitlines()[0] == greeting, language
        assert f'<html lang="{expected}">' in row["html"], language


def test_survey_names_the_customers_first_request_not_their_closing_thanks(store: Store, settings: Settings) -> None:
    thread_id = seed(store, kind="survey", customer="ann.lee@example.org", name="Ann Lee", subject="Lamp", texts=[
        *REFUND, ("in", "Brilliant, thank you! Really appreciate it."),
    ])
    row = draft_for(store, settings, thread_id)
    expected = "You got in touch with us about “I ordered a lamp three weeks ago and it never arrived”"
    assert expected in row["text"]
    assert "I ordered a lamp three weeks ago and it never arrived" in row["html"]
    assert "Brilliant" not in row["text"] and "Brilliant" not in row["html"]


def test_survey_without_a_topic_reads_naturally_without_a_quote(store: Store, settings: Settings) -> None:
    thread_id = seed(store, kind="survey", customer="bo@example.org", name="Bo Chen", subject="Question", texts=[
        ("in", "Hi, can you help with this?"), ("out", "Done."), ("in", "Tahnk you, that's exactly what I needed"),
    ])
    row = draft_for(store, settings, thread_id)
    assert "Tahnk" not in row["text"] and "Tahnk" not in row["html"]
    assert "“" not in row["text"]
    assert "We've marked your request" in row["text"] and "as resolved." in row["text"]


@pytest.mark.parametrize("kind", ["follow_up", "check_in", "survey"])
def test_emails_refer_to_the_customers_order_number_never_our_thread_id(
    store: Store, settings: Settings, kind: str
) -> None:
    # Pad the thread ids so that "#<id>" could not be mistaken for anything else in the mail.
    for i in range(3):
        seed(store, kind="call", customer=f"pad{i}@example.org", name="Pad", subject="x", texts=[("in", "x y z")])
    with_order = seed(store, kind=kind, customer="cy@example.org", name="Cy Park", subject="Order #55123 not delivered",
                      texts=[("in", "My parcel never arrived and nobody answers."), ("out", "Checking.")])
    without = seed(store, kind=kind, customer="di@example.org", name="Di Ross", subject="Login not working",
                   texts=[("in", "I cannot log in since Monday."), ("out", "Checking.")])
    steps.draft(store, settings, NOW)
    rows = {d["thread_id"]: d for d in store.list_drafts()}
    for thread_id in (with_order, without):
        row = rows[thread_id]
        for part in (row["subject"], row["text"], row["html"]):
            assert not re.search(rf"#{thread_id}(?!\w)", part), part  # (?!\w): not CSS colours
    assert "order #55123" in rows[with_order]["text"] and "order #55123" in rows[with_order]["html"]
    assert "you contacted Northwind Support about order #55123." in rows[with_order]["text"]
    assert "you contacted Northwind Support." in rows[without]["text"]


def sent_parts(settings: Settings, row: dict[str, Any], outbox_dir: Any) -> tuple[str, str]:
    """Text and HTML of the .eml the file outbox writes for ``row`` (as ``steps.send`` would)."""
    from email import message_from_bytes, policy

    from connectors.files import FileOutbox
    from outreach.outgoing import outgoing_for

    outbox = FileOutbox(outbox_dir)
    result = outbox.send(outgoing_for(row, settings, steps.signing_key(settings)))
    msg = message_from_bytes((outbox.path / str(result.provider_id)).read_bytes(), policy=policy.default)
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return text, html


UNSUB_LINK = re.compile(r"http://127\.0\.0\.1:8025/unsubscribe/[^\s\"<>]+")


@pytest.mark.parametrize(
    "edited",
    [
        "Hello, new body",  # the QA report: a body typed from scratch
        "Hello, new body\n\n--\nYou're receiving this… To stop emails like this one: http://127.0.0.1:8025/unsubscribe/old",
    ],
)
def test_an_edited_draft_still_carries_the_unsubscribe_footer_exactly_once(
    store: Store, settings: Settings, tmp_path: Any, edited: str | None
) -> None:
    thread_id = seed(store, kind="follow_up", customer="eve@example.org", name="Eve Stone", subject="Lamp",
                     texts=[REFUND[0]])
    row = draft_for(store, settings, thread_id)
    steps.edit(store, settings, row["id"], subject=row["subject"], text_body=edited, reviewer="qa", now=NOW)
    # A second edit of the stored text, footer and all (the CLI's subject-only edit, the web form):
    # the footer is replaced, not added again.
    again = store.get_draft(row["id"])
    assert again is not None
    steps.edit(store, settings, row["id"], subject="Re: Lamp", text_body=again["text"], reviewer="qa", now=NOW)
    done, refused = steps.approve(store, settings, [row["id"]], "qa", NOW)
    assert done == [row["id"]], refused
    edited_row = store.get_draft(row["id"])
    assert edited_row is not None
    text, html = sent_parts(settings, edited_row, tmp_path / "outbox")
    assert text.startswith("Hello, new body\n")
    assert text.count("To stop emails like this one:") == 1
    assert text.count("You're receiving this because you contacted Northwind Support") == 1
    assert len(UNSUB_LINK.findall(text)) == 1 and "/unsubscribe/old" not in text
    # The HTML twin is built from the text, so it carries the same footer once, with one link.
    assert html.count("To stop emails like this one:") == 1
    assert set(UNSUB_LINK.findall(html)) == set(UNSUB_LINK.findall(text))


def test_a_draft_whose_text_lost_its_footer_gets_it_back_when_sent(store: Store, settings: Settings, tmp_path: Any) -> None:
    """Drafts edited before the footer was re-applied on edit: the send puts it back."""
    from outreach.drafting import html_from_text

    thread_id = seed(store, kind="follow_up", customer="fay@example.org", name="Fay Lin", subject="Lamp",
                     texts=[REFUND[0]])
    row = draft_for(store, settings, thread_id)
    store.update_draft_content(row["id"], subject=row["subject"], text_body="Hello, new body",
                               html=html_from_text("Hello, new body"), actor="old-version", now=NOW)
    stored = store.get_draft(row["id"])
    assert stored is not None
    text, html = sent_parts(settings, stored, tmp_path / "outbox")
    assert text.startswith("Hello, new body") and text.count("To stop emails like this one:") == 1
    assert html.count("To stop emails like this one:") == 1
    assert set(UNSUB_LINK.findall(html)) == set(UNSUB_LINK.findall(text))
