"""A scripted HTTP server for tests; it stands in for SendGrid's API.

Fixture ``http_stub`` (:class:`HttpStub`): threaded stdlib server on 127.0.0.1 that records
every request and answers from a script of responses, falling back to a default:
``POST /v3/mail/send`` → 202 with a fresh ``X-Message-Id``; anything else → 200 ``{}``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest


@dataclass(frozen=True)
class StubRequest:
    """One recorded request. ``headers`` keys are lower-case; ``json`` is None unless JSON."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    json: Any


@dataclass
class StubResponse:
    """A scripted answer. ``body`` may be bytes, str or a JSON-able object; ``delay`` in seconds."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = b""
    delay: float = 0.0
    path: str | None = None  # only for requests to this path (None: any)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            return self.body, headers
        if isinstance(self.body, str):
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            return self.body.encode(), headers
        headers.setdefault("Content-Type", "application/json")
        return json.dumps(self.body).encode(), headers


def default_response(request: StubRequest) -> StubResponse:
    """SendGrid-like default: 202 + X-Message-Id for mail/send, 200 ``{}`` otherwise."""
    if request.method == "POST" and request.path == "/v3/mail/send":
        return StubResponse(202, {"X-Message-Id": uuid.uuid4().hex[:22]}, b"")
    return StubResponse(200, {}, {})


@dataclass
class HttpStub:
    """A running stub.

    Attributes:
        url: ``http://127.0.0.1:<port>`` (no trailing slash).
        requests: Recorded requests, in arrival order.
        default: Function answering requests no scripted response matches.
    """

    host: str = "127.0.0.1"
    port: int = 0
    requests: list[StubRequest] = field(default_factory=list)
    script: list[StubResponse] = field(default_factory=list)
    default: Callable[[StubRequest], StubResponse] = default_response
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def respond(
        self,
        status: int = 200,
        body: Any = b"",
        headers: dict[str, str] | None = None,
        *,
        delay: float = 0.0,
        path: str | None = None,
        times: int = 1,
    ) -> None:
        """Queue an answer for the next matching request(s), in order."""
        with self.lock:
            for _ in range(times):
                self.script.append(StubResponse(status, dict(headers or {}), body, delay, path))

    def _answer(self, request: StubRequest) -> StubResponse:
        with self.lock:
            self.requests.append(request)
            for i, scripted in enumerate(self.script):
                if scripted.path is None or scripted.path == request.path:
                    return self.script.pop(i)
        return self.default(request)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[StubRequest]:
        """Wait until at least ``count`` requests arrived; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} requests, got {len(self.requests)}")


def _handler_for(stub: HttpStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parsed: Any = None
            if body and "json" in (self.headers.get("Content-Type") or ""):
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None
            parts = urlsplit(self.path)
            request = StubRequest(
                method=self.command,
                path=parts.path,
                query=parts.query,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                json=parsed,
            )
            answer = stub._answer(request)
            if answer.delay:
                time.sleep(answer.delay)
            payload, headers = answer.encoded()
            try:
                self.send_response(answer.status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass  # keep test output clean; requests are recorded instead

    return Handler


@pytest.fixture
def http_stub() -> Iterator[HttpStub]:
    """A scripted HTTP server on a free port; see :class:`HttpStub`."""
    stub = HttpStub()
    server = ThreadingHTTPServer((stub.host, 0), _handler_for(stub))
    server.daemon_threads = True
    stub.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, name="http-stub", daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
