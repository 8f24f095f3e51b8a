"""CLI parity with the review app (same rules, same audit entries), agents, templates check, and the review policy.

Runs the Typer app in-process against a seeded SQLite store.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.accounts import get_agent, verify_agent
from connectors.store import Store
from outreach.models import Candidate
from outreach.settings import Settings
from tests.review_fixtures import NOW, PASSWORD, Seeded

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "config" / "demo.toml")


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    """The core test settings' store (the CLI reads them), seeded by the shared ``seeded`` fixture."""
    s = Store.open(settings.store.url)
    yield s
    s.close()


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    from outreach.cli import app

    result = CliRunner().invoke(app, ["--config", CONFIG, *args], input=stdin)
    return result.exit_code, result.output + (str(result.exception) if result.exception and result.exit_code != 1 else "")


def test_agents_add_hashes_the_password_and_lists(store: Store, settings: Settings) -> None:
    code, out = run("agents", "add", "lena", "--password-stdin", "--role", "admin", stdin="a long password\n")
    assert code == 0, out
    agent = verify_agent(store, "lena", "a long password")
    assert agent is not None and agent.role == "admin"
    assert verify_agent(store, "lena", "a long passwor") is None
    from sqlalchemy import select

    from connectors.schema import agents

    with store.engine.connect() as conn:
        stored = conn.execute(select(agents.c.password_hash).where(agents.c.name == "lena")).scalar_one()
    assert stored.startswith("$argon2id$") and "a long password" not in stored
    code, out = run("agents", "list")
    assert code == 0 and "lena\tadmin\tactive" in out


def test_agents_add_refuses_weak_duplicate_and_bad_role(store: Store, settings: Settings) -> None:
    from outreach.cli import main

    assert run("agents", "add", "tom", "--password-stdin", stdin="short\n")[0] != 0
    assert get_agent(store, "tom") is None
    assert run("agents", "add", "tom", "--password-stdin", stdin="long enough pw\n")[0] == 0
    assert run("agents", "add", "tom", "--password-stdin", stdin="other long pw\n")[0] != 0
    assert run("agents", "add", "ann", "--password-stdin", "--role", "root", stdin="long enough pw\n")[0] != 0
    assert verify_agent(store, "tom", "long enough pw") is not None
    assert main(["--config", CONFIG, "agents", "disable", "tom"]) == 0
    assert verify_agent(store, "tom", "long enough pw") is None


def test_templates_check_passes_on_the_bundled_templates(settings: Settings) -> None:
    code, out = run("templates", "check")
    assert code == 0, out
    assert "templates OK" in out


def test_templates_check_fails_on_a_broken_template(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "templates"
    shutil.copytree(REPO / "templates", broken)
    (broken / "email" / "en" / "survey.txt.j2").write_text("{% extends '_layout.txt.j2' %}{% block body %}{{ no_such_variable }}{% endblock %}")
    monkeypatch.setenv("OUTREACH_PATHS__TEMPLATES_DIR", str(broken))
    code, out = run("templates", "check")
    assert code == 1
    assert "problem:" in out and "no_such_variable" in out
    from outreach.cli import main

    assert main(["--config", CONFIG, "templates", "check"]) == 1  # the console entry keeps the code too


def test_cli_approve_matches_the_web_rules_and_audit(store: Store, seeded: Seeded) -> None:
    draft_id = seeded.drafts["follow_up"]
    code, out = run("drafts", "approve", str(draft_id), "--as", "priya")
    assert code == 0, out
    row = store.get_draft(draft_id)
    assert row["status"] == "approved" and row["reviewer"] == "priya"
    entry = store.audit_log(draft_id)[0]
    assert (entry["actor"], entry["action"]) == ("priya", "approved")
    blocked = seeded.drafts["blocked"]
    code, out = run("drafts", "approve", str(blocked), "--as", "priya")
    assert code == 1 and "suppressed" in out
    assert store.get_draft(blocked)["status"] == "pending_review"
    assert store.audit_log(blocked)[0]["action"] == "approval_blocked"


def test_cli_reject_and_edit_with_gesture(store: Store, seeded: Seeded, settings: Settings, tmp_path: Path) -> None:
    code, out = run("drafts", "reject", str(seeded.drafts["survey"]), "--reason", "asked already", "--as", "priya")
    assert code == 0, out
    assert store.get_draft(seeded.drafts["survey"])["review_note"] == "asked already"
    body = tmp_path / "body.txt"
    body.write_text("Hi Cy,\n\nsorry; we added a credit to your account.\n\nPriya", encoding="utf-8")
    gesture = settings.drafts.gestures[0]
    apology = seeded.drafts["apology"]
    code, out = run("drafts", "edit", str(apology), "--text-file", str(body), "--gesture", gesture, "--as", "priya")
    assert code == 0, out
    row = store.get_draft(apology)
    assert row["gesture"] == gesture and "added a credit" in row["text"]
    assert store.audit_log(apology)[0]["action"] == "edited"
    code, _ = run("drafts", "edit", str(apology), "--gesture", "a yacht")
    assert code != 0
    assert store.get_draft(apology)["gesture"] == gesture


def test_cli_snooze(store: Store, seeded: Seeded) -> None:
    draft_id = seeded.drafts["follow_up"]
    code, out = run("drafts", "snooze", str(draft_id), "--hours", "2", "--as", "priya", "--as-of", NOW.isoformat())
    assert code == 0, out
    row = store.get_draft(draft_id)
    assert row["status"] == "pending_review" and row["not_before"] == NOW + timedelta(hours=2)
    assert store.audit_log(draft_id)[0]["action"] == "snoozed"
    late = (NOW + timedelta(days=30)).isoformat()
    code, _ = run("drafts", "snooze", str(draft_id), "--hours", "2", "--as-of", late)
    assert code != 0  # it would expire unreviewed first
    assert store.get_draft(draft_id)["not_before"] == NOW + timedelta(hours=2)


def test_policy_auto_approves_configured_kinds_and_expires_stale_drafts(
    store: Store, seeded: Seeded, settings: Settings
) -> None:
    from flows import steps

    assert "survey" in settings.drafts.auto_approve and "follow_up" not in settings.drafts.auto_approve
    bob, ada = seeded.threads["bob"], seeded.threads["ada"]
    store.sync_candidates(
        [Candidate(bob, "bob@example.org", "survey", 20, ["resolved"]),
         Candidate(ada, "ada@example.org", "check_in", 50, ["went quiet"])],
        NOW,
    )
    report = steps.draft(store, settings, NOW)
    assert report.created == 2 and report.auto_approved == 1
    new = {d["kind"]: d for d in store.list_drafts() if d["id"] not in seeded.drafts.values()}
    assert new["survey"]["status"] == "approved" and new["survey"]["reviewer"] == "policy"
    assert new["check_in"]["status"] == "pending_review"
    assert store.audit_log(new["survey"]["id"])[0]["action"] == "auto_approved"
    later = NOW + timedelta(days=settings.drafts.expire_days, hours=1)
    steps.draft(store, settings, later)
    assert store.get_draft(new["check_in"]["id"])["status"] == "expired"
    assert store.get_draft(seeded.drafts["follow_up"])["status"] == "expired"
    assert store.audit_log(seeded.drafts["follow_up"])[0]["action"] == "expired"
    assert PASSWORD  # agents from the seed are untouched by drafting
