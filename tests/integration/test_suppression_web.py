"""Public suppression endpoints: one-click unsubscribe (RFC 8058) and SendGrid's signed Event Webhook."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import insert, select
from starlette.testclient import TestClient

from connectors.schema import drafts, threads
from connectors.store import Store
from outreach.links import make_unsubscribe_token
from outreach.review.context import WebContext
from outreach.review.public_suppression import SIGNATURE_HEADER, TIMESTAMP_HEADER, make_public_app
from outreach.settings import Settings
from tests.core_fixtures import tamper_signature

KEY = "test-signing-key"
NOW = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
PRIVATE = ec.generate_private_key(ec.SECP256R1())
PUBLIC_B64 = base64.b64encode(
    PRIVATE.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
).decode()


def sign(body: bytes, timestamp: str = "1772719200", key: ec.EllipticCurvePrivateKey = PRIVATE) -> dict[str, str]:
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {SIGNATURE_HEADER: base64.b64encode(signature).decode(), TIMESTAMP_HEADER: timestamp,
            "Content-Type": "application/json"}


@pytest.fixture
def web(sqlite_store: Store) -> Iterator[tuple[TestClient, Store]]:
    settings = Settings(sendgrid={"webhook_public_key": PUBLIC_B64}, team={"name": "Northwind Support"})
    ctx = WebContext(settings=settings, store=sqlite_store, signing_key=KEY, clock=lambda: NOW)
    with TestClient(make_public_app(ctx)) as client:
        yield client, sqlite_store


def seed_draft(store: Store, customer: str) -> int:
    with store.write() as conn:
        tid = conn.execute(insert(threads).values(root_message_id=f"r-{uuid.uuid4().hex}", updated_at=NOW)).inserted_primary_key[0]
        token = uuid.uuid4().hex
        return int(conn.execute(insert(drafts).values(
            thread_id=tid, customer=customer, kind="survey", template="email/en/survey", subject="s", text="t",
            context={}, status="sent", created_at=NOW, idempotency_key=token, reply_token=token[:26],
            message_id=f"m.{token}@x",
        )).inserted_primary_key[0])


def test_get_shows_a_confirm_page_and_suppresses_nobody(web: tuple[TestClient, Store]) -> None:
    client, store = web
    token = make_unsubscribe_token("Jane@Example.org", KEY)
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200
    assert "j***@example.org" in page.text and "jane@example.org" not in page.text
    assert 'method=post' in page.text and "Northwind Support" in page.text
    assert store.suppressed() == set()


def test_one_click_post_is_honoured_without_login_or_csrf(web: tuple[TestClient, Store]) -> None:
    client, store = web
    token = make_unsubscribe_token("jane@example.org", KEY)
    res = client.post(
        f"/unsubscribe/{token}", content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert res.status_code == 200 and "unsubscribed" in res.text
    assert store.suppressed() == {"jane@example.org"}
    assert any(a["action"] == "unsubscribed" and a["detail"]["via"] == "one-click" for a in store.audit_log())
    # Twice is harmless.
    assert client.post(f"/unsubscribe/{token}", content=b"List-Unsubscribe=One-Click").status_code == 200
    assert store.suppressed() == {"jane@example.org"}


@pytest.mark.parametrize(
    ("accept_language", "lang", "button", "done"),
    [
        (None, "en", "Unsubscribe", "You are unsubscribed"),
        ("fr-CH, fr;q=0.9, en;q=0.8", "fr", "Me désabonner", "Votre désabonnement est enregistré"),
        ("es-MX,es;q=0.9", "es", "Darme de baja", "Se ha dado de baja"),
        ("it, de;q=0.8", "de", "Abmelden", "Sie sind abgemeldet"),
    ],
)
def test_the_unsubscribe_pages_speak_the_browsers_language(
    web: tuple[TestClient, Store], accept_language: str | None, lang: str, button: str, done: str
) -> None:
    client, store = web
    headers = {"Accept-Language": accept_language} if accept_language else {}
    token = make_unsubscribe_token("jane@example.org", KEY)
    page = client.get(f"/unsubscribe/{token}", headers=headers)
    assert f"<html lang={lang}>" in page.text and f">{button}</button>" in page.text
    assert "j***@example.org" in page.text and "Northwind Support" in page.text
    res = client.post(f"/unsubscribe/{token}", content=b"List-Unsubscribe=One-Click", headers={
        **headers, "Content-Type": "application/x-www-form-urlencoded"})
    assert res.status_code == 200 and done in res.text
    assert store.suppressed() == {"jane@example.org"}


def test_a_tampered_or_foreign_token_is_refused(web: tuple[TestClient, Store]) -> None:
    client, store = web
    good = make_unsubscribe_token("jane@example.org", KEY)
    forged = make_unsubscribe_token("jane@example.org", "another-key")
    for token in (tamper_signature(good), forged):
        assert client.post(f"/unsubscribe/{token}", content=b"List-Unsubscribe=One-Click").status_code == 400
        assert client.get(f"/unsubscribe/{token}").status_code == 400
    assert store.suppressed() == set()


def test_signed_sendgrid_events_suppress_and_record_delivery(web: tuple[TestClient, Store]) -> None:
    client, store = web
    draft_id = seed_draft(store, "bounced@example.org")
    events = [
        {"email": "bounced@example.org", "event": "bounce", "type": "bounce", "reason": "550 no such user",
         "draft_id": str(draft_id), "sg_event_id": "e1", "timestamp": 1772719000},
        {"email": "spam@example.org", "event": "spamreport", "sg_event_id": "e2"},
        {"email": "unsub@example.org", "event": "group_unsubscribe", "sg_event_id": "e3"},
        {"email": "blocked@example.org", "event": "blocked", "sg_event_id": "e4"},
        {"email": "dropped@example.org", "event": "dropped", "reason": "Bounced Address", "sg_event_id": "e5"},
        {"email": "happy@example.org", "event": "delivered", "draft_id": str(draft_id), "sg_event_id": "e6"},
        {"email": "clicker@example.org", "event": "click", "sg_event_id": "e7"},
    ]
    body = json.dumps(events).encode()
    res = client.post("/webhooks/sendgrid", content=body, headers=sign(body))
    assert res.status_code == 200, res.text
    assert res.json() == {"events": 7, "suppressed": 5, "recorded": 2}
    assert store.suppressed() == {
        "bounced@example.org", "spam@example.org", "unsub@example.org", "blocked@example.org", "dropped@example.org",
    }
    actions = {a["action"] for a in store.audit_log(draft_id)}
    assert {"delivery_bounce", "delivery_delivered"} <= actions


def test_a_redelivered_event_batch_records_nothing_twice(web: tuple[TestClient, Store]) -> None:
    client, store = web
    draft_id = seed_draft(store, "bounced@example.org")
    events = [
        {"email": "bounced@example.org", "event": "bounce", "draft_id": str(draft_id), "sg_event_id": "b1"},
        {"email": "bounced@example.org", "event": "delivered", "draft_id": str(draft_id), "sg_event_id": "d1"},
    ]
    body = json.dumps(events).encode()
    assert client.post("/webhooks/sendgrid", content=body, headers=sign(body)).json()["recorded"] == 2
    again = client.post("/webhooks/sendgrid", content=body, headers=sign(body))
    assert again.status_code == 200  # acknowledged, so SendGrid stops retrying
    assert again.json() == {"events": 2, "suppressed": 0, "recorded": 0}
    entries = [a for a in store.audit_log(draft_id) if a["action"].startswith("delivery_")]
    assert sorted(a["detail"]["sg_event_id"] for a in entries) == ["b1", "d1"]
    # A new event for the same draft is still recorded.
    later = json.dumps([{**events[1], "event": "open", "sg_event_id": "o1"}]).encode()
    assert client.post("/webhooks/sendgrid", content=later, headers=sign(later)).json()["recorded"] == 1


@pytest.mark.parametrize("problem", ["tampered body", "other key", "no signature", "old timestamp reused"])
def test_events_without_a_valid_signature_are_refused(web: tuple[TestClient, Store], problem: str) -> None:
    client, store = web
    body = json.dumps([{"email": "victim@example.org", "event": "unsubscribe"}]).encode()
    headers = sign(body)
    if problem == "tampered body":
        body = body.replace(b"victim", b"target")
    elif problem == "other key":
        headers = sign(body, key=ec.generate_private_key(ec.SECP256R1()))
    elif problem == "no signature":
        headers.pop(SIGNATURE_HEADER)
    else:
        headers[TIMESTAMP_HEADER] = "1772719999"  # the signature covers the timestamp
    res = client.post("/webhooks/sendgrid", content=body, headers=headers)
    assert res.status_code == 403
    assert store.suppressed() == set()


@pytest.mark.parametrize(
    ("age", "accepted"),
    [(timedelta(hours=23), True), (timedelta(days=3, minutes=1), False), (-timedelta(minutes=30), False)],
)
def test_a_validly_signed_batch_is_accepted_only_while_fresh(
    web: tuple[TestClient, Store], age: timedelta, accepted: bool
) -> None:
    """A captured batch cannot be replayed days later; SendGrid's own retries (within a day) still land."""
    client, store = web
    body = json.dumps([{"email": "victim@example.org", "event": "unsubscribe"}]).encode()
    res = client.post("/webhooks/sendgrid", content=body, headers=sign(body, str(int((NOW - age).timestamp()))))
    assert res.status_code == (200 if accepted else 403)
    assert store.suppressed() == ({"victim@example.org"} if accepted else set())


