"""What upsets customers most: complaint themes from negative customer messages.

Two passes over the customers' own words (``reply_text``, quoted history
already cut) of messages whose tone is below the negative threshold:

1. **Known matters**: the detection's ``repeat_topics`` (refund, invoice,
   login…) plus a few complaint matters of their own (waiting for an answer,
   things broken, price). A message mentioning a matter's keyword at a word
   start counts for it; one message can count for two matters.
2. **Discovered phrases**: among the negative messages no matter covers, the
   two-word phrases (curated stop words removed) that are much more common
   there than in customer mail at large (document frequency weighted by
   inverse document frequency, the idea behind TF-IDF), chosen greedily so
   one message feeds one phrase.

Each theme has its count, how many customers, example sentences (the most
negative sentences naming the theme, addresses redacted), weekly counts and
a trend (the last four weeks against the four before).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from outreach.redact import redact_text

if TYPE_CHECKING:
    import pandas as pd

    from outreach.settings import Settings

__all__ = ["COMPLAINT_MATTERS", "STOP_WORDS", "complaint_themes"]

#: Complaint matters beyond detection's repeat topics (which are about what, not how it went).
COMPLAINT_MATTERS: dict[str, list[str]] = {
    "waiting for an answer": [
        "no answer", "no response", "no reply", "still waiting", "waiting for", "nobody", "ignored",
        "days ago", "weeks ago", "heard nothing", "haven't heard", "third time", "again and again",
    ],
    "something broken": [
        "broken", "not working", "doesn't work", "does not work", "crash", "error", "bug", "fails",
        "failed", "stopped working",
    ],
    "outage": ["outage", "down", "not loading", "unavailable", "502", "503"],
    "price": ["expensive", "price", "overcharged", "too much", "cost"],
}

# Function words, mail pleasantries and support vocabulary that say nothing about a complaint.
STOP_WORDS: frozenset[str] = frozenset(
    """a about above after again against all am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't doing
    don't down during each few for from further had hadn't has hasn't have haven't having he her here
    hers herself him himself his how i i'd i'll i'm i've if in into is isn't it it's its itself just
    let's me more most mustn't my myself no nor not of off on once only or other ought our ours
    ourselves out over own same she should shouldn't so some such than that that's the their theirs
    them themselves then there there's these they they'd they'll they're they've this those through
    to too under until up very was wasn't we we'd we'll we're we've were weren't what what's when
    where which while who whom why with won't would wouldn't you you'd you'll you're you've your yours
    yourself yourselves also still yet get got getting really please thanks thank hi hello dear
    regards best cheers kind team support help sorry hey ok okay one two will would us know let
    need want see sent send now today yesterday tomorrow time just like could since ago back even
    ich die der das und ist nicht ein eine es sie wir mit auf für den dem zu von""".split()
)

_WORD = re.compile(r"[a-zäöüß0-9][a-zäöüß0-9'’-]*", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
EXAMPLE_CHARS = 180


def _matcher(keywords: Iterable[str]) -> re.Pattern[str]:
    # Word start, any case: "refund" also finds "refunded", "cancel" finds "cancelling".
    parts = sorted({re.escape(k.lower()) for k in keywords if k.strip()}, key=len, reverse=True)
    return re.compile(r"(?<![\w])(?:" + "|".join(parts) + ")", re.IGNORECASE)


def _tokens(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def _bigrams(text: str) -> set[str]:
    # Adjacent in the customer's own text, so a theme reads as something they said.
    words = _tokens(text)

    def content(w: str) -> bool:
        return w not in STOP_WORDS and not w.isdigit() and len(w) > 2

    return {f"{a} {b}" for a, b in itertools.pairwise(words) if a != b and content(a) and content(b)}


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if 12 <= len(s.strip())]


def _example(sentence: str) -> str:
    clean = redact_text(" ".join(sentence.split()))
    return clean if len(clean) <= EXAMPLE_CHARS else clean[: EXAMPLE_CHARS - 1].rstrip() + "…"


def _examples(texts: Iterable[str], pattern: re.Pattern[str], limit: int) -> list[str]:
    from outreach.tone import score_text

    found: list[tuple[float, str]] = []
    seen: set[str] = set()
    for text in texts:
        for sentence in _sentences(text):
            key = re.sub(r"[^a-z0-9]", "", sentence.lower())
            if key in seen or not pattern.search(sentence):
                continue
            seen.add(key)
            found.append((score_text(sentence).score, sentence))
            if len(found) >= 40:  # enough to choose from; scoring every sentence is wasted work
                break
        if len(found) >= 40:
            break
    found.sort(key=lambda pair: pair[0])
    return [_example(s) for _, s in found[:limit]]


def _weekly(dates: pd.Series, weeks: list[pd.Timestamp]) -> dict[str, int]:
    counts = Counter(_week_start(dates))
    return {w.strftime("%Y-%m-%d"): int(counts.get(w, 0)) for w in weeks}


def _week_start(dates: pd.Series) -> pd.Series:
    """Monday 00:00 UTC of each date's week (naive UTC)."""
    import pandas as pd

    utc = pd.to_datetime(dates, utc=True).dt.tz_localize(None)
    return (utc - pd.to_timedelta(utc.dt.day_of_week, unit="D")).dt.normalize()


