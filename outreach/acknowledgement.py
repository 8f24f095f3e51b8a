"""Did our reply only acknowledge the customer's message?

A reply such as "Thank you for writing to us. We have read your message."
answers nothing, fixes nothing, asks nothing and promises nothing. A
customer who complained mildly and got only that, then went quiet, is
likely to be quietly unhappy; the same customer given a fix or an
explanation is not. Detection uses this to decide whether a mildly
negative message followed by silence deserves a check-in.

The test is deliberately narrow: apart from the greeting and the sign-off
(with the name, title and phone number under it), every sentence of the
reply must start with one of the configured acknowledgement phrases. Anything else (an explanation, a step, a fix, a question) makes
the reply substantive, so an unusual but real answer never reads as a
brush-off.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

__all__ = ["acknowledgement_only"]

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_GREETING_WORDS = (
    r"(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|hallo|guten (?:morgen|tag)|liebe[rs]?|"
    r"sehr geehrte[rs]?)\b"
)
# "Hi Marco," on a line of its own, or in front of the first sentence ("Hi Ann, thanks for ...").
_GREETING_LINE = re.compile(rf"^{_GREETING_WORDS}[^.!?]{{0,40}}$", re.IGNORECASE)
_GREETING_PREFIX = re.compile(rf"^{_GREETING_WORDS}[^,.!?]{{0,40}},\s*", re.IGNORECASE)
# Where the sign-off starts ("Best,", "Kind regards, Kwame", "Thanks, Priya", "-- "): it and
# every line after it (name, title, phone number) say nothing to the customer.
_SIGN_OFF = re.compile(
    r"^(?:(?:best|kind|warm|many)?\s*(?:regards|wishes)|best|cheers|thanks|thank you|many thanks|sincerely|"
    r"all the best|take care|viele grüße|beste grüße|liebe grüße|mit freundlichen grüßen|grüße|gruß)"
    r"[,.!]?(?:\s+[A-ZÀ-Þ][\w'.-]*){0,3}\s*$"
    r"|^[—–-]{1,2}(?:\s+\S.*)?$",
    re.IGNORECASE,
)
# A name alone on the last line ("Priya", "Tomás Ruiz").
_NAME_LINE = re.compile(r"^[A-ZÀ-Þ][\w'.-]*(?:\s+[A-ZÀ-Þ][\w'.-]*){0,2}$")


@lru_cache(maxsize=8)
def _opening(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    cleaned = sorted({p.strip().lower() for p in phrases if p.strip()}, key=lambda p: (-len(p), p))
    if not cleaned:
        return None
    return re.compile(r"(?:" + "|".join(re.escape(p) for p in cleaned) + r")\b")


def _body_lines(text: str) -> list[str]:
    """The reply's lines without the greeting and the sign-off."""
    lines = [line.strip(" \t>*") for line in text.splitlines()]
    lines = [line for line in lines if line]
    if lines and _GREETING_LINE.match(lines[0]) and not lines[0].rstrip().endswith((".", "!", "?")):
        lines = lines[1:]
    elif lines:
        lines[0] = _GREETING_PREFIX.sub("", lines[0])
    for i, line in enumerate(lines):
        if i and _SIGN_OFF.match(line):  # a closing word never opens the reply's first line
            return lines[:i]
    if len(lines) > 1 and _NAME_LINE.match(lines[-1]):
        lines = lines[:-1]
    return lines


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
    for line in _body_lines(text):
        for sentence in _SENTENCE_END.split(line):
            sentence = sentence.strip(" \t-–—\"'")
            if not sentence:
                continue
            if "?" in sentence or not opening.match(sentence.lower()):
                return None
            if first is None:
                first = sentence
    return first
