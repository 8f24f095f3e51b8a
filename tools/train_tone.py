"""Train the word/bigram part of the tone model on the UCI sentiment sentences.

Reproducible: a fixed split (every 5th row, offset 4, of
``DERIVED_uci_sentiment_labelled.csv`` is held out and never seen here), a
deterministic full-batch optimiser, and a fixed grid for the L2 strength
chosen by 5-fold cross-validation on the training rows only.

Only the UCI sentences (Kotzias et al., KDD 2015, CC BY 4.0) train weights
that ship. The airline tweets (CC BY-NC-SA) must never be used here; they
only tune the dozen hyper-parameters in ``tone_params.json`` (see
``tools/tune_tone.py``), and the Trustpilot and CFPB files are held out.

It also refreshes the ``first`` lists of ``support_lexicon.json``: for each
hand-written pattern, the literal texts every match starts with (derived from
the regex itself), so the runtime only tries a pattern where it can start.

Usage (from the repo root)::

    .venv/bin/python tools/train_tone.py [--corpus ../shared/corpus] [--patterns-only]

Writes ``outreach/tone_data/uci_ngram_weights.json`` and updates
``outreach/tone_data/support_lexicon.json``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import re
import re._constants as sre_c  # the stdlib's regex parser: exact match starts without hand-kept lists
import re._parser as sre_parse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
UCI_CSV = "C_labelled_sentiment/uci-sentiment-labelled-sentences_Rithwikksvr/DERIVED_uci_sentiment_labelled.csv"
HELDOUT_EVERY, HELDOUT_OFFSET = 5, 4
L2_GRID = (0.3, 1.0, 3.0, 10.0)
MIN_COUNT = 2
LEXICON = ROOT / "outreach" / "tone_data" / "support_lexicon.json"
sys.path.insert(0, str(ROOT))


def tokens(text: str) -> list[str]:
    """The runtime tokenizer, so training and scoring see the same features."""
    from outreach.tone import _NOISE_RE, _TOKEN_RE

    low = _NOISE_RE.sub(" ", text.lower().replace("’", "'"))
    return _TOKEN_RE.findall(low)


# Function words and punctuation carry the review sites' habits (a "?" in a
# review is a complaint), not sentiment; and the runtime must give a plain
# question a value near zero. They get no weight of their own.
STOPWORDS = frozenset(
    """a an the and or of to in on at for from by with as is are was were be been being am it its it's this that
    these those i me my we our you your he she they them his her their there here what which who whom when where
    why how do does did done have has had having will would shall should can could may might must about into
    over after before again then than so if just also up down out off all any each some such own same other
    get got go going went one two 3 s t ve ll re d m , ; : ! ?
    ok okay fine alright sure yes yeah hi hello dear regards""".split()
)


def negated(toks: list[str]) -> list[str]:
    """Mark polar words under negation as ``not_<word>``, exactly where the runtime finds negation."""
    from outreach.tone import _CLAUSE_BREAK, _NEGATORS, _model

    lexicon = _model().lexicon
    out = list(toks)
    for i, t in enumerate(toks):
        if t not in lexicon:
            continue
        for back in range(i - 1, max(-1, i - 4), -1):
            if toks[back] in _CLAUSE_BREAK:
                break
            if toks[back] in _NEGATORS:
                out[i] = "not_" + t
                break
    return out


def ngrams(toks: list[str]) -> list[str]:
    """Unigrams (polar words under negation marked) and bigrams, minus function-word-only ones."""
    from outreach.tone import _NEGATORS

    # A negator's effect is carried by the marked word and the bigrams; a bare
    # "not" would also count against every "not bad".
    uni = [t for t in negated(toks) if t not in STOPWORDS and t not in _NEGATORS and not t.isdigit()]
    bi = [a + " " + b for a, b in itertools.pairwise(toks) if not (a in STOPWORDS and b in STOPWORDS)]
    return uni + bi


# Bounds on the start literals: longer and more of them make the runtime's
# trigger scan more selective (fewer regex attempts), at the cost of a bigger
# trie; past these the expansion stops and keeps the prefix found so far.
_MAX_PREFIX = 12
_MAX_PREFIXES = 1000

# A set of (text, closed): every match starts with ``text``; ``closed`` says
# the matched element is exactly ``text``, so what follows may extend it.
_Prefixes = set[tuple[str, bool]]


def _prefixes(items: object) -> _Prefixes | None:
    """Prefixes of a parsed sequence, expanded through literals, branches and optional parts.

    Sound by construction: zero-width parts (``\\b``, look-arounds) are dropped,
    which only widens a prefix, and anything not understood ends the prefix.
    """
    acc: _Prefixes = {("", True)}
    for op, av in list(items):  # type: ignore[call-overload]
        if all(not closed for _, closed in acc):
            break
        if op in (sre_c.AT, sre_c.ASSERT, sre_c.ASSERT_NOT):
            continue
        part = _element(op, av)
        if part is None:
            acc = {(text, False) for text, _ in acc}
            break
        grown: _Prefixes = set()
        for text, closed in acc:
            if not closed:
                grown.add((text, False))
                continue
            for more, more_closed in part:
                grown.add((text + more, more_closed))
        if len(grown) > _MAX_PREFIXES:
            acc = {(text, False) for text, _ in acc}
            break
        acc = {(t[:_MAX_PREFIX], c and len(t) < _MAX_PREFIX) for t, c in grown}
    return acc


def _element(op: object, av: object) -> _Prefixes | None:
    """Prefixes of one parsed element (None: unknown, ends the prefix)."""
    if op is sre_c.LITERAL:
        return {(chr(av), True)}  # type: ignore[arg-type]
    if op is sre_c.SUBPATTERN:
        return _prefixes(av[-1])  # type: ignore[index]
    if op is sre_c.BRANCH:
        out: _Prefixes = set()
        for alternative in av[1]:  # type: ignore[index]
            found = _prefixes(alternative)
            if found is None:
                return None
            out |= found
        return out
    if op is sre_c.IN:
        chars: set[str] = set()
        for kind, value in av:  # type: ignore[attr-defined]
            if kind is sre_c.LITERAL:
                chars.add(chr(value))
            elif kind is sre_c.CATEGORY and value is sre_c.CATEGORY_DIGIT:
                chars |= set("0123456789")
            elif kind is sre_c.RANGE:
                chars |= {chr(c) for c in range(value[0], value[1] + 1)}
            else:
                return None
        return {(c, True) for c in chars}
    if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
        low, high, inner = av  # type: ignore[misc]
        found = _prefixes(inner)
        if found is None:
            return None
        if low == 0 and high == 1:
            return found | {("", True)}
        if low == 0:
            return {("", False)}
        # One or more repeats: the first one is a prefix, then anything may follow.
        return {(text, False) for text, _ in found}
    return None


def match_starts(items: object) -> set[str] | None:
    """Literal texts that every match of a parsed regex starts with (None: cannot tell).

    Expanded through branches and optional parts up to ``_MAX_PREFIX``
    characters: the longer the literals, the fewer places the runtime tries
    the pattern. A shorter literal is always safe (it only makes the runtime
    try more positions). Literals that extend another one are dropped (the
    shorter one already marks the place).
    """
    found = _prefixes(items)
    if not found or any(not text for text, _ in found):
        return None
    texts = sorted({text for text, _ in found})
    return {t for t in texts if not any(t != o and t.startswith(o) for o in texts)}


def refresh_pattern_starts(path: Path = LEXICON) -> None:
    """Write each pattern's ``first`` list (the literals its matches start with)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    for pattern in data["patterns"]:
        starts = match_starts(sre_parse.parse(pattern["re"]))
        if not starts:
            raise SystemExit(f"cannot tell where this pattern starts; give it a literal start: {pattern['re']}")
        re.compile(pattern["re"])
        pattern["first"] = sorted(starts)
        pattern.pop("need", None)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"refreshed match starts of {len(data['patterns'])} patterns in {path.name}")


