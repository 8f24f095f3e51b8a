"""Tone of a customer's new words: negative, neutral or positive, with the phrase that carries it.

The model is small, fast and explains itself. Each sentence of the reply text
gets a value on VADER's scale from four additive parts:

1. word polarity: VADER's lexicon (MIT, read from the installed package)
   overlaid with a hand-written support-mail lexicon, with VADER-style
   negation ("not happy"), boosters ("very") and "but" weighting;
2. support-mail patterns, hand-written regexes in groups (repeat contact,
   "still not fixed", chasing, churn and refund words, escalation, elapsed
   time, sarcasm such as "thanks for nothing", and resolved/thanks phrases);
3. a linear word/bigram model trained on the UCI sentiment sentences
   (CC BY 4.0, see ``tone_data/NOTICE.txt``; ``tools/train_tone.py``);
4. emphasis (exclamation marks, shouting in capitals).

A problem report is not unhappiness. Words that name a fault ("broken",
"missing", "error", ``problem_words`` in the lexicon), refund requests and
plain questions ("where is my…", "when will…") go to the ``problem`` and
``ask`` groups: they move the score but are never cues. A sentence with no
word or phrase of negative *feeling* (frustration, repeat contact, chasing,
churn, escalation, sarcasm, disappointment) stays mild: at most
``report_cap`` (−0.25 on the −1..1 scale) before emphasis, and the n-grams
alone may only nudge it (``ngram_alone_cap``). Elapsed time counts only when
the customer is waiting ("for 3 weeks now"), greetings and sign-offs are
skipped. So the label follows the airline annotators' valence (a stated
fault is mildly negative), while the *severity* (how far below zero) and the
cues say whether the customer is unhappy: detection compares the score to
``detection.negative_threshold`` (−0.35), which a plain report cannot reach.

The group multipliers, the mixing weight of part 3, the caps and the
thresholds are hyper-parameters in ``tone_data/tone_params.json``. The most negative
sentence decides a message unless a clearly stronger positive one outweighs
it, because customers often wrap a complaint in politeness ("Thanks. Still
waiting for my refund."). Quoted lines (``>``) and everything below an
"On ... wrote:" or "Original Message" header are ignored.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

ToneLabel = Literal["negative", "neutral", "positive"]

# Only the first part of a very long reply is read: the tone of a support
# message sits in its first paragraphs, and this bounds the cost per message.
MAX_CHARS = 6000
_PHRASE_MAX = 240

# Every break starts with white space or a closing quote/bracket: the guard in
# front lets the engine reject all other characters with one class test.
_SENTENCE_RE = re.compile(r"(?=[\s\"')\]])(?:(?<=[.!?…])[\"')\]]*\s+|\n\s*\n|\n(?=\s*[-*•]\s)|\s*\n(?=[A-Z]))")
_QUOTE_CUT_RE = re.compile(
    r"^(?:On\b[^\n]{0,250}(?:\n[^\n]{0,250})?\bwrote:\s*$"
    r"|-{2,}\s*(?:Original|Forwarded) Message\s*-{2,}"
    r"|From:\s[^\n]+\n(?:[^\n]+\n){0,3}?(?:Sent|Date):\s)",
    re.MULTILINE | re.IGNORECASE,
)
# Greetings and sign-offs ("Good morning,", "Best regards,\nVera") are
# formulas, not feelings: they are skipped when the message says anything else.
_FORMULA_RE = re.compile(
    r"(?:(?:hi|hello|hey|hiya|dear|good (?:morning|afternoon|evening)|greetings)\b[^.!?\n]{0,30},?"
    r"|hope (?:you're|you are|all is|this finds you) well[.!]?"
    r"|(?:(?:best|kind|warm|warmest|many|all the)\s+)?(?:regards|wishes|best|thanks|thank you|cheers|thx|sincerely)"
    r"[,.!]?)",
    re.IGNORECASE,
)
_QUOTED_LINE_RE = re.compile(r"^[ \t]*>[^\n]*\n?", re.MULTILINE)
_NOISE_RE = re.compile(r"@\w+|https?://\S+|www\.\S+|\S+@\S+\.\w+")
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[!?,;:]|<3|[\u2600-\u27bf\U0001f300-\U0001faff]")
# The same tokens for the usual sentence (ASCII, no "<3"): a simpler scan.
_PLAIN_TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[!?,;:]")
# A word of 4+ capitals ("\b[A-Z]{4,}\b"), written to start with a character
# class so the regex engine skips lower-case text without trying each position.
_CAPS_RE = re.compile(r"[A-Z](?<!\w[A-Z])[A-Z]{3,}\b")

_NEGATORS = frozenset(
    """not no never nothing nobody none neither nor without cannot cant can't dont don't doesnt doesn't
    didnt didn't isnt isn't wasnt wasn't arent aren't werent weren't wont won't wouldnt wouldn't
    couldnt couldn't shouldnt shouldn't havent haven't hasnt hasn't hadnt hadn't aint ain't
    neednt needn't mustnt mustn't rarely seldom hardly barely""".split()
)
_BOOSTERS = {
    **dict.fromkeys(
        """absolutely amazingly awfully completely considerably decidedly deeply enormously entirely
        especially exceptionally extremely fully greatly highly hugely incredibly intensely majorly
        more most particularly purely quite really remarkably so substantially thoroughly totally
        tremendously truly unbelievably utterly very super insanely ridiculously seriously""".split(),
        0.293,
    ),
    **dict.fromkeys("barely hardly kinda slightly somewhat sorta little less partly".split(), -0.293),
}
_CLAUSE_BREAK = frozenset({",", ";", ":"})
# Pattern groups that describe the matter (a fault, a plain question) rather
# than how the customer feels about it: they move the score but are never cues.
_REPORT_GROUPS = frozenset({"problem", "ask"})
_FEELING_GROUPS = frozenset({"complaint", "churn", "escalation", "chase", "sarcasm"})
_WAITING = frozenset({"wait", "waiting", "waited", "still", "been", "already", "now"})
_CONTRAST = frozenset({"but", "however", "though", "although", "yet"})



@dataclass(frozen=True, slots=True)
class Tone:
    """How a text sounds.

    Attributes:
        score: -1 (very negative) to 1 (very positive).
        label: The class the score falls in.
        phrase: The customer's sentence that carries the tone ("" for neutral or empty text).
        cues: The words or phrases in ``phrase`` that moved the score most, strongest first.
    """

    score: float
    label: ToneLabel
    phrase: str
    cues: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Pattern:
    regex: re.Pattern[str]
    group: str
    weight: float


@dataclass(frozen=True, slots=True)
class _Model:
    lexicon: dict[str, float]
    patterns: tuple[_Pattern, ...]
    # Zero-width finder of every place where some pattern can start, and for
    # each literal found there the patterns to try (those whose start literal
    # is a prefix of it): one cheap scan instead of two dozen regex scans.
    trigger_re: re.Pattern[str]
    candidates: dict[str, tuple[int, ...]]
    ngrams: dict[str, float]
    # The bigram weights of ``ngrams`` keyed by token pair (no string joins per sentence).
    bigrams: dict[tuple[str, str], float]
    # ``trigger_re`` compiled for ASCII text: the same matches there, found a little faster.
    trigger_ascii_re: re.Pattern[str]
    ngram_bias: float
    params: dict[str, float]
    # Words that name a fault ("broken", "missing", "error"): their polarity
    # goes to the "problem" group, weighted apart from words of feeling.
    problem_words: frozenset[str]


def _data_text(name: str) -> str:
    return resources.files("outreach.tone_data").joinpath(name).read_text(encoding="utf-8")


def _vader_lexicon() -> dict[str, float]:
    # VADER is a declared dependency; reading its lexicon file avoids running
    # its (slow) analyser while keeping its well-tested word polarities.
    text = resources.files("vaderSentiment").joinpath("vader_lexicon.txt").read_text(encoding="utf-8")
    lexicon: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            try:
                lexicon[parts[0].lower()] = float(parts[1])
            except ValueError:
                continue
    return lexicon


@lru_cache(maxsize=1)
def _model() -> _Model:
    support = json.loads(_data_text("support_lexicon.json"))
    lexicon = _vader_lexicon()
    lexicon.update({k.lower(): float(v) for k, v in support["words"].items()})
    # Polarity-free words cost a dict hit and a loop turn each; drop them.
    lexicon = {k: v for k, v in lexicon.items() if v != 0.0}
    patterns = tuple(_Pattern(re.compile(p["re"]), p["group"], float(p["weight"])) for p in support["patterns"])
    starts: dict[str, set[int]] = {}
    for index, p in enumerate(support["patterns"]):
        for literal in p["first"]:
            starts.setdefault(literal, set()).add(index)
    # A trigger literal also starts every pattern whose literal is a prefix of
    # it; probing the literal's own prefixes keeps the model load linear.
    candidates = {
        literal: tuple(sorted({i for n in range(1, len(literal) + 1) for i in starts.get(literal[:n], ())}))
        for literal in starts
    }
    linear = json.loads(_data_text("uci_ngram_weights.json"))
    params = json.loads(_data_text("tone_params.json"))["params"]
    trigger = r"(?<!\w)(?=(" + _trie_regex(list(starts)) + "))"
    weights: dict[str, float] = linear["weights"]
    return _Model(
        lexicon=lexicon,
        patterns=patterns,
        trigger_re=re.compile(trigger),
        candidates=candidates,
        ngrams=weights,
        bigrams={(k.split(" ")[0], k.split(" ")[1]): v for k, v in weights.items() if k.count(" ") == 1},
        trigger_ascii_re=re.compile(trigger, re.ASCII),
        ngram_bias=float(linear["bias"]),
        params={k: float(v) for k, v in params.items()},
        problem_words=frozenset(w.lower() for w in support.get("problem_words", ())),
    )


def _trie_regex(literals: list[str]) -> str:
    """A regex matching any of ``literals``, longest first, shaped as a trie (fast in ``re``)."""
    root: dict[str, dict] = {}
    for literal in literals:
        node = root
        for char in literal:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        branches = [re.escape(c) + build(child) for c, child in sorted(node.items()) if c]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(root)


def new_text(text: str) -> str:
    """Cut quoted history from a reply: lines starting with ``>`` and everything below a reply header.

    Args:
        text: A reply body, possibly still holding the quoted thread.

    Returns:
        The customer's own new words (at most ``MAX_CHARS`` characters).
    """
    cut = _QUOTE_CUT_RE.search(text)
    if cut:
        text = text[: cut.start()]
    if ">" in text:
        text = _QUOTED_LINE_RE.sub("", text)
    return text[:MAX_CHARS]


def split_sentences(text: str) -> list[str]:
    """Split text into sentences and list items, dropping empty pieces."""
    return [s.strip() for s in _SENTENCE_RE.split(text) if s and not s.isspace()]


def content_sentences(text: str) -> list[str]:
    """The sentences tone reads: new words only, greetings and sign-offs skipped unless nothing else is said."""
    sentences = split_sentences(new_text(text)) if text else []
    if len(sentences) > 1:
        sentences = [s for s in sentences if not _FORMULA_RE.fullmatch(s)] or sentences
    return sentences


def _matches(model: _Model, low: str) -> Iterator[tuple[_Pattern, re.Match[str]]]:
    """Pattern matches in a lower-cased sentence (non-overlapping per pattern, like ``finditer``)."""
    ends: dict[int, int] = {}
    patterns = model.patterns
    trigger_re = model.trigger_ascii_re if low.isascii() else model.trigger_re
    for trigger in trigger_re.finditer(low):
        pos = trigger.start()
        for index in model.candidates[trigger.group(1)]:
            if pos < ends.get(index, 0):
                continue
            match = patterns[index].regex.match(low, pos)
            if match:
                ends[index] = match.end()
                yield patterns[index], match


def _features(
    model: _Model, sentence: str, cues: list[tuple[float, str]] | None = None
) -> tuple[float, dict[str, float], float, float, tuple[bool, bool]]:
    """Parts of one sentence's value: word polarity, pattern sums per group, linear logit, emphasis, felt.

    ``felt`` says whether a word or phrase of negative, and of positive,
    feeling was found (fault words, plain questions and elapsed time are not feelings).

    When ``cues`` is given, the evidence found is appended to it as (signed weight, text).
    """
    low = sentence.lower()
    if "’" in low:
        low = low.replace("’", "'")
    if "@" in low or "http" in low or "www." in low:
        low = _NOISE_RE.sub(" ", low)
    toks = (_PLAIN_TOKEN_RE if low.isascii() and "<" not in low else _TOKEN_RE).findall(low)
    lexicon = model.lexicon
    words = 0.0
    problem = 0.0
    # Whether a word or phrase of (negative, positive) feeling was found;
    # "like" or "please" are too weak to be one, fault words are not one.
    felt_neg = felt_pos = False
    praise = 0.0
    problem_words = model.problem_words
    # The n-gram model knows a negated polar word as "not_<word>" (see
    # tools/train_tone.py): swap those weights in where negation is found.
    get = model.ngrams.get
    negation_shift = 0.0
    hits = [i for i, t in enumerate(toks) if t in lexicon]
    if hits:
        contrast = -1
        if not _CONTRAST.isdisjoint(toks):
            for i, t in enumerate(toks):
                if t in _CONTRAST and 0 < i < len(toks) - 1:
                    contrast = i
                    break
        # Most sentences hold no negator: then there is no look-back to do.
        negatable = not _NEGATORS.isdisjoint(toks)
        for i in hits:
            value = lexicon[toks[i]]
            if i > 0:
                boost = _BOOSTERS.get(toks[i - 1])
                if boost:
                    value += boost if value > 0 else -boost
                for back in range(i - 1, max(-1, i - 4), -1) if negatable else ():
                    prev = toks[back]
                    if prev in _CLAUSE_BREAK:
                        break
                    if prev in _NEGATORS:
                        value *= -0.74
                        negation_shift += get("not_" + toks[i], 0.0) - get(toks[i], 0.0)
                        break
            if contrast >= 0:
                value *= 0.5 if i < contrast else 1.5
            if toks[i] in problem_words:
                # Naming a fault is a report, not a feeling: no cue either.
                problem += value
                continue
            words += value
            if value > 0:
                praise += value
            if value <= -0.9:
                felt_neg = True
            elif value >= 0.9:
                felt_pos = True
            if cues is not None and abs(value) >= 0.9:
                cues.append((value, toks[i] if (value > 0) == (lexicon[toks[i]] > 0) else " ".join(toks[back : i + 1])))
    groups: dict[str, float] = {}
    time_cues: list[tuple[float, str]] = []
    for pattern, match in _matches(model, low):
        if pattern.group == "positive":
            before = low[max(0, match.start() - 12) : match.start()].split()
            if before and not _NEGATORS.isdisjoint(before[-2:]):
                continue
        groups[pattern.group] = groups.get(pattern.group, 0.0) + pattern.weight
        if cues is not None and pattern.group not in _REPORT_GROUPS:
            cue = (pattern.weight * model.params[f"{pattern.group}_weight"] * 3.0, match.group(0).strip())
            (time_cues if pattern.group == "time" else cues).append(cue)
    sarcastic = "sarcasm" in groups
    if sarcastic:
        # "thanks for the delay" is not thanks, and "Great, another outage" is not great.
        groups.pop("positive", None)
        words -= praise
        if cues is not None:
            cues[:] = [c for c in cues if c[0] < 0]
    if "time" in groups and _WAITING.isdisjoint(toks) and words >= 0 and _FEELING_GROUPS.isdisjoint(groups):
        # "Our renewal is in 8 weeks" states a date; only time spent waiting hurts.
        del groups["time"]
    elif cues is not None:
        cues.extend(time_cues)
    if problem:
        groups["problem"] = problem
    # Presence, as in training; no bias, so a sentence of unknown words sits at 0.
    present = set(toks)
    logit = negation_shift + sum(map(get, present, _zeros(len(present))))
    if len(toks) > 1:
        pairs = set(itertools.pairwise(toks))
        logit += sum(map(model.bigrams.get, pairs, _zeros(len(pairs))))
    felt_neg = (felt_neg and words < 0) or not _FEELING_GROUPS.isdisjoint(groups)
    felt_pos = (felt_pos and words > 0) or "positive" in groups
    if sarcastic:
        logit = min(logit, 0.0)
    emphasis = 0.0
    if "!" in low:
        emphasis = min(low.count("!"), 4) * 0.292
    if "?" in low and ("!" in low or low.count("?") > 1):
        emphasis += 0.3
    if low != sentence:
        # Shouting: a few words in capitals inside normal text.
        caps = len(_CAPS_RE.findall(sentence))
        if caps and caps < len(toks):
            emphasis += 0.4 * min(caps, 3)
    return words, groups, logit, emphasis, (felt_neg, felt_pos)


def _zeros(n: int) -> Iterable[float]:
    return itertools.repeat(0.0, n)


def _combine(
    params: dict[str, float],
    words: float,
    groups: dict[str, float],
    logit: float,
    emphasis: float,
    felt: tuple[bool, bool],
) -> float:
    felt_neg, felt_pos = felt
    ngram = params["ngram_weight"] * logit
    # Trained on product reviews, the n-grams read "look", "old" or "week" as
    # complaints: without a word or phrase of feeling on their side they may
    # only nudge the value (the cap is in value units, below any threshold).
    cap = params["ngram_alone_cap"]
    if ngram < -cap and not felt_neg:
        ngram = -cap
    elif ngram > cap and not felt_pos:
        ngram = cap
    value = words + ngram + params["bias"]
    for group, total in groups.items():
        value += params[f"{group}_weight"] * total
    if not felt_neg:
        # A fault stated plainly ("the export fails on row 230") is a report,
        # not unhappiness: however many fault words, it stays mild.
        value = max(value, -params["report_cap"])
    if value > 0:
        value += emphasis
    elif value < 0:
        value -= emphasis
    return value


@lru_cache(maxsize=8192)
def _sentence_value(sentence: str) -> tuple[float, tuple[tuple[float, str], ...]]:
    # Greetings, sign-offs and disclaimers repeat across a mailbox: cache them.
    model = _model()
    cues: list[tuple[float, str]] = []
    return _combine(model.params, *_features(model, sentence, cues)), tuple(cues)


def _normalise(value: float) -> float:
    return value / math.sqrt(value * value + 15.0)


def _cues(evidence: tuple[tuple[float, str], ...], negative: bool) -> tuple[str, ...]:
    """The strongest pieces of evidence on the winning side; a phrase absorbs the words inside it."""
    side = sorted((w for w in evidence if (w[0] < 0) == negative), key=lambda w: -abs(w[0]))
    out: list[str] = []
    for _, text in side:
        if not text or any(text in kept for kept in out):
            continue
        out = [kept for kept in out if kept not in text]
        out.append(text)
    return tuple(out[:4])


def _clip(sentence: str) -> str:
    sentence = " ".join(sentence.split())
    return sentence if len(sentence) <= _PHRASE_MAX else sentence[: _PHRASE_MAX - 1].rstrip() + "…"


def score_text(
    text: str,
    negative_below: float | None = None,
    positive_above: float | None = None,
) -> Tone:
    """Score one reply text by its sentences; a clear complaint outweighs politeness.

    Args:
        text: The customer's reply (quoted history is cut here too).
        negative_below: Scores below this are "negative" (default: the tuned threshold).
        positive_above: Scores above this are "positive" (default: the tuned threshold).

    Returns:
        The message tone, the sentence that carries it and its cue words.
    """
    model = _model()
    params = model.params
    neg_t = params["negative_below"] if negative_below is None else negative_below
    pos_t = params["positive_above"] if positive_above is None else positive_above
    sentences = content_sentences(text)
    if not sentences:
        return Tone(0.0, "neutral", "")
    worst_value, worst, worst_cues = math.inf, "", ()
    best_value, best, best_cues = -math.inf, "", ()
    against = favour = 0.0
    for sentence in sentences:
        value, evidence = _sentence_value(sentence)
        if value < 0:
            against -= value
        else:
            favour += value
        if value < worst_value:
            worst_value, worst, worst_cues = value, sentence, evidence
        if value > best_value:
            best_value, best, best_cues = value, sentence, evidence
    worst_score, best_score = _normalise(worst_value), _normalise(best_value)
    # A complaint wins unless the message's praise clearly outweighs all its
    # complaints: politeness around a complaint does not hide it, while one
    # sour sentence in a long happy message does not make it negative.
    if worst_score < neg_t and against * params["negative_dominance"] >= favour:
        return Tone(round(worst_score, 4), "negative", _clip(worst), _cues(worst_cues, True))
    if best_score > pos_t:
        return Tone(round(best_score, 4), "positive", _clip(best), _cues(best_cues, False))
    return Tone(round(best_score if abs(best_score) > abs(worst_score) else worst_score, 4), "neutral", "")


def score_texts(texts: Iterable[str] | Sequence[str]) -> list[Tone]:
    """Score many texts with the default thresholds (the batch entry point detection uses).

    Args:
        texts: Reply texts, one per message.

    Returns:
        One ``Tone`` per text, in order.
    """
    _model()
    return [score_text(t) for t in texts]
