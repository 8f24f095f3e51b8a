"""Drafts from templates: the customer's own words restated, rendered in their language.

Pure: no store, no network. ``render_draft`` turns a :class:`DraftContext`
into subject, text and HTML (CSS inlined); ``check_templates`` renders every
kind × language × scale against sample contexts and lists what is wrong.
Template layout and variables: ``templates/email/README.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal

import css_inline
import jinja2

from outreach.errors import TemplateError
from outreach.links import UNSUBSCRIBE_PATH
from outreach.models import DraftKind
from outreach.surveys import SCALES, own_words

DRAFT_KINDS: tuple[DraftKind, ...] = ("follow_up", "check_in", "survey", "apology", "thank_you")
DEFAULT_LANGUAGE = "en"
SUBJECT_MAX = 78
_PARTS = ("subject", "txt", "html")

# --- the context -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DraftContext:
    """Everything a template may use. Optional fields have safe defaults; templates
    reference every field, so a typo in a template is an error, not a blank.

    Attributes:
        kind: ``follow_up``, ``check_in``, ``survey``, ``apology`` or ``thank_you``.
        customer_address: The customer's address (never rendered into logs).
        agent_name: The agent who signs.
        team_name: The team (``team.name``).
        thread_subject: The conversation's subject; subjects become "Re: …".
        unsubscribe_url: Signed unsubscribe link (``links.unsubscribe_url``).
        language: Two-letter code; a language without templates falls back to English.
        customer_name: First name (``first_name``), or None: the greeting then
            falls back to "Hi there" / "Hallo".
        signature: Lines under the agent's name ("" for just the team name).
        thread_ref: A reference the customer recognises, from their own subject
            (``customer_reference``: "order #4411"), or "" for none; never our thread id.
        key_sentence: The customer's own words to restate (``key_sentence``).
        topic: What the conversation was about, in the customer's words (``topic``):
            surveys name it; never their closing thanks. "" names no topic.
        gesture: What the agent offers in an apology ("a $10 account credit"), or None.
        survey_scale: ``csat`` (1–5) or ``nps`` (0–10).
        score_links: For surveys, one signed link per score (``links.survey_links``).
        waiting_days: Days the customer has waited for us, when that is the point.
        reply_by: When we write again, a phrase in the customer's language
            ("by Thursday", "bis Donnerstag"); "" uses the template's default.
        next_step: What happens next, in the agent's words; "" uses the kind's default.
        incident: What went wrong, in our words ("the outage on Tuesday"), for apologies.
        score: The score the customer gave (apology to a detractor, thanks to a promoter).
        reasons: Why the candidate was raised: for the reviewer, never rendered.
    """

    kind: DraftKind
    customer_address: str
    agent_name: str
    team_name: str
    thread_subject: str
    unsubscribe_url: str
    language: str = DEFAULT_LANGUAGE
    customer_name: str | None = None
    signature: str = ""
    thread_ref: str = ""
    key_sentence: str = ""
    topic: str = ""
    gesture: str | None = None
    survey_scale: Literal["csat", "nps"] = "csat"
    score_links: Mapping[int, str] = field(default_factory=dict)
    waiting_days: int | None = None
    reply_by: str = ""
    next_step: str = ""
    incident: str = ""
    score: int | None = None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RenderedDraft:
    """A rendered draft.

    Attributes:
        subject: One line, at most 78 characters.
        text: Plain-text body.
        html: HTML body with CSS inlined (no ``<style>`` needed).
        template: Which templates were used, e.g. ``de/survey``.
        language: The language actually rendered (after fallback).
    """

    subject: str
    text: str
    html: str
    template: str
    language: str


# --- the customer's words ----------------------------------------------------------------

_SENTENCE_RE = re.compile(r"(?<=[.!?…])\s+|\n+")
_GREETING_WORDS = (
    r"(?:hi|hello|hey|hallo|dear|good\s+(?:morning|afternoon|evening)|guten\s+(?:tag|morgen|abend)|"
    r"liebe[rs]?|sehr\s+geehrte[rs]?|moin|servus|bonjour|bonsoir|salut|madame|monsieur|ch[eè]re?|"
    r"hola|buen[oa]s\s+(?:d[ií]as|tardes|noches)|estimad[oa]s?)\b"
)
_GREETING_RE = re.compile(rf"^{_GREETING_WORDS}[^.!?]{{0,40}}[,!.:]?$", re.IGNORECASE)
# "Hi Sam, my parcel never arrived." starts with a greeting but goes on to say something.
_GREETING_PREFIX_RE = re.compile(rf"^{_GREETING_WORDS}[^,.!?:]{{0,30}}[,:]\s+(?=\S)", re.IGNORECASE)
_THANKS_RE = re.compile(
    r"^(?:thanks?|thank\s+you|thx|cheers|many\s+thanks|danke|vielen\s+dank|best|regards|kind\s+regards|"
    r"best\s+regards|mit\s+freundlichen\s+grüßen|viele\s+grüße|lg|mfg|sincerely|bye|"
    r"merci|cordialement|bien\s+à\s+vous|gracias|muchas\s+gracias|saludos|un\s+saludo|atentamente)\b"
    r"(?:[\s,!.]*(?:in\s+advance|again|a\s+lot|so\s+much|im\s+voraus|schon\s+mal|d'avance|"
    r"beaucoup|de\s+antemano))?[\s,!.]*\w*[\s,!.]*$",
    re.IGNORECASE,
)
_CUES: tuple[tuple[re.Pattern[str], float], ...] = (
    (re.compile(
        r"\b(?:not|n't|never|no\s+longer|still|again|problem|issue|error|broken|wrong|fail\w*|"
        r"refund\w*|cancel\w*|charged?|overcharg\w*|waiting|waited|can't|cannot|unable|missing|lost|"
        r"late|delay\w*|stuck|crash\w*|bug|urgent|complain\w*|disappointed|frustrat\w*|worst|terrible|"
        r"nobody|no\s+one|weeks?|days?|months?)\b",
        re.IGNORECASE,
    ), 2.0),
    (re.compile(
        r"\b(?:nicht|kein\w*|nie|immer\s+noch|schon\s+wieder|problem\w*|fehler\w*|kaputt|falsch|"
        r"rückerstattung|erstattung|storn\w*|kündig\w*|abgebucht|warte\w*|gewartet|geht\s+nicht|"
        r"funktioniert|verloren|fehlt|verspät\w*|dringend|ärger\w*|enttäuscht|niemand|wochen?|tagen?)\b",
        re.IGNORECASE,
    ), 2.0),
    (re.compile(
        r"\b(?:pas|jamais|plus|toujours|encore|probl[eè]me\w*|erreur\w*|panne|cass[ée]e?|faux|fausse|"
        r"rembours\w*|annul\w*|résili\w*|débit[ée]\w*|factur[ée]\w*|attend\w*|attente|bloqu[ée]\w*|"
        r"perdu\w*|manque\w*|retard\w*|urgent\w*|déçu\w*|personne|impossible|semaines?|jours|mois)\b",
        re.IGNORECASE,
    ), 2.0),
    (re.compile(
        r"\b(?:no|nunca|todav[ií]a|otra\s+vez|de\s+nuevo|problema\w*|error\w*|roto|rota|mal|"
        r"reembols\w*|devoluci[oó]n|cancel\w*|cobr\w*|esper\w*|perdid\w*|falta\w*|retras\w*|"
        r"urgente|decepcionad\w*|nadie|imposible|semanas?|d[ií]as|meses)\b",
        re.IGNORECASE,
    ), 2.0),
    (re.compile(r"\?\s*$"), 1.5),
)
KEY_SENTENCE_MAX = 200


def _shorten(text: str, limit: int) -> str:
    """Cut at a word boundary and mark the cut with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"


