"""Sending throughput: 2,000 approved drafts through ``steps.send`` + the SendGrid sender.

The endpoint is a local SendGrid-compatible server (202 + ``X-Message-Id``)
in its own process, so it does not share our interpreter. The ceiling is
bare ``httpx`` POSTs of the same payloads over one kept-alive connection, in
the same run; the target is ≥ 0.5× that rate. Our side does everything a
real send does: plan and claim under the lock, build the payload with the
sendgrid helpers, POST with the official client, settle each draft in the
store (SQLite in a temp dir).
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DRAFTS = 2000


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(202)
        self.send_header("X-Message-Id", uuid.uuid4().hex[:22])
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def _serve(port_queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


def _seed(url: str, n: int, now: datetime) -> None:
    from sqlalchemy import insert

    from connectors.schema import drafts, threads
    from connectors.store import Store

    with Store.open(url) as store, store.write() as conn:
        tid = conn.execute(insert(threads).values(root_message_id=f"b-{uuid.uuid4().hex}", updated_at=now)).inserted_primary_key[0]
        rows = []
        for i in range(n):
            token = uuid.uuid4().hex
            rows.append({
                "thread_id": tid, "customer": f"customer{i}@example.org", "kind": "follow_up", "priority": i % 100,
                "template": "email/en/follow_up", "language": "en", "subject": f"About your export #{i}",
                "text": "Hello,\n\nwe fixed the export you wrote about. " * 8, "html": "<p>We fixed the export.</p>" * 8,
                "context": {"agent_name": "Sam"}, "status": "approved", "created_at": now, "reviewed_at": now,
                "idempotency_key": token, "reply_token": token[:26], "message_id": f"outreach.{token}@example.com",
            })
        conn.execute(insert(drafts), rows)


def _settings(url: str, host: str, concurrency: int):  # type: ignore[no-untyped-def]
    from outreach.settings import Settings

    return Settings(
        store={"url": url},
        sender={"provider": "sendgrid", "batch_size": 200, "concurrency": concurrency, "signing_key": "bench-key"},
        sendgrid={"api_host": host, "max_retries": 0},
        throttle={"max_per_hour": 100_000, "max_per_day": 100_000, "respect_send_window": False},
        capacity={"handle_minutes": 0.001, "agents": [{"name": "all", "hours": "00:00-24:00",
                                                       "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}]},
    )


def _baseline(host: str, payloads: list[dict]) -> float:  # type: ignore[type-arg]
    import httpx

    with httpx.Client(base_url=host, headers={"Authorization": "Bearer SG.bench"}) as client:
        started = time.perf_counter()
        for body in payloads:
            client.post("/v3/mail/send", json=body).raise_for_status()
        return len(payloads) / (time.perf_counter() - started)


def _ours(host: str, concurrency: int) -> tuple[float, int]:
    from connectors.sendgrid import SendgridSender
    from connectors.store import Store
    from flows import steps

    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="outreach-bench-send-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'store.db'}"
        _seed(url, DRAFTS, now)
        settings = _settings(url, host, concurrency)
        sender = SendgridSender(settings.sendgrid, api_key="SG.bench")
        with Store.open(url) as store:
            started = time.perf_counter()
            report = steps.send(store, sender, settings, now)
            elapsed = time.perf_counter() - started
        sender.close()
    return report.sent / elapsed, report.sent


def _payloads(n: int) -> list[dict]:  # type: ignore[type-arg]
    from connectors.sendgrid import mail_payload
    from outreach.outgoing import outgoing_for

    settings = _settings("sqlite://", "http://x", 1)
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        token = uuid.uuid4().hex
        row = {"id": i + 1, "customer": f"customer{i}@example.org", "kind": "follow_up", "subject": f"About #{i}",
               "text": "Hello,\n\nwe fixed the export you wrote about. " * 8, "html": "<p>We fixed the export.</p>" * 8,
               "context": {"agent_name": "Sam"}, "idempotency_key": token, "reply_token": token[:26],
               "message_id": f"outreach.{token}@example.com", "created_at": now}
        out.append(mail_payload(outgoing_for(row, settings, "bench-key")))
    return out


def run() -> list[str]:
    ctx = multiprocessing.get_context("spawn")
    ports: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    server = ctx.Process(target=_serve, args=(ports,), daemon=True)
    server.start()
    try:
        host = f"http://127.0.0.1:{ports.get(timeout=30)}"
        ceiling = _baseline(host, _payloads(DRAFTS))
        lines = [f"ceiling: bare httpx POSTs over one kept-alive connection: {ceiling:,.0f}/s"]
        for concurrency in (1, 4):
            rate, sent = _ours(host, concurrency)
            lines.append(
                f"steps.send + SendgridSender, concurrency {concurrency}: {sent} drafts at {rate:,.0f}/s "
                f"= {rate / ceiling:.2f}× the ceiling (target ≥ 0.5×)"
            )
        return lines
    finally:
        server.terminate()
        server.join(timeout=10)


if __name__ == "__main__":
    print("\n".join(run()))
