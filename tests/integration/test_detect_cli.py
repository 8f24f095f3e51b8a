"""Detection through the whole CLI path: mail in an mbox, `outreach sync`, `outreach detect --json`.

The acknowledgement-only rule depends on what ingest stores (the staff
reply's own words without the quoted history, the customer's cached tone),
so it is checked here on real messages rather than on hand-built frames.
"""

from __future__ import annotations

import json
import mailbox
import os
import subprocess
import sys
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMPLAINT = (
    "Hi,\n\nThe CSV export still leaves out our custom fields, so our weekly report is incomplete.\n\n{name}\n"
)
ACKNOWLEDGED = (
    "Hi {name},\n\nThank you for contacting us. We have passed your message on to the team.\n\n"
    "Kind regards,\nPriya Patel\nSupport Lead, Northwind\n+1 555 0100\n\n"
    "On Tue, 10 Mar 2026 at 10:00, {name} wrote:\n> The CSV export still leaves out our custom fields.\n"
)
ANSWERED = (
    "Hi {name},\n\nThanks for reaching out. Custom fields are included once you tick "
    "'Include custom fields' on the export screen.\n\nBest,\nPriya\n\n"
    "On Tue, 10 Mar 2026 at 10:00, {name} wrote:\n> The CSV export still leaves out our custom fields.\n"
)


def _message(sender: str, to: str, when: datetime, body: str, msg_id: str, parent: str | None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Date"] = sender, to, format_datetime(when)
    msg["Subject"] = "Re: CSV export" if parent else "CSV export"
    msg["Message-ID"] = f"<{msg_id}@example.net>"
    if parent:
        msg["In-Reply-To"] = f"<{parent}@example.net>"
    msg.set_content(body)
    return msg


def _outreach(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    env.update(
        OUTREACH_STORE__URL=f"sqlite:///{tmp / 'store.db'}",
        OUTREACH_TEAM__DOMAINS='["northwind.example"]',
    )
    return subprocess.run(
        [sys.executable, "-m", "outreach.cli", *args],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=180, check=False,
    )


def test_a_complaint_we_only_acknowledged_gets_a_check_in_and_an_answered_one_does_not(tmp_path: Path) -> None:
    box = mailbox.mbox(str(tmp_path / "in.mbox"))
    asked, replied = datetime(2026, 3, 10, 10, 0, tzinfo=UTC), datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    for name, reply in (("Ann", ACKNOWLEDGED), ("Bob", ANSWERED)):
        customer = f"{name} <{name.lower()}@example.com>"
        box.add(_message(customer, "help@northwind.example", asked, COMPLAINT.format(name=name), f"c-{name}", None))
        box.add(_message("Priya <priya@northwind.example>", customer, replied, reply.format(name=name),
                         f"s-{name}", f"c-{name}"))
    box.close()

    synced = _outreach("sync", "--source", f"mbox:{tmp_path / 'in.mbox'}", tmp=tmp_path)
    assert synced.returncode == 0, synced.stderr
    found = _outreach("detect", "--as-of", "2026-03-19T15:00:00+00:00", "--json", tmp=tmp_path)
    assert found.returncode == 0, found.stderr

    by_customer = {c["customer"]: c for c in json.loads(found.stdout)}
    assert set(by_customer) == {"ann@example.com"}, by_customer
    ann = by_customer["ann@example.com"]
    assert ann["kind"] == "check_in"
    assert ann["reasons"][0] == (
        "quiet for 9 days after a reply that only acknowledged their message ('Thank you for contacting us.')"
    )
    assert any(r.startswith("mildly negative tone") and "custom fields" in r for r in ann["reasons"])
