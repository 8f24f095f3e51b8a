"""Subject normalisation for threading: reply/forward prefixes and list tags removed.

Clients mark replies and forwards with localised prefixes (``Re:``, ``AW:``,
``WG:``, ``SV:``, ``Antw:``, ``RE[2]:``, ``回复：``…) and mailing lists or ticket
systems add tags (``[ticket #123]``, ``[support]``). Two subjects that differ
only in those belong to the same conversation, so threading compares the
normalised form.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Reply and forward markers in the languages support inboxes meet most. "I:"
# (Italian forward) is left out on purpose: it would eat real subjects.
_MARKERS = (
    "re", "r", "aw", "antw", "antwort", "sv", "vs", "vl", "wg", "fw", "fwd", "tr",
    "rv", "enc", "res", "odp", "pd", "ynt", "vb", "doorst", "fs", "rif",
    "atb", "bls", "trs", "vá", "továbbítás", "回复", "回覆", "答复", "转发", "轉寄",
)
_PREFIX = re.compile(
    r"^\s*(?:" + "|".join(sorted(map(re.escape, _MARKERS), key=len, reverse=True)) + r")"
    r"\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*[:：]",
    re.IGNORECASE,
)
# A bracketed tag at the start or end ("[ticket #123] ...", "... [SPAM]"), and
# the old "(fwd)" suffix.
_LEAD_TAG = re.compile(r"^\s*\[[^\[\]]*\]")
_TRAIL_TAG = re.compile(r"(?:\[[^\[\]]*\]|\((?:fwd|fw)\))\s*$", re.IGNORECASE)
_SPACE = re.compile(r"\s+")

DEFAULT_GENERIC_SUBJECTS: frozenset[str] = frozenset(
    {
        "", "hello", "hi", "hey", "hallo", "bonjour", "hola", "question", "questions",
        "a question", "quick question", "help", "help!", "help needed", "need help",
        "support", "request", "inquiry", "enquiry", "info", "information", "contact",
        "contact form", "feedback", "problem", "issue", "urgent", "important", "test",
        "thanks", "thank you", "order", "my order", "no subject", "(no subject)",
        "untitled", "frage", "anfrage", "hilfe", "kein betreff", "(kein betreff)",
        "sans objet", "(sans objet)", "sin asunto", "(sin asunto)",
    }
)
"""Subjects too common to say two messages belong together (compared normalised)."""


def split_subject(subject: str) -> tuple[str, bool]:
    """Normalise a subject and tell whether it carried a reply/forward marker.

    Args:
        subject: The decoded Subject header.

    Returns:
        ``(normalised, is_reply)``: the subject case-folded, with NFKC
        normalisation, collapsed whitespace, every leading reply/forward marker
        and leading/trailing bracketed tag removed; ``is_reply`` is true when at
        least one reply or forward marker was removed.
    """
    text = unicodedata.normalize("NFKC", subject or "")
    is_reply = False
    while True:
        match = _PREFIX.match(text)
        if match:
            is_reply = True
            text = text[match.end():]
            continue
        match = _LEAD_TAG.match(text)
        # A subject that is only a tag ("[123]") keeps it: it is all there is.
        if match and text[match.end():].strip():
            text = text[match.end():]
            continue
        break
    while True:
        match = _TRAIL_TAG.search(text)
        if match and text[: match.start()].strip():
            text = text[: match.start()]
            continue
        break
    return _SPACE.sub(" ", text).strip().casefold(), is_reply


def normalise_subject(subject: str) -> str:
    """The subject without reply/forward markers and list tags, case-folded.

    Args:
        subject: The decoded Subject header.

    Returns:
        The normalised subject (``"Re: AW: [ticket #1] Refund"`` → ``"refund"``).
    """
    return split_subject(subject)[0]


def normalise_generic(subjects: Iterable[str]) -> frozenset[str]:
    """Normalise a list of generic subjects the same way message subjects are.

    Args:
        subjects: Subjects never to merge on, as a person would write them.

    Returns:
        Their normalised forms (always including the empty subject).
    """
    return frozenset({normalise_subject(s) for s in subjects} | {""})
