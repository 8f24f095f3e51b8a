"""The SendGrid sender: the real ``sendgrid`` client against a local HTTP server (``api_host``)."""

from __future__ import annotations

import pickle
import time

import pytest

from connectors.sendgrid import MAIL_SEND_PATH, SendgridSender
from outreach.errors import ProviderError, ProviderOutcomeUnknown
from outreach.models import OutgoingEmail
from outreach.settings import SendgridSettings
from tests.core_fixtures import outgoing_email
from tests.servers.common import free_port
from tests.servers.http_stub import HttpStub


def email(draft_id: int = 42, kind: str = "survey") -> OutgoingEmail:
    return outgoing_email(draft_id, kind=kind, subject="How did we do?", text="Reply with a number from 1 to 5.")


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def sender(stub_url: str, sleeps: Sleeps | None = None, **overrides: object) -> SendgridSender:
    settings = SendgridSettings(api_host=stub_url, **{"timeout_seconds": 5.0, "max_retries": 3, **overrides})
    return SendgridSender(settings, api_key="SG.test-key", sleep=sleeps if sleeps is not None else Sleeps(), jitter=lambda: 0.5)


def test_one_message_per_draft_with_tracking_and_unsubscribe_headers(http_stub: HttpStub) -> None:
    http_stub.respond(202, headers={"X-Message-Id": "sg-msg-1"}, path=MAIL_SEND_PATH)
    result = sender(http_stub.url).send(email(42, "survey"))

    assert (result.provider, result.provider_id) == ("sendgrid", "sg-msg-1")
    [req] = http_stub.requests
    assert (req.method, req.path) == ("POST", MAIL_SEND_PATH)
    assert req.headers["authorization"] == "Bearer SG.test-key"
    body = req.json
    assert body["personalizations"] == [{"to": [{"email": "customer42@example.org"}]}]
    assert body["from"] == {"email": "support@example.com", "name": "Sam (Support)"}
    assert body["reply_to"] == {"email": "support+tok42@example.com"}
    assert body["subject"] == "How did we do?"
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert body["custom_args"] == {"draft_id": "42", "idempotency_key": "idem-42"}
    assert body["categories"] == ["survey"]
    assert body["headers"]["List-Unsubscribe"] == "<http://127.0.0.1:8025/unsubscribe/abc>"
    assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert body["headers"]["Auto-Submitted"] == "auto-generated"
    assert body["headers"]["Message-ID"] == "<outreach.tok42@example.com>"
    assert "mail_settings" not in body


def test_dry_run_uses_sandbox_mode(http_stub: HttpStub) -> None:
    sender(http_stub.url).send(email(), dry_run=True)
    assert http_stub.requests[0].json["mail_settings"] == {"sandbox_mode": {"enable": True}}


def test_429_waits_for_the_rate_limit_reset_then_retries(http_stub: HttpStub) -> None:
    reset = int(time.time()) + 7
    http_stub.respond(429, {"errors": [{"message": "too many requests"}]}, {"X-RateLimit-Reset": str(reset)})
    sleeps = Sleeps()
    result = sender(http_stub.url, sleeps).send(email())
    assert result.provider_id
    assert len(http_stub.requests) == 2
    assert len(sleeps) == 1 and 5.0 <= sleeps[0] <= 7.0


def test_5xx_retries_with_growing_backoff_then_succeeds(http_stub: HttpStub) -> None:
    http_stub.respond(500, {"errors": [{"message": "internal"}]})
    http_stub.respond(503, b"")
    sleeps = Sleeps()
    sender(http_stub.url, sleeps).send(email())
    assert len(http_stub.requests) == 3
    # jitter 0.5 → 0.75 × base × 2^attempt: 0.375 s, then 0.75 s
    assert sleeps == [pytest.approx(0.375), pytest.approx(0.75)]


def test_persistent_5xx_gives_up_after_max_retries_as_retryable(http_stub: HttpStub) -> None:
    http_stub.respond(502, b"bad gateway", times=10)
    with pytest.raises(ProviderError) as info:
        sender(http_stub.url, max_retries=2).send(email())
    assert info.value.retryable and info.value.status_code == 502
    assert len(http_stub.requests) == 3


def test_4xx_fails_with_sendgrids_reason_and_no_retry(http_stub: HttpStub) -> None:
    http_stub.respond(
        400, {"errors": [{"message": "Does not contain a valid address.", "field": "personalizations.0.to.0.email"}]}
    )
    with pytest.raises(ProviderError) as info:
        sender(http_stub.url).send(email())
    err = info.value
    assert not err.retryable and err.status_code == 400
    assert "Does not contain a valid address. (personalizations.0.to.0.email)" in str(err)
    assert len(http_stub.requests) == 1


def test_403_forbidden_is_not_retried(http_stub: HttpStub) -> None:
    http_stub.respond(403, {"errors": [{"message": "The from address does not match a verified Sender Identity."}]})
    with pytest.raises(ProviderError) as info:
        sender(http_stub.url).send(email())
    assert not info.value.retryable and "verified Sender Identity" in info.value.problem
    assert len(http_stub.requests) == 1


def test_a_silent_server_times_out_and_is_not_resent(http_stub: HttpStub) -> None:
    http_stub.respond(202, headers={"X-Message-Id": "late"}, delay=3.0)
    started = time.monotonic()
    with pytest.raises(ProviderOutcomeUnknown) as info:
        sender(http_stub.url, timeout_seconds=0.5).send(email())
    assert time.monotonic() - started < 2.5
    assert not info.value.retryable
    # The request may have been accepted: a second POST could send the email twice.
    time.sleep(0.1)
    assert len(http_stub.requests) == 1


def test_connection_refused_is_retried_then_retryable() -> None:
    sleeps = Sleeps()
    with pytest.raises(ProviderError) as info:
        sender(f"http://127.0.0.1:{free_port()}", sleeps, max_retries=2).send(email())
    assert info.value.retryable and "cannot reach" in info.value.problem
    assert len(sleeps) == 2


def test_pickled_client_errors_are_still_classified_by_status_code() -> None:
    from python_http_client.exceptions import (
        BadRequestsError,
        HTTPError,
        InternalServerError,
    )

    bad = pickle.loads(pickle.dumps(BadRequestsError(400, "Bad Request", b'{"errors":[{"message":"nope"}]}', {})))
    assert type(bad) is HTTPError  # the subclass is gone: only status_code tells
    s = sender("http://127.0.0.1:1")
    assert not s._classify(bad).retryable
    boom = pickle.loads(pickle.dumps(InternalServerError(500, "ISE", b"", {})))
    assert s._classify(boom).retryable
