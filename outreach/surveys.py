"""Read a survey score from a customer's reply: "4", "8/10", "I'd say 9", "vier", "★★★★".

The reader is deliberately strict. A number only counts as a score when it
stands alone (a line or sentence like "4", "10!!", "a 4", "I'd say 9"), or
wears a score's clothes anywhere ("4/5", "8 out of 10", "acht von zehn",
"4 sur 5", "8 de 10", "4 stars", "5 étoiles", "Score: 7"), in English, German,
French or Spanish (the languages the survey templates ship in). Everything
that merely contains digits — dates, times, prices, versions, order, ticket and
phone numbers, numbered lists, URLs, e-mail addresses, file names and paths,
hex, identifiers, function calls like ``alert(1)`` — is masked before looking,
and markup (tags, with the content of an element: ``<script>…</script>``) is
read as if absent.
Two different scores, "3 or 4", "2-3", "between 2 and 3" or a range
written as "2/3" on a 1–5 survey are *ambiguous*; a score outside the
scale, or a fraction of another scale ("4/5" on a 0–10 survey), is
*out_of_range*; neither is ever guessed into a number. A slash is a
fraction when its denominator is the scale's maximum, or another usual
maximum (5, 10, 100), and a range otherwise.

It works on the reply text after quote and signature removal, and stays
safe on a full body: reading stops at the first quoted line, attribution
("On … wrote:", "Am … schrieb"), forwarded/original-message header,
signature delimiter, or a line of our own survey wording, so the quoted
survey ("1 2 3 4 5") never casts a vote.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Literal

Scale = Literal["csat", "nps"]
ScoreStatus = Literal["ok", "none", "ambiguous", "out_of_range"]

SCALES: dict[str, tuple[int, int]] = {"csat": (1, 5), "nps": (0, 10)}
"""Lowest and highest score of each scale."""

SURVEY_MARKERS: tuple[str, ...] = (
    "just reply with a number",
    "reply with a number from",
    "antworten sie einfach mit einer zahl",
    "mit einer zahl von",
    "répondez simplement avec un chiffre",
    "avec un chiffre de",
    "responda simplemente con un número",
    "con un número del",
)
"""Phrases of our own survey emails (the templates use them): a line holding one
is our quoted survey, never the customer's words, even when a mail client
quoted it without ``>``."""

MAX_SCAN_CHARS = 6000
"""Only the start of a reply is read: a score sits at the top, and a pasted log must not cost time."""


@dataclass(frozen=True, slots=True)
class ScoreReading:
    """What a reply says about the survey.

    Attributes:
        score: The score, only when ``status == "ok"``.
        comment: The customer's other words (greeting, score and sign-off removed).
        status: ``ok``; ``none`` (no score given); ``ambiguous`` (two different
            scores, "3 or 4"); ``out_of_range`` (outside the scale, or "8/10" on a 1–5 survey).
    """

    score: int | None
    comment: str
    status: ScoreStatus


# --- numbers ---------------------------------------------------------------------------

_NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "null": 0, "eins": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "fuenf": 5,
    "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10,
    # French ("un"/"une" are also "a": fillers, like English "a").
    "zéro": 0, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8, "neuf": 9, "dix": 10,
    # Spanish ("un"/"una" are "a": fillers; "uno" is the number).
    "cero": 0, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
    "ocho": 8, "nueve": 9, "diez": 10,
}
_NUMWORD = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_NUM = rf"(?:\d{{1,3}}|{_NUMWORD})"
_STARS = "★⭐🌟"

# Words that may surround a bare number without making it something else than a score.
_FILLER = frozenset(
    """
    a an i i'd id i'll i'm im would will say said give gave giving it you your you're ya yall y'all
    guys team service support this that that's thats it's its is was be my our score rating
    answer rate rated overall definitely solid strong easy easily clear probably honestly
    well ok okay so then for the me us from think guess hmm um uh yes yeah yep sure just
    of course full marks all round around certainly absolutely totally really very good great
    somewhere roughly irgendwo ungefähr etwa
    eine einen ein ich gebe geben gib würde wuerde sagen sage sag ihnen euch dir es das war ist
    glatte klare klar von mir insgesamt also na ja jo sicher auf jeden fall bewertung note
    punkte gerne gern wohl eher actually eigentlich rather wait sorry make correction doch lieber
    je j' j'ai ma mon dirais dis dit donne donnerais donnerai mets mettrais c'est vous nous le la les un une
    merci beaucoup franchement honnêtement plutôt bien très sans doute globalement pour moi votre
    doy daría daria diría diria digo pondría pondria pongo mi nota es sería seria yo una
    gracias muchas sinceramente claramente por parte para mí su
    """.split()
)
_CONNECTORS = frozenset(
    "or oder to bis - – — and und between zwischen maybe vielleicht perhaps / either entweder "
    "ou à et entre peut-être o y quizás quizá".split()
)
_STAR_WORDS = frozenset("star stars stern sterne sternen étoile étoiles etoile etoiles estrella estrellas".split())
_STAR_UNIT = r"(?:stars?|sterne?n?|[ée]toiles?|estrellas?)"
_OUT_OF = r"(?:out\s+of|von|aus|sur|de)"
_HEDGES_AFTER = r"(?:because|since|as|but|though|although|weil|da|denn|aber|obwohl)"

# Masks: anything here is not a score, whatever digits it holds.
_MONTHS = (
    r"jan(?:uary|uar)?|feb(?:ruary|ruar)?|m(?:ar(?:ch)?|ärz|aerz)|apr(?:il)?|ma[iy]|june?|juni|"
    r"july?|juli|aug(?:ust)?|sep(?:t(?:ember)?)?|o[ck]t(?:ober)?|nov(?:ember)?|de[cz](?:ember)?"
)
_FILE_EXTENSIONS = (
    "py|js|ts|jsx|tsx|html?|xml|json|csv|tsv|txt|log|pdf|png|jpe?g|gif|webp|svg|zip|gz|tgz|tar|rar|7z|"
    "exe|msi|dmg|apk|ipa|docx?|xlsx?|pptx?|odt|ods|md|ya?ml|toml|ini|cfg|conf|sh|bat|ps1|java|kt|cpp|hpp|"
    "rb|go|rs|php|sql|css|scss|mp3|mp4|mov|avi|wav|eml|msg|ics|vcf|dll|so|bin|dat|bak|tmp"
)
_MASKS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        # A long run without spaces (a pasted token, hash or log line) is never a score; masking it
        # first keeps the patterns below from backtracking over thousands of characters.
        r"\S{100,}",
        # Addresses and links of any kind: mailto:, https://, ftp://, www., bare domains.
        r"[^\s@§]+@[^\s§]+|\b[a-z][a-z0-9+.-]*://\S+|\b(?:mailto|javascript|data|tel|file):\S+|www\.\S+"
        r"|(?<![\w.-])(?:[a-z0-9-]+\.)+(?:com|org|net|io|dev|app|ai|co|de|at|ch|uk|fr|eu|nl|info|biz)\b(?:[/:?#]\S*)?",
        # Code: name(1), obj.call(2, 3) — the digits are arguments, never a vote.
        r"[a-z_$][\w$.]*\((?:[^()\n]|\([^()\n]*\)){0,200}\)",
        # Files and paths: report_2.csv, C:\\logs\\3, /var/log/app/4, src/app/5.
        rf"(?<![\w~.\\/-])[\w~.-]*(?:[\\/][\w.-]+)*\.(?:{_FILE_EXTENSIONS})\b"
        r"|(?<![\w/])(?:~|\.{1,2}|[a-z]:)?(?:[\\/][\w.-]+){2,}[\\/]?|\b[a-z_][\w.-]*(?:[\\/][\w.-]+){2,}",
        # Hex and identifiers: 0x4, a3f5c9e (commit), user_3, abc123, Q3, v2, JIRA-123, 10h30.
        r"\b0x[0-9a-f]+\b|\b(?=[0-9a-f]{7,}\b)[0-9a-f]*\d[0-9a-f]*\b|\b[a-z_]+\d\w*"
        r"|(?-i:\b[A-Z][A-Z0-9]+-\d+\b)|\b\d{1,2}h\d{2}\b",
        r"\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b",  # dates
        rf"\b\d{{1,2}}\.?\s*(?:{_MONTHS})\b\.?(?:\s*\d{{2,4}})?",  # 3 March, 3. März 2024
        rf"\b(?:{_MONTHS})\.?\s+\d{{1,2}}\b(?:st|nd|rd|th)?",  # March 3
        r"\b\d{1,2}(?:st|nd|rd|th|te|ten)\b",  # ordinals
        r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\b\.?)?|\b\d{1,2}\s*(?:[ap]\.?m\b\.?|uhr\b|h\b)",
        r"[$€£¥]\s*\d[\d,.]*|\b\d[\d,.]*\s*(?:[$€£¥%]|eur\b|euro\b|usd\b|gbp\b|chf\b|dollars?\b|bucks\b|cents?\b|pounds?\b|prozent\b|percent\b)",
        r"\bv?\d+(?:\.\d+)+\b",  # versions, decimals
        r"#\s*\d+|\b(?:order|ticket|case|invoice|ref|reference|no|nr|number|nummer|bestellung|rechnung|auftrag|kundennummer|id|pr|issue|build|room|suite|floor|apt|unit|page|seite|step|schritt|chapter|kapitel|line|zeile|section|option|version|level|tier|plan|item|part|teil)\.?\s*(?:#|:|nr\.?|no\.?)?\s*\d+\b",
        r"\+?\(?\d[\d\s().-]{6,}\d",  # phone numbers and other long digit runs
        r"(?<![\w])[+-]\d+\b",  # +1, -2
        r"\b\d+\s*(?:x|×)\s*\d+\b|\b\d+(?:x|×)",  # sizes, 3x
    )
)
_MASK_CHAR = "§"

# Markup is read as if it were not there: tags, comments, and the content of an
# element ("<script>alert(1)</script>", "<b>3</b>"), so "2 or 3 <script>…" stays
# "2 or 3". Also the "<3" heart. Spans may cross lines, so this runs on the whole text.
_MARKUP_RE = re.compile(
    r"<!--.*?(?:-->|\Z)|<!\[CDATA\[.*?(?:\]\]>|\Z)"
    r"|<([a-z][\w:-]*)\b[^<>]*>.{0,2000}?</\1\s*>"
    r"|</?[a-z][\w:-]*(?:\s[^<>]*)?/?>|<[!?][^<>]*>|<3(?!\d)",
    re.IGNORECASE | re.DOTALL,
)
# Fractions of a usual scale: "4/5" on a 0–10 survey answers another scale, it is no range.
_USUAL_MAXIMA = frozenset({5, 10, 100})

_RANGE_TAIL = (
    rf"(?:\s*{_STAR_UNIT}\b)?(?=\s*(?:$|[.!?,;:)\-–—…])|\s+(?:honestly|really|i'd\s+say|i\s+would\s+say|at\s+best|at\s+most|tops|höchstens|"
    r"i\s+think|i\s+guess|probably|maybe|tbh|for\s+me|ehrlich|würde\s+ich\s+sagen|denke\s+ich|wohl|vielleicht|"
    r"because|since|but|as|though|weil|aber|da|denn|obwohl)\b)"
)
_STRONG_RE = re.compile(
    # "between 2 and 3" anywhere in a sentence, unless a unit follows ("between 2 and 3 weeks").
    rf"\b(?:between|zwischen|entre)\s+(?P<r1>{_NUM})\s+(?:and|und|et|y)\s+(?P<r2>{_NUM})\b{_RANGE_TAIL}"
    # "2 or 3 out of 5", "7 to 8/10", "2 oder 3 Sterne": a range on the scale, however strong its form.
    rf"|(?<![\w/.,§])(?P<q1>{_NUM})\s+(?:or|to|oder|bis|ou|à|o|a)\s+(?P<q2>{_NUM})\s*(?="
    rf"/\s*\d{{1,3}}(?![\d/])|\s{_OUT_OF}\s+{_NUM}\b|\s?{_STAR_UNIT}\b)"
    rf"(?:/\s*\d{{1,3}}|\s{_OUT_OF}\s+{_NUM}|\s?{_STAR_UNIT})"
    # … and a bare "2 or 3" that ends its clause or is hedged ("2 or 3 at best"), not "2 or 3 days".
    rf"|(?<![\w/.,§])(?P<o1>{_NUM})\s+(?:or|oder|ou|o)\s+(?P<o2>{_NUM})\b{_RANGE_TAIL}"
    rf"|(?<![\w/.,§])(?P<n>{_NUM})\s*(?:"
    rf"/\s*(?P<d1>\d{{1,3}})(?![\d/])"
    rf"|\s{_OUT_OF}\s+(?P<d2>{_NUM})\b"
    rf"|\s(?:of)\s+(?P<d3>{_NUM})(?=\s*{_STAR_UNIT}?\s*(?:$|[.!,;)]))"
    rf"|\s?(?P<st>{_STAR_UNIT})\b"
    rf")"
    rf"|\b(?:score|rating|bewertung|punktzahl|note|nota|puntuaci[oó]n|calificaci[oó]n)"
    rf"\s*(?:is|ist|was|war|would\s+be|wäre|est|es|ser[ií]a|:|=|-|of|de)?\s*"
    rf"(?P<ln>{_NUM})\b(?!\s*/)(?=\s*(?:$|[.!,;:)\-–]|\s{_HEDGES_AFTER}\b))",
    re.IGNORECASE,
)
_STAR_RUN_RE = re.compile(rf"[{_STARS}](?:\s*[{_STARS}])*")
_TOKEN_RE = re.compile(rf"[a-zäöüßàâçéèêëîïôûùÿñáíóú']+|\d+|[{_STARS}☆]|[/\-–—§]|[^\s\w]", re.IGNORECASE)
_CLAUSE_SPLIT_RE = re.compile(r"[,;:]\s+|\s+[-–—]+\s+|\s*[()]\s*")
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?…])\s+")
_LIST_ITEM_RE = re.compile(r"^\s*\(?\d{1,2}[.)]\s+\S")
_LIST_MARKER_RE = re.compile(r"\(?\d{1,2}[.)]")

# --- where the customer's own words end ----------------------------------------------------

_ATTRIBUTION_END_RE = re.compile(
    r"(?:wrote|writes|schrieb|schreibt|a\s+écrit|escribió|ha\s+scritto|scrisse|schreef|skrev|"
    r"escreveu|kirjoitti|napisał(?:\(a\))?|написал\w*|έγραψε|yazdı)\s*:?\s*$",
    re.IGNORECASE,
)
_SEPARATOR_RE = re.compile(
    r"^(?:-{2,}\s*(?:original(?:-|\s)?(?:message|nachricht)|ursprüngliche\s+nachricht|"
    r"forwarded\s+message|weitergeleitete\s+nachricht|message\s+d'origine|mensaje\s+original|"
    r"messaggio\s+originale|oorspronkelijk\s+bericht)|_{8,}\s*$|-{8,}\s*$|"
    r"begin\s+forwarded\s+message|anfang\s+der\s+weitergeleiteten)",
    re.IGNORECASE,
)
_HEADER_FROM_RE = re.compile(
    r"^\**\s*(?:from|von|de|da|van|från|fra|od|от|lähettäjä)\s*:\**\s*\S", re.IGNORECASE
)
_HEADER_OTHER_RE = re.compile(
    r"^\**\s*(?:sent|gesendet|date|datum|to|an|envoyé|subject|betreff|objet|cc|enviado|"
    r"inviato|verzonden|skickat|sendt|wysłano|lähetetty)\s*:", re.IGNORECASE
)
_SIGNATURE_RE = re.compile(
    r"^(?:(?:--|—|__)\s*$|sent\s+from\s+(?:my\s+)?\S+|sent\s+(?:from|with|via)\s+\w+|"
    r"get\s+outlook\s+for\s+\w+|von\s+meinem\s+\S+(?:\s+\S+)?\s+gesendet|gesendet\s+von\s+\S+|"
    r"envoyé\s+de\s+mon|inviato\s+da|enviado\s+desde)",
    re.IGNORECASE,
)
_SIGN_OFF_RE = re.compile(
    r"^(?:thanks(?:\s+(?:again|a\s+lot|so\s+much))?|thank\s+you(?:\s+(?:again|so\s+much))?|thx|ty|cheers|"
    r"best(?:\s+(?:regards|wishes))?|kind\s+regards|warm\s+regards|regards|br|sincerely|yours(?:\s+truly)?|"
    r"all\s+the\s+best|take\s+care|viele\s+grüße|viele\s+gruesse|mit\s+freundlichen\s+grüßen|mfg|lg|"
    r"liebe\s+grüße|beste\s+grüße|freundliche\s+grüße|schöne\s+grüße|gruß|grüße|danke(?:\s+schön)?|"
    r"vielen\s+dank)[\s,.!]*$",
    re.IGNORECASE,
)
_GREETING_RE = re.compile(
    r"^(?:hi|hello|hey|hallo|dear|hiya|good\s+(?:morning|afternoon|evening)|guten\s+(?:tag|morgen|abend)|"
    r"liebe[rs]?|sehr\s+geehrte[rs]?|moin|servus|grüß\s+gott)\b[^.!?\d]{0,40}[,!.:]?\s*$",
    re.IGNORECASE,
)


_ATTRIBUTION_START_RE = re.compile(r"^(?:on|am|le|el|il|op|den|em|w\s+dniu|dne)\s", re.IGNORECASE)
_ATTRIBUTION_LOOSE_RE = re.compile(
    r"\b(?:wrote|schrieb|a\s+écrit|skrev|escribió|escreveu|schreef|scrisse)\b[^\n]{0,120}:\s*$",
    re.IGNORECASE,
)
_DATEISH_RE = re.compile(r"\b(?:19|20)\d\d\b|\b\d{1,2}:\d{2}\b")
_ADDRESS_RE = re.compile(r"<?[^\s<>@]+@[^\s<>@]*>?|<\s*$")


def _is_attribution(lines: list[str], index: int) -> bool:
    """ "On … wrote:", "Am … schrieb …:", "20 окт. 2016 г. 19:37 … <a@b>:", over up to four lines."""
    first = lines[index].strip()
    if not first:
        return False
    # "On Thursday, it works." is a sentence, not the start of an attribution.
    starts_like = (
        bool(_ATTRIBUTION_START_RE.match(first)) or bool(_DATEISH_RE.search(first))
    ) and not first.endswith((".", "!", "?"))
    if not starts_like and not _ATTRIBUTION_LOOSE_RE.search(first[-160:] + ":"):
        # Only a one-line attribution is possible here ("Jane <j@x> wrote:").
        return bool(_ATTRIBUTION_END_RE.search(first[-60:])) or bool(
            first.endswith(":") and _ATTRIBUTION_LOOSE_RE.search(first[-160:])
        )
    joined = first
    following = (line.strip() for line in lines[index + 1 : index + 12])
    for extra in range(6):
        if extra:
            nxt = next((line for line in following if line), None)
            if nxt is None or _ATTRIBUTION_START_RE.match(nxt):
                break
            joined = f"{joined} {nxt}"
        if len(joined) > 300:
            break
        # The patterns are anchored at the end: searching only the tail keeps this linear.
        if (extra == 0 or starts_like) and _ATTRIBUTION_END_RE.search(joined[-60:]):
            return True
        if not joined.endswith(":"):
            continue
        if _ATTRIBUTION_LOOSE_RE.search(joined[-160:]) and (
            extra == 0 or _ATTRIBUTION_LOOSE_RE.search(first[-160:] + ":")
        ):
            return True
        if starts_like and _DATEISH_RE.search(joined) and _ADDRESS_RE.search(joined):
            return True
    return False


def _is_quote_start(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    if line.startswith((">", "|>")):
        return True
    low = line.lower()
    if any(marker in low for marker in SURVEY_MARKERS):
        return True
    if _SEPARATOR_RE.match(line):
        return True
    if _is_attribution(lines, index):
        return True
    if _HEADER_FROM_RE.match(line):
        return any(_HEADER_OTHER_RE.match(nxt.strip()) for nxt in lines[index + 1 : index + 5])
    return False


def own_words(text: str) -> str:
    """The customer's new words at the top of ``text``: everything before the first
    quoted line, attribution, forwarded header, signature delimiter or our own survey
    wording. Cheap enough to run on every reply; it never looks past ``MAX_SCAN_CHARS``.
    """
    text = text[: MAX_SCAN_CHARS * 2].replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00a0", " ").replace("\u200b", "").replace("\ufeff", "").replace("\ufe0f", "")
    lines = text.split("\n")
    kept: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        if _is_quote_start(lines, index) or _SIGNATURE_RE.match(line.strip()):
            break
        kept.append(line)
        size += len(line) + 1
        if size > MAX_SCAN_CHARS:
            break
    return "\n".join(kept).strip()


# --- reading -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Found:
    value: int
    denominator: int | None
    ambiguous: bool = False


def _mask(text: str) -> str:
    for pattern in _MASKS:
        text = pattern.sub(lambda m: _MASK_CHAR * len(m.group(0)), text)
    return text


def _hide_markup(text: str) -> str:
    """``text`` with markup blanked to spaces; same length and same line breaks, so
    positions in it are positions in ``text``."""
    if "<" not in text:
        return text
    return _MARKUP_RE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """The (start, end) of each piece of ``text`` between matches of ``pattern``."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in pattern.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return spans