def test_without_a_configured_key_events_are_not_accepted(sqlite_store: Store) -> None:
    ctx = WebContext(settings=Settings(), store=sqlite_store, signing_key=KEY, clock=lambda: NOW)
    body = b'[{"email": "x@example.org", "event": "bounce"}]'
    with TestClient(make_public_app(ctx)) as client:
        assert client.post("/webhooks/sendgrid", content=body, headers=sign(body)).status_code == 503
    assert sqlite_store.suppressed() == set()


def test_suppressed_customers_are_never_planned_for_sending(web: tuple[TestClient, Store]) -> None:
    import pandas as pd

    from outreach import throttle

    client, store = web
    token = make_unsubscribe_token("jane@example.org", KEY)
    client.post(f"/unsubscribe/{token}", content=b"List-Unsubscribe=One-Click")
    settings = Settings(throttle={"respect_send_window": False})
    approved = pd.DataFrame([{"id": 1, "customer": "jane@example.org", "kind": "follow_up", "priority": 90, "created_at": NOW}])
    with store.engine.connect() as conn:
        inputs = store.throttle_inputs(conn, NOW, 30)
    inputs.pop("approved")
    rates = throttle.reply_rates(inputs.pop("rate_history"), settings)
    p = throttle.plan(approved, rates=rates, settings=settings, now=NOW, **inputs)
    assert p.send == [] and "suppressed" in p.waits[1][1]


