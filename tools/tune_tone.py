"""Tune the tone model's hyper-parameters (group multipliers, n-gram weight, thresholds).

Only a dozen scalars are chosen here, by coordinate search on the *tuning
half* of the airline tweets (even rows; CC BY-NC-SA, so nothing per-word is
learned from them: the words, patterns and n-gram weights come from the
hand-written lexicon and the UCI sentences). The objective is F1 of
"negative" on negative-vs-positive tweets, subject to precision >= 0.92,
minus a penalty for calling the neutral tweets of the same half negative
(a calm question must not look like a complaint). The other half, UCI
held-out, Trustpilot and CFPB are only reported by ``benchmarks/bench_tone.py``.

Usage (from the repo root)::

    .venv/bin/python tools/tune_tone.py [--write]

With ``--write`` the result goes to ``outreach/tone_data/tone_params.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from outreach import tone  # noqa: E402

AIRLINE = ROOT / ".." / "shared" / "corpus" / "C_labelled_sentiment" / "twitter-us-airline-sentiment_Ramlah0" / "Tweets.csv"
PARAMS = ROOT / "outreach" / "tone_data" / "tone_params.json"
GROUPS = ("complaint", "churn", "escalation", "chase", "time", "sarcasm", "positive")
MIN_PRECISION = 0.92
NEUTRAL_PENALTY = 0.15
GRID = {
    "ngram_weight": [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0],
    # No negative bias: a sentence without any cue must never read as negative ("Ok.").
    "bias": [0.0],
    **{f"{g}_weight": [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0] for g in GROUPS},
    "negative_below": [-0.05, -0.1, -0.15, -0.2, -0.3],
    "positive_above": [0.05, 0.1, 0.2],
    "negative_dominance": [0.5, 0.75, 1.0, 1.5, 2.0, 3.0],
}


def tuning_half() -> tuple[list[str], np.ndarray]:
    """Even rows of the airline file: texts and labels (1 negative, 0 positive, -1 neutral)."""
    texts, labels = [], []
    with AIRLINE.resolve().open(encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            if i % 2:
                continue
            texts.append(row["text"])
            labels.append({"negative": 1, "positive": 0, "neutral": -1}[row["airline_sentiment"]])
    return texts, np.asarray(labels)


def sentence_parts(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per sentence: [words, groups..., logit, emphasis]; and the start row of each text."""
    model = tone._model()
    rows, starts = [], []
    for text in texts:
        starts.append(len(rows))
        sentences = tone.split_sentences(tone.new_text(text)) or [""]
        for sentence in sentences:
            words, groups, logit, emphasis = tone._features(model, sentence)
            rows.append([words, *(groups.get(g, 0.0) for g in GROUPS), logit, emphasis])
    return np.asarray(rows), np.asarray(starts)


def predict(parts: np.ndarray, starts: np.ndarray, p: dict[str, float]) -> np.ndarray:
    """Vectorised twin of ``tone.score_text``'s decision: True where "negative"."""
    value = parts[:, 0] + p["ngram_weight"] * parts[:, 8] + p["bias"]
    for j, g in enumerate(GROUPS, start=1):
        value = value + p[f"{g}_weight"] * parts[:, j]
    value = value + np.sign(value) * parts[:, 9]
    worst = np.minimum.reduceat(value, starts)
    best = np.maximum.reduceat(value, starts)
    worst_s = worst / np.sqrt(worst * worst + 15.0)
    del best
    against = -np.add.reduceat(np.minimum(value, 0.0), starts)
    for_ = np.add.reduceat(np.maximum(value, 0.0), starts)
    return (worst_s < p["negative_below"]) & (against * p["negative_dominance"] >= for_)


def objective(pred: np.ndarray, labels: np.ndarray) -> tuple[float, float, float, float, float]:
    """(score, precision, recall, f1, neutral flagged rate)."""
    gold = labels == 1
    pos = labels == 0
    tp = float((pred & gold).sum())
    fp = float((pred & pos).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / gold.sum()
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    neutral = float(pred[labels == -1].mean())
    score = f1 - NEUTRAL_PENALTY * neutral - (10.0 if precision < MIN_PRECISION else 0.0)
    return score, precision, recall, f1, neutral


def main() -> None:
    """Coordinate search from the current parameters; print and optionally write the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    texts, labels = tuning_half()
    parts, starts = sentence_parts(texts)
    params = json.loads(PARAMS.read_text(encoding="utf-8"))["params"]
    best = objective(predict(parts, starts, params), labels)
    print("start", [round(x, 3) for x in best])
    for _ in range(4):
        improved = False
        for key, values in GRID.items():
            for v in values:
                trial = {**params, key: v}
                result = objective(predict(parts, starts, trial), labels)
                if result[0] > best[0] + 1e-6:
                    best, params, improved = result, trial, True
        print("pass", [round(x, 3) for x in best], params)
        if not improved:
            break
    score, precision, recall, f1, neutral = best
    print(f"tuning half: precision {precision:.3f} recall {recall:.3f} F1 {f1:.3f}; neutral called negative {neutral:.3f}")
    if args.write:
        payload = {
            "about": (
                "Hyper-parameters of outreach/tone.py, chosen by tools/tune_tone.py (coordinate search over a "
                "fixed grid) on the even rows of the airline tweets: F1 of negative vs positive with precision "
                f">= {MIN_PRECISION}, minus {NEUTRAL_PENALTY} x the share of neutral tweets called negative. "
                "Only these scalars were fitted there."
            ),
            "tuning_half": {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                            "neutral_called_negative": round(neutral, 4)},
            "params": params,
        }
        PARAMS.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {PARAMS}")


if __name__ == "__main__":
    main()