def _sentences(text: str) -> list[str]:
    """The customer's own sentences in ``text``: quoted history, greetings and sign-offs dropped."""
    out: list[str] = []
    for raw in _SENTENCE_RE.split(own_words(text)):
        sentence = " ".join(raw.split()).strip(" -–—*")
        rest = _GREETING_PREFIX_RE.sub("", sentence, count=1)
        if rest != sentence and len(rest.split()) >= 3:
            sentence = rest[:1].upper() + rest[1:]
        if len(sentence) < 3 or not re.search(r"[^\W\d_]", sentence):
            continue
        if _GREETING_RE.match(sentence) or _THANKS_RE.match(sentence):
            continue
        out.append(sentence)
    return out


def key_sentence(reply_text: str) -> str:
    """The sentence that states the customer's problem, to quote back to them.

    Greetings, thanks and sign-offs are skipped; the sentence with the most complaint or
    problem cues (English, German, French, Spanish), or a question, wins; ties go to the
    earlier sentence. Quoted history is ignored. The result is trimmed to
    about 200 characters at a word boundary.

    Returns:
        The sentence, or "" when the text holds none.
    """
    best = ""
    best_score = -1.0
    for position, sentence in enumerate(_sentences(reply_text)):
        # Each cue word counts (up to three per language): "never arrived and nobody answers"
        # says more about the problem than "ordered three weeks ago".
        score = sum(weight * min(len(pattern.findall(sentence)), 3) for pattern, weight in _CUES)
        score -= position * 0.01  # earlier wins ties
        if len(sentence.split()) < 3:
            score -= 1.0  # "Sure." restates nothing
        if score > best_score:
            best, best_score = sentence, score
    return _shorten(best, KEY_SENTENCE_MAX) if best else ""


