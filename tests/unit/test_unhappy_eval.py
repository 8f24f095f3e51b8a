"""The unhappy-customer evaluation (benchmarks/bench_unhappy.py) on a fixed, small sample, with lower bars.

Each labelled text becomes a thread (customer text, our calm reply that
only acknowledges it, five days of silence) and detection runs as of then; "unhappy" is a check_in,
apology or call candidate. The full-size numbers are in ``make bench``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from benchmarks.bench_tone import prf
from benchmarks.bench_unhappy import AS_OF, FIXING_REPLY, thread_frames, unhappy_by_detection

CORPUS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "C_labelled_sentiment").resolve()
AIRLINE = CORPUS / "twitter-us-airline-sentiment_Ramlah0" / "Tweets.csv"
UCI = CORPUS / "uci-sentiment-labelled-sentences_Rithwikksvr" / "DERIVED_uci_sentiment_labelled.csv"


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        pytest.skip(f"corpus not present: {path}")
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _airline_sample() -> tuple[list[str], list[bool]]:
    """Every 20th negative-or-positive tweet (578 rows)."""
    rows = [r for r in _rows(AIRLINE) if r["airline_sentiment"] != "neutral"][::20]
    return [r["text"] for r in rows], [r["airline_sentiment"] == "negative" for r in rows]


def _uci_sample() -> tuple[list[str], list[bool]]:
    """Every 10th UCI sentence (200 rows)."""
    rows = _rows(UCI)[::10]
    return [r["text"] for r in rows], [r["label"] == "0" for r in rows]


def test_the_harness_builds_answered_silent_threads_and_flags_only_the_unhappy() -> None:
    texts = [
        "This is the third time I ask. Still not fixed and nobody cares. Very disappointed.",
        "Thank you so much, everything works perfectly now!",
    ]
    frames = thread_frames(texts)
    msgs = frames["messages"]
    assert list(msgs["direction"]) == ["in", "in", "out", "out"]
    assert (msgs["date"] < AS_OF).all()
    assert unhappy_by_detection(texts) == [True, False]


@pytest.mark.parametrize("sample", [_airline_sample, _uci_sample], ids=["airline", "uci"])
def test_detection_finds_unhappy_customers_precisely(sample) -> None:  # type: ignore[no-untyped-def]
    texts, gold = sample()
    precision, recall, f1 = prf(unhappy_by_detection(texts), gold)
    # make bench holds the full-size target (airline F1 >= 0.88 with P >= 0.9).
    assert precision >= 0.9 and f1 >= 0.85, (precision, recall, f1)


@pytest.mark.parametrize("sample", [_airline_sample, _uci_sample], ids=["airline", "uci"])
def test_detection_finds_far_more_unhappy_customers_than_plain_vader(sample) -> None:  # type: ignore[no-untyped-def]
    texts, gold = sample()
    vader = prf(unhappy_by_detection(texts, baseline=True), gold)
    ours = prf(unhappy_by_detection(texts), gold)
    assert ours[1] >= vader[1] + 0.2 and ours[2] >= vader[2] + 0.15, (ours, vader)


def test_a_reply_that_fixes_the_problem_leaves_only_the_clearly_negative() -> None:
    texts, gold = _airline_sample()
    acknowledged = unhappy_by_detection(texts)
    fixed = unhappy_by_detection(texts, staff_reply=FIXING_REPLY)
    # A mild complaint answered with a fix and then silence is settled; strong words still count.
    assert all(a for a, f in zip(acknowledged, fixed, strict=True) if f)
    assert sum(fixed) <= 0.75 * sum(acknowledged), (sum(fixed), sum(acknowledged))
    assert prf(fixed, gold)[0] >= 0.9
