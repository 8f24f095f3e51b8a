"""Exactly-once sending: parallel ``outreach send`` processes share one budget and never send a
draft twice; a sender killed mid-batch leaves its in-flight draft ``unknown``, never resent.

Runs on SQLite and on a real PostgreSQL, against a local SendGrid-compatible endpoint that
records every request's ``custom_args.draft_id``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from connectors.schema import drafts, threads
from connectors.store import Store
from tests.servers.http_stub import HttpStub, StubRequest, StubResponse

REPO = Path(__file__).resolve().parents[2]
OUTREACH = [sys.executable, "-c", "import sys; from outreach.cli import main; sys.exit(main())"]


def seed_approved(store: Store, n: int, now: datetime) -> list[int]:
    """``n`` approved follow-ups to ``n`` different customers, priorities n..1."""
    with store.write() as conn:
        thread_id = conn.execute(
            insert(threads).values(root_message_id=f"root-{uuid.uuid4().hex}@x", subject="Export broken", updated_at=now)
        ).inserted_primary_key[0]
        rows = []
        for i in range(n):
            token = uuid.uuid4().hex
            rows.append({
                "thread_id": thread_id, "customer": f"customer{i}@example.org", "kind": "follow_up",
                "priority": n - i, "template": "email/en/follow_up", "language": "en",
                "subject": f"About your export #{i}", "text": "We fixed it.", "html": None, "context": {},
                "status": "approved", "created_at": now, "reviewed_at": now, "idempotency_key": token,
                "reply_token": token[:26], "message_id": f"outreach.{token}@example.com",
            })
        conn.execute(insert(drafts), rows)
    return [int(d["id"]) for d in store.list_drafts(status="approved")]


def write_config(tmp_path: Path, url: str, stub: HttpStub, *, cap: int, batch: int, concurrency: int) -> Path:
    agents = "\n".join(
        f'[[capacity.agents]]\nname = "a{i}"\nhours = "00:00-24:00"\n'
        'days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n'
        for i in range(10)
    )
    path = tmp_path / "send.toml"
    path.write_text(
        f'[store]\nurl = "{url}"\n'
        f'[sender]\nprovider = "sendgrid"\nbatch_size = {batch}\nconcurrency = {concurrency}\n'
        f'[sendgrid]\napi_host = "{stub.url}"\nmax_retries = 0\ntimeout_seconds = 10\n'
        f"[throttle]\nmax_per_hour = {cap}\nmax_per_day = {cap}\nrespect_send_window = false\n"
        "[capacity]\nhandle_minutes = 1\nmax_utilisation = 1.0\n" + agents
    )
    return path


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    clean.update({
        "OUTREACH_SENDGRID__API_KEY": "SG.test", "OUTREACH_SENDER__SIGNING_KEY": "test-signing-key",
        "PYTHONPATH": str(REPO),
    })
    return clean


def start_sender(config: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*OUTREACH, "--config", str(config), "send", *extra],
        cwd=REPO, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def posted_draft_ids(stub: HttpStub) -> Counter[int]:
    return Counter(
        int(r.json["custom_args"]["draft_id"]) for r in list(stub.requests) if r.path == "/v3/mail/send" and r.json
    )


def slow(delay: float):  # type: ignore[no-untyped-def]
    def answer(request: StubRequest) -> StubResponse:
        return StubResponse(202, {"X-Message-Id": uuid.uuid4().hex[:22]}, b"", delay=delay)

    return answer


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres"))


def test_two_parallel_senders_share_the_caps_and_never_send_a_draft_twice(
    store_url: str, http_stub: HttpStub, tmp_path: Path
) -> None:
    http_stub.default = slow(0.02)  # both processes are mid-batch at the same time
    now = datetime.now(UTC)
    with Store.open(store_url) as store:
        ids = seed_approved(store, 60, now)
    config = write_config(tmp_path, store_url, http_stub, cap=25, batch=3, concurrency=2)

    procs = [start_sender(config) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err.decode()
    # Both really sent (the budget was shared, not taken by whoever came first).
    assert all(b"sent " in out and not out.startswith(b"sent 0,") for out, _ in outputs), outputs

    posted = posted_draft_ids(http_stub)
    assert sum(posted.values()) == 25, "the shared 24-hour cap of 25 held across both processes"
    assert max(posted.values()) == 1, f"drafts sent twice: {[d for d, n in posted.items() if n > 1]}"
    with Store.open(store_url) as store:
        sent = store.list_drafts(status="sent")
        assert {d["id"] for d in sent} == set(posted)
        assert len(store.list_drafts(status="approved")) == 35
        # Highest priority first: the 25 sent are the 25 highest.
        assert set(posted) == set(ids[:25])
        assert {d["provider"] for d in sent} == {"sendgrid"}
        assert all(d["provider_id"] for d in sent)

    # A second round with the caps spent sends nothing more.
    again = start_sender(config)
    _out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err.decode()
    assert sum(posted_draft_ids(http_stub).values()) == 25


def test_a_sender_killed_mid_batch_leaves_the_in_flight_draft_unknown_and_the_rerun_sends_no_duplicate(
    store_url: str, http_stub: HttpStub, tmp_path: Path
) -> None:
    http_stub.default = slow(0.4)
    now = datetime.now(UTC)
    with Store.open(store_url) as store:
        seed_approved(store, 12, now)
    config = write_config(tmp_path, store_url, http_stub, cap=100, batch=4, concurrency=1)

    proc = start_sender(config)
    try:
        http_stub.wait_for(3, timeout=60)  # two answered, the third in flight
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    in_flight = int(http_stub.requests[2].json["custom_args"]["draft_id"])
    before_rerun = posted_draft_ids(http_stub)
    assert sum(before_rerun.values()) == 3

    with Store.open(store_url) as store:
        stuck = {d["id"] for d in store.list_drafts(status="sending")}
        assert in_flight in stuck

    # Rerun after the reconcile window: the stuck drafts become unknown, the rest go out once.
    http_stub.default = slow(0.0)
    later = (datetime.now(UTC) + timedelta(minutes=20)).isoformat()
    rerun = start_sender(config, "--as-of", later)
    _out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err.decode()
    time.sleep(0.05)

    posted = posted_draft_ids(http_stub)
    assert max(posted.values()) == 1, f"drafts sent twice: {[d for d, n in posted.items() if n > 1]}"
    with Store.open(store_url) as store:
        unknown = {d["id"] for d in store.list_drafts(status="unknown")}
        sent = {d["id"] for d in store.list_drafts(status="sent")}
        assert in_flight in unknown
        assert unknown == stuck, "every draft the dead sender had claimed awaits an operator"
        assert sent | unknown == {d["id"] for d in store.list_drafts()}
        assert sent.isdisjoint(unknown)
        # Everything sent by the rerun was never claimed by the dead sender.
        assert set(posted) - set(before_rerun) == sent - set(before_rerun)

    listed = subprocess.run(
        [*OUTREACH, "--config", str(config), "drafts", "unknown", "--json"],
        cwd=REPO, env=env(), capture_output=True, timeout=60, check=False,
    )
    assert listed.returncode == 0, listed.stderr.decode()
    assert in_flight in {row["id"] for row in __import__("json").loads(listed.stdout)}
