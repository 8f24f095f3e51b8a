"""Public survey pages: the signed score links in survey emails land here.

* ``GET /survey/{token}`` only shows a confirm page with the link's score
  preselected and a comment box. It records nothing, so a mail scanner that
  follows every link casts no vote.
* ``POST /survey/{token}`` records the answer (source ``link``) and, for a
  detractor, opens the close-the-loop candidate, exactly like a reply.

The token (``outreach.links``) is signed, expires after
``surveys.link_expiry_days`` and names one survey draft. Customers have no
login, so the form carries its own forgery protection: a hidden nonce
signed over *this* token, which only a client that loaded the page holds
(it expires after :data:`NONCE_MAX_AGE_SECONDS`), plus an ``Origin`` check
when the browser sends one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jinja2
from itsdangerous import BadData, URLSafeTimedSerializer

from outreach.errors import TokenError
from outreach.review.context import WebContext
from outreach.surveys import SCALES

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from outreach.replies import SentDraft

log = logging.getLogger("outreach.review.surveys")

NONCE_SALT = "outreach.survey-form.v1"
NONCE_MAX_AGE_SECONDS = 6 * 3600
"""A confirm page left open longer than this must be reloaded before it can submit."""
MAX_COMMENT_CHARS = 2000
MAX_FORM_BYTES = 16 * 1024

# Customers arrive without style sheets of ours; the page's one <style> is inline.
CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "How did we do?",
        "intro": "Please confirm your answer. A few words on why are welcome, but not needed.",
        "question_csat": "Your score, 1 (poor) to 5 (great)",
        "question_nps": "How likely are you to recommend us? 0 (not likely) to 10 (very likely)",
        "low_high_csat": "1 = poor · 5 = great",
        "low_high_nps": "0 = not likely · 10 = very likely",
        "comment": "Anything you'd like to add? (optional)",
        "submit": "Send my answer",
        "thanks_title": "Thank you",
        "thanks": "Thank you, your answer is recorded.",
        "thanks_low": "Thank you for telling us. We're sorry it wasn't better; someone from the team will be in touch.",
        "change": "Changed your mind? Open the link again and send a new answer.",
        "invalid_title": "This link does not work",
        "invalid": "This survey link is invalid or damaged.",
        "expired": "This survey link has expired.",
        "stale": "This page was open too long. Please open the link from the email again.",
        "reply_instead": "You can still answer by replying to the email with a number.",
    },
    "de": {
        "title": "Wie waren wir?",
        "intro": "Bitte bestätigen Sie Ihre Antwort. Ein paar Worte dazu freuen uns, sind aber nicht nötig.",
        "question_csat": "Ihre Bewertung, 1 (schlecht) bis 5 (sehr gut)",
        "question_nps": "Wie wahrscheinlich empfehlen Sie uns weiter? 0 (unwahrscheinlich) bis 10 (sehr wahrscheinlich)",
        "low_high_csat": "1 = schlecht · 5 = sehr gut",
        "low_high_nps": "0 = unwahrscheinlich · 10 = sehr wahrscheinlich",
        "comment": "Möchten Sie noch etwas ergänzen? (optional)",
        "submit": "Antwort senden",
        "thanks_title": "Vielen Dank",
        "thanks": "Vielen Dank, Ihre Antwort ist gespeichert.",
        "thanks_low": "Danke für Ihre Offenheit. Es tut uns leid, dass es nicht besser lief; wir melden uns bei Ihnen.",
        "change": "Anders entschieden? Öffnen Sie den Link erneut und senden Sie eine neue Antwort.",
        "invalid_title": "Dieser Link funktioniert nicht",
        "invalid": "Dieser Umfrage-Link ist ungültig oder beschädigt.",
        "expired": "Dieser Umfrage-Link ist abgelaufen.",
        "stale": "Die Seite war zu lange geöffnet. Bitte öffnen Sie den Link aus der E-Mail erneut.",
        "reply_instead": "Sie können weiterhin einfach mit einer Zahl auf die E-Mail antworten.",
    },
    "fr": {
        "title": "Comment avons-nous fait ?",
        "intro": "Merci de confirmer votre réponse. Quelques mots d'explication sont les bienvenus, mais pas nécessaires.",
        "question_csat": "Votre note, de 1 (mauvais) à 5 (excellent)",
        "question_nps": "Quelle est la probabilité que vous nous recommandiez ? De 0 (peu probable) à 10 (très probable)",
        "low_high_csat": "1 = mauvais · 5 = excellent",
        "low_high_nps": "0 = peu probable · 10 = très probable",
        "comment": "Voulez-vous ajouter quelque chose ? (facultatif)",
        "submit": "Envoyer ma réponse",
        "thanks_title": "Merci",
        "thanks": "Merci, votre réponse est enregistrée.",
        "thanks_low": "Merci de nous l'avoir dit. Nous regrettons que cela ne se soit pas mieux passé ; "
        "quelqu'un de l'équipe va vous contacter.",
        "change": "Vous avez changé d'avis ? Rouvrez le lien et envoyez une nouvelle réponse.",
        "invalid_title": "Ce lien ne fonctionne pas",
        "invalid": "Ce lien d'enquête est invalide ou endommagé.",
        "expired": "Ce lien d'enquête a expiré.",
        "stale": "Cette page est restée ouverte trop longtemps. Rouvrez le lien depuis l'e-mail.",
        "reply_instead": "Vous pouvez toujours répondre à l'e-mail avec un chiffre.",
    },
    "es": {
        "title": "¿Qué tal lo hicimos?",
        "intro": "Confirme su respuesta, por favor. Unas palabras sobre el porqué son bienvenidas, pero no necesarias.",
        "question_csat": "Su puntuación, del 1 (mal) al 5 (muy bien)",
        "question_nps": "¿Qué probabilidad hay de que nos recomiende? Del 0 (poco probable) al 10 (muy probable)",
        "low_high_csat": "1 = mal · 5 = muy bien",
        "low_high_nps": "0 = poco probable · 10 = muy probable",
        "comment": "¿Quiere añadir algo? (opcional)",
        "submit": "Enviar mi respuesta",
        "thanks_title": "Gracias",
        "thanks": "Gracias, hemos registrado su respuesta.",
        "thanks_low": "Gracias por decírnoslo. Sentimos que no haya ido mejor; alguien del equipo se pondrá en contacto con usted.",
        "change": "¿Ha cambiado de opinión? Abra el enlace de nuevo y envíe otra respuesta.",
        "invalid_title": "Este enlace no funciona",
        "invalid": "Este enlace de la encuesta no es válido o está dañado.",
        "expired": "Este enlace de la encuesta ha caducado.",
        "stale": "La página estuvo abierta demasiado tiempo. Vuelva a abrir el enlace del correo.",
        "reply_instead": "También puede responder al correo con un número.",
    },
}


def make_nonce(token: str, key: str) -> str:
    """The form nonce for one survey token: signed over the token, timestamped."""
    return URLSafeTimedSerializer(key, salt=NONCE_SALT).dumps(token)


def nonce_ok(nonce: str, token: str, key: str, max_age_seconds: float = NONCE_MAX_AGE_SECONDS) -> bool:
    """Whether ``nonce`` was made for ``token`` by us, recently."""
    if not nonce or not key:
        return False
    try:
        signed_for = URLSafeTimedSerializer(key, salt=NONCE_SALT).loads(nonce, max_age=max_age_seconds)
    except BadData:
        return False
    return signed_for == token


def _same_origin(request: Request, public_url: str) -> bool:
    """No Origin header (old clients) passes; a foreign one does not."""
    origin = request.headers.get("origin")
    if not origin:
        return True
    if origin == "null":
        return False
    allowed = {f"{request.url.scheme}://{request.url.netloc}"}
    parts = urlsplit(public_url)
    if parts.scheme and parts.netloc:
        allowed.add(f"{parts.scheme}://{parts.netloc}")
    return origin.rstrip("/") in allowed


def _environment(ctx: WebContext) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(ctx.settings.templates_path / "public")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def routes(ctx: WebContext) -> list[BaseRoute]:
    """The public survey routes (no login)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from outreach.links import read_survey_token

    env = _environment(ctx)
    max_age = ctx.settings.surveys.link_expiry_days * 86400

    def page(name: str, lang: str, status: int = 200, **values: Any) -> Response:
        html = env.get_template(name).render(
            lang=lang, t=TEXTS.get(lang, TEXTS["en"]), team_name=ctx.settings.team.name, **values
        )
        return HTMLResponse(
            html, status_code=status,
            headers={"Cache-Control": "no-store", "Content-Security-Policy": CSP, "Referrer-Policy": "no-referrer",
                     "X-Robots-Tag": "noindex, nofollow"},
        )

    def invalid(key: str, status: int, lang: str = "en") -> Response:
        return page("survey_invalid.html.j2", lang, status, message=TEXTS.get(lang, TEXTS["en"])[key])

    def resolve(token: str) -> tuple[SentDraft, int, str] | Response:
        """The survey draft and score the token names, or the error page."""
        from connectors.survey_store import survey_draft

        try:
            draft_id, score = read_survey_token(token, ctx.signing_key, max_age)
        except TokenError as exc:
            return invalid("expired" if "expired" in str(exc) else "invalid", 410 if "expired" in str(exc) else 400)
        draft = survey_draft(ctx.store, draft_id)
        if draft is None:
            return invalid("invalid", 404)
        scale = draft.scale or ctx.settings.surveys.scale
        low, high = SCALES[scale]
        if not low <= score <= high:
            return invalid("invalid", 400)  # a token minted for another scale
        lang = _language(ctx, draft_id)
        return draft, score, lang

    def confirm(request: Request) -> Response:
        token = request.path_params["token"]
        found = resolve(token)
        if not isinstance(found, tuple):
            return found
        draft, score, lang = found
        scale = draft.scale or ctx.settings.surveys.scale
        low, high = SCALES[scale]
        return page(
            "survey_confirm.html.j2", lang, scale=scale, scores=list(range(low, high + 1)), selected=score,
            nonce=make_nonce(token, ctx.signing_key), action=str(request.url.path), max_comment=MAX_COMMENT_CHARS,
        )

    async def confirm_page(request: Request) -> Response:
        return await run_in_threadpool(confirm, request)

    def record(token: str, form: Mapping[str, str]) -> Response:
        from connectors.survey_store import save_answer
        from outreach.replies import ResponseUpdate, is_detractor, loop_candidate

        found = resolve(token)
        if not isinstance(found, tuple):
            return found
        draft, _link_score, lang = found
        if not nonce_ok(form.get("nonce", ""), token, ctx.signing_key):
            return invalid("stale", 403, lang)
        scale = draft.scale or ctx.settings.surveys.scale
        low, high = SCALES[scale]
        raw = (form.get("score") or "").strip()
        if not raw.isdigit() or not low <= int(raw) <= high:
            return invalid("invalid", 400, lang)
        now = ctx.clock()
        answer = ResponseUpdate(
            draft_id=draft.id, scale=scale, score=int(raw),
            comment=" ".join((form.get("comment") or "").split())[:MAX_COMMENT_CHARS],
            status="ok", needs_review=False, source="link", message_id=None, answered_at=now,
        )
        save_answer(ctx.store, answer, loop_candidate(draft, answer, ctx.settings.surveys), now)
        log.info("survey answer recorded by link (draft %d)", draft.id)
        return page("survey_thanks.html.j2", lang, low=is_detractor(scale, answer.score))

    async def record_post(request: Request) -> Response:
        if not _same_origin(request, ctx.settings.sender.public_url):
            return invalid("invalid", 403)
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return invalid("invalid", 413)
        from urllib.parse import parse_qs

        fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items() if v}
        return await run_in_threadpool(record, request.path_params["token"], fields)

    return [
        Route("/survey/{token}", confirm_page, methods=["GET"], name="survey_confirm"),
        Route("/survey/{token}", record_post, methods=["POST"], name="survey_record"),
    ]


def _language(ctx: WebContext, draft_id: int) -> str:
    draft = ctx.store.get_draft(draft_id) or {}
    lang = str(draft.get("language") or ctx.settings.drafts.default_language)
    return lang if lang in TEXTS else "en"


def make_public_app(ctx: WebContext) -> Any:
    """A Starlette app serving only these routes (tests; a minimal public deployment)."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware

    from outreach.review.body_limit import BodyLimit

    return Starlette(routes=routes(ctx), middleware=[Middleware(BodyLimit)])


__all__ = ["NONCE_MAX_AGE_SECONDS", "make_nonce", "make_public_app", "nonce_ok", "routes"]