def load_uci(corpus: Path) -> tuple[list[str], list[int], list[str], list[int]]:
    """Return (train texts, train labels, held-out texts, held-out labels)."""
    with (corpus / UCI_CSV).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    train_x, train_y, test_x, test_y = [], [], [], []
    for i, row in enumerate(rows):
        if i % HELDOUT_EVERY == HELDOUT_OFFSET:
            test_x.append(row["text"])
            test_y.append(int(row["label"]))
        else:
            train_x.append(row["text"])
            train_y.append(int(row["label"]))
    return train_x, train_y, test_x, test_y


def fit(x: np.ndarray, y: np.ndarray, l2: float, steps: int = 50) -> tuple[np.ndarray, float]:
    """L2 logistic regression by Newton's method (deterministic, exact enough).

    There are more features than sentences, so each Newton step is solved in
    sentence space (Woodbury identity) instead of inverting a feature-sized Hessian.
    """
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 1e-3  # the intercept is barely regularised
    inv_reg = 1.0 / reg
    x_scaled = xb * inv_reg  # X Λ⁻¹
    gram = x_scaled @ xb.T  # X Λ⁻¹ Xᵀ
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(xb @ theta)))
        grad = xb.T @ (p - y) + reg * theta
        curvature = np.clip(p * (1 - p), 1e-9, None)
        inner = gram + np.diag(1.0 / curvature)
        step = inv_reg * grad - x_scaled.T @ np.linalg.solve(inner, x_scaled @ grad)
        theta -= step
        if np.abs(step).max() < 1e-7:
            break
    return theta[:-1], float(theta[-1])


