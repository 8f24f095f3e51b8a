"""One draft that cannot become an email fails alone; the rest of the batch is sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import insert

from connectors.files import FileOutbox
from connectors.schema import drafts, threads
from connectors.store import Store
from flows import steps
from outreach.settings import Settings

NOW = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)


def test_a_draft_with_a_broken_header_fails_alone_and_the_batch_goes_out(settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = settings.model_copy(update={
        "throttle": settings.throttle.model_copy(update={"respect_send_window": False, "max_per_hour": 100, "max_per_day": 100}),
    })
    with Store.open(settings.store.url) as store:
        with store.write() as conn:
            tid = conn.execute(insert(threads).values(root_message_id="r@x", subject="s", updated_at=NOW)).inserted_primary_key[0]
            for i in range(4):
                token = uuid.uuid4().hex
                subject = "Re: Refund\r\nBcc: evil@example.com" if i == 1 else f"About #{i}"
                conn.execute(insert(drafts).values(
                    thread_id=tid, customer=f"c{i}@example.org", kind="follow_up", priority=10 - i,
                    template="email/en/follow_up", language="en", subject=subject, text="We fixed it.", html=None,
                    context={}, status="approved", created_at=NOW, reviewed_at=NOW, idempotency_key=token,
                    reply_token=token[:26], message_id=f"outreach.{token}@example.com",
                ))
        report = steps.send(store, FileOutbox(settings.outbox.path), settings, NOW)
        statuses = {d["customer"]: (d["status"], d["error"]) for d in store.list_drafts(status=None)}
    assert report.sent == 3 and report.failed == 1
    status, error = statuses["c1@example.org"]
    assert status == "failed" and "cannot build the email" in error
    assert all(statuses[f"c{i}@example.org"][0] == "sent" for i in (0, 2, 3))
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 3


def test_a_subject_must_stay_one_line_when_edited(settings: Settings) -> None:
    import pytest

    from outreach.errors import OutreachError

    with Store.open(settings.store.url) as store, pytest.raises(OutreachError, match="one line"):
        steps.edit(store, settings, 1, subject="Re: x\r\nBcc: evil@example.com", text_body="t", reviewer="a", now=NOW)
