"""Reduce an email body to the sender's new words.

The approach is a line classifier: every line gets a kind (text, empty,
quote, reply marker such as "On … wrote:", header line of an embedded
message, signature line, delimiter), and a few rules over that sequence
decide where the quoted history starts and which trailing lines are
signature or boilerplate. Working per line with anchored, length-bounded
patterns keeps the cost linear in the input: no pattern ever sees more
than ``_LINE_CAP`` characters, and scanning stops at the first point where
the history begins.

Measured against two public fixture sets with expected output (see
``benchmarks/bench_parse.py``): Discourse's production reply trimmer
(64 real replies) and mailgun/talon's iPhone and Sparrow replies.
"""

from __future__ import annotations

import re
from bisect import bisect_right

__all__ = ["extract_reply", "normalise_ws"]

# Only this many characters of a line are ever matched against a pattern:
# markers and headers are short, and the bound rules out pathological cost.
_LINE_CAP = 400
# Lines scanned for the start of quoted history; beyond this everything is
# taken as text (no real reply has 20k lines of new words above a quote).
_MAX_SCAN_LINES = 20_000

_EMPTY, _TEXT, _QUOTE, _MARKER, _HEADER, _SIG, _SIGDELIM, _DELIM = "etqbhsxd"

# Verbs of a "someone wrote:" line, in the languages mail clients use (the
# last word of multi-word forms: "a écrit", "ha scritto", "het volgende geschreven").
_VERB_WORDS = frozenset(
    "wrote writes schrieb schreef skrev skriver escribió escribio écrit ecrit scritto escreveu "
    "pisze napisał napisała napisal napisala napisao kirjoitti napsal napísal írta yazdı "
    "написал написала написав писал написа пише пишет έγραψε scrise scris kirjutas rašė "
    "rakstīja geschreven".split()
)
# First words of "On <date>, <name> wrote" in those languages.
_ON_WORDS = frozenset("on am le el op den w dnia il em dne dňa på в".split())
_WORD_RE = re.compile(r"\w+")
# A line that starts like the opening of a reply marker ("On Tue, …").
_ON_START_RE = re.compile(
    r"(?i)^(?:on|am|le|el|op|den|d\.|w dniu|dnia|il giorno|il|em|dne|dňa|på|"
    r"kello|el día|el dia|в|у|ve|pada|vào|op \w+ \d|\d{1,4}[./年-])\b"
)
_SEPARATOR_RE = re.compile(
    r"(?i)^[-=_*\s]{0,20}(?:original message|ursprüngliche nachricht|urspr.ngliche nachricht|"
    r"message d'origine|message original|mensaje original|oorspronkelijk bericht|"
    r"origineel bericht|messaggio originale|oprindelig meddelelse|ursprungligt meddelande|"
    r"wiadomość oryginalna|oryginalna wiadomość|alkuperäinen viesti|opprinnelig melding|"
    r"mensagem original|исходное сообщение|původní zpráva|"
    r"forwarded message|weitergeleitete nachricht|message transféré|message transfere|"
    r"mensaje reenviado|doorgestuurd bericht|messaggio inoltrato|videresendt meddelelse|"
    r"vidarebefordrat meddelande|wiadomość przekazana dalej|välitetty viesti|"
    r"videresendt melding|mensagem encaminhada|пересылаемое сообщение|"
    r"reply message|reply above this line|antwort oberhalb dieser zeile)"
    r"[-=_*\s:]{0,20}$"
)
_BEGIN_FWD_RE = re.compile(
    r"(?i)^(?:begin forwarded message|anfang der weitergeleiteten nachricht|"
    r"début du message (?:réexpédié|transféré)|inicio del mensaje reenviado|"
    r"begin doorgestuurd bericht|inizio messaggio inoltrato|"
    r"videresendt besked|vidarebefordrat brev)\s*:?\s*$"
)
# Gmail's "2016-03-03 17:21 GMT+01:00 Some One <a@b.c>:" (name sometimes alone).
_GMAIL_DATE_RE = re.compile(
    r"^\d{4}[-/]\d{1,2}[-/]\d{1,2} (?:\d{1,2}:\d{2} GMT[+-]\d{1,2}:\d{2} [^\n]{1,200}"
    r"|[^\n]{1,150}<[^<>\s]{1,100}@[^<>\s]{1,100}>\s*:?)$"
)
_HEADER_KEYS = (
    # From
    "from|von|de|van|da|od|från|fra|lähettäjä|от|afzender|absender|expéditeur|remitente|"
    # Sent / Date
    "sent|gesendet|envoyé|envoye|enviado|enviada|verzonden|verstuurd|inviato|wysłano|wysłany|"
    "skickat|sendt|lähetetty|отправлено|date|datum|fecha|data|dato|päivämäärä|дата|"
    # To / Cc
    "to|an|à|a|para|aan|do|till|til|vastaanottaja|кому|cc|kopie|kopia|копия|"
    # Subject
    "subject|betreff|objet|asunto|onderwerp|oggetto|temat|ämne|emne|aihe|assunto|тема|"
    "reply-to|antwort an|répondre à|importance|wichtigkeit|priorité"
)
_HEADER_RE = re.compile(rf"(?i)^[*_]{{0,2}}(?:{_HEADER_KEYS})[*_]{{0,2}}\s?:[*_]{{0,2}}(?:\s|$)")
_FROM_KEYS = frozenset(
    "from von de van da od från fra lähettäjä от afzender absender expéditeur remitente".split()
)
_SIG_RE = re.compile(
    r"(?i)^(?:[(<\[]{0,2}\s*)(?:"
    r"sent (?:from|via|with|using|by|on) .{1,100}"
    r"|sent from mail for windows.{0,40}"
    r"|from my (?:iphone|ipad|ipod|android|mobile|phone|samsung|galaxy|blackberry|smartphone|cell).{0,40}"
    r"|\w+ from mobile"
    r"|get (?:\[)?outlook for .{1,80}"
    r"|envoy[ée] (?:de|depuis|à partir de|à partir d'|avec) .{1,80}"
    r"|von meinem .{1,60}gesendet\.?"
    r"|gesendet (?:von|mit|vom) (?:meinem|mein|der|dem|einem) .{1,60}"
    r"|diese nachricht wurde von meinem .{1,100} gesendet\.?"
    r"|verzonden (?:met|vanaf|van|via) .{1,60}"
    r"|verstuurd (?:vanaf|met|van) (?:mijn )?.{1,60}"
    r"|enviado (?:desde|de|do) (?:mi|meu|o meu|un|my) .{1,60}"
    r"|inviato da .{1,60}"
    r"|wysłane z .{1,60}"
    r"|skickat från .{1,60}"
    r"|sendt fra (?:min|mit|my) .{1,60}"
    r"|lähetetty .{1,60}(?:puhelimesta|laitteesta|iphonesta)"
    r"|отправлено (?:с|из) .{1,60}"
    r"|从我的.{1,40}发送|從我的.{1,40}傳送|iphoneから送信"
    r")[)>\]]{0,2}\.?\s*$"
)
_SIGDELIM_RE = re.compile(r"^(?:--|-- |—|_{3,}|-{2}\s*)$")
_DELIM_RE = re.compile(r"^[-=_*~#+.·•ᐧ\s]{1,200}$")
_BANNER_RE = re.compile(
    r"(?i)^\W{0,3}(?:caution|warning|attention|external|\[ext\]|\[external\]|achtung|vorsicht|"
    r"externe? e-?mail|this (?:email|message) originated|external sender)"
)
_BANNER_HINT_RE = re.compile(
    r"(?i)outside (?:of )?(?:the|this|your|our)|originated|external|extern|do not click|"
    r"außerhalb|ausserhalb"
)
_DISCLAIMER_RE = re.compile(
    r"(?i)^(?:disclaimer:?|confidentiality notice\b.{0,200}|"
    r"this (?:e-?mail|message|communication)(?: and any (?:files|attachments).{0,40})? "
    r"(?:is|are|may contain) (?:confidential|intended solely|intended only|privileged).{0,300}|"
    r"the information (?:contained )?in this (?:e-?mail|message|communication).{0,300})$"
)
_SIGNOFF_RE = re.compile(
    r"(?i)^(?:(?:best|kind|warm|many|warmest|kindest)?\s*(?:regards|wishes)|thanks(?: again| a lot)?|"
    r"thank you|many thanks|cheers|sincerely|yours(?: sincerely| truly)?|best|br|"
    r"mit freundlichen grüßen|mit freundlichen gruessen|freundliche grüße|viele grüße|"
    r"beste grüße|liebe grüße|lg|mfg|vg|gruß|grüße|"
    r"cordialement|bien à vous|bien cordialement|salutations|merci|"
    r"saludos(?: cordiales)?|atentamente|un saludo|gracias|"
    r"met vriendelijke groet(?:en)?|vriendelijke groet(?:en)?|groeten|groet|"
    r"med venlig hilsen|venlig hilsen|mvh|med vänlig hälsning|vänliga hälsningar|hälsningar|"
    r"pozdrawiam|z poważaniem|cordiali saluti|distinti saluti|saluti|grazie)[\s,.!]*$"
)
_DIGIT_RE = re.compile(r"\d")
_SEP_EDGE = frozenset("-=_*#:")
_DELIM_FIRST = frozenset("-=_*~#+.·•ᐧ—")
# First characters a mobile signature line can start with (see _SIG_RE).
_SIG_FIRST = frozenset("sfgevdwilо(<[从從i")
_WS_RE = re.compile(r"\s+")
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00a0\u1427"


