"""Did our reply only acknowledge the customer's message?

A reply such as "Thank you for writing to us. We have read your message."
answers nothing, fixes nothing, asks nothing and promises nothing. A
customer who complained mildly and got only that, then went quiet, is
likely to be quietly unhappy; the same customer given a fix or an
explanation is not. Detection uses this to decide whether a mildly
negative message followed by silence deserves a check-in.

The test is deliberately narrow: every sentence of the reply must be a
greeting, a sign-off or start with one of the configured acknowledgement
phrases. Anything else (an explanation, a step, a fix, a question) makes
the reply substantive, so an unusual but real answer never reads as a
brush-off.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

__all__ = ["acknowledgement_only"]

# Greetings and sign-offs stand on their own line without a full stop
# ("Hi Marco,", "Best,", "Cheers, Priya"); a short line that ends in
# punctuation ("It's fixed now.") is a sentence like any other.
_SHORT_LINE_WORDS = 4
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")
# A greeting written on the same line as the first sentence ("Hi Ann, thanks for ...").
_GREETING = re.compile(
    r"^(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|hallo|guten (?:morgen|tag)|liebe[rs]?|"
    r"sehr geehrte[rs]?)\b[^,.!?]{0,40},\s*",
    re.IGNORECASE,
)


@lru_cache(maxsize=8)
def _opening(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    cleaned = sorted({p.strip().lower() for p in phrases if p.strip()}, key=lambda p: (-len(p), p))
    if not cleaned:
        return None
    return re.compile(r"(?:" + "|".join(re.escape(p) for p in cleaned) + r")\b")


def _is_frame_line(line: str) -> bool:
    """A greeting or sign-off line: a few words, no digits, no closing punctuation."""
    words = line.split()
    return (
        0 < len(words) <= _SHORT_LINE_WORDS
        and not any(ch.isdigit() for ch in line)
        and line[-1] not in ".!?"
    )


def acknowledgement_only(text: str, phrases: Sequence[str]) -> str | None:
    """The reply's first acknowledging sentence when the reply holds nothing else.

    Args:
        text: Our reply's own words (quoted history already removed).
        phrases: Sentence openings that acknowledge without answering
            ("thank you for", "we have received"), matched case-insensitively
            at the start of a sentence.

    Returns:
        The first acknowledging sentence (to quote in a reason), or ``None``
        when any sentence says something more, or the reply is empty.
    """
    opening = _opening(tuple(phrases))
    if opening is None:
        return None
    first: str | None = None
    for line in text.splitlines():
        line = line.strip(" \t-–—>*")
        if not line or _is_frame_line(line):
            continue
        line = _GREETING.sub("", line)
        for sentence in _SENTENCE_END.split(line):
            sentence = sentence.strip(" \t-–—\"'")
            if not sentence:
                continue
            if "?" in sentence or not opening.match(sentence.lower()):
                return None
            if first is None:
                first = sentence
    return first
