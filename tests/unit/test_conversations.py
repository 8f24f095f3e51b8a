"""Conversation threading: headers, ghosts, duplicates, loops, tokens, subject fallback, increments."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.conversations import (
    ThreadIndex,
    ThreadingError,
    ThreadInput,
    ThreadUpdate,
    group,
    parent_of,
)
from outreach.subjects import normalise_subject, split_subject

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
STAFF = "help@shop.example"


def msg(
    key: int,
    mid: str,
    irt: str | None = None,
    refs: Iterable[str] = (),
    *,
    subject: str = "Parcel never arrived",
    customer: str | None = "ann@example.com",
    days: float = 0,
    token: str | None = None,
    participants: Iterable[str] | None = None,
) -> ThreadInput:
    people = frozenset(participants) if participants is not None else frozenset({customer or "bob@example.com", STAFF})
    return ThreadInput(
        key=key,
        message_id=mid,
        in_reply_to=irt,
        references=tuple(refs),
        subject=subject,
        participants=people,
        customer=customer,
        date=T0 + timedelta(days=days),
        reply_token=token,
    )


def partition(grouping: dict[int, int]) -> set[frozenset[int]]:
    """Key groups, independent of the numbers used to name them."""
    groups: dict[int, set[int]] = {}
    for key, thread in grouping.items():
        groups.setdefault(thread, set()).add(key)
    return {frozenset(g) for g in groups.values()}


class FakeStore:
    """Applies updates the way connectors/store.py does: create, merge, point."""

    def __init__(self) -> None:
        self.thread_of: dict[int, int] = {}
        self.rows: dict[int, ThreadInput] = {}
        self.next_id = 100
        self.history: list[ThreadUpdate] = []
        self.token_threads: dict[str, int] = {}  # drafts' reply tokens, re-pointed on merges

    def apply(self, batch: Sequence[ThreadInput], update: ThreadUpdate, index: ThreadIndex | None) -> None:
        self.history.append(update)
        assert set(update.assigned) == {m.key for m in batch}
        assert set(update.new_roots) == {t for t in update.assigned.values() if t < 0}
        for source, target in update.merges.items():
            assert source > 0 and target > 0 and target < source
            assert target not in update.merges, "merge chains must be flattened"
            for key, thread in self.thread_of.items():
                if thread == source:
                    self.thread_of[key] = target
            for token, thread in self.token_threads.items():
                if thread == source:
                    self.token_threads[token] = target
        created: dict[int, int] = {}
        for placeholder in sorted(update.new_roots, reverse=True):
            created[placeholder] = self.next_id
            self.next_id += 1
        for message in batch:
            thread = update.assigned[message.key]
            self.thread_of[message.key] = created[thread] if thread < 0 else update.merges.get(thread, thread)
            self.rows[message.key] = message
        if index is not None:
            for placeholder, thread_id in created.items():
                index.resolve(placeholder, thread_id)

    def stored(self) -> list[tuple[ThreadInput, int]]:
        return [(self.rows[k], t) for k, t in self.thread_of.items()]


def thread_in_batches(
    messages: Sequence[ThreadInput],
    cuts: Sequence[int],
    *,
    reload: bool,
    seed: Sequence[tuple[ThreadInput, int]] = (),
    tokens: dict[str, int] | None = None,
    **options: object,
) -> FakeStore:
    """Thread ``messages`` split at ``cuts``, with one long-lived index or a fresh one per batch.

    ``seed`` are messages already stored with their thread ids (drafts'
    threads that ``tokens`` point at).
    """
    store = FakeStore()
    store.token_threads = dict(tokens or {})
    for message, thread in seed:
        store.thread_of[message.key] = thread
        store.rows[message.key] = message
    bounds = [0, *sorted(set(cuts)), len(messages)]
    index = ThreadIndex.empty(**options)  # type: ignore[arg-type]
    index.load(store.stored())
    for start, stop in itertools.pairwise(bounds):
        batch = messages[start:stop]
        if not batch:
            continue
        if reload:
            index = ThreadIndex.empty(**options)  # type: ignore[arg-type]
            index.load(store.stored())
        before = dict(store.thread_of)
        update = index.add(batch, store.token_threads)
        store.apply(batch, update, None if reload else index)
        # Thread ids are stable: a stored message only moves when its thread was merged.
        for key, thread in before.items():
            if store.thread_of[key] != thread:
                assert update.merges.get(thread) == store.thread_of[key]
    return store


# -- headers -----------------------------------------------------------------


def test_missing_parent_ghost_joins_its_children_and_keeps_the_id_when_it_arrives() -> None:
    index = ThreadIndex.empty()
    first = index.add([msg(1, "c1", "root", ["root"]), msg(2, "c2", "root", ["root"], days=1)])
    assert first.assigned == {1: -1, 2: -1}
    assert first.new_roots == {-1: "c1"}
    index.resolve(-1, 7)
    later = index.add([msg(3, "root", days=-1), msg(4, "gc", "c2", ["root", "c2"], days=2)])
    assert later.assigned == {3: 7, 4: 7}
    assert later.merges == {} and later.new_roots == {}


def test_ghost_in_the_middle_of_references_still_links() -> None:
    # fake-root/real-root from notmuch's ghost-root set: a middle ancestor is missing.
    grouping = group(
        [
            msg(1, "real-root"),
            msg(2, "fake", "nonexistent", ["real-root", "child", "nonexistent"]),
            msg(3, "unrelated", subject="Other"),
        ]
    )
    assert partition(grouping) == {frozenset({1, 2}), frozenset({3})}


def test_duplicate_message_ids_join_and_bring_all_their_references() -> None:
    # Like notmuch's duplicate/msg-3-*: one Message-ID, different References.
    messages = [
        msg(1, "dup", refs=["bug-1"], subject="Bug 1"),
        msg(2, "dup", refs=["bug-2"], subject="Bug 2"),
        msg(3, "reply-to-bug-2", "bug-2", ["bug-2"], subject="Re: Bug 2"),
        msg(4, "alone", subject="Something else"),
    ]
    assert partition(group(messages)) == {frozenset({1, 2, 3}), frozenset({4})}


def test_messages_without_message_id_never_join_each_other() -> None:
    assert partition(group([msg(1, ""), msg(2, "  "), msg(3, "<>")], subject_window=None)) == {
        frozenset({1}),
        frozenset({2}),
        frozenset({3}),
    }


def test_angle_brackets_and_whitespace_do_not_split_threads() -> None:
    assert partition(group([msg(1, "<a@x>"), msg(2, "b@x", " <a@x> ")])) == {frozenset({1, 2})}


def test_reference_loops_and_self_references_are_harmless() -> None:
    messages = [
        msg(1, "loop-12", "loop-21"),
        msg(2, "loop-21", "loop-12"),
        msg(3, "selfish", "selfish", ["selfish"], subject="Another topic"),
        msg(4, "cycle-a", refs=["cycle-c", "cycle-b"], subject="t"),
        msg(5, "cycle-b", refs=["cycle-a"], subject="t"),
        msg(6, "cycle-c", refs=["cycle-b"], subject="t"),
    ]
    assert partition(group(messages)) == {frozenset({1, 2}), frozenset({3}), frozenset({4, 5, 6})}


def test_conflicting_in_reply_to_and_references_link_both_like_notmuch() -> None:
    # notmuch puts a message in one thread with everything either header names.
    messages = [
        msg(1, "root-a", subject="A"),
        msg(2, "root-b", subject="B"),
        msg(3, "child", "root-a", ["root-b"], subject="Re: A"),
    ]
    assert partition(group(messages)) == {frozenset({1, 2, 3})}


def test_parent_of_prefers_a_present_in_reply_to_then_the_newest_present_reference() -> None:
    child = msg(1, "B01-child", "B00-root", ["B00--root"])  # notmuch's parent-priority case
    assert parent_of(child, {"B00-root", "B01-child"}) == "B00-root"
    grand = msg(2, "gc", "missing", ["B00-root", "B01-child"])
    assert parent_of(grand, {"B00-root", "B01-child"}) == "B01-child"
    assert parent_of(grand, {"B00-root"}) == "B00-root"
    assert parent_of(grand, set()) is None
    # Without knowing what is present: JWZ, References first.
    assert parent_of(child) == "B00--root"
    assert parent_of(msg(3, "x", "p")) == "p"
    assert parent_of(msg(4, "x", "x", ["x"])) is None


# -- reply token ------------------------------------------------------------


def test_reply_token_joins_the_drafts_thread_whatever_the_headers_say() -> None:
    index = ThreadIndex.empty()
    index.load([(msg(1, "orig"), 42), (msg(2, "other", subject="Other"), 43)])
    update = index.add(
        [msg(3, "reply", "unknown-parent", subject="Totally new subject", token="tok42", days=2)],
        {"tok42": 42, "tok43": 43},
    )
    assert update.assigned == {3: 42}
    assert update.merges == {}


def test_reply_token_of_a_thread_not_loaded_still_points_there() -> None:
    update = ThreadIndex.empty().add([msg(1, "r", subject="Hi", token="t")], {"t": 9})
    assert update.assigned == {1: 9} and update.new_roots == {}


def test_unknown_reply_token_is_ignored_and_token_replies_never_subject_link() -> None:
    index = ThreadIndex.empty()
    index.load([(msg(1, "orig", subject="Refund please"), 5)])
    update = index.add([msg(2, "r", subject="Re: Refund please", token="stale", days=1)], {"other": 6})
    assert update.assigned == {2: -1}


# -- subject fallback --------------------------------------------------------


def test_subject_fallback_joins_headerless_reply_of_same_customer_within_window() -> None:
    messages = [
        msg(1, "orig", subject="[Ticket #881] Refund for order 7731"),
        msg(2, "staff", "orig", ["orig"], subject="Re: Refund for order 7731", customer=None,
            participants={STAFF, "ann@example.com"}, days=1),
        msg(3, "nohdr", subject="AW: RE[2]: Refund for order 7731", days=20),
        msg(4, "late", subject="Re: Refund for order 7731", days=20 + 31),
    ]
    assert partition(group(messages)) == {frozenset({1, 2, 3}), frozenset({4})}


def test_subject_fallback_reaches_an_outgoing_message_through_its_participants() -> None:
    messages = [
        msg(1, "out", subject="Your refund", customer=None, participants={STAFF, "ann@example.com"}),
        msg(2, "in", subject="Re: Your refund", days=2),
    ]
    assert partition(group(messages)) == {frozenset({1, 2})}


def test_subject_fallback_never_joins_different_customers() -> None:
    messages = [
        msg(1, "a", subject="Refund for order 7731", customer="ann@example.com"),
        msg(2, "b", subject="Re: Refund for order 7731", customer="bob@example.com", days=1),
    ]
    assert partition(group(messages)) == {frozenset({1}), frozenset({2})}


@pytest.mark.parametrize("subject", ["Hello", "RE: question", "Re:", "", "Fwd: [list] (no subject)"])
def test_subject_fallback_never_joins_on_generic_subjects(subject: str) -> None:
    bare = normalise_subject(subject)
    messages = [msg(1, "a", subject=bare or ""), msg(2, "b", subject=f"Re: {bare}", days=1)]
    assert partition(group(messages)) == {frozenset({1}), frozenset({2})}


def test_generic_subject_list_is_a_parameter() -> None:
    messages = [msg(1, "a", subject="Refund"), msg(2, "b", subject="Re: refund", days=1)]
    assert partition(group(messages)) == {frozenset({1, 2})}
    assert partition(group(messages, generic_subjects=["REFUND"])) == {frozenset({1}), frozenset({2})}
    assert partition(group([msg(1, "a", subject="Hello"), msg(2, "b", subject="Re: hello")], generic_subjects=[])) == {
        frozenset({1, 2})
    }


def test_subject_fallback_needs_a_reply_marker_and_no_headers() -> None:
    # Two fresh mails with one subject are two issues; a reply with headers
    # pointing elsewhere trusts its headers.
    messages = [
        msg(1, "a", subject="Invoice"),
        msg(2, "b", subject="Invoice", days=1),
        msg(3, "c", "elsewhere", subject="Re: Invoice", days=2),
    ]
    assert partition(group(messages)) == {frozenset({1}), frozenset({2}), frozenset({3})}


def test_subject_fallback_can_be_switched_off_and_window_is_a_parameter() -> None:
    messages = [msg(1, "a", subject="Refund"), msg(2, "b", subject="Re: Refund", days=10)]
    assert partition(group(messages, subject_window=None)) == {frozenset({1}), frozenset({2})}
    assert partition(group(messages, subject_window=timedelta(days=5))) == {frozenset({1}), frozenset({2})}
    assert partition(group(messages, subject_window=timedelta(days=10))) == {frozenset({1, 2})}


def test_headerless_reply_arriving_before_its_original_still_joins() -> None:
    index = ThreadIndex.empty()
    first = index.add([msg(1, "reply", subject="Re: Broken zipper", days=3)])
    index.resolve(-1, 11)
    second = index.add([msg(2, "orig", subject="Broken zipper")])
    assert first.assigned == {1: -1} and second.assigned == {2: 11}


@pytest.mark.parametrize(
    ("raw", "expected", "is_reply"),
    [
        ("Re: AW: [ticket #123] Refund", "refund", True),
        ("RE[2]: Refund", "refund", True),
        ("Re^3: Refund", "refund", True),
        ("Antw: WG: SV: Refund  now", "refund now", True),
        ("Fwd: Re: Refund (fwd)", "refund", True),
        ("Re : Refund", "refund", True),
        ("回复：退款", "退款", True),
        ("Refund [SPAM]", "refund", False),
        ("Report: status", "report: status", False),
        ("Research", "research", False),
        ("[123]", "[123]", False),
    ],
)
def test_subject_normalisation(raw: str, expected: str, is_reply: bool) -> None:
    assert split_subject(raw) == (expected, is_reply)


# -- merges and the incremental protocol ----------------------------------------


def test_late_parent_merges_two_stored_threads_into_the_older() -> None:
    index = ThreadIndex.empty()
    index.load([(msg(1, "a", "p", ["p"]), 5), (msg(2, "b", "q", ["q"]), 9), (msg(3, "c", "r", ["r"]), 3)])
    update = index.add([msg(4, "x", "q", ["p", "q"])])
    assert update.merges == {9: 5}
    assert update.assigned == {4: 5}
    update = index.add([msg(5, "y", refs=["r", "x"])])
    assert update.merges == {5: 3}
    assert update.assigned == {5: 3}


def test_merge_chains_within_one_batch_are_flattened() -> None:
    index = ThreadIndex.empty()
    index.load([(msg(1, "a"), 7), (msg(2, "b"), 8), (msg(3, "c"), 9)])
    update = index.add([msg(4, "x", refs=["c", "b"]), msg(5, "y", refs=["b", "a"])])
    assert update.merges == {8: 7, 9: 7}
    assert update.assigned == {4: 7, 5: 7}


def test_load_reports_stored_threads_the_rules_join() -> None:
    index = ThreadIndex.empty()
    index.load([(msg(1, "a"), 4), (msg(2, "b", "a", ["a"]), 6)])
    update = index.add([])
    assert update.merges == {6: 4}
    assert index.add([]).merges == {}


def test_add_before_resolve_and_bad_ids_raise() -> None:
    index = ThreadIndex.empty()
    index.add([msg(1, "a")])
    with pytest.raises(ThreadingError):
        index.add([msg(2, "b")])
    with pytest.raises(ThreadingError):
        index.resolve(-5, 3)
    with pytest.raises(ThreadingError):
        index.resolve(-1, 0)
    index.resolve(-1, 3)
    assert index.add([msg(2, "b", "a")]).assigned == {2: 3}
    with pytest.raises(ThreadingError):
        ThreadIndex.empty().load([(msg(1, "a"), -1)])


def test_new_roots_name_the_earliest_message_and_placeholders_count_down() -> None:
    update = ThreadIndex.empty().add(
        [msg(1, "late", "early", days=2), msg(2, "early", days=1), msg(3, "solo", subject="Other")]
    )
    assert update.assigned == {1: -1, 2: -1, 3: -2}
    assert update.new_roots == {-1: "early", -2: "solo"}


def test_new_threads_without_message_id_get_distinct_root_names() -> None:
    update = ThreadIndex.empty().add([msg(1, ""), msg(2, "<>", subject="Other")])
    assert update.new_roots == {-1: "no-id.1@outreach.invalid", -2: "no-id.2@outreach.invalid"}


def test_group_numbers_follow_first_appearance() -> None:
    assert group([msg(5, "z", subject="A"), msg(6, "y", subject="B"), msg(7, "x", "z")]) == {5: 0, 6: 1, 7: 0}


def test_thread_of_answers_for_messages_and_ghosts() -> None:
    index = ThreadIndex.empty()
    index.load([(msg(1, "a", "ghost"), 4)])
    assert index.thread_of("<ghost>") == 4 and index.thread_of("a") == 4 and index.thread_of("nope") is None


# -- batch-order independence ----------------------------------------------------

SUBJECTS = ["Refund", "Re: Refund", "AW: refund", "Broken zipper", "Re: Broken zipper", "hello", "Re: hello", ""]
CUSTOMERS = ["ann@example.com", "bob@example.com", None]


@st.composite
def mailboxes(draw: st.DrawFn) -> list[ThreadInput]:
    n = draw(st.integers(1, 24))
    pool = [f"m{i}@x" for i in range(n + 6)]  # the extra ids are ghosts
    out = []
    for key in range(1, n + 1):
        mid = draw(st.sampled_from(pool[: n + 2]))  # collisions make duplicates
        refs = draw(st.lists(st.sampled_from(pool), max_size=3))
        irt = draw(st.none() | st.sampled_from(pool))
        if draw(st.booleans()):  # a client that drops headers
            refs, irt = [], None
        customer = draw(st.sampled_from(CUSTOMERS))
        participants = {STAFF, draw(st.sampled_from(CUSTOMERS[:2]))} if customer is None else {STAFF, customer}
        out.append(
            ThreadInput(
                key=key,
                message_id=mid,
                in_reply_to=irt,
                references=tuple(refs),
                subject=draw(st.sampled_from(SUBJECTS)),
                participants=frozenset(participants),
                customer=customer,
                date=T0 + timedelta(days=draw(st.integers(0, 90))),
                reply_token=draw(st.sampled_from([None, None, None, "tok1", "tok2", "unknown"])),
            )
        )
    return out


@settings(max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=mailboxes(), data=st.data())
def test_grouping_does_not_depend_on_batch_order_or_boundaries(
    messages: list[ThreadInput], data: st.DataObject
) -> None:
    # Two stored threads our drafts went out in; replies carrying their tokens join them.
    seed = [(msg(1001, "draft-1@x", subject="Your refund"), 1), (msg(1002, "draft-2@x", subject="Survey"), 2)]
    tokens = {"tok1": 1, "tok2": 2}
    expected = partition(thread_in_batches(messages, [], reload=False, seed=seed, tokens=tokens).thread_of)
    without_tokens = [
        ThreadInput(m.key, m.message_id, m.in_reply_to, m.references, m.subject, m.participants, m.customer, m.date)
        for m in messages
    ]
    assert partition(group(without_tokens)) == partition(
        thread_in_batches(without_tokens, [], reload=False).thread_of
    )
    shuffled = data.draw(st.permutations(messages))
    cuts = data.draw(st.lists(st.integers(0, len(messages)), max_size=6))
    for reload in (False, True):
        store = thread_in_batches(shuffled, cuts, reload=reload, seed=seed, tokens=tokens)
        assert partition(store.thread_of) == expected
        for message in messages:
            if message.reply_token in tokens:
                draft_key = 1001 if message.reply_token == "tok1" else 1002
                assert store.thread_of[message.key] == store.thread_of[draft_key]


def test_grouping_is_stable_over_random_large_mailboxes() -> None:
    rng = random.Random(20240301)
    for _ in range(5):
        n = 600
        pool = [f"id{i}" for i in range(n + 80)]
        messages = []
        for key in range(1, n + 1):
            headerless = rng.random() < 0.3
            messages.append(
                ThreadInput(
                    key=key,
                    message_id=rng.choice(pool[: n + 20]),
                    in_reply_to=None if headerless else rng.choice([None, rng.choice(pool)]),
                    references=() if headerless else tuple(rng.sample(pool, rng.randint(0, 3))),
                    subject=rng.choice(SUBJECTS + [f"Order {i}" for i in range(30)] + [f"Re: Order {i}" for i in range(30)]),
                    participants=frozenset({STAFF, f"c{rng.randint(0, 20)}@x"}),
                    customer=f"c{rng.randint(0, 20)}@x",
                    date=T0 + timedelta(hours=rng.randint(0, 24 * 120)),
                )
            )
        expected = partition(group(messages))
        rng.shuffle(messages)
        cuts = rng.sample(range(n), 12)
        assert partition(thread_in_batches(messages, cuts, reload=False).thread_of) == expected
        assert partition(thread_in_batches(messages, cuts, reload=True).thread_of) == expected


def test_sample_mailbox_threads_match_the_planted_truth() -> None:
    sample = pytest.importorskip("outreach.sample", reason="sample generator not present")
    inputs: list[ThreadInput] = []
    truth: dict[int, int] = {}
    for number, conversation in enumerate(sample.conversations()):
        for m in conversation.messages:
            key = len(inputs) + 1
            truth[key] = number
            inputs.append(
                ThreadInput(
                    key=key,
                    message_id=m.message_id,
                    in_reply_to=m.in_reply_to,
                    references=m.references,
                    subject=m.subject,
                    participants=frozenset({m.from_address.lower(), m.to_address.lower()}),
                    customer=m.from_address.lower() if m.direction == "in" else None,
                    date=m.date,
                )
            )
    assert len(set(truth.values())) > 100
    assert partition(group(inputs)) == partition(truth)
