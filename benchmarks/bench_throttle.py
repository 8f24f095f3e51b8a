"""The throttle deciding over 100,000 approved drafts (target: under 2 s).

A realistic mix: 80,000 customers in four time zones (one unknown), some
suppressed, some surveyed or contacted recently, some awaiting our answer,
and an hourly cap that stops the greedy part early. The baseline is the
same decision over 10,000 drafts, to show how it scales.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


def _inputs(n: int):  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    from outreach import throttle
    from outreach.settings import Settings

    now = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
    customers = max(n * 4 // 5, 1)
    rng = np.random.default_rng(1)
    kinds = np.array(["follow_up", "check_in", "survey", "apology"])
    approved = pd.DataFrame({
        "id": np.arange(1, n + 1), "customer": [f"c{i % customers}@x.com" for i in range(n)],
        "kind": kinds[rng.integers(0, 4, n)], "priority": rng.integers(0, 100, n), "created_at": pd.Timestamp(now),
    })
    zones = {f"c{i}@x.com": ["UTC", "Asia/Tokyo", "America/New_York", None][i % 4] for i in range(customers)}
    history = pd.DataFrame({"customer": [f"c{i}@x.com" for i in range(0, customers, 7)], "kind": "survey",
                            "sent_at": pd.Timestamp(now - timedelta(days=3))})
    settings = Settings(throttle={"max_per_hour": 200, "max_per_day": 1000},
                        capacity={"agents": [{"name": f"a{i}"} for i in range(5)]})
    sends = pd.DataFrame(columns=["customer", "kind", "sent_at", "claimed_at"]).astype(
        {"sent_at": "datetime64[ns, UTC]", "claimed_at": "datetime64[ns, UTC]"})
    return approved, {
        "recent_sends": sends, "contact_history": history, "customers": zones,
        "suppressed": {f"c{i}@x.com" for i in range(0, customers, 13)},
        "awaiting_reply": {f"c{i}@x.com" for i in range(0, customers, 17)}, "backlog_threads": 10,
        "rates": throttle.reply_rates(pd.DataFrame(), settings), "settings": settings, "now": now,
    }


def _time(n: int) -> tuple[float, int, int]:
    from outreach import throttle

    approved, kwargs = _inputs(n)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        plan = throttle.plan(approved, **kwargs)
        best = min(best, time.perf_counter() - started)
    return best, len(plan.send), len(plan.waits)


def run() -> list[str]:
    _time(1000)  # warm imports
    small, _, _ = _time(10_000)
    big, sent, waiting = _time(100_000)
    return [
        f"10,000 approved drafts: {small:.3f} s",
        f"100,000 approved drafts: {big:.3f} s (target < 2 s): {sent} to send, {waiting} waiting with a reason; "
        f"{big / small:.1f}× the 10,000 time",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
