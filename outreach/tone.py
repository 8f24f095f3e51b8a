"""Tone of a customer's new words: negative, neutral or positive, with the phrase that carries it.

First version: VADER per sentence, the most negative sentence wins. The
interface (``Tone``, ``score_texts``) is stable; the model behind it improves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

ToneLabel = Literal["negative", "neutral", "positive"]
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True, slots=True)
class Tone:
    """How a text sounds.

    Attributes:
        score: -1 (very negative) to 1 (very positive).
        label: The class the score falls in.
        phrase: The sentence that carries the tone ("" for neutral, empty text).
    """

    score: float
    label: ToneLabel
    phrase: str


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def score_text(text: str, negative_below: float = -0.05, positive_above: float = 0.05) -> Tone:
    """Score one text by its sentences; the strongest negative sentence dominates."""
    sentences = [s.strip() for s in _SENTENCE_RE.split(text) if s and s.strip()]
    if not sentences:
        return Tone(0.0, "neutral", "")
    analyzer = _analyzer()
    scored = [(analyzer.polarity_scores(s)["compound"], s) for s in sentences[:40]]
    worst = min(scored)
    best = max(scored)
    if worst[0] < negative_below:
        return Tone(worst[0], "negative", worst[1])
    if best[0] > positive_above:
        return Tone(best[0], "positive", best[1])
    return Tone(0.0, "neutral", "")


def score_texts(texts: Sequence[str]) -> list[Tone]:
    """Score many texts (the batch entry point detection uses)."""
    return [score_text(t) for t in texts]
