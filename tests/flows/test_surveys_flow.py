"""The `outreach-surveys` flow under a real Prefect test server: a reply's score closes the loop."""

from __future__ import annotations

import mailbox
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from connectors.schema import drafts, threads
from connectors.store import Store
from connectors.survey_store import list_responses
from outreach.settings import Settings

pytestmark = pytest.mark.flows

SENT = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)


def test_surveys_flow_reads_the_answer_and_drafts_the_apology_for_review(
    prefect_harness: None, settings: Settings, tmp_path: Path
) -> None:
    from flows.surveys import SurveyParams, outreach_surveys

    token = uuid.uuid4().hex[:26]
    with Store.open(settings.store.url) as store:
        with store.write() as conn:
            tid = conn.execute(insert(threads).values(
                root_message_id="q1@example.org", customer="ann@example.org", updated_at=SENT,
            )).inserted_primary_key[0]
            conn.execute(insert(drafts).values(
                thread_id=tid, customer="ann@example.org", kind="survey", template="email/en/survey",
                subject="How did we do?", text="Just reply with a number from 1 (poor) to 5 (great).",
                context={"survey_scale": "csat"}, status="sent", created_at=SENT, sent_at=SENT,
                idempotency_key=token, reply_token=token, message_id=f"outreach.{token}@example.com",
            ))
    box = mailbox.mbox(str(tmp_path / "in.mbox"))
    box.add(
        f"From: Ann <ann@example.org>\nTo: support+{token}@example.com\nSubject: Re: How did we do?\n"
        f"Message-ID: <r1@example.org>\nIn-Reply-To: <outreach.{token}@example.com>\n"
        f"Date: Mon, 16 Mar 2026 15:00:00 +0000\n\n1, nobody fixed my invoice\n\n"
        f"On Mon, 16 Mar 2026, Sam wrote:\n> Just reply with a number from 1 (poor) to 5 (great).\n"
    )
    box.flush()
    box.close()

    params = SurveyParams(config=None, source=f"mbox:{tmp_path / 'in.mbox'}", as_of=(SENT + timedelta(hours=6)).isoformat())
    first = outreach_surveys(params)
    second = outreach_surveys(params)

    assert first["sync"]["stored"] == 1 and second["sync"]["stored"] == 0
    # sync already acted on the reply; the explicit replies task finds nothing left to change.
    assert first["replies"]["seen"] == 1 and first["replies"]["responses"] == 0
    assert first["drafts"]["created"] == 1 and second["drafts"]["created"] == 0
    with Store.open(settings.store.url) as store:
        [response] = list_responses(store)
        [apology] = store.list_drafts(kind="apology")
    assert (response["score"], response["comment"]) == (1, "nobody fixed my invoice")
    assert apology["status"] == "pending_review"
    assert "nobody fixed my invoice" in apology["context"]["reasons"][0]
