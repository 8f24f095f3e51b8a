"""Tone results are unchanged by speed work: scores, labels, phrases and cues of fixed texts.

The golden file ``data/tone_golden.json`` was written by this module
(``python tests/unit/test_tone_golden.py --write``) before the tone code was
optimised; rewrite it only when the model is meant to change (retuning,
new patterns), never to make a speed change pass.

Two kinds of cases: the sample mailbox's customer texts (generated, always
present) with every field stored, and labelled-corpus rows (skipped when the
corpus is absent) stored as score and label per row plus a digest of the
phrases and cues, so no corpus text is copied into the repository.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path

import pytest

from outreach.tone import Tone, score_texts

GOLDEN = Path(__file__).resolve().parent / "data" / "tone_golden.json"
CORPUS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "C_labelled_sentiment").resolve()
_HAND = [
    "",
    "Thanks!",
    "I am not happy with this.",
    "Not bad at all.",
    "Hello. This is the third time I ask about my invoice.",
    "Thanks for nothing.",
    "Great, another delay on my order.",
    "I have been waiting for two weeks and no one has replied. @support https://x.example/a",
    "THIS IS RIDICULOUS!!! I want to cancel my subscription. Where is my refund???",
    "Hi Sam,\n\nThe export fails on row 230.\n\nBest regards,\nVera",
    "That was exactly what I needed, many thanks!\n\nOn Mon, 3 Jun 2024, Sam wrote:\n> anything else?",
    "It's not that I don't like it, but the app keeps crashing. Very disappointed.",
    "Our renewal is in 8 weeks. Can you send the invoice?",
    "I've been on hold for 3 hours now. Still waiting.",
    "- item one is broken\n- item two works great\n\nNothing else.",
]


def _sample_texts() -> list[str]:
    from outreach.sample import SAMPLE_AS_OF, conversations

    texts: list[str] = []
    for seed in (1, 2):
        for conv in conversations(seed=seed, count=400, as_of=SAMPLE_AS_OF):
            texts += [m.reply_text for m in conv.messages if m.direction == "in" and not m.auto_kind]
    return list(dict.fromkeys(_HAND + texts))


def _rows(rel: str) -> list[dict[str, str]] | None:
    path = CORPUS / rel
    if not path.exists():
        return None
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _corpus_sets() -> dict[str, list[str] | None]:
    airline = _rows("twitter-us-airline-sentiment_Ramlah0/Tweets.csv")
    uci = _rows("uci-sentiment-labelled-sentences_Rithwikksvr/DERIVED_uci_sentiment_labelled.csv")
    pets = _rows("trustpilot-pet-insurance-reviews_dgazeyreyn/figo_reviews.csv")
    cfpb = _rows("cfpb-complaints-sample_ZiyuYan9/complaints_sample.csv")
    narratives = None
    if cfpb is not None:
        narratives = [r["Consumer complaint narrative"] for r in cfpb if (r["Consumer complaint narrative"] or "").strip()]
    return {
        "airline_first_4000": None if airline is None else [r["text"] for r in airline[:4000]],
        "uci_all": None if uci is None else [r["text"] for r in uci],
        "trustpilot_figo_first_800": None
        if pets is None
        else [f"{(r.get('title') or '').strip()}.\n\n{(r.get('text') or '').strip()}" for r in pets[:800]],
        "cfpb_first_400": None if narratives is None else narratives[:400],
    }


def _full(tone: Tone) -> list[object]:
    return [tone.score, tone.label, tone.phrase, list(tone.cues)]


def _digest(tones: list[Tone]) -> str:
    blob = json.dumps([[t.phrase, list(t.cues)] for t in tones], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _golden() -> dict[str, object]:
    if not GOLDEN.exists():
        pytest.fail(f"golden file missing: {GOLDEN}")
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_sample_and_hand_texts_score_exactly_as_before() -> None:
    texts = _sample_texts()
    golden = _golden()["texts"]
    assert [g[0] for g in golden] == texts, "the fixed text set changed: regenerate only on purpose"
    got = [_full(t) for t in score_texts(texts)]
    changed = [(text[:60], want[1:], have) for (text, *want), have in zip(golden, got, strict=True) if want != have]
    assert not changed, f"{len(changed)} of {len(texts)} texts scored differently, e.g. {changed[:3]}"


@pytest.mark.parametrize("name", ["airline_first_4000", "uci_all", "trustpilot_figo_first_800", "cfpb_first_400"])
def test_corpus_rows_score_exactly_as_before(name: str) -> None:
    texts = _corpus_sets()[name]
    if texts is None:
        pytest.skip(f"corpus not present: {CORPUS}")
    want = _golden()["corpus"][name]
    tones = score_texts(texts)
    rows = [[t.score, t.label] for t in tones]
    assert len(rows) == len(want["rows"])
    diff = [i for i, (a, b) in enumerate(zip(rows, want["rows"], strict=True)) if a != b]
    assert not diff, f"{len(diff)} rows scored differently, first rows {diff[:5]}"
    assert _digest(tones) == want["phrases_cues_sha256"]


def _write() -> None:
    texts = _sample_texts()
    out: dict[str, object] = {
        "about": "Written by tests/unit/test_tone_golden.py --write before tone speed work; see its docstring.",
        "texts": [[text, *_full(t)] for text, t in zip(texts, score_texts(texts), strict=True)],
        "corpus": {},
    }
    for name, rows in _corpus_sets().items():
        if rows is None:
            raise SystemExit(f"corpus not present: {CORPUS}")
        tones = score_texts(rows)
        out["corpus"][name] = {  # type: ignore[index]
            "rows": [[t.score, t.label] for t in tones],
            "phrases_cues_sha256": _digest(tones),
        }
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        _write()
    else:
        print("usage: python tests/unit/test_tone_golden.py --write")
