"""Detection on frames as the store returns them: empty, all old, no staff reply, any date of the year.

``Store.frames()`` builds each frame from database rows (Python objects, naive
datetimes on SQLite) and parses the date columns with
``pd.to_datetime(utc=True, format="mixed")``. With no rows every column is
``object`` and the dates come out ``datetime64[s, UTC]``; with rows the dates
are ``datetime64[us, UTC]`` on pandas 3. :func:`as_read` reproduces that here
so these tests stay pure and fast.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime

import pandas as pd
import pytest

from outreach.detection import DetectionInput, detect
from outreach.sample import SAMPLE_AS_OF, conversations, frames_from_conversations, sample_settings
from outreach.signals import SIGNAL_COLUMNS, compute_signals

SETTINGS = sample_settings()

# The date columns connectors/store.py parses, per frame.
_DATES: dict[str, tuple[str, ...]] = {
    "messages": ("date",),
    "threads": ("first_customer_at", "last_customer_at", "first_staff_at", "last_staff_at", "last_message_at"),
    "customers": ("unsubscribed_at",),
    "outreach": ("created_at", "sent_at"),
}


def _py(value: object) -> object:
    """A cell as a database driver hands it over: None for nulls, naive UTC datetimes."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_convert("UTC").tz_localize(None).to_pydatetime()
    return value.item() if hasattr(value, "item") else value


def as_read(frames: Mapping[str, pd.DataFrame], *, empty: bool = False) -> dict[str, pd.DataFrame]:
    """``frames`` round-tripped the way ``Store.frames()`` reads them (no rows at all when ``empty``)."""
    out: dict[str, pd.DataFrame] = {}
    for name, frame in frames.items():
        rows = [] if empty else [tuple(_py(v) for v in row) for row in frame.itertuples(index=False)]
        read = pd.DataFrame(rows, columns=list(frame.columns))
        for column in _DATES.get(name, ()):
            if column in read.columns:
                read[column] = pd.to_datetime(read[column], utc=True, format="mixed")
        out[name] = read
    return out


def sample_frames() -> dict[str, pd.DataFrame]:
    return frames_from_conversations(conversations())


def test_an_empty_stores_frames_give_no_candidates_and_every_signal_column() -> None:
    inp = DetectionInput.from_frames(as_read(sample_frames(), empty=True))
    assert detect(inp, SETTINGS, SAMPLE_AS_OF) == []
    sig = compute_signals(inp, SETTINGS, SAMPLE_AS_OF)
    assert sig.empty and list(sig.columns) == list(SIGNAL_COLUMNS)


@pytest.mark.parametrize("read", [False, True], ids=["sample-frames", "as-read"])
def test_every_thread_older_than_the_lookback_gives_no_candidates(read: bool) -> None:
    # The machine's clock when QA ran `outreach detect` on the demo: months after its last mail.
    frames = as_read(sample_frames()) if read else sample_frames()
    now = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    inp = DetectionInput.from_frames(frames)
    assert detect(inp, SETTINGS, now) == []
    assert list(compute_signals(inp, SETTINGS, now).columns) == list(SIGNAL_COLUMNS)


def test_threads_with_no_staff_message_wait_for_a_first_answer_then_age_out() -> None:
    frames = as_read(sample_frames())
    msgs = frames["messages"]
    # Only the customers' side: no thread has an outgoing message, so every staff column is NaT.
    frames["messages"] = msgs[msgs["direction"] == "in"].reset_index(drop=True)
    inp = DetectionInput.from_frames(frames)
    sig = compute_signals(inp, SETTINGS, SAMPLE_AS_OF)
    assert sig["last_out_at"].isna().all() and (sig["n_out"] == 0).all()
    waiting = sig[sig["unanswered"]]
    assert not waiting.empty
    assert (waiting["unanswered_since"] == waiting["first_in_at"]).all()
    assert (waiting["sla_kind"] == "first").all()
    assert {c.kind for c in detect(inp, SETTINGS, SAMPLE_AS_OF)} >= {"follow_up"}
    # Months later nothing is recent: no candidates rather than a crash.
    assert detect(inp, SETTINGS, datetime(2026, 7, 1, tzinfo=UTC)) == []


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 1, 10, 12, tzinfo=UTC),  # before the sample's first mail
        datetime(2026, 2, 15, 12, tzinfo=UTC),
        SAMPLE_AS_OF,
        datetime(2026, 5, 16, 12, tzinfo=UTC),
        datetime(2026, 6, 1, 0, tzinfo=UTC),
        datetime(2026, 6, 15, 12, tzinfo=UTC),
        datetime(2026, 9, 1, 12, tzinfo=UTC),
        datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
    ],
    ids=lambda d: d.date().isoformat(),
)
def test_as_read_frames_give_the_same_candidates_as_the_sample_at_any_date(now: datetime) -> None:
    frames = sample_frames()
    expected = detect(DetectionInput.from_frames(frames), SETTINGS, now)
    got = detect(DetectionInput.from_frames(as_read(frames)), SETTINGS, now)
    assert [(c.thread_id, c.kind, c.priority) for c in got] == [(c.thread_id, c.kind, c.priority) for c in expected]
    if now == SAMPLE_AS_OF:
        assert len(got) > 50  # the sample's planted cases, so the comparison is not vacuous
