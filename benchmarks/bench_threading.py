"""Threading throughput and memory on a synthetic support mailbox.

The baseline, timed in the same run, is the naive grouping a script would
write: a dict keyed by ``References[0]`` (else the Message-ID). It is wrong
for ghosts, duplicates, late parents and header-less replies, but shows the
floor of a pass over the same ThreadInputs in Python.
"""

from __future__ import annotations

import gc
import random
import time
import tracemalloc
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from outreach.conversations import ThreadIndex, ThreadInput

STAFF = "help@shop.example"
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def mailbox(n: int, seed: int = 7) -> list[ThreadInput]:
    """``n`` messages in conversations of 1–12, with the mess real mail has.

    About 10% header-less replies, 2% duplicate Message-IDs, 5% replies whose
    parent is missing, references chains up to 10 long.
    """
    rng = random.Random(seed)
    out: list[ThreadInput] = []
    key = 0
    conv = 0
    while len(out) < n:
        conv += 1
        customer = f"customer{rng.randrange(n // 3 + 1)}@example.com"
        subject = f"Order {conv} {rng.choice(['refund', 'late', 'broken', 'billing'])}"
        start = T0 + timedelta(minutes=rng.randrange(60 * 24 * 365))
        chain: list[str] = []
        for depth in range(rng.randint(1, 12)):
            key += 1
            mid = f"{conv}.{depth}.{rng.getrandbits(40):x}@mail.example"
            if rng.random() < 0.02 and out:
                mid = out[-1].message_id  # a duplicate Message-ID
            headerless = depth > 0 and rng.random() < 0.10
            refs = tuple(chain[-10:])
            if depth > 0 and rng.random() < 0.05:
                refs = (f"ghost.{conv}@mail.example", *refs)
            outgoing = depth % 2 == 1
            out.append(
                ThreadInput(
                    key=key,
                    message_id=mid,
                    in_reply_to=None if headerless or not chain else chain[-1],
                    references=() if headerless else refs,
                    subject=("Re: " if depth else "") + subject,
                    participants=frozenset({customer, STAFF}),
                    customer=None if outgoing else customer,
                    date=start + timedelta(hours=3 * depth),
                )
            )
            chain.append(mid)
    rng.shuffle(out)  # a sync sees messages in folder order, not thread order
    return out[:n]


def baseline(messages: Sequence[ThreadInput]) -> dict[int, int]:
    """Naive grouping: one dict keyed by the first reference."""
    groups: dict[str, int] = {}
    out: dict[int, int] = {}
    for m in messages:
        root = m.references[0] if m.references else m.message_id
        out[m.key] = groups.setdefault(root, len(groups))
    return out


def _best(func, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - started)
    return best


def run() -> list[str]:
    """Time ``add`` on 20,000 messages and ``load`` of 100,000; measure the index's memory."""
    lines: list[str] = []
    batch = mailbox(20_000)
    base = _best(lambda: baseline(batch))
    ours = _best(lambda: ThreadIndex.empty().add(batch))
    lines.append(
        f"add 20,000 messages: {ours * 1000:.0f} ms ({len(batch) / ours:,.0f} msg/s); "
        f"baseline dict-by-References[0] {base * 1000:.1f} ms; ratio {ours / base:.1f}x"
    )

    stored = mailbox(100_000, seed=11)
    pairs = [(m, 1 + i // 5) for i, m in enumerate(stored)]  # thread ids do not matter for timing
    load_s = _best(lambda: ThreadIndex.empty().load(pairs), repeat=2)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index = ThreadIndex.empty()
    index.load(pairs)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    lines.append(
        f"load 100,000 stored messages: {load_s * 1000:.0f} ms; index holds {held / 2**20:.1f} MiB "
        f"({held / len(stored):.0f} B/message, {len(index):,} Message-IDs incl. ghosts)"
    )
    index.add([])  # report (and clear) merges the arbitrary thread ids above imply
    fresh = mailbox(20_000, seed=13)
    shifted = [
        ThreadInput(m.key + 10**6, "n" + m.message_id, m.in_reply_to and "n" + m.in_reply_to,
                    tuple("n" + r for r in m.references), m.subject, m.participants, m.customer, m.date)
        for m in fresh
    ]
    started = time.perf_counter()
    index.add(shifted)
    add_s = time.perf_counter() - started
    lines.append(f"add 20,000 after loading 100,000: {add_s * 1000:.0f} ms ({len(shifted) / add_s:,.0f} msg/s)")
    return lines


if __name__ == "__main__":
    for line in run():
        print(line)