def _trend(weekly: Mapping[str, int]) -> tuple[str, float | None]:
    values = list(weekly.values())
    recent, before = sum(values[-4:]), sum(values[-8:-4])
    if before == 0:
        return ("new" if recent else "quiet"), None
    change = (recent - before) / before
    label = "rising" if change >= 0.25 else "falling" if change <= -0.25 else "steady"
    return label, round(change, 3)


def complaint_themes(
    messages: pd.DataFrame,
    settings: Settings,
    now: datetime,
    *,
    top: int = 8,
    weeks: int = 8,
    examples: int = 3,
    discover: int = 3,
) -> dict[str, Any]:
    """The top complaint themes in negative customer messages, with examples and weekly trend.

    Args:
        messages: The store's ``messages`` frame (``direction``, ``auto_kind``,
            ``tone``, ``date``, ``from_address``, ``reply_text``).
        settings: Detection's negative threshold and repeat topics.
        now: End of the period.
        top: Themes to return at most, biggest first.
        weeks: Weeks in the weekly series (the trend compares the last four with the four before).
        examples: Example sentences per theme.
        discover: Phrase themes to discover among messages no known matter covers.

    Returns:
        ``{"negative_messages", "covered", "weeks", "themes": [{"theme", "source",
        "keywords", "messages", "customers", "share", "examples", "weekly",
        "trend", "change"}]}``; ``share`` is of the negative messages.
    """
    import pandas as pd

    end = pd.Timestamp(now)
    end = end.tz_localize("UTC") if end.tzinfo is None else end.tz_convert("UTC")
    last_week = _week_start(pd.Series([end])).iloc[0]
    week_starts = [last_week - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    start = week_starts[0].tz_localize("UTC")
    empty = {"negative_messages": 0, "covered": 0, "weeks": [w.strftime("%Y-%m-%d") for w in week_starts], "themes": []}
    if messages.empty or "reply_text" not in messages:
        return empty
    inbound = messages[(messages["direction"] == "in") & messages["auto_kind"].isna()]
    inbound = inbound[(inbound["date"] >= start) & (inbound["date"] <= end)]
    texts = inbound["reply_text"].fillna("")
    negative = inbound[(inbound["tone"] < settings.detection.negative_threshold) & (texts.str.len() > 0)]
    if negative.empty:
        return empty

    matters = {**{k: list(v) for k, v in settings.detection.repeat_topics.items()}, **COMPLAINT_MATTERS}
    themes: list[dict[str, Any]] = []
    covered = pd.Series(False, index=negative.index)
    neg_text = negative["reply_text"].fillna("")
    for name, keywords in matters.items():
        pattern = _matcher(keywords)
        hit = neg_text.map(lambda t, p=pattern: bool(p.search(t)))
        if not hit.any():
            continue
        covered |= hit
        themes.append(_theme(name, "matter", keywords, negative[hit], pattern, len(negative), week_starts, examples))

    rest = negative[~covered]
    if discover and len(rest) >= 3:
        # Inverse document frequency from all customer mail in the period, so phrases every
        # customer uses ("my account") weigh little and complaint-specific ones stand out.
        all_grams = [_bigrams(t) for t in texts]
        df_all = Counter(g for grams in all_grams for g in grams)
        n_all = max(len(all_grams), 1)
        pool = {idx: _bigrams(t) for idx, t in rest["reply_text"].fillna("").items()}
        minimum = max(3, math.ceil(0.02 * len(negative)))
        for _ in range(discover):
            df_rest = Counter(g for grams in pool.values() for g in grams)
            scored = [
                (n * math.log(1 + n_all / df_all.get(g, n)), g) for g, n in df_rest.items() if n >= minimum
            ]
            if not scored:
                break
            _, phrase = max(scored)
            ids = [idx for idx, grams in pool.items() if phrase in grams]
            pattern = _matcher([phrase])
            rows = negative.loc[ids]
            themes.append(_theme(phrase, "phrase", [phrase], rows, pattern, len(negative), week_starts, examples))
            for idx in ids:
                pool.pop(idx)
            covered.loc[ids] = True

    themes.sort(key=lambda t: (-t["messages"], t["theme"]))
    return {
        "negative_messages": int(len(negative)),
        "covered": int(covered.sum()),
        "weeks": [w.strftime("%Y-%m-%d") for w in week_starts],
        "themes": themes[:top],
    }


def _theme(
    name: str,
    source: str,
    keywords: list[str],
    rows: pd.DataFrame,
    pattern: re.Pattern[str],
    total: int,
    week_starts: list[pd.Timestamp],
    examples: int,
) -> dict[str, Any]:
    weekly = _weekly(rows["date"], week_starts)
    trend, change = _trend(weekly)
    ordered = rows.sort_values("tone")["reply_text"].fillna("")
    return {
        "theme": name,
        "source": source,
        "keywords": keywords,
        "messages": int(len(rows)),
        "customers": int(rows["from_address"].nunique()),
        "share": round(len(rows) / total, 4) if total else 0.0,
        "examples": _examples(ordered, pattern, examples),
        "weekly": weekly,
        "trend": trend,
        "change": change,
    }