def matrix(texts: list[list[str]], vocab: dict[str, int]) -> np.ndarray:
    """Binary presence matrix (a sentence is short; counts add little)."""
    x = np.zeros((len(texts), len(vocab)))
    for i, feats in enumerate(texts):
        for f in feats:
            j = vocab.get(f)
            if j is not None:
                x[i, j] = 1.0
    return x


def main() -> None:
    """Train, report held-out accuracy, write the weights."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / ".." / "shared" / "corpus")
    parser.add_argument("--out", type=Path, default=ROOT / "outreach" / "tone_data" / "uci_ngram_weights.json")
    parser.add_argument("--patterns-only", action="store_true", help="only refresh the pattern start lists")
    args = parser.parse_args()
    refresh_pattern_starts()
    if args.patterns_only:
        return
    train_x, train_y, test_x, test_y = load_uci(args.corpus.resolve())
    feats = [sorted(set(ngrams(tokens(t)))) for t in train_x]
    counts = Counter(f for fs in feats for f in fs)
    vocab = {f: i for i, f in enumerate(sorted(f for f, c in counts.items() if c >= MIN_COUNT))}
    x = matrix(feats, vocab)
    y = np.asarray(train_y, dtype=float)
    folds = np.arange(len(y)) % 5
    best = None
    for l2 in L2_GRID:
        correct = 0
        for k in range(5):
            w, b = fit(x[folds != k], y[folds != k], l2)
            correct += int((((x[folds == k] @ w + b) > 0) == (y[folds == k] > 0.5)).sum())
        acc = correct / len(y)
        print(f"l2={l2}: cv accuracy {acc:.3f}")
        if best is None or acc > best[1]:
            best = (l2, acc)
    assert best is not None
    w, b = fit(x, y, best[0])
    test_feats = [sorted(set(ngrams(tokens(t)))) for t in test_x]
    held = matrix(test_feats, vocab)
    held_acc = float((((held @ w + b) > 0) == (np.asarray(test_y) > 0.5)).mean())
    print(f"chosen l2={best[0]}; vocabulary {len(vocab)}; held-out accuracy {held_acc:.3f} on {len(test_y)} rows")
    inv = {i: f for f, i in vocab.items()}
    weights = {inv[j]: round(float(w[j]), 4) for j in np.argsort(-np.abs(w)) if abs(w[j]) >= 0.005}
    payload = {
        "about": (
            "Logistic-regression weights over unigrams and bigrams (presence), trained by tools/train_tone.py "
            "on the UCI Sentiment Labelled Sentences (Kotzias et al., KDD 2015; CC BY 4.0), amazon + yelp files, "
            "rows i % 5 != 4 of DERIVED_uci_sentiment_labelled.csv. Positive weight = positive sentiment. "
            "The runtime sums the weights of the distinct n-grams present and ignores the bias (neutral text sits at 0)."
        ),
        "heldout_every": HELDOUT_EVERY,
        "heldout_offset": HELDOUT_OFFSET,
        "l2": best[0],
        "heldout_accuracy": round(held_acc, 4),
        "bias": round(b, 4),
        "weights": weights,
    }
    args.out.write_text(json.dumps(payload, indent=0, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {len(weights)} weights to {args.out}")


if __name__ == "__main__":
    main()