def _strip_quote(line: str) -> str:
    """Drop leading ``>`` quote markers (any depth) and surrounding blanks."""
    return line.lstrip(" \t>").strip()


def _is_marker(s: str) -> bool:
    """True when one (already unquoted, stripped) line opens quoted history."""
    if not s:
        return False
    s = s[:_LINE_CAP]
    first, last = s[0], s[-1]
    # Cheap guards first: most lines are plain text and fail them all.
    if (first in _SEP_EDGE or last in _SEP_EDGE) and _SEPARATOR_RE.match(s):
        return True
    if last == ":" and _BEGIN_FWD_RE.match(s):
        return True
    if first.isdigit() and _GMAIL_DATE_RE.match(s):
        return True
    if first in "-=" and last in "-=":
        # Zoho: "---- On Tue, … Name <a@b.c> wrote ----".
        s = s.strip("-= ")
        if not s:
            return False
    has_digit_or_at = "@" in s or _DIGIT_RE.search(s) is not None
    if not has_digit_or_at:
        return False
    ends_colon = s.endswith((":", ": "))
    # Word sets rather than one big regex alternation: a marker test runs
    # on every line, and set look-ups cost a fraction of a scanning regex.
    words = _WORD_RE.findall(s.lower())
    last_verb = -1
    for index, word in enumerate(words):
        if word in _VERB_WORDS:
            last_verb = index
    if last_verb >= 0:
        after = len(words) - 1 - last_verb
        if ends_colon:
            # English puts the verb last ("… wrote:"); other languages may put
            # name, address or date after it ("schrieb am Fr., 28. Apr. 2017 um 11:53 Uhr:").
            if words[last_verb] in ("wrote", "writes"):
                if after == 0:
                    return True
            elif after <= 25:
                return True
        elif words[0] in _ON_WORDS and after <= 1:
            return True  # "On … wrote" without a colon, "… написал(а)"
    if ends_colon and "@" in s and len(s) < 250 and s.rstrip(": ").endswith(">"):
        # "2022年1月1日(金) 9:00 Name <a@b.c>:" and similar dated address lines.
        return _DIGIT_RE.search(s) is not None
    return False


