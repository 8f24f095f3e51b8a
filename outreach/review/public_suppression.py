"""Public suppression endpoints: one-click unsubscribe and SendGrid's Event Webhook.

* ``GET /unsubscribe/{token}`` shows a confirm page (a link scanner that
  follows the link unsubscribes nobody);
* ``POST /unsubscribe/{token}`` is honoured without login or CSRF token:
  RFC 8058 one-click (``List-Unsubscribe=One-Click``) comes from the mail
  client, not from a session; the signed token is the authority;
* ``POST /webhooks/sendgrid`` accepts SendGrid events only with a valid
  ECDSA signature (``X-Twilio-Email-Event-Webhook-Signature`` over the
  timestamp header + raw body, key ``sendgrid.webhook_public_key``), turns
  bounces, blocks, drops, spam reports and unsubscribes into suppressions,
  and records every event of one of our drafts in its audit trail.
"""

from __future__ import annotations

import html
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from outreach.errors import ConfigError, TokenError
from outreach.review.body_limit import MAX_REQUEST_BYTES
from outreach.review.context import WebContext

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
MAX_WEBHOOK_BYTES = MAX_REQUEST_BYTES  # the app-wide body limit is sized for these batches

# SendGrid event → suppression reason (None: delivery status only).
SUPPRESSING_EVENTS: dict[str, str] = {
    "bounce": "bounce",
    "blocked": "bounce",
    "dropped": "bounce",
    "spamreport": "complaint",
    "unsubscribe": "unsubscribe",
    "group_unsubscribe": "unsubscribe",
}
DELIVERY_EVENTS = frozenset(
    {"processed", "deferred", "delivered", "open", "click", "group_resubscribe", *SUPPRESSING_EVENTS}
)


# The unsubscribe pages in the languages the emails ship in; the browser's Accept-Language
# picks one (the link carries only the address).
UNSUBSCRIBE_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Unsubscribe",
        "ask": "Stop follow-up emails from {team} to {address}?",
        "button": "Unsubscribe",
        "done_title": "You are unsubscribed",
        "done": "{team} will not send you follow-up emails again. Replies to your own messages still reach us.",
        "invalid_title": "This link does not work",
        "invalid": "The unsubscribe link is invalid or damaged.",
    },
    "de": {
        "title": "Abmelden",
        "ask": "Keine Folge-E-Mails mehr von {team} an {address}?",
        "button": "Abmelden",
        "done_title": "Sie sind abgemeldet",
        "done": "{team} schickt Ihnen keine Folge-E-Mails mehr. Antworten auf Ihre eigenen Nachrichten erreichen uns weiterhin.",
        "invalid_title": "Dieser Link funktioniert nicht",
        "invalid": "Der Abmelde-Link ist ungültig oder beschädigt.",
    },
    "fr": {
        "title": "Se désabonner",
        "ask": "Ne plus recevoir d'e-mails de suivi de {team} à l'adresse {address} ?",
        "button": "Me désabonner",
        "done_title": "Votre désabonnement est enregistré",
        "done": "{team} ne vous enverra plus d'e-mails de suivi. Vos réponses à vos propres messages nous parviennent toujours.",
        "invalid_title": "Ce lien ne fonctionne pas",
        "invalid": "Le lien de désabonnement est invalide ou endommagé.",
    },
    "es": {
        "title": "Darse de baja",
        "ask": "¿Dejar de recibir correos de seguimiento de {team} en {address}?",
        "button": "Darme de baja",
        "done_title": "Se ha dado de baja",
        "done": "{team} no volverá a enviarle correos de seguimiento. Sus respuestas a sus propios mensajes nos siguen llegando.",
        "invalid_title": "Este enlace no funciona",
        "invalid": "El enlace para darse de baja no es válido o está dañado.",
    },
}


