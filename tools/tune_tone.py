"""Tune the tone model's hyper-parameters (group multipliers, n-gram weight and cap, thresholds).

Only a dozen scalars are chosen here, by coordinate search on the *tuning
half* of the airline tweets (even rows; CC BY-NC-SA, so nothing per-word is
learned from them: the words, patterns and n-gram weights come from the
hand-written lexicon and the UCI sentences). The objective is
lexicographic: reach precision >= 0.92 and F1 >= 0.89 of "negative" on
negative-vs-positive tweets, then call as few of the same half's *neutral*
tweets negative as possible (a calm question or a plain problem report
must not look like a complaint). The other half, UCI
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
GROUPS = ("complaint", "churn", "escalation", "chase", "time", "sarcasm", "positive", "problem", "ask")
MIN_PRECISION = 0.92
MIN_F1 = 0.89
MIN_SUPPORT_RECALL = 0.9
# Detection's default severity threshold (``detection.negative_threshold``):
# calm support mail must stay above it, unhappy mail must fall below it.
SEVERITY = -0.35

# Hand-written for Outreach (no data set): support mail that reports a
# problem or asks for something (must not read negative) and support mail
# that is unhappy (must). Tuning looks at them after the airline bar is met.
SUPPORT_NEUTRAL = [
    "Could you take a look?",
    "I'd like a refund for order #48213, it arrived in the wrong colour.",
    "The PO number we need on it is PO-5521.",
    "Hi, my parcel hasn't arrived yet. The tracking number is 1Z999. Can you check where it is?",
    "The export button is greyed out on my account. Is there a setting I missed?",
    "I lost my phone and need to reset two-factor authentication.",
    "We were charged for 12 seats but only have 10 users. Could you adjust the invoice?",
    "The app crashes when I open the settings page on Android 14. Screenshot attached.",
    "Our webhook stopped firing after we rotated the API key. What should we check?",
    "Can I change the billing address on the March invoice?",
    "Sync seems to be stuck on my laptop since this morning. Any idea what to try?",
    "Please cancel the duplicate order #5531, I placed it twice by mistake.",
    "How do I remove a user who left the company?",
    "The delivery is missing one item, the blue cable. Could you send it separately?",
    "I get an error 403 when I try to log in from the office network.",
    "Is there a way to export the reports as PDF?",
    "Our renewal is in six weeks, can we move to the annual plan before then?",
    "My password reset email never arrives, maybe it goes to spam? Can you resend it?",
    "The invoice shows the old company name. We need it corrected for our accounts team.",
    "We're moving offices next month, please update the shipping address.",
    "I accidentally deleted a project yesterday. Is it possible to restore it?",
    "The CSV import fails on row 230 with 'invalid date'. File attached.",
    "I'd like to downgrade to the Starter plan at the end of this billing period.",
    "Following up on my question from Monday about the API limits.",
    "Hi, just checking whether you received the documents I sent last week.",
    "Our calendar sync only shows events up to the 15th. Could you check our account?",
    "The item arrived damaged, one corner is broken. Photos attached. How do I return it?",
    "Can you tell me when the refund for order 7781 will reach my card?",
    "I can't find the option to add a second admin. Where is it?",
    "We need a copy of your security questionnaire for our procurement team.",
]
# Plain requests, no fault named: their *label* should not be negative either
# (a soft goal: at the airline bar some still are, see the printed count).
SUPPORT_PLAIN = [
    "Hi, could you send me the invoice for March? Thanks, Anna",
    "Could you take a look?",
    "Is there a way to export the reports as PDF?",
    "How do I remove a user who left the company?",
    "Can I change the billing address on the March invoice?",
    "We need a copy of your security questionnaire for our procurement team.",
    "Please add two more seats to our plan from next month.",
    "Can you tell me where to find the API documentation?",
]
SUPPORT_UNHAPPY = [
    "This is the third time I'm writing about this and still nothing has happened.",
    "I'm really disappointed with how this has been handled.",
    "Honestly this is ridiculous, I've wasted the whole afternoon on your app.",
    "Still waiting for my refund after three weeks. This is unacceptable.",
    "Nobody has answered my last two emails. Is anyone even reading these?",
    "If this isn't sorted by Friday we'll move to another provider.",
    "Thanks for nothing, the problem is back again.",
    "Great, another update that breaks the sync. Just great.",
    "I'm fed up with chasing you for a simple invoice.",
    "We're losing customers because your checkout keeps failing. I'm furious.",
    "Your support has been useless so far.",
    "I want to speak to a manager, this has gone on far too long.",
    "Very frustrating experience, I expected much better from you.",
    "I've explained this three times already. Please read my previous emails.",
    "Cancel my subscription. I'm done with this.",
    "Terrible service, I will not recommend you to anyone.",
    "I am not happy at all with the answer I got.",
    "It has been two weeks and I still haven't heard back from anyone.",
    "This is a joke. How hard can it be to send a correct invoice?",
    "So disappointing. The same bug has been open since January.",
]

GRID = {
    "ngram_weight": [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0],
    # No negative bias: a sentence without any cue must never read as negative ("Ok.").
    "bias": [0.0],
    **{f"{g}_weight": [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0] for g in GROUPS},
    # A phrase of feeling the model is built around must count for something.
    **{f"{g}_weight": [0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0] for g in ("complaint", "churn", "escalation", "chase", "sarcasm")},
    # In value units (0.3 is -0.077 on the -1..1 scale, 1.0 is -0.25).
    "ngram_alone_cap": [0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5],
    # Fixed, not tuned: a plain fault report never goes below -0.25 (value 1 on the -1..1 scale's curve).
    "report_cap": [1.0],
    "negative_below": [-0.05, -0.1, -0.15, -0.2, -0.25, -0.3, -0.35, -0.4],
    "positive_above": [0.05, 0.1, 0.2, 0.3],
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
    """Per sentence: [words, groups..., logit, emphasis, felt_neg, felt_pos]; and the start row of each text."""
    model = tone._model()
    rows, starts = [], []
    for text in texts:
        starts.append(len(rows))
        sentences = tone.content_sentences(text) or [""]
        for sentence in sentences:
            words, groups, logit, emphasis, felt = tone._features(model, sentence)
            rows.append([words, *(groups.get(g, 0.0) for g in GROUPS), logit, emphasis, *map(float, felt)])
    return np.asarray(rows), np.asarray(starts)


def worst_scores(parts: np.ndarray, starts: np.ndarray, p: dict[str, float]) -> np.ndarray:
    """Per text, the score of its most negative sentence (what detection compares to its severity threshold)."""
    return _decide(parts, starts, p)[1]


def predict(parts: np.ndarray, starts: np.ndarray, p: dict[str, float]) -> np.ndarray:
    """Vectorised twin of ``tone.score_text``'s decision: True where "negative"."""
    return _decide(parts, starts, p)[0]