def _number(token: str) -> int | None:
    if token.isdigit():
        return int(token) if len(token) <= 3 else None
    return _NUMBER_WORDS.get(token)


def _weak(clause: str, scale: Scale) -> list[_Found] | None:
    """A clause that is a bare score with filler words around it ("a 4", "I'd say 9").

    Returns None when the clause is something else, ``[]`` when it only echoes
    the scale ("1 2 3 4 5", "1 to 5"), else the findings.
    """
    values: list[int] = []
    connected = False
    stars = 0
    for token in _TOKEN_RE.findall(clause.lower().replace("’", "'")):
        if token.isdigit():
            if len(token) > 2:
                return None
            values.append(int(token))
        elif token in _NUMBER_WORDS:
            values.append(_NUMBER_WORDS[token])
        elif token in _STARS:
            stars += 1
        elif token in _CONNECTORS:
            connected = connected or bool(values)
        elif token in _FILLER or token in _STAR_WORDS or token == "☆":
            continue
        elif token == _MASK_CHAR or any(ch.isalpha() for ch in token):
            return None  # a real word, or something masked: a sentence, not a score
    if stars and not values:
        values = [stars]
    if not values:
        return None
    low, high = SCALES[scale]
    if len(values) >= 3 and all(b - a == 1 for a, b in itertools.pairwise(values)):
        return []
    if len(values) == 2 and connected and sorted(values) in ([low, high], [1, 5], [0, 10], [1, 10]):
        return []
    if len(set(values)) > 1:
        return [_Found(v, None, ambiguous=True) for v in values]
    return [_Found(values[0], None)]