# Closing thanks and praise ("Brilliant, thank you", "Tahnk you, that's exactly what I
# needed"): kind words, never what the conversation was about. Typos are common here.
_THANKS_WORD_RE = re.compile(
    r"\b(?:thanks?\w*|thank\s+you|tah?nks?\w*|thnaks?\w*|thanx|thx|cheers|appreciated?|danke\w*|dank|"
    r"merci|gracias)\b",
    re.IGNORECASE,
)
_PRAISE_START_RE = re.compile(
    r"^(?:brilliant|perfect|great|awesome|excellent|lovely|wonderful|fantastic|amazing|superb|super|"
    r"got\s+it|ok(?:ay)?|perfekt|prima|toll|klasse|wunderbar|parfait|génial|super|perfecto|genial|"
    r"estupendo|excelente)\b",
    re.IGNORECASE,
)
_RESOLVED_RE = re.compile(
    r"\b(?:exactly\s+what\s+i\s+needed|did\s+the\s+trick|(?:that|this)\s+(?:fixed|solved|sorted)\s+it|"
    r"all\s+sorted|works?\s+(?:now|again|perfectly)|funktioniert\s+(?:jetzt|wieder)|"
    r"fonctionne\s+(?:maintenant|à\s+nouveau)|funciona\s+(?:ya|de\s+nuevo))\b",
    re.IGNORECASE,
)
# Asks that only point at what came before ("Can you help with this?"): quoting them
# tells the customer nothing about their own request.
_VAGUE_ASK_RE = re.compile(
    r"^(?:(?:could|can|would|will)\s+(?:you|someone|somebody|anyone)\b.{0,30}\b(?:this|that|it|me|on)\b"
    r"|any\s+(?:idea|news|update|help)s?\b|please\s+advise\b|let\s+me\s+know\b|"
    r"(?:what|how)\s+(?:should|can|do)\s+i\s+(?:do|sort\s+this|fix\s+this)\b|is\s+there\s+something\b|"
    r"would\s+appreciate\b|looking\s+forward\b).{0,20}$",
    re.IGNORECASE,
)
_GENERIC_SUBJECTS = frozenset(
    """question questions help request support hello hi hey issue problem enquiry inquiry urgent
    help needed need help quick question no subject your message frage anfrage hilfe problem
    question demande aide bonjour pregunta consulta ayuda solicitud hola""".split()
)
TOPIC_MAX = 120


def _is_gratitude(sentence: str) -> bool:
    """Thanks or praise with no problem in it: how a conversation ends, not what it was about."""
    if not (_THANKS_WORD_RE.search(sentence) or _PRAISE_START_RE.match(sentence) or _RESOLVED_RE.search(sentence)):
        return False
    problem = _CUES[:-1]  # the question-mark cue is no problem word
    return not any(pattern.search(sentence) for pattern, _ in problem)


def _subject_topic(subject: str) -> str:
    core = _REPLY_PREFIX_RE.sub("", " ".join((subject or "").split())).strip(" -–—:?!.")
    words = re.findall(r"[^\W_]+", core.lower())
    if not words or " ".join(words) in _GENERIC_SUBJECTS or all(w in _GENERIC_SUBJECTS for w in words):
        return ""
    if len(words) < 2 and not re.search(r"\d", core):
        return ""  # "checkout" alone restates nothing
    return _shorten(core, TOPIC_MAX)


def topic(first_text: str, subject: str = "") -> str:
    """What the conversation was about, in the customer's words, to name it back to them.

    A survey is sent when a conversation ended well, so the customer's last message is
    usually their thanks; quoting that as "you got in touch about …" is absurd. The topic
    comes from their *first* message instead: its sentence with the most problem cues,
    earlier sentences first, never a greeting, thanks, praise or a vague ask ("Can you
    help with this?"). Failing that, their subject without "Re:" (when it says more than
    "Question"). Returns "" when nothing fits, and the templates then name no topic.

    Args:
        first_text: The customer's first message in the thread (reply text).
        subject: The conversation's subject.
    """
    best = ""
    best_score = float("-inf")
    for position, sentence in enumerate(_sentences(first_text)):
        if _is_gratitude(sentence) or _VAGUE_ASK_RE.match(sentence) or len(sentence.split()) < 3:
            continue
        # The opening usually states the request; problem words can still beat it.
        score = sum(weight * min(len(p.findall(sentence)), 3) for p, weight in _CUES[:-1]) - position * 0.75
        if score > best_score:
            best, best_score = sentence, score
    if best:
        return _shorten(best.rstrip(".!…"), TOPIC_MAX)
    return _subject_topic(subject)