def page_language(request: Request) -> str:
    """The best of the unsubscribe pages' languages for the browser's Accept-Language."""
    from werkzeug.datastructures import LanguageAccept
    from werkzeug.http import parse_accept_header

    accept = parse_accept_header(request.headers.get("accept-language"), LanguageAccept)
    return accept.best_match(list(UNSUBSCRIBE_TEXTS), default="en") or "en"


def _page(title: str, body: str, status: int = 200, lang: str = "en") -> Response:
    from starlette.responses import HTMLResponse

    doc = (
        f"<!doctype html><html lang={lang}><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<meta name=robots content=noindex><title>{html.escape(title)}</title>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}"
        "button{font-size:1rem;padding:.5rem 1rem}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(doc, status_code=status, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def _mask(address: str) -> str:
    """``j***@example.com``: enough for the customer to recognise, little for a bystander."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def routes(ctx: WebContext) -> list[BaseRoute]:
    """The public suppression routes (no login)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from outreach.links import read_unsubscribe_token

    def address_of(token: str) -> str | None:
        try:
            return read_unsubscribe_token(token, ctx.signing_key)
        except TokenError:
            return None

    def invalid(lang: str) -> Response:
        t = UNSUBSCRIBE_TEXTS[lang]
        return _page(t["invalid_title"], f"<p>{html.escape(t['invalid'])}</p>", 400, lang)

    async def unsubscribe_page(request: Request) -> Response:
        token = request.path_params["token"]
        lang = page_language(request)
        address = address_of(token)
        if address is None:
            return invalid(lang)
        t = UNSUBSCRIBE_TEXTS[lang]
        ask = html.escape(t["ask"]).format(
            team=html.escape(ctx.settings.team.name), address=f"<strong>{html.escape(_mask(address))}</strong>"
        )
        return _page(
            t["title"],
            f"<p>{ask}</p>"
            f'<form method=post action="{html.escape(str(request.url.path))}">'
            '<input type=hidden name="List-Unsubscribe" value="One-Click">'
            f"<button type=submit>{html.escape(t['button'])}</button></form>",
            lang=lang,
        )

    async def unsubscribe_post(request: Request) -> Response:
        token = request.path_params["token"]
        lang = page_language(request)
        address = address_of(token)
        if address is None:
            return invalid(lang)
        body = (await request.body())[:4096].decode("utf-8", "replace")
        one_click = parse_qs(body).get("List-Unsubscribe") == ["One-Click"]
        now = ctx.clock()
        await run_in_threadpool(ctx.store.suppress, address, "unsubscribe", "one-click" if one_click else "link", now)
        await run_in_threadpool(
            ctx.store.record_audit, "customer", "unsubscribed", None, via="one-click" if one_click else "link"
        )
        log.info("unsubscribe honoured (%s)", "one-click" if one_click else "confirm page")
        t = UNSUBSCRIBE_TEXTS[lang]
        return _page(
            t["done_title"], f"<p>{html.escape(t['done']).format(team=html.escape(ctx.settings.team.name))}</p>",
            lang=lang,
        )

    verifier: list[Any] = []

    def event_webhook() -> Any:
        key = ctx.settings.sendgrid.webhook_public_key.strip()
        if not key:
            raise ConfigError("sendgrid.webhook_public_key", "required to accept SendGrid events")
        if not verifier:
            from sendgrid.helpers.eventwebhook import EventWebhook

            try:
                verifier.append(EventWebhook(key))
            except ValueError as exc:
                raise ConfigError("sendgrid.webhook_public_key", f"not a usable ECDSA public key: {exc}") from None
        return verifier[0]

    async def sendgrid_events(request: Request) -> Response:
        try:
            hook = event_webhook()
        except ConfigError as exc:
            log.warning("SendGrid event refused: %s", exc)
            return JSONResponse({"error": "event webhook verification is not configured"}, status_code=503)
        signature = request.headers.get(SIGNATURE_HEADER)
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        if not signature or not timestamp:
            return JSONResponse({"error": "missing signature"}, status_code=403)
        raw = await request.body()
        if len(raw) > MAX_WEBHOOK_BYTES:
            return JSONResponse({"error": "payload too large"}, status_code=413)
        try:
            valid = hook.verify_signature(raw.decode("utf-8"), signature, timestamp)
        except (ValueError, UnicodeDecodeError):  # bad base64 / DER in the signature header
            valid = False
        if not valid:
            return JSONResponse({"error": "invalid signature"}, status_code=403)
        if not _fresh(timestamp, ctx.clock()):
            # A captured batch replayed later: refused (SendGrid's own retries stay within a day).
            return JSONResponse({"error": "signature timestamp too old or in the future"}, status_code=403)
        try:
            events = json.loads(raw)
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        if not isinstance(events, list):
            return JSONResponse({"error": "expected a JSON array of events"}, status_code=400)
        counts = await run_in_threadpool(record_events, ctx, events)
        return JSONResponse(counts)

    return [
        Route("/unsubscribe/{token}", unsubscribe_page, methods=["GET"], name="unsubscribe_page"),
        Route("/unsubscribe/{token}", unsubscribe_post, methods=["POST"], name="unsubscribe_post"),
        Route("/webhooks/sendgrid", sendgrid_events, methods=["POST"], name="sendgrid_events"),
    ]


MAX_WEBHOOK_AGE = timedelta(days=3)
"""Oldest signed batch accepted: longer than SendGrid retries a batch (24 hours), short enough to end replays."""
MAX_CLOCK_SKEW = timedelta(minutes=10)


def _fresh(timestamp: str, now: datetime) -> bool:
    try:
        signed = datetime.fromtimestamp(int(timestamp), UTC)
    except (ValueError, OverflowError, OSError):
        return False
    return now - MAX_WEBHOOK_AGE <= signed <= now + MAX_CLOCK_SKEW


def record_events(ctx: WebContext, events: list[Any]) -> dict[str, int]:
    """Apply verified SendGrid events: suppressions, and each draft's delivery status in its audit.

    Returns:
        ``{"events": n, "suppressed": newly suppressed addresses, "recorded": audit entries}``.
    """
    now = ctx.clock()
    counts = {"events": 0, "suppressed": 0, "recorded": 0}
    # Per draft of this batch: the SendGrid event ids already on its record (None: no such
    # draft). SendGrid redelivers a batch it got no 2xx for, and a captured batch can be
    # replayed: an event already recorded is not added twice.
    recorded: dict[int, set[Any] | None] = {}
    for event in events:
        if not isinstance(event, dict):
            continue
        counts["events"] += 1
        kind = str(event.get("event") or "")
        address = str(event.get("email") or "").strip().lower()
        reason = SUPPRESSING_EVENTS.get(kind)
        if reason and "@" in address and ctx.store.suppress(address, reason, f"sendgrid:{kind}", now):
            counts["suppressed"] += 1
        draft_id = _draft_id(event.get("draft_id"))
        if draft_id is None or kind not in DELIVERY_EVENTS:
            continue
        if draft_id not in recorded:
            recorded[draft_id] = (
                {a["detail"].get("sg_event_id") for a in ctx.store.audit_log(draft_id)}
                if ctx.store.get_draft(draft_id) is not None
                else None
            )
        seen = recorded[draft_id]
        event_id = event.get("sg_event_id")
        if seen is not None and (event_id is None or event_id not in seen):
            detail = {
                k: event[k] for k in ("sg_event_id", "sg_message_id", "timestamp", "reason", "type", "status")
                if k in event
            }
            ctx.store.record_audit("sendgrid", f"delivery_{kind}", draft_id, **detail)
            counts["recorded"] += 1
            if event_id is not None:
                seen.add(event_id)
    return counts


def _draft_id(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def make_public_app(ctx: WebContext) -> Starlette:
    """A Starlette app serving only these routes (tests; a minimal public deployment)."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware

    from outreach.review.body_limit import BodyLimit

    return Starlette(routes=routes(ctx), middleware=[Middleware(BodyLimit)])


__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "make_public_app", "record_events", "routes"]