def _strong(segment: str, scale: Scale) -> tuple[list[_Found], str]:
    """Score forms that count anywhere: 4/5, 8 out of 10, 4 stars, Score: 7, ★★★★,
    and the ranges "between 2 and 3" and "2/3" (on a 1–5 survey).

    Returns the findings and the segment with their spans blanked.
    """
    found: list[_Found] = []
    low, high = SCALES[scale]

    def take(match: re.Match[str]) -> str:
        if match.group("r1") or match.group("q1") or match.group("o1"):
            one, two = next(
                (match.group(a), match.group(b)) for a, b in (("r1", "r2"), ("q1", "q2"), ("o1", "o2")) if match.group(a)
            )
            first, second = _number(one.lower()), _number(two.lower())
            if first is None or second is None:
                return match.group(0)
            found.extend(_Found(v, None, ambiguous=first != second) for v in (first, second))
            return " " * len(match.group(0))
        raw = match.group("n") or match.group("ln")
        value = _number(raw.lower())
        if value is None:
            return match.group(0)
        den_raw = match.group("d1") or match.group("d2") or match.group("d3")
        denominator = _number(den_raw.lower()) if den_raw else None
        if (
            match.group("d1")
            and denominator is not None
            and denominator != high
            and denominator not in _USUAL_MAXIMA
            and low <= value < denominator <= high
        ):
            # "2/3" on a 1–5 survey is "2 or 3", not two thirds: ambiguous, never a guess.
            found.extend((_Found(value, None, ambiguous=True), _Found(denominator, None, ambiguous=True)))
            return " " * len(match.group(0))
        found.append(_Found(value, denominator))
        return " " * len(match.group(0))

    blanked = _STRONG_RE.sub(take, segment)

    def take_stars(match: re.Match[str]) -> str:
        count = sum(1 for ch in match.group(0) if ch in _STARS)
        found.append(_Found(count, None))
        return " " * len(match.group(0))

    blanked = _STAR_RUN_RE.sub(take_stars, blanked)
    return found, blanked


