"""``outreach drafts``: filters are choices, repeated actions are idempotent, an empty edit is a usage error.

Runs through ``outreach.cli:main`` and the installed console script (see test_cli_errors).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.store import Store
from outreach.models import DRAFT_STATUSES, DraftKind
from tests.review_fixtures import Seeded
from tests.unit.test_cli_errors import Outcome, assert_usage_error, run_main, run_script


@pytest.fixture
def drafts(seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Five pending drafts in the store that OUTREACH_STORE__URL names (set by the settings fixture)."""
    monkeypatch.chdir(tmp_path)
    return seeded.drafts


def actions(store: Store, draft_id: int, action: str) -> list[dict[str, object]]:
    return [a for a in store.audit_log(draft_id) if a["action"] == action]


# -- filters -----------------------------------------------------------------------


def test_status_and_kind_filters_select_drafts(drafts: dict[str, int], capsys: pytest.CaptureFixture[str]) -> None:
    outcome = run_main(capsys, "drafts", "list", "--status", "pending_review", "--kind", "survey", "--json")
    assert outcome.code == 0, outcome
    assert sorted(r["id"] for r in json.loads(outcome.out)) == sorted([drafts["survey"], drafts["survey2"]])


@pytest.mark.parametrize(
    ("option", "value"), [("--status", "pending"), ("--status", "bogus"), ("--kind", "bogus")]
)
def test_unknown_filter_value_is_a_usage_error_listing_the_choices(
    drafts: dict[str, int], capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    listed = "'pending_review', 'approved'" if option == "--status" else "'follow_up', 'check_in'"
    for outcome in (run_main(capsys, "drafts", "list", option, value), run_script("drafts", "list", option, value)):
        assert_usage_error(outcome, "outreach drafts list", f"'{value}' is not one of {listed}")
        assert "0 drafts" not in outcome.out


def test_approve_all_kind_is_a_choice_too(drafts: dict[str, int], capsys: pytest.CaptureFixture[str]) -> None:
    assert_usage_error(
        run_main(capsys, "drafts", "approve", "--all", "--kind", "surveys"), "outreach drafts approve", "'surveys'"
    )


def test_help_lists_every_status_and_kind(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # rich wraps long choice lists in narrow terminals
    outcome = run_main(capsys, "drafts", "list", "--help")
    assert outcome.code == 0
    assert "|".join(DRAFT_STATUSES) in outcome.out
    assert "|".join(DraftKind.__args__) in outcome.out


# -- repeated and refused actions ---------------------------------------------------


def test_approving_twice_is_idempotent(drafts: dict[str, int], store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    draft_id = drafts["follow_up"]
    first = run_main(capsys, "drafts", "approve", str(draft_id))
    assert (first.code, first.out.strip()) == (0, "approved 1")
    for again in (run_main(capsys, "drafts", "approve", str(draft_id)), run_script("drafts", "approve", str(draft_id))):
        assert again.code == 0, again
        assert again.out.strip() == f"#{draft_id} already approved"
    assert store.get_draft(draft_id)["status"] == "approved"  # type: ignore[index]
    assert len(actions(store, draft_id, "approved")) == 1


def test_approving_a_rejected_draft_says_why_in_plain_words(
    drafts: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    draft_id = drafts["apology"]
    assert run_main(capsys, "drafts", "reject", str(draft_id), "--reason", "wrong tone").code == 0
    outcome = run_main(capsys, "drafts", "approve", str(draft_id))
    assert outcome.code == 1
    assert f"not approved #{draft_id}: draft {draft_id} is rejected; it cannot be approved" in outcome.out


def test_rejecting_twice_is_idempotent_and_keeps_the_first_reason(
    drafts: dict[str, int], store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    draft_id = drafts["survey"]
    assert run_main(capsys, "drafts", "reject", str(draft_id), "--reason", "too soon").code == 0
    again = run_main(capsys, "drafts", "reject", str(draft_id), "--reason", "again")
    assert (again.code, again.out.strip()) == (0, f"#{draft_id} already rejected")
    assert store.get_draft(draft_id)["review_note"] == "too soon"  # type: ignore[index]
    assert len(actions(store, draft_id, "rejected")) == 1


def test_snoozing_a_rejected_draft_says_why_in_plain_words(
    drafts: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    draft_id = drafts["survey2"]
    run_main(capsys, "drafts", "reject", str(draft_id), "--reason", "duplicate")
    outcome = run_main(capsys, "drafts", "snooze", str(draft_id))
    assert (outcome.code, outcome.err.strip()) == (1, f"outreach: draft {draft_id} is rejected; it cannot be snoozed")


# -- edit ------------------------------------------------------------------------------


def test_edit_without_changes_is_a_usage_error_and_audits_nothing(
    drafts: dict[str, int], store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    draft_id = drafts["follow_up"]
    for outcome in (run_main(capsys, "drafts", "edit", str(draft_id)), run_script("drafts", "edit", str(draft_id))):
        assert_usage_error(outcome, "outreach drafts edit", "nothing to edit: give --subject, --text-file or --gesture")
        assert "edited" not in outcome.out
    assert actions(store, draft_id, "edited") == []


def test_edit_with_a_subject_still_edits(drafts: dict[str, int], store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    draft_id = drafts["follow_up"]
    outcome = run_main(capsys, "drafts", "edit", str(draft_id), "--subject", "Your refund")
    assert (outcome.code, outcome.out.strip()) == (0, f"edited #{draft_id}")
    assert store.get_draft(draft_id)["subject"] == "Your refund"  # type: ignore[index]


def test_edit_text_from_stdin(drafts: dict[str, int], store: Store) -> None:
    draft_id = drafts["follow_up"]
    outcome: Outcome = run_script("drafts", "edit", str(draft_id), "--text-file", "-", stdin="Hi Ada,\n\nsorted.\n")
    assert outcome.code == 0, outcome
    text = store.get_draft(draft_id)["text"]  # type: ignore[index]
    # The agent's words, then the draft's own unsubscribe footer (re-applied by every edit).
    assert text.startswith("Hi Ada,\n\nsorted.\n\n-- \n") and text.count("/unsubscribe/") == 1


def test_edit_text_file_that_is_not_text(
    drafts: dict[str, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "body.bin"
    binary.write_bytes(b"\xff\xfe\x00binary")
    outcome = run_main(capsys, "drafts", "edit", str(drafts["follow_up"]), "--text-file", str(binary))
    assert_usage_error(outcome, "outreach drafts edit", f"cannot read {binary} as UTF-8 text")


def test_editing_an_approved_draft_from_the_cli_says_it_is_back_in_review(drafts: dict[str, int], store: Store) -> None:
    draft_id = drafts["follow_up"]
    assert run_script("drafts", "approve", str(draft_id), "--as", "priya").code == 0
    outcome: Outcome = run_script("drafts", "edit", str(draft_id), "--subject", "Changed")
    assert outcome.code == 0 and "back in review" in outcome.out, outcome
    assert store.get_draft(draft_id)["status"] == "pending_review"  # type: ignore[index]


def test_an_unknown_draft_is_settled_by_the_operator(drafts: dict[str, int], store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    """After checking the provider: --sent records it, --not-sent puts it back in the send queue."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    first, second = drafts["follow_up"], drafts["survey"]
    for draft_id in (first, second):
        store.transition(draft_id, "approved", actor="t", action="approved", now=now)
        with store.write() as conn:
            store.claim(conn, [draft_id], "sender-1", now)
        store.settle_unknown(draft_id, provider="outbox", error="sender stopped", now=now)
    assert_usage_error(run_main(capsys, "drafts", "resolve", str(first)), "outreach drafts resolve", "--sent or --not-sent")
    assert run_main(capsys, "drafts", "resolve", str(first), "--sent").code == 0
    assert store.get_draft(first)["status"] == "sent"  # type: ignore[index]
    outcome = run_main(capsys, "drafts", "resolve", str(second), "--not-sent")
    assert outcome.code == 0 and "approved again" in outcome.out
    row = store.get_draft(second)
    assert row is not None and row["status"] == "approved" and row["claimed_at"] is None
    # Only unknown drafts can be settled this way.
    assert run_main(capsys, "drafts", "resolve", str(first), "--not-sent").code != 0
    assert store.get_draft(first)["status"] == "sent"  # type: ignore[index]
