"""No request body larger than the limit is ever read into memory, on any route, logged in or not."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from outreach.links import make_unsubscribe_token
from outreach.review.app import create_app
from outreach.review.body_limit import MAX_REQUEST_BYTES
from outreach.review.context import WebContext
from outreach.settings import Settings
from tests.review_fixtures import Clock

pytestmark = pytest.mark.integration

MB = 1024 * 1024


@pytest.fixture
def app(review_settings: Settings, store: Any) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sendgrid = review_settings.sendgrid.model_copy(update={"webhook_public_key": base64.b64encode(public).decode()})
    settings = review_settings.model_copy(update={"sendgrid": sendgrid})
    return create_app(WebContext(settings, store, "test-signing-key", Clock()))


async def post_chunks(app: Any, path: str, chunks: int, headers: dict[str, str] | None = None) -> tuple[int, int]:
    """POST ``chunks`` MB without a Content-Length; returns (status, MB the app pulled)."""
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(chunks):
            pulled += 1
            yield b"a" * MB

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post(path, content=body(), headers=headers or {})
    return response.status_code, pulled


@pytest.mark.parametrize(
    ("path", "headers", "refusal"),
    [
        ("/webhooks/sendgrid", {"X-Twilio-Email-Event-Webhook-Signature": "x", "X-Twilio-Email-Event-Webhook-Timestamp": "1"}, 413),
        ("/survey/not-a-token", {"Content-Type": "application/x-www-form-urlencoded"}, 413),
        (f"/unsubscribe/{make_unsubscribe_token('jane@example.org', 'test-signing-key')}", {}, 413),
        # Starlette's own form parser stops a field at 1 MB first.
        ("/login", {"Content-Type": "application/x-www-form-urlencoded"}, 400),
    ],
)
def test_a_streamed_body_is_cut_off_at_the_limit(app: Any, path: str, headers: dict[str, str], refusal: int) -> None:
    status, pulled = asyncio.run(post_chunks(app, path, 200, headers))
    assert status == refusal
    assert pulled <= MAX_REQUEST_BYTES // MB + 2  # not the 200 MB sent


def test_a_declared_length_over_the_limit_is_refused_unread(app: Any) -> None:
    async def run() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            big = b"x" * (MAX_REQUEST_BYTES + 1)
            return (await client.post("/login", content=big)).status_code

    assert asyncio.run(run()) == 413


def test_bodies_under_the_limit_reach_the_route(app: Any) -> None:
    # Unsigned webhook of 2 MB: read and refused for its signature, not its size.
    headers = {"X-Twilio-Email-Event-Webhook-Signature": "x", "X-Twilio-Email-Event-Webhook-Timestamp": "1"}
    status, pulled = asyncio.run(post_chunks(app, "/webhooks/sendgrid", 2, headers))
    assert pulled == 2 and status == 403
