"""connectors.survey_store on SQLite and PostgreSQL: applying a reply plan is atomic and idempotent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from connectors.schema import audit, candidates, drafts, messages, threads
from connectors.store import Store
from connectors.survey_store import apply_reply_plan, list_responses, reply_inputs
from outreach.replies import plan_replies
from outreach.settings import SurveySettings

NOW = datetime(2026, 3, 17, 10, 0, tzinfo=UTC)


def seed(store: Store) -> tuple[int, int, int, str]:
    """A sent survey, an approved follow-up approved before the reply, and the customer's reply."""
    token = uuid.uuid4().hex[:26]
    with store.write() as conn:
        tid = int(conn.execute(insert(threads).values(
            root_message_id=f"root-{token}", customer="ann@example.org", updated_at=NOW)).inserted_primary_key[0])

        def draft(kind: str, status: str, reply_token: str, reviewed_at: datetime | None) -> int:
            return int(conn.execute(insert(drafts).values(
                thread_id=tid, customer="ann@example.org", kind=kind, template=f"email/en/{kind}", subject="s",
                text="t", context={"survey_scale": "csat"}, status=status, created_at=NOW - timedelta(days=2),
                reviewed_at=reviewed_at, sent_at=NOW - timedelta(days=1) if status == "sent" else None,
                idempotency_key=uuid.uuid4().hex, reply_token=reply_token, message_id=f"m.{reply_token}@x",
            )).inserted_primary_key[0])

        survey_id = draft("survey", "sent", token, None)
        held_id = draft("check_in", "approved", uuid.uuid4().hex[:26], NOW - timedelta(days=1))
        kept_id = draft("follow_up", "approved", uuid.uuid4().hex[:26], NOW + timedelta(hours=2))
        for n, (body, auto) in enumerate([("1 - nothing works", None), ("Out of office. 5", "auto_reply")]):
            conn.execute(insert(messages).values(
                uidvalidity=1, uid=n + 1, content_hash=uuid.uuid4().hex, message_id=f"r{n}-{token}@example.org",
                references=[], thread_id=tid, direction="in", from_address="ann@example.org", to_addresses=[],
                date=NOW + timedelta(minutes=n), subject="Re: s", text=body, reply_text=body, auto_kind=auto,
                attachments=[], reply_token=token, created_at=NOW,
            ))
    return survey_id, held_id, kept_id, token


def test_apply_plan_twice(any_store: Store) -> None:
    survey_id, held_id, kept_id, _ = seed(any_store)
    settings = SurveySettings()

    def once() -> dict[str, int]:
        replies, found, existing = reply_inputs(any_store, NOW + timedelta(hours=1), 30)
        return apply_reply_plan(any_store, plan_replies(replies, found, existing, settings), NOW + timedelta(hours=1))

    first = once()
    assert first == {"replied": 1, "stopped": 1, "held": 1, "responses": 1, "candidates": 1}
    assert once() == {"replied": 0, "stopped": 0, "held": 0, "responses": 0, "candidates": 0}

    [resp] = list_responses(any_store)
    assert (resp["draft_id"], resp["score"], resp["comment"], resp["source"]) == (survey_id, 1, "nothing works", "reply")
    with any_store.engine.connect() as conn:
        status = dict(conn.execute(select(drafts.c.id, drafts.c.status)).all())
        replied = conn.execute(select(drafts.c.replied_at).where(drafts.c.id == survey_id)).scalar()
        stopped = conn.execute(select(threads.c.automation_stopped)).scalar()
        [cand] = conn.execute(select(candidates)).mappings().all()
        held = conn.execute(select(audit.c.draft_id).where(audit.c.action == "held_for_review")).scalars().all()
    # The check-in approved before the reply goes back to review; the later approval stands.
    assert (status[held_id], status[kept_id]) == ("pending_review", "approved") and held == [held_id]
    assert replied is not None and replied.replace(tzinfo=UTC) == NOW and stopped is True
    assert (cand["kind"], cand["source"], cand["status"]) == ("apology", "loop", "open")
    assert "nothing works" in cand["reasons"][0]
