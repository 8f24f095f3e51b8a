"""``outreach surveys list|metrics`` on a real SQLite store."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from typer.testing import CliRunner

from connectors.schema import drafts, threads
from connectors.store import Store
from connectors.survey_store import save_answer
from outreach.cli import app
from outreach.replies import ResponseUpdate
from outreach.settings import Settings

NOW = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)


def seed(store: Store, customer: str) -> tuple[int, int]:
    with store.write() as conn:
        tid = int(conn.execute(
            insert(threads).values(root_message_id=f"r-{uuid.uuid4().hex}", customer=customer, updated_at=NOW)
        ).inserted_primary_key[0])
        token = uuid.uuid4().hex
        did = int(conn.execute(insert(drafts).values(
            thread_id=tid, customer=customer, kind="survey", template="email/en/survey", subject="s", text="t",
            context={"survey_scale": "csat"}, status="sent", created_at=NOW, sent_at=NOW - timedelta(days=1),
            idempotency_key=token, reply_token=token[:26], message_id=f"m.{token}@x",
        )).inserted_primary_key[0])
    return did, tid


def answer(draft_id: int, score: int | None, *, review: bool = False, source: str = "reply") -> ResponseUpdate:
    return ResponseUpdate(
        draft_id=draft_id, scale="csat", score=score, comment="3 or 4" if review else "fine",
        status="ambiguous" if review else "ok", needs_review=review, source=source,  # type: ignore[arg-type]
        message_id=None if source == "link" else f"{uuid.uuid4().hex}@example.org", answered_at=NOW,
    )


def test_surveys_list_and_metrics_json(settings: Settings) -> None:
    store = Store.open(settings.store.url)
    try:
        first, first_thread = seed(store, "ann@example.org")
        second, _ = seed(store, "bob@example.org")
        seed(store, "cy@example.org")  # sent, not answered
        save_answer(store, answer(first, 4, source="link"), None, NOW)
        save_answer(store, answer(second, None, review=True), None, NOW + timedelta(minutes=5))
    finally:
        store.close()
    runner = CliRunner()
    listed = runner.invoke(app, ["surveys", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [r["customer"] for r in rows] == ["bob@example.org", "ann@example.org"]  # newest first
    assert rows[0]["score"] is None and rows[0]["needs_review"] is True and rows[0]["comment"] == "3 or 4"
    assert (rows[1]["score"], rows[1]["source"], rows[1]["thread_id"], rows[1]["scale"]) == (4, "link", first_thread, "csat")
    assert rows[1]["time"].startswith("2026-03-05T14:00")
    review = json.loads(runner.invoke(app, ["surveys", "list", "--json", "--needs-review"]).output)
    assert [r["customer"] for r in review] == ["bob@example.org"]
    table = runner.invoke(app, ["surveys", "list"])
    assert table.exit_code == 0 and "(review)" in table.output

    metrics = runner.invoke(app, ["surveys", "metrics", "--json"])
    assert metrics.exit_code == 0, metrics.output
    overall = json.loads(metrics.output)["overall"]
    assert (overall["sent"], overall["answered"], overall["csat"], overall["needs_review"]) == (3, 2, 100.0, 1)