def _classify(line: str) -> str:
    """Give one line its kind (see the module constants)."""
    s = line.strip()
    if not s or not s.strip(_INVISIBLE):
        return _EMPTY
    if s[0] == ">":
        return _QUOTE
    s = s[:_LINE_CAP]
    first = s[0]
    if first in _DELIM_FIRST:
        if _SIGDELIM_RE.match(s):
            return _SIGDELIM
        if _DELIM_RE.match(s):
            return _DELIM
    if _is_marker(s):
        return _MARKER
    if ":" in s[:40] and _HEADER_RE.match(s):
        return _HEADER
    if len(s) < 140 and first.lower() in _SIG_FIRST and _SIG_RE.match(s):
        return _SIG
    return _TEXT


def _header_key(line: str) -> str:
    return line.strip().strip("*_").split(":", 1)[0].strip(" *_").lower()


def _header_block(lines: list[str], kinds: list[str], i: int) -> int:
    """Length of an embedded header block starting at ``i``, 0 if there is none.

    A block needs three header lines within eight lines (wrapped values and
    blank lines allowed between them) and one of them must name a sender.
    """
    n = len(lines)
    count = 0
    has_from = False
    end = i
    j = i
    while j < n and j < i + 8:
        k = kinds[j] if j < len(kinds) and kinds[j] else _classify(lines[j])
        if k == _HEADER:
            count += 1
            end = j + 1
            if _header_key(lines[j]) in _FROM_KEYS:
                has_from = True
        elif k not in (_TEXT, _EMPTY):
            break
        j += 1
    return end - i if count >= 3 and has_from or count >= 4 else 0