def dsn(recipient: str, returned_id: str | None, *, n: int = 1) -> bytes:
    """A Postfix-style bounce; ``returned_id`` is the Message-ID of the returned message's headers."""
    returned = (
        f"--b1\nContent-Type: text/rfc822-headers\n\nFrom: support@northwind.example\n"
        f"To: {recipient}\nSubject: Re: your order\nMessage-ID: <{returned_id}>\n\n"
        if returned_id
        else ""
    )
    return f"""From MAILER-DAEMON Thu Mar  5 14:00:00 2026
From: Mail Delivery System <MAILER-DAEMON@mx.example.com>
To: support@northwind.example
Subject: Undelivered Mail Returned to Sender
Date: Thu, 05 Mar 2026 14:00:0{n} +0000
Message-ID: <dsn-{n}@mx.example.com>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Your message could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; {recipient}
Action: failed
Status: 5.1.1

{returned}--b1--
""".encode()


STAFF_REPLY = b"""From support@northwind.example Thu Mar  5 13:00:00 2026
From: Support <support@northwind.example>
To: Gone.Customer@example.org
Subject: Re: your order
Date: Thu, 05 Mar 2026 13:00:00 +0000
Message-ID: <staff-1@northwind.example>

Your order is on its way.
"""

FORGED = b"""From attacker@evil.example Thu Mar  5 14:00:00 2026
From: Anyone <attacker@evil.example>
To: support@northwind.example
Subject: hello
Date: Thu, 05 Mar 2026 14:00:00 +0000
Message-ID: <forged-1@evil.example>
X-Failed-Recipients: ceo@bigcustomer.example, vip@client.example

hello
"""


