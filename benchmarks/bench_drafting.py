"""Draft rendering and survey-score reading throughput.

Rendering: ``render_draft`` with the cached Environment against a baseline that
builds a fresh Jinja2 Environment per draft (what a naive caller would do).
Reading: ``parse_score`` on realistic survey replies (answer on top of a quoted
survey) against the step before it in the pipeline, ``replytext.extract_reply``
on the same replies.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from outreach import drafting
from outreach.drafting import DRAFT_KINDS, render_draft, sample_contexts
from outreach.surveys import parse_score

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def _per_second(func: Callable[[int], None], count: int) -> float:
    started = time.perf_counter()
    for i in range(count):
        func(i)
    return count / (time.perf_counter() - started)


def run() -> list[str]:
    """Lines to print: drafts per second, replies per second, ratios against baselines."""
    contexts = [
        replace(ctx, customer_name=f"Jane{i}", key_sentence=f"My order {i} has still not arrived.")
        for i, ctx in enumerate(
            c
            for kind in DRAFT_KINDS
            for language in ("en", "de")
            for scale in ("csat", "nps")
            for c in sample_contexts(kind, language, scale)  # type: ignore[arg-type]
        )
    ]

    def cached(i: int) -> None:
        ctx = contexts[i % len(contexts)]
        render_draft(ctx.kind, ctx, TEMPLATES)

    def fresh(i: int) -> None:
        drafting._environment.cache_clear()
        cached(i)

    fresh_rate = _per_second(fresh, 60)
    cached(0)  # warm the cache
    cached_rate = _per_second(cached, 1500)

    replies = [
        f"{answer}\n\nThanks for the quick help with order 4411 on 3/4/2025.\n\nBest,\nJane\n\n"
        "On Mon, 3 Mar 2025 at 10:02, Sam <support@example.com> wrote:\n"
        "> How did we do? Just reply with a number from 1 (poor) to 5 (great).\n> 1 2 3 4 5\n"
        for answer in ("4", "a 4", "4/5", "five", "I'd say 3", "★★★★", "Score: 2", "vier")
    ]

    def read(i: int) -> None:
        parse_score(replies[i % len(replies)], "csat")

    from outreach.replytext import extract_reply

    def baseline(i: int) -> None:
        extract_reply(replies[i % len(replies)])

    read_rate = _per_second(read, 5000)
    base_rate = _per_second(baseline, 5000)
    return [
        f"render_draft: {cached_rate:,.0f} drafts/s (fresh Environment per draft: "
        f"{fresh_rate:,.0f}/s, cache speed-up ×{cached_rate / fresh_rate:.0f})",
        f"parse_score: {read_rate:,.0f} replies/s "
        f"(extract_reply on the same replies: {base_rate:,.0f}/s; parse_score costs "
        f"×{base_rate / read_rate:.2f} of it)",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