def _only_filler(text: str) -> bool:
    tokens = _TOKEN_RE.findall(text.lower().replace("’", "'"))
    return all(
        t in _FILLER or t in _STAR_WORDS or t in _CONNECTORS or not (t.isalnum() or "'" in t)
        for t in tokens
    ) and _MASK_CHAR not in text


_HAS_NUMBER_RE = re.compile(rf"\d|[{_STARS}]|\b(?:{_NUMWORD})\b", re.IGNORECASE)


def _read_segment(segment: str, visible: str, scale: Scale) -> tuple[list[_Found], str]:
    """Findings in one sentence and what is left of it for the comment.

    ``visible`` is ``segment`` with markup blanked (same length): it is what is
    read, while the comment keeps the customer's original characters.
    """
    if not _HAS_NUMBER_RE.search(visible):
        return [], segment  # most sentences: nothing to read, skip the masks
    masked = _mask(visible)
    if segment.rstrip().endswith(":"):
        return [], segment  # "Two:" heads a list, it is not a vote
    found, blanked = _strong(masked, scale)
    if found:
        if _only_filler(blanked):
            return found, ""
        rest = "".join(
            " " if keep == " " and was != " " else orig
            for orig, keep, was in zip(segment, blanked, masked)
        )
        return found, rest
    whole = _weak(masked, scale)
    if whole is not None:
        return whole, "" if whole else segment
    # A score can share its sentence with words: "4, great service", "I'd say 9 - quick fix".
    leftover: list[str] = []
    results: list[_Found] = []
    position = 0
    pieces: list[tuple[int, int]] = []
    labels: set[int] = set()
    for match in _CLAUSE_SPLIT_RE.finditer(masked):
        if match.group(0).lstrip().startswith(":"):
            labels.add(position)
        pieces.append((position, match.start()))
        position = match.end()
    pieces.append((position, len(masked)))
    if len(pieces) > 1:
        for start, end in pieces:
            clause = masked[start:end]
            # "One: here is what I've got" — a label before a colon is not a vote.
            got = _weak(clause, scale) if clause.strip() and start not in labels else None
            if got:
                results.extend(got)
            else:
                leftover.append(segment[start:end])
        if results:
            return results, ", ".join(p.strip() for p in leftover if p.strip())
    # "4 because the refund was slow": the score leads, the reason follows.
    lead = re.match(rf"^(.{{1,40}}?)\s+{_HEDGES_AFTER}\b", masked, re.IGNORECASE)
    if lead:
        got = _weak(lead.group(1), scale)
        if got:
            return got, segment[lead.end(1) :].strip()
    return [], segment