def test_bounces_found_in_the_inbox_suppress_the_failed_address(tmp_path, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    from connectors.files import MboxSource
    from flows import steps

    mbox = tmp_path / "inbox.mbox"
    with Store.open(settings.store.url) as store:
        sent = seed_draft(store, "jane@example.org")
        with store.engine.connect() as conn:
            draft_message_id = conn.execute(select(drafts.c.message_id).where(drafts.c.id == sent)).scalar_one()
        mbox.write_bytes(dsn("Jane@example.org", draft_message_id))
        steps.sync(store, MboxSource(str(mbox)), settings)
        assert store.suppressed() == {"jane@example.org"}
        steps.sync(store, MboxSource(str(mbox)), settings)  # idempotent
        assert store.suppressed() == {"jane@example.org"}


def test_a_bounce_of_a_staff_reply_stored_later_in_the_run_still_suppresses(tmp_path, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    from connectors.files import MboxSource
    from flows import steps

    mbox = tmp_path / "inbox.mbox"
    # The bounce comes first and alone in its batch: the returned staff reply is stored after it.
    mbox.write_bytes(dsn("Gone.Customer@example.org", "staff-1@northwind.example") + b"\n" + STAFF_REPLY)
    one_by_one = settings.model_copy(update={"imap": settings.imap.model_copy(update={"batch_size": 1})})
    with Store.open(settings.store.url) as store:
        report = steps.sync(store, MboxSource(str(mbox)), one_by_one)
        assert report.stored == 2
        assert store.suppressed() == {"gone.customer@example.org"}


def test_bounce_like_mail_that_points_to_nothing_we_sent_suppresses_nobody(tmp_path, settings: Settings, caplog) -> None:  # type: ignore[no-untyped-def]
    """Anyone can write a bounce: only recipients of the returned mail we sent may be suppressed."""
    import logging

    from connectors.files import MboxSource
    from flows import steps

    caplog.set_level(logging.INFO, logger="outreach")

    with Store.open(settings.store.url) as store:
        sent = seed_draft(store, "jane@example.org")
        with store.engine.connect() as conn:
            draft_message_id = conn.execute(select(drafts.c.message_id).where(drafts.c.id == sent)).scalar_one()
        mbox = tmp_path / "inbox.mbox"
        mbox.write_bytes(
            FORGED
            + b"\n" + dsn("ceo@bigcustomer.example", "never-sent@elsewhere.example", n=2)
            + b"\n" + dsn("ceo@bigcustomer.example", None, n=3)
            # Our real draft's Message-ID, but naming someone it was not sent to.
            + b"\n" + dsn("ceo@bigcustomer.example", draft_message_id, n=4)
        )
        report = steps.sync(store, MboxSource(str(mbox)), settings)
        assert report.stored == 4
        assert store.suppressed() == set()
        assert "4 bounce or complaint report(s) did not point to mail we sent" in caplog.text
        assert "bigcustomer" not in caplog.text