# A number the customer wrote in their subject (their order, invoice, ticket…): the one
# reference they recognise. Our thread ids are internal and never shown.
_GERMAN_REF_WORDS = frozenset("bestellung rechnung auftrag buchung vertrag kundennummer".split())
_REFERENCE_RE = re.compile(
    r"\b(?P<word>order|invoice|ticket|case|booking|reservation|contract|subscription|"
    r"bestellung|rechnung|auftrag|buchung|vertrag|kundennummer|"
    r"commande|facture|réservation|dossier|pedido|factura|reserva)"
    r"\s*(?:(?:no|nr|n°|nº|number|nummer|número|num)\.?\s*)?(?::\s*)?(?:#\s*)?"
    r"(?P<id>(?=[A-Z0-9-]{3,})[A-Z0-9-]*\d[A-Z0-9-]*)\b",
    re.IGNORECASE,
)
_BARE_REFERENCE_RE = re.compile(r"(?<![\w#&])#(?P<id>(?=[A-Z0-9-]{3,})[A-Z0-9-]*\d[A-Z0-9-]*)\b", re.IGNORECASE)


def customer_reference(subject: str) -> str:
    """The reference the customer gave in their subject ("order #4411", "Rechnung 2026-17"), or "".

    Taken as they wrote it, so it reads in their language; only the keyword's case is
    normalised ("Order" mid-sentence becomes "order"; German nouns keep their capital).
    """
    core = _REPLY_PREFIX_RE.sub("", " ".join((subject or "").split()))
    match = _REFERENCE_RE.search(core)
    if match:
        word = match.group("word")
        word = word if word.lower() in _GERMAN_REF_WORDS else word.lower()
        return word + core[match.end("word") : match.end()]
    bare = _BARE_REFERENCE_RE.search(core)
    return f"#{bare.group('id')}" if bare else ""


_ROLE_LOCALS = frozenset(
    """info support help admin administrator sales contact hello hi team office billing accounts
    account noreply no-reply donotreply mail email webmaster postmaster service customerservice
    kontakt buchhaltung rechnung service-desk servicedesk helpdesk it hr jobs marketing news
    newsletter orders order shop store payments invoice invoices""".split()
)
_COMPANY_WORDS = frozenset(
    "inc inc. ltd ltd. llc gmbh ag corp corp. co co. company team support group kg ug sa bv plc".split()
)
_TITLES = frozenset("mr mr. mrs mrs. ms ms. miss dr dr. prof prof. herr frau sir madam".split())


def _cap(word: str) -> str:
    """Jane, Jean-Luc, O'Brien; keeps mixed case the person chose (McDonald)."""
    if word.isupper() or word.islower():
        return "-".join(
            "'".join(part[:1].upper() + part[1:].lower() for part in piece.split("'"))
            for piece in word.split("-")
        )
    return word


