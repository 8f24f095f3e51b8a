"""Detection over 100,000 messages in 20,000 threads: time and peak memory.

The frames are synthesised by scaling the sample generator (many seeds, each
customer address made unique per copy). The baseline is a plain pass that
only builds the same frames from the conversations; detection is reported
as a ratio to it. Two detection runs: cold (every customer message scored
for tone) and warm (tone already cached in the ``tone`` column, as the store
keeps it after ingest). Target: under 10 s and under 1 GB.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pandas as pd

THREADS = 20_000
MESSAGES = 100_000


def _conversations() -> list[Any]:
    from outreach.sample import SAMPLE_AS_OF, conversations

    out: list[Any] = []
    seed = 1
    while len(out) < THREADS:
        batch = conversations(seed=seed, count=400, as_of=SAMPLE_AS_OF)
        for conv in batch:
            # A copy per seed is a different customer, so repeat counts stay per copy.
            conv.customer = f"s{seed}.{conv.customer}"
            conv.messages = [replace(m, from_address=f"s{seed}.{m.from_address}") if m.direction == "in" else m
                             for m in conv.messages]
        out += batch
        seed += 1
    out = out[:THREADS]
    # Pad long-running threads with customer follow-ups until the message count is reached.
    total = sum(len(c.messages) for c in out)
    i = 0
    while total < MESSAGES:
        conv = out[i % len(out)]
        last = conv.messages[-1]
        # Same moment as the thread's last message: the thread gets longer, not later.
        conv.messages.append(replace(last, message_id=f"pad{total}@bench.example"))
        total += 1
        i += 7
    return out


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _peak_mb(fn: Callable[[], Any]) -> float:
    # A separate run: tracemalloc slows Python code several times over.
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def run() -> list[str]:
    """Time and peak memory of detection against building the frames."""
    from outreach.detection import DetectionInput, detect
    from outreach.sample import SAMPLE_AS_OF, frames_from_conversations, sample_settings
    from outreach.tone import score_texts

    convs = _conversations()
    settings = sample_settings()
    base_s, frames = _timed(lambda: frames_from_conversations(convs))
    base_mb = _peak_mb(lambda: frames_from_conversations(convs))
    inp = DetectionInput.from_frames(frames)
    n_msgs, n_threads = len(frames["messages"]), len(frames["threads"])

    cold_s, found = _timed(lambda: detect(inp, settings, SAMPLE_AS_OF))

    msgs = frames["messages"]
    cust = msgs["direction"].eq("in") & msgs["auto_kind"].isna()
    texts = msgs.loc[cust, "reply_text"]
    unique = pd.unique(texts.to_numpy())
    scores = dict(zip(unique, (t.score for t in score_texts(list(unique))), strict=True))
    warm_msgs = msgs.assign(tone=texts.map(scores))
    warm_inp = DetectionInput(messages=warm_msgs, threads=inp.threads, customers=inp.customers, outreach=inp.outreach)
    warm_s, _ = _timed(lambda: detect(warm_inp, settings, SAMPLE_AS_OF))
    warm_mb = _peak_mb(lambda: detect(warm_inp, settings, SAMPLE_AS_OF))

    distinct = len(unique) / max(len(texts), 1)
    return [
        f"detect: {n_msgs:,} messages in {n_threads:,} threads, {len(found):,} candidates "
        f"({distinct:.0%} of customer texts distinct, scored once each)",
        f"detect: baseline build frames {base_s:.2f} s, peak {base_mb:.0f} MB",
        f"detect: cold (tone scored) {cold_s:.2f} s = {cold_s / base_s:.1f}x baseline  [target < 10 s]",
        f"detect: warm (tone cached) {warm_s:.2f} s = {warm_s / base_s:.1f}x baseline, "
        f"peak {warm_mb:.0f} MB = {warm_mb / base_mb:.1f}x  [target < 1024 MB]",
    ]


if __name__ == "__main__":
    for line in run():
        print(line)