def _joined_marker(
    lines: list[str], i: int, known_not_marker: bool = False, colon_ends: list[int] | None = None
) -> int:
    """Lines covered by a reply marker starting at ``i`` (1–6), 0 if none.

    Mail clients wrap long "On <date>, <name> <addr> wrote:" lines, so a line
    that starts like a marker (or names an address) is tried joined with up to
    five following lines. ``colon_ends`` (ascending indexes of lines ending
    with ":") lets the caller skip the join for the many lines no marker can
    start at.
    """
    first = _strip_quote(lines[i])[:_LINE_CAP]
    if not known_not_marker and _is_marker(first):
        return 1
    if not first or len(first) > 250:
        return 0
    # A wrapped marker ends, within five lines, in a line ending with ":"
    # (or the line itself ends with "<"); most text lines fail this at once.
    if not first.endswith("<"):
        if colon_ends is not None:
            # The first line ending with ":" after line i must be within five lines.
            k = bisect_right(colon_ends, i)
            if k == len(colon_ends) or colon_ends[k] > i + 5:
                return 0
        elif not any(line.rstrip().endswith(":") for line in lines[i + 1 : i + 6]):
            return 0
    on_start = bool(_ON_START_RE.match(first)) and _DIGIT_RE.search(first) is not None
    nxt_line = _strip_quote(lines[i + 1]) if i + 1 < len(lines) else ""
    # Finnish and others: "pe 20. lokakuuta 2017 klo 17.50 Name" + "<addr> kirjoitti:".
    addr_next = nxt_line.startswith("<") and "@" in nxt_line
    if not on_start and not addr_next and "<" not in first and "@" not in first:
        return 0
    joined = first
    # Up to five following lines, blank ones included: some clients put the
    # address on its own lines ("<", "mailto:…", "> wrote:").
    for extra in range(1, 6):
        if i + extra >= len(lines) or len(joined) > _LINE_CAP:
            break
        nxt = _strip_quote(lines[i + extra])[:_LINE_CAP]
        if not nxt:
            if on_start or joined.endswith("<"):
                continue
            break
        if _ON_START_RE.match(nxt) and _DIGIT_RE.search(nxt) is not None:
            break  # a marker of its own starts there
        joined = f"{joined} {nxt}"
        if _is_marker(joined):
            return extra + 1
    return 0


def _drop_banner(lines: list[str]) -> list[str]:
    """Remove an "external email" warning paragraph at the very top."""
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start >= len(lines):
        return lines
    first = lines[start].strip()[:_LINE_CAP]
    if not _BANNER_RE.match(first):
        return lines
    end = start
    while end < len(lines) and lines[end].strip() and end - start < 6:
        end += 1
    paragraph = " ".join(line.strip() for line in lines[start:end])[:1000]
    if not _BANNER_HINT_RE.search(paragraph):
        return lines
    return lines[:start] + lines[end:]


def _all_quoted(lines: list[str]) -> str:
    """Result for a body made only of quotes: keep it, unless it is pure history."""
    for line in lines:
        s = _strip_quote(line)
        if s:
            return "" if _is_marker(s) else "\n".join(lines).strip()
    return ""