def _decide(parts: np.ndarray, starts: np.ndarray, p: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    n = len(GROUPS)
    logit, emphasis = parts[:, n + 1], parts[:, n + 2]
    felt_neg, felt_pos = parts[:, n + 3] > 0, parts[:, n + 4] > 0
    cap = p["ngram_alone_cap"]
    ngram = p["ngram_weight"] * logit
    ngram = np.where((ngram < -cap) & ~felt_neg, -cap, np.where((ngram > cap) & ~felt_pos, cap, ngram))
    value = parts[:, 0] + ngram + p["bias"]
    for j, g in enumerate(GROUPS, start=1):
        value = value + p[f"{g}_weight"] * parts[:, j]
    value = np.where(felt_neg, value, np.maximum(value, -p["report_cap"]))
    value = value + np.sign(value) * emphasis
    worst = np.minimum.reduceat(value, starts)
    best = np.maximum.reduceat(value, starts)
    worst_s = worst / np.sqrt(worst * worst + 15.0)
    del best
    against = -np.add.reduceat(np.minimum(value, 0.0), starts)
    for_ = np.add.reduceat(np.maximum(value, 0.0), starts)
    return (worst_s < p["negative_below"]) & (against * p["negative_dominance"] >= for_), worst_s


def objective(
    pred: np.ndarray,
    labels: np.ndarray,
    support: tuple[np.ndarray, np.ndarray] | None = None,
    plain: np.ndarray | None = None,
) -> tuple[float, float, float, float, float]:
    """(score, precision, recall, f1, neutral flagged rate); ``support``: predictions on the support sets."""
    gold = labels == 1
    pos = labels == 0
    tp = float((pred & gold).sum())
    fp = float((pred & pos).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / gold.sum()
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    neutral = float(pred[labels == -1].mean())
    # Lexicographic: first reach the quality bar, then call as few calm
    # (neutral) tweets negative as possible; below the bar, F1 counts.
    if precision < MIN_PRECISION:
        score = f1 - 20.0
    elif f1 < MIN_F1:
        score = f1 - 10.0
    else:
        score = 1.0 - neutral
        if support is not None:
            calm, unhappy = support
            if unhappy.mean() < MIN_SUPPORT_RECALL:
                score -= 5.0
            if plain is not None:
                score -= plain.mean()
            # A support request as severe as a complaint costs more than a calm tweet.
            score -= 2.0 * calm.mean()
    return score, precision, recall, f1, neutral


def main() -> None:
    """Seeded random search over the grid, then coordinate search; print and optionally write the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--samples", type=int, default=3000, help="random grid points tried before refining")
    args = parser.parse_args()
    texts, labels = tuning_half()
    parts, starts = sentence_parts(texts)
    calm_parts, calm_starts = sentence_parts(SUPPORT_NEUTRAL)
    sad_parts, sad_starts = sentence_parts(SUPPORT_UNHAPPY)
    plain_parts, plain_starts = sentence_parts(SUPPORT_PLAIN)

    def evaluate(p: dict[str, float]) -> tuple[float, float, float, float, float]:
        support = (worst_scores(calm_parts, calm_starts, p) < SEVERITY, worst_scores(sad_parts, sad_starts, p) < SEVERITY)
        return objective(predict(parts, starts, p), labels, support, predict(plain_parts, plain_starts, p))

    params = {**{k: v[0] for k, v in GRID.items()}, **json.loads(PARAMS.read_text(encoding="utf-8"))["params"]}
    best = evaluate(params)
    print("start", [round(x, 3) for x in best])
    # Random points first: the bar on F1 makes one-coordinate moves from a
    # single start get stuck; a fixed seed keeps the search reproducible.
    rng = np.random.default_rng(4)
    for _ in range(args.samples):
        trial = {k: v[rng.integers(len(v))] for k, v in GRID.items()}
        result = evaluate(trial)
        if result[0] > best[0] + 1e-6:
            best, params = result, trial
    print("random", [round(x, 3) for x in best])
    for _ in range(6):
        improved = False
        for key, values in GRID.items():
            for v in values:
                trial = {**params, key: v}
                result = evaluate(trial)
                if result[0] > best[0] + 1e-6:
                    best, params, improved = result, trial, True
        print("pass", [round(x, 3) for x in best], params)
        if not improved:
            break
    calm = worst_scores(calm_parts, calm_starts, params) < SEVERITY
    sad = worst_scores(sad_parts, sad_starts, params) < SEVERITY
    print(f"support sentences below {SEVERITY}: calm {calm.sum()}/{len(calm)}, unhappy {sad.sum()}/{len(sad)}")
    plain = predict(plain_parts, plain_starts, params)
    print(f"plain requests labelled negative: {plain.sum()}/{len(plain)}")
    _score, precision, recall, f1, neutral = best
    print(f"tuning half: precision {precision:.3f} recall {recall:.3f} F1 {f1:.3f}; neutral called negative {neutral:.3f}")
    if args.write:
        payload = {
            "about": (
                "Hyper-parameters of outreach/tone.py, chosen by tools/tune_tone.py (coordinate search over a "
                "fixed grid) on the even rows of the airline tweets: fewest neutral tweets called negative while "
                f"negative-vs-positive precision >= {MIN_PRECISION} and F1 >= {MIN_F1}. "
                "Only these scalars were fitted there."
            ),
            "tuning_half": {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                            "neutral_called_negative": round(neutral, 4)},
            "support_sentences_below_severity": {"threshold": SEVERITY, "calm": f"{int(calm.sum())}/{len(calm)}",
                                                 "unhappy": f"{int(sad.sum())}/{len(sad)}"},
            "plain_requests_labelled_negative": f"{int(plain.sum())}/{len(plain)}",
            "params": params,
        }
        PARAMS.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {PARAMS}")


if __name__ == "__main__":
    main()
