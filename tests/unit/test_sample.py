"""The sample mailbox: deterministic, big and varied enough, parseable, with complete truth."""

from __future__ import annotations

import json
import mailbox
import re
from collections import Counter
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from outreach.sample import SAMPLE_AS_OF, SAMPLE_TEAM, SITUATIONS, conversations, generate


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = generate(tmp_path_factory.mktemp("sample"))
    return out.mbox_path, json.loads(out.truth_path.read_text(encoding="utf-8"))


def test_same_seed_same_bytes(tmp_path: Path, sample: tuple[Path, dict]) -> None:
    again = generate(tmp_path / "again")
    assert again.mbox_path.read_bytes() == sample[0].read_bytes()
    other = generate(tmp_path / "other", seed=8)
    assert other.mbox_path.read_bytes() != sample[0].read_bytes()


def test_size_and_timespan(sample: tuple[Path, dict]) -> None:
    _, truth = sample
    assert len(truth["threads"]) >= 300
    assert truth["as_of"] == SAMPLE_AS_OF.isoformat()
    assert SAMPLE_AS_OF.weekday() == 3 and SAMPLE_AS_OF.hour == 15
    convs = conversations()
    dates = [m.date for c in convs for m in c.messages]
    assert max(dates) < SAMPLE_AS_OF
    assert (SAMPLE_AS_OF - min(dates)).days >= 35


def test_every_situation_and_kind_present(sample: tuple[Path, dict]) -> None:
    _, truth = sample
    situations = Counter(t["situation"] for t in truth["threads"])
    assert set(situations) == set(SITUATIONS)
    kinds = Counter(t["expected_kind"] for t in truth["threads"])
    for kind in ("follow_up", "check_in", "survey", "apology", "call"):
        assert kinds[kind] >= 5, kinds


def test_first_customer_sentences_vary() -> None:
    convs = [c for c in conversations() if c.messages[0].direction == "in" and not c.messages[0].auto_kind]
    firsts = []
    for c in convs:
        lines = [ln for ln in c.messages[0].reply_text.split("\n\n") if ln.strip()]
        body = lines[1] if len(lines) > 2 and len(lines[0]) < 30 else lines[0]
        firsts.append(re.split(r"(?<=[.!?])\s", body.strip())[0].lower())
    assert len(set(firsts)) / len(firsts) >= 0.8


def test_repeat_customers_across_threads() -> None:
    per_customer = Counter(c.customer for c in conversations())
    assert sum(1 for n in per_customer.values() if n >= 2) >= 10


def test_every_message_parses_with_the_stdlib(sample: tuple[Path, dict]) -> None:
    mbox_path, truth = sample
    ids_in_truth = {mid for t in truth["threads"] for mid in t["message_ids"]}
    parsed, broken = set(), 0
    html_only = auto = 0
    for raw in mailbox.mbox(str(mbox_path), factory=None):
        data = raw.as_bytes()
        msg = message_from_bytes(data, policy=default)
        mid = (msg["Message-ID"] or "").strip("<> ")
        if mid not in ids_in_truth:
            broken += 1
            continue
        assert msg["From"] and msg["Date"] and msg["Subject"] is not None
        body = msg.get_body(("plain", "html"))
        assert body is not None and body.get_content().strip()
        html_only += body.get_content_type() == "text/html"
        auto += msg["Auto-Submitted"] is not None
        parsed.add(mid)
    assert parsed == ids_in_truth
    assert broken == truth["malformed"] >= 3
    assert html_only >= 5 and auto >= 5


def test_references_link_threads_and_some_parents_are_missing(sample: tuple[Path, dict]) -> None:
    convs = conversations()
    all_ids = {m.message_id for c in convs for m in c.messages}
    ghosts = 0
    for c in convs:
        for prev, m in zip(c.messages, c.messages[1:], strict=False):
            assert m.in_reply_to == prev.message_id
        first = c.messages[0]
        if first.in_reply_to:
            assert first.in_reply_to not in all_ids
            ghosts += 1
    assert ghosts >= 5


def test_truth_covers_every_thread_and_staff_matches_team(sample: tuple[Path, dict]) -> None:
    _, truth = sample
    convs = conversations()
    assert [t["root_message_id"] for t in truth["threads"]] == [c.root_message_id for c in convs]
    assert truth["team"]["addresses"] == SAMPLE_TEAM["addresses"]
    staff = set(SAMPLE_TEAM["addresses"])
    for c in convs:
        for m in c.messages:
            assert (m.from_address in staff) == (m.direction == "out")
    for t in truth["threads"]:
        assert t["situation"] in SITUATIONS
        assert t["expected_kind"] in (None, "follow_up", "check_in", "survey", "apology", "call")