def _comment(parts: list[str]) -> str:
    text = re.sub(r"[ \t]+", " ", "\n".join(parts))
    text = re.sub(r"\s*\n\s*", "\n", text)
    text = re.sub(r"([.!?])[ \t]*[,;:]+[ \t]*", r"\1 ", text)  # "fixed. , would be" after a cut
    text = re.sub(r"[ \t]+([,;:.!?])", r"\1", text)
    return text.lstrip(" ,;:.!?-–—\n").rstrip(" ,;:-–—\n")


_NAME_LINE_RE = re.compile(r"^[^\W\d_][\w.'’-]*(?:\s+[^\W\d_][\w.'’-]*){0,3}[,.]?$")


def _signature_follows(lines: list[str], index: int) -> bool:
    """After a sign-off, a name (or nothing) means the signature starts here."""
    nxt = next((line.strip() for line in lines[index + 1 :] if line.strip()), None)
    return nxt is None or bool(_NAME_LINE_RE.match(nxt))


def _read(text: str, scale: Scale) -> ScoreReading:
    words = own_words(text)
    lines = words.split("\n")
    # Same length and line breaks as ``words``: line i of one is line i of the other.
    visible_lines = _hide_markup(words).split("\n")
    list_lines = sum(1 for line in lines if _LIST_ITEM_RE.match(line))
    found: list[_Found] = []
    comment_lines: list[str] = []
    seen_content = False
    for index, (line, visible_line) in enumerate(zip(lines, visible_lines)):
        stripped = line.strip()
        if not stripped:
            continue
        lead = len(line) - len(line.lstrip())
        visible = visible_line[lead : lead + len(stripped)]
        if not seen_content and _GREETING_RE.match(stripped):
            continue
        if _SIGN_OFF_RE.match(stripped) and _signature_follows(lines, index):
            break  # "Thanks,\nSam\n…": a name and a signature block, no votes there
        if list_lines >= 2 and _LIST_ITEM_RE.match(stripped):
            # A numbered list ("1. restart", "2. log in") is not a row of votes.
            marker = _LIST_MARKER_RE.match(stripped)
            if marker:
                hidden = _MASK_CHAR * marker.end()
                stripped, visible = hidden + stripped[marker.end() :], hidden + visible[marker.end() :]
        kept: list[str] = []
        for start, end in _spans(_SENTENCE_SPLIT_RE, stripped):
            got, rest = _read_segment(stripped[start:end], visible[start:end], scale)
            found.extend(got)
            if rest.strip():
                kept.append(rest.strip())
        if kept:
            comment_lines.append(" ".join(kept).replace(_MASK_CHAR, "").strip())
        if not _SIGN_OFF_RE.match(stripped):
            seen_content = True
    comment = _comment(comment_lines)
    if not found:
        return ScoreReading(None, comment, "none")
    if any(f.ambiguous for f in found) or len({f.value for f in found}) > 1:
        return ScoreReading(None, _comment([words]), "ambiguous")
    low, high = SCALES[scale]
    value = found[0].value
    if not low <= value <= high or any(
        f.denominator is not None and f.denominator != high for f in found
    ):
        return ScoreReading(None, _comment([words]), "out_of_range")
    return ScoreReading(value, comment, "ok")


def parse_score(reply_text: str, scale: Scale, *, full_text: str | None = None) -> ScoreReading:
    """Read the score a customer gave in a reply to a survey.

    Args:
        reply_text: The customer's new words (quotes and signature removed);
            a full body also works, since reading stops at quoted material.
        scale: ``csat`` (1–5) or ``nps`` (0–10).
        full_text: The whole body, as a second opinion; only its unquoted top is
            read. When ``reply_text`` holds no score, a score in that top counts (an
            over-eager quote remover may have cut a lone "5"); when ``reply_text``
            holds a score but that top holds none, the score sat in what only looks
            like the reply (a signature or quote the remover kept), and is dropped.

    Returns:
        The reading. ``score`` is set only when ``status == "ok"``.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown survey scale {scale!r}")
    reading = _read(reply_text or "", scale)
    if not full_text:
        return reading
    check = _read(full_text, scale)
    if reading.status == "none":
        return check if check.status != "none" else reading
    if check.status == "none":
        # The extracted reply holds a vote that the full body shows sitting in a
        # signature or quote (a remover kept "4" after "Sent from my iPhone"): no vote.
        return ScoreReading(None, reading.comment, "none")
    return reading