def first_name(display_name: str, address: str) -> str | None:
    """The customer's first name for the greeting, or None when unsure.

    Handles "Jane Doe", "Doe, Jane", "JANE DOE", "Dr. Jane Doe", quoted names,
    and falls back to the address's local part when it reads as a name
    ("jane.doe@…" → "Jane"). Role accounts (support@, info@) and company names give None.
    """
    name = (display_name or "").strip().strip("'\"").strip()
    name = re.sub(r"\s*[(\[<].*?[)\]>]\s*", " ", name).strip()  # "(Acme)", "<jane@x>"
    if name and "@" not in name:
        if "," in name:
            last, _, rest = name.partition(",")
            name = rest.strip() or last.strip()
        words = [w for w in name.split() if w]
        if any(w.lower().strip(",.") in _COMPANY_WORDS for w in words):
            return None
        words = [w for w in words if w.lower() not in _TITLES]
        if words:
            word = words[0].strip(".,;:")
            if len(word) >= 2 and re.fullmatch(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", word):
                return _cap(word)
            return None
    local = (address or "").partition("@")[0].lower()
    local = local.split("+", 1)[0]
    if not local or local in _ROLE_LOCALS:
        return None
    parts = [p for p in re.split(r"[._-]", local) if p]
    if len(parts) >= 2 and re.fullmatch(r"[^\W\d_]{2,}", parts[0]) and parts[0] not in _ROLE_LOCALS:
        return _cap(parts[0])
    return None


# --- rendering ---------------------------------------------------------------------------

_REPLY_PREFIX_RE = re.compile(r"^\s*(?:(?:re|aw|antw|sv|vs|fwd?|wg|tr|rv)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def _reply_subject(subject: str, fallback: str = "your message") -> str:
    """ "Re: <subject>" without stacking prefixes, within the subject limit."""
    core = _REPLY_PREFIX_RE.sub("", " ".join((subject or "").split())) or fallback
    return _shorten(f"Re: {core}", SUBJECT_MAX)


@lru_cache(maxsize=64)
def _email_root_str(templates_dir: str) -> str:
    path = Path(templates_dir)
    return str((path / "email" if (path / "email").is_dir() else path).resolve())


def _email_root(templates_dir: Path) -> Path:
    """Accept either the templates folder (holding ``email/``) or ``email/`` itself."""
    return Path(_email_root_str(str(templates_dir)))


@lru_cache(maxsize=16)
def _environment(root: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2", "html"), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=True,
    )
    env.filters["reply_subject"] = _reply_subject
    env.filters["shorten"] = _shorten
    return env


def environment(templates_dir: Path) -> jinja2.Environment:
    """The cached Jinja2 environment for a templates folder (one per folder)."""
    return _environment(_email_root_str(str(templates_dir)))


@lru_cache(maxsize=64)
def _languages(root: str) -> frozenset[str]:
    path = Path(root)
    return frozenset(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def available_languages(templates_dir: Path) -> frozenset[str]:
    """The languages that have a template folder (``email/<lang>/``).

    The folders are the one source of truth: adding a language is copying a folder,
    never a code change.
    """
    return _languages(_email_root_str(str(templates_dir)))


def _base_language(code: str | None) -> str:
    """ "fr-CA", "es_MX", "DE" -> "fr", "es", "de" (template folders are two-letter codes)."""
    return (code or "").strip().lower().replace("_", "-").split("-")[0]


def pick_language(templates_dir: Path, wanted: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """The template language for a customer: theirs when templates exist for it, else ``default``.

    ``default`` (``drafts.default_language``) is itself checked against the folders, so a
    misconfigured default still lands on English rather than a missing template.
    """
    available = available_languages(templates_dir)
    for candidate in (_base_language(wanted), _base_language(default)):
        if candidate in available:
            return candidate
    return DEFAULT_LANGUAGE


def _language(root: str, wanted: str) -> str:
    wanted = _base_language(wanted or DEFAULT_LANGUAGE)
    available = _languages(root)
    if wanted in available:
        return wanted
    if DEFAULT_LANGUAGE in available:
        return DEFAULT_LANGUAGE
    raise TemplateError(f"no templates for language {wanted!r} nor {DEFAULT_LANGUAGE!r} in {root}")


_INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)
_BLANK_LINES_RE = re.compile(r"\n{3,}")
_TRAILING_WS_RE = re.compile(r"(?m)^(?!-- $)(.*?)[ \t]+$")


def _variables(ctx: DraftContext, language: str) -> dict[str, Any]:
    variables = {f.name: getattr(ctx, f.name) for f in fields(DraftContext)}
    low, high = SCALES[ctx.survey_scale]
    variables.update(
        language=language,
        scale_low=low,
        scale_high=high,
        scores=list(range(low, high + 1)),
        score_links=dict(ctx.score_links),
    )
    return variables


def _render(kind: str, ctx: DraftContext, templates_dir: Path) -> tuple[RenderedDraft, str]:
    """Render without enforcing the subject limit (``check_templates`` reports it).

    Also returns the HTML as the template wrote it: the inliner re-serialises
    HTML and so hides broken nesting, which ``check_templates`` must see.
    """
    if kind not in DRAFT_KINDS:
        raise TemplateError(f"unknown draft kind {kind!r}")
    if ctx.survey_scale not in SCALES:
        raise TemplateError(f"unknown survey scale {ctx.survey_scale!r}")
    if kind == "survey":
        low, high = SCALES[ctx.survey_scale]
        missing = [s for s in range(low, high + 1) if s not in ctx.score_links]
        if missing:
            raise TemplateError(f"survey needs a signed link for every score; missing {missing}")
    env = environment(templates_dir)
    root = _email_root_str(str(templates_dir))
    language = _language(root, ctx.language)
    variables = _variables(ctx, language)
    name = f"{language}/{kind}"
    try:
        subject = env.get_template(f"{name}.subject.j2").render(variables)
        subject = " ".join(subject.split())  # one line: no header injection via a newline
        variables["subject"] = subject
        text = env.get_template(f"{name}.txt.j2").render(variables)
        html = env.get_template(f"{name}.html.j2").render(variables)
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template not found: {exc.name}") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{name}: {exc.message}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.name or name}:{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{name}: {exc}") from None
    # Keep the "-- " signature delimiter: clients fold what follows it.
    text = _BLANK_LINES_RE.sub("\n\n", _TRAILING_WS_RE.sub(r"\1", text)).strip() + "\n"
    try:
        inlined = _INLINER.inline(html)
    except ValueError as exc:
        raise TemplateError(f"{name}: CSS could not be inlined: {exc}") from None
    return RenderedDraft(subject=subject, text=text, html=inlined, template=name, language=language), html


def render_draft(kind: str, ctx: DraftContext, templates_dir: Path) -> RenderedDraft:
    """Render one draft.

    Args:
        kind: The draft kind (usually ``ctx.kind``).
        ctx: What the templates may use.
        templates_dir: ``settings.templates_path`` (holding ``email/``) or the ``email/`` folder.

    Returns:
        Subject (one line, ≤ 78 characters), text, HTML with CSS inlined.

    Raises:
        TemplateError: Unknown kind, missing template, undefined variable,
            broken template, or a survey without a link for every score.
    """
    draft, _ = _render(kind, ctx, templates_dir)
    if len(draft.subject) > SUBJECT_MAX:
        draft = replace(draft, subject=_shorten(draft.subject, SUBJECT_MAX))
    return draft


# --- the footer ----------------------------------------------------------------------------
# The unsubscribe footer is the law's and the mailbox providers' part of the email, not the
# agent's: an edit replaces the body and the footer is put back after it, exactly once.

FOOTER_DELIMITER = "-- "
_DELIMITER_RE = re.compile(r"(?m)^--[ \t]*$")
_UNSUBSCRIBE_MARK = UNSUBSCRIBE_PATH  # every footer links there


def stored_context(
    stored: Mapping[str, Any], *, kind: str, customer: str, language: str, unsubscribe_url: str,
    agent_name: str, team_name: str, thread_id: int | None = None,
) -> DraftContext:
    """A :class:`DraftContext` from a draft's stored context (older drafts may lack fields)."""
    known = {f.name for f in fields(DraftContext)}
    data: dict[str, Any] = {k: v for k, v in stored.items() if k in known}
    data["reasons"] = tuple(data.get("reasons") or ())
    data["score_links"] = {int(k): v for k, v in (data.get("score_links") or {}).items()}
    data.update(kind=kind, customer_address=customer, language=language, unsubscribe_url=unsubscribe_url)
    data.setdefault("agent_name", agent_name)
    data.setdefault("team_name", team_name)
    data.setdefault("thread_subject", "")
    if thread_id is not None and data.get("thread_ref") == f"#{thread_id}":
        # Drafted before thread_ref became the customer's own reference: never show our id.
        data["thread_ref"] = customer_reference(data["thread_subject"])
    return DraftContext(**data)


def render_footer(ctx: DraftContext, templates_dir: Path) -> str:
    """The plain-text footer (``<lang>/_footer.txt.j2``) for ``ctx``, without the delimiter."""
    root = _email_root_str(str(templates_dir))
    language = _language(root, ctx.language)
    try:
        footer = environment(templates_dir).get_template(f"{language}/_footer.txt.j2").render(_variables(ctx, language))
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{language}/_footer.txt.j2: {exc}") from None
    return "\n".join(line.rstrip() for line in footer.strip().splitlines())


def strip_footer(text: str) -> str:
    """``text`` without its unsubscribe footer: what the agent wrote, and only that.

    The footer is what follows the last "-- " delimiter when it carries an unsubscribe
    link (or nothing); an agent's own "--" line followed by their words is kept.
    """
    text = text.replace("\r\n", "\n")
    for match in reversed(list(_DELIMITER_RE.finditer(text))):
        after = text[match.end() :]
        if _UNSUBSCRIBE_MARK in after or not after.strip():
            text = text[: match.start()]
            break
    return text.rstrip()


def with_footer(text: str, footer: str) -> str:
    """The agent's ``text`` with its old footer (if any) replaced by ``footer``: exactly one."""
    return f"{strip_footer(text)}\n\n{FOOTER_DELIMITER}\n{footer.strip()}\n"


def has_footer(body: str | None, unsubscribe_base: str) -> bool:
    """Whether ``body`` (text or HTML) links to our unsubscribe page under ``unsubscribe_base``."""
    return bool(body) and f"{unsubscribe_base.rstrip('/')}{_UNSUBSCRIBE_MARK}" in (body or "")


_URL_RE = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")
_HTML_FROM_TEXT_CSS = (
    "body { margin: 0; padding: 0; }"
    ".wrap { max-width: 560px; padding: 16px; font-family: -apple-system, 'Segoe UI', Helvetica, "
    "Arial, sans-serif; font-size: 15px; line-height: 1.5; color: #222222; }"
    "p { margin: 0 0 14px 0; }"
    "blockquote { margin: 0 0 14px 0; padding: 2px 0 2px 12px; border-left: 3px solid #cccccc; color: #444444; }"
    ".footer { margin-top: 24px; padding-top: 10px; border-top: 1px solid #eeeeee; font-size: 12px; color: #777777; }"
    ".footer a { color: #777777; }"
)


def _paragraph_html(block: str) -> str:
    from markupsafe import escape

    lines = block.split("\n")
    quoted = all(line.startswith("  ") for line in lines)
    html = "<br>".join(
        _URL_RE.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', str(escape(line.strip())))
        for line in lines
    )
    return f"<blockquote>{html}</blockquote>" if quoted else f"<p>{html}</p>"


def html_from_text(text: str, language: str = DEFAULT_LANGUAGE) -> str:
    """The HTML twin of an agent-edited plain-text body, styled like the templates.

    Paragraphs become ``<p>``, indented blocks (the restated customer words)
    ``<blockquote>``, links become clickable, and what follows the ``-- ``
    delimiter becomes the small footer. Everything is escaped; CSS is inlined.
    """
    body, sep, footer = text.replace("\r\n", "\n").partition("\n-- \n")
    blocks = [b for b in re.split(r"\n\s*\n", body.strip("\n")) if b.strip()]
    parts = [_paragraph_html(b) for b in blocks]
    if sep and footer.strip():
        inner = _paragraph_html(footer.strip()).removeprefix("<p>").removesuffix("</p>")
        parts.append(f'<div class="footer">{inner}</div>')
    lang = re.sub(r"[^a-z-]", "", (language or DEFAULT_LANGUAGE).lower()) or DEFAULT_LANGUAGE
    html = (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><style>{_HTML_FROM_TEXT_CSS}</style>'
        f'</head><body><div class="wrap">{"".join(parts)}</div></body></html>'
    )
    return _INLINER.inline(html)


# --- checking the templates ----------------------------------------------------------------

_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)


class _Balance(HTMLParser):
    """Collects unbalanced tags: the HTML an email client gets must nest properly."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        return

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            opened = self.stack[-1] if self.stack else "nothing"
            self.problems.append(f"</{tag}> closes <{opened}>")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()


def html_problems(html: str) -> list[str]:
    """Tag-balance problems in ``html`` ("" list when it nests properly)."""
    parser = _Balance()
    parser.feed(html)
    parser.close()
    return parser.problems + [f"<{tag}> is never closed" for tag in parser.stack]


# Phrases in each language's own grammar for the sample contexts (see the templates' README).
_SAMPLE_REPLY_BY = {"en": "by Thursday", "de": "bis Donnerstag", "fr": "d'ici jeudi", "es": "antes del jueves"}
_SAMPLE_INCIDENT = {
    "en": "the billing error on Tuesday",
    "de": "den Abrechnungsfehler am Dienstag",
    "fr": "l'erreur de facturation de mardi",
    "es": "el error de facturación del martes",
}


def sample_contexts(kind: DraftKind, language: str, scale: Literal["csat", "nps"]) -> list[DraftContext]:
    """Contexts that exercise a template: everything set, nothing optional set, awkward values."""
    low, high = SCALES[scale]
    links = {s: f"https://outreach.example/survey/tok{s}" for s in range(low, high + 1)}
    full = DraftContext(
        kind=kind,
        customer_address="jane.doe@example.com",
        agent_name="Sam Rivera",
        team_name="Acme Support",
        thread_subject="Refund for order 4411 still missing",
        unsubscribe_url="https://outreach.example/unsubscribe/tok",
        language=language,
        customer_name="Jane",
        signature="Customer Care Lead\nAcme Ltd.",
        thread_ref="order 4411",
        key_sentence="My refund has been waiting for three weeks & nobody answers <b>me</b>.",
        topic="My refund for order 4411 & the <b>missing</b> credit",
        gesture="a $10 account credit",
        survey_scale=scale,
        score_links=links,
        waiting_days=4,
        reply_by=_SAMPLE_REPLY_BY.get(language, _SAMPLE_REPLY_BY["en"]),
        next_step="",
        incident=_SAMPLE_INCIDENT.get(language, _SAMPLE_INCIDENT["en"]),
        score=high if kind == "thank_you" else low,
        reasons=("customer's last message unanswered for 27 business hours",),
    )
    bare = DraftContext(
        kind=kind,
        customer_address="x@example.com",
        agent_name="Sam",
        team_name="Support",
        thread_subject="",
        unsubscribe_url="https://outreach.example/unsubscribe/tok",
        language=language,
        survey_scale=scale,
        score_links=links,
    )
    long_subject = replace(
        full,
        thread_subject="RE: AW: Fwd: " + "a very long subject line about a problem " * 4,
        thread_ref="Bestellung NW-2026-123456789",
        waiting_days=1,
        next_step="I have asked our billing team to push the refund today.",
        customer_name="Ana-Lucía",
    )
    return [full, bare, long_subject]


def check_templates(templates_dir: Path) -> list[str]:
    """Problems with the email templates, one line each; empty when all is well.

    Checks every language folder: each kind has its subject, text and HTML
    files; every ``.j2`` file compiles; every kind × language × scale renders
    against sample contexts without undefined variables; subjects are one line
    of at most 78 characters; HTML tags balance; both bodies carry the
    unsubscribe link; survey HTML carries one link per score.
    """
    _email_root_str.cache_clear()  # a check must see the folder as it is now
    _languages.cache_clear()
    root = _email_root(Path(templates_dir))
    problems: list[str] = []
    if not root.is_dir():
        return [f"{root}: not a folder"]
    env = environment(templates_dir)
    for path in sorted(root.rglob("*.j2")):
        name = path.relative_to(root).as_posix()
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"{name}:{exc.lineno}: syntax error: {exc.message}")
    languages = sorted(_languages(str(root.resolve())))
    if DEFAULT_LANGUAGE not in languages:
        problems.append(f"no '{DEFAULT_LANGUAGE}' folder: there is nothing to fall back to")
    for language in languages:
        folder = root / language
        stems: dict[str, set[str]] = {}
        for path in folder.glob("*.j2"):
            if path.name.startswith("_"):
                continue
            stem, _, part = path.name[: -len(".j2")].rpartition(".")
            stems.setdefault(stem, set()).add(part)
        for stem in sorted(set(stems) | set(DRAFT_KINDS)):
            for part in _PARTS:
                if part not in stems.get(stem, set()):
                    problems.append(f"{language}/{stem}.{part}.j2 is missing")
        for kind in DRAFT_KINDS:
            if set(_PARTS) - stems.get(kind, set()):
                continue
            for scale in SCALES:
                for number, ctx in enumerate(sample_contexts(kind, language, scale)):  # type: ignore[arg-type]
                    where = f"{language}/{kind} ({scale}, sample {number})"
                    try:
                        draft, raw_html = _render(kind, ctx, templates_dir)
                    except TemplateError as exc:
                        problems.append(f"{where}: {exc}")
                        continue
                    problems.extend(f"{where}: {p}" for p in _draft_problems(draft, raw_html, ctx))
    return sorted(set(problems), key=problems.index)


def _draft_problems(draft: RenderedDraft, raw_html: str, ctx: DraftContext) -> list[str]:
    problems: list[str] = []
    if not draft.subject:
        problems.append("subject is empty")
    if len(draft.subject) > SUBJECT_MAX:
        problems.append(f"subject is {len(draft.subject)} characters (max {SUBJECT_MAX}): {draft.subject!r}")
    if "!!" in draft.subject or re.search(r"\b[A-Z]{4,}\b", draft.subject.replace(ctx.thread_subject, "")):
        problems.append(f"subject looks like marketing: {draft.subject!r}")
    problems.extend(f"HTML: {p}" for p in html_problems(raw_html))
    if "<style" in draft.html:
        problems.append("HTML still has a <style> block (CSS not inlined)")
    for body, label in ((draft.text, "text"), (draft.html, "HTML")):
        if ctx.unsubscribe_url not in body:
            problems.append(f"{label} has no unsubscribe link")
        if ctx.agent_name not in body:
            problems.append(f"{label} is not signed by the agent")
    if ctx.kind == "survey":
        for score, url in ctx.score_links.items():
            if f'href="{url}"' not in draft.html:
                problems.append(f"HTML has no link for score {score}")
    if ctx.key_sentence and ctx.kind in ("follow_up", "check_in", "apology") and ctx.key_sentence not in draft.text:
        problems.append("text does not restate the customer's key sentence")
    return problems


def context_dict(ctx: DraftContext) -> dict[str, Any]:
    """The context as plain data (for storing with a draft and re-rendering after edits)."""
    data = asdict(ctx)
    data["score_links"] = {str(k): v for k, v in ctx.score_links.items()}
    data["reasons"] = list(ctx.reasons)
    return data