def extract_reply(text: str, *, keep_signature: bool = False) -> str:
    """Return only the sender's new words from an email body.

    Removes quoted history ("On … wrote:" in many languages, Outlook
    "-----Original Message-----" and "From:/Sent:/To:" header blocks,
    forwarded blocks, trailing ``>`` quotes), signatures ("-- ", "Sent from my
    iPhone" and its translations, "Get Outlook for …"), trailing delimiter
    lines, legal disclaimers and "CAUTION: external email" banners. Inline
    quotes between new text (interleaved replies) are kept, as a reader
    needs them to make sense of the answer.

    Args:
        text: A plain-text body (HTML already converted to text).
        keep_signature: Keep signatures and sign-off blocks (only quoted
            history is removed), as mailgun/talon's reference output does.

    Returns:
        The new words, stripped; ``""`` when nothing new was written.
    """
    if not text or text.isspace():
        return ""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = _drop_banner(text.split("\n"))
    n = len(lines)
    limit = min(n, _MAX_SCAN_LINES)
    kinds: list[str] = [""] * n
    # Lines ending with ":" (where a wrapped marker can end), found once.
    colon_ends = [j for j in range(limit) if lines[j].rstrip().endswith(":")]
    kept: list[int] = []  # indexes of lines that belong to the new words
    seen_text = False
    skip_quotes = False  # after a marker at the top, its quote block is history
    i = 0
    cut = n
    while i < limit:
        line = lines[i]
        kind = _classify(line)
        kinds[i] = kind
        if kind in (_TEXT, _HEADER, _MARKER, _QUOTE) or (kind == _SIG and not seen_text):
            span = _joined_marker(lines, i, kind == _TEXT, colon_ends) if kind != _HEADER else 0
            if span and kind == _QUOTE and not seen_text and not kept:
                # "> On … wrote:" as the first thing: keep scanning, decided below.
                span = 0
            if span:
                if seen_text:
                    cut = i
                    break
                # Bottom-posted reply: marker and the quote under it are history.
                for j in range(i, i + span):
                    kinds[j] = _MARKER
                i += span
                skip_quotes = True
                continue
            if kind == _HEADER:
                block = _header_block(lines, kinds, i)
                if block:
                    if seen_text:
                        cut = i
                        break
                    i += block
                    skip_quotes = True
                    continue
                if kind == _HEADER:
                    kind = kinds[i] = _TEXT
        if kind == _QUOTE and skip_quotes:
            i += 1
            continue
        if kind == _TEXT:
            seen_text = True
            skip_quotes = False
        kept.append(i)
        i += 1
    else:
        # Past the scan limit everything left is taken as text.
        for j in range(limit, n):
            kinds[j] = _TEXT
            kept.append(j)

    head = [j for j in kept if j < cut]
    if not any(kinds[j] == _TEXT for j in head):
        quoted = [lines[j] for j in head if kinds[j] == _QUOTE or kinds[j] == _EMPTY]
        return _all_quoted(quoted)

    # Signature: everything from the first signature delimiter, mobile
    # signature line or disclaimer that follows some text.
    out: list[int] = []
    seen_text = False
    for j in head:
        kind = kinds[j]
        if seen_text and not keep_signature and kind in (_SIG, _SIGDELIM):
            break
        if seen_text and kind == _TEXT and _DISCLAIMER_RE.match(lines[j].strip()[:_LINE_CAP]):
            break
        if kind == _SIG and not keep_signature:
            continue
        if kind == _TEXT:
            seen_text = True
        out.append(j)
    if not keep_signature:
        out = _drop_signoff_block(lines, out)
    # Trailing quotes, delimiters and blank lines are not new words.
    while out and kinds[out[-1]] in (_QUOTE, _EMPTY, _DELIM, _SIGDELIM, _MARKER):
        out.pop()
    return "\n".join(lines[j] for j in out).strip("\n").strip()


def _drop_signoff_block(lines: list[str], out: list[int]) -> list[int]:
    """Cut a contact block under a sign-off ("Best regards," name, title, phone…).

    The sign-off and one short name line stay (they are the customer's own
    words and cost nothing); what follows is dropped only when it looks like
    a signature: a few short lines and nothing else.
    """
    if len(out) < 3:
        return out
    start = max(0, len(out) - 25)
    signoff = -1
    for pos in range(len(out) - 1, start - 1, -1):
        s = lines[out[pos]].strip()
        if s and len(s) < 60 and _SIGNOFF_RE.match(s):
            signoff = pos
            break
    if signoff < 0:
        return out
    rest = [pos for pos in range(signoff + 1, len(out)) if lines[out[pos]].strip()]
    names = rest[:1] if rest and len(lines[out[rest[0]]].strip()) < 40 else []
    tail = rest[len(names):]
    if not tail or len(tail) > 15:
        return out
    if any(len(lines[out[p]].strip()) > 100 for p in tail):
        return out
    return out[: names[-1] + 1] if names else out[: signoff + 1]


def normalise_ws(text: str) -> str:
    """Collapse whitespace runs and strip: the comparison used for scoring."""
    return _WS_RE.sub(" ", text).strip()
