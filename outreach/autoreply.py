"""Tell machine-written mail (auto-replies, bounces, bulk, complaints) from people.

Such mail must never be taken for a customer's answer, a survey score or a
sign that a thread is alive. The rules, checked in this order:

``bounce``
    ``Content-Type: multipart/report; report-type=delivery-status`` (RFC 3464),
    an ``X-Failed-Recipients`` header, a sender whose local part is
    ``mailer-daemon`` or ``postmaster``, or a bounce subject
    ("Undelivered Mail Returned to Sender", "Delivery Status Notification
    (Failure)", "Undeliverable:", "Unzustellbar:", "Mail delivery failed"…).

``complaint``
    ``report-type=feedback-report`` (RFC 5965 ARF, the feedback loops of
    AOL, Yahoo, Outlook.com…): a recipient marked our mail as spam. It is
    kept apart from ``bounce`` because the address is valid; the right
    reaction is to stop writing to that person (a suppression), not to
    mark the address undeliverable.

``auto_reply``
    RFC 3834 ``Auto-Submitted`` other than ``no``, ``X-Autoreply``,
    ``X-Autorespond``, ``X-Auto-Response-Suppress`` naming All/OOF/AutoReply,
    ``Precedence: auto_reply``, read receipts
    (``report-type=disposition-notification``), and out-of-office subjects
    in English, German, French, Spanish, Dutch, Italian, Portuguese,
    Scandinavian languages and Polish.

``bulk``
    ``Precedence: bulk|junk|list``, or ``List-Id``/``List-Unsubscribe``
    together with a no-reply style sender or an ESP campaign header.
    ``List-Id`` alone is *not* enough: a support address run as a Google
    Group adds ``List-Id`` and ``List-Unsubscribe`` to every customer's mail.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.message import Message

from outreach.models import AutoKind

__all__ = ["classify_auto", "classify_lowercase"]

_BOUNCE_SUBJECT_RE = re.compile(
    r"(?i)^(?:(?:fwd?|aw|re|tr|wg):\s*)?(?:"
    r"undelivered mail returned to sender|undeliver(?:able|ed)(?: mail| message)?\b|"
    r"delivery status notification \((?:failure|delay)\)|delivery status notification$|"
    r"mail delivery (?:failed|failure|system|subsystem)|delivery (?:failure|failed|has failed)|"
    r"delivery notification: delivery has failed|returned mail\b|"
    r"failure notice|mail system error|message (?:not delivered|delivery failure)|"
    r"(?:nicht zustellbar|unzustellbar)|non remis|non distribuable|échec de (?:la )?remise|"
    r"no se puede entregar|entrega fallida|onbestelbaar|niet bezorgd|"
    r"impossibile recapitare|non recapitabile|não foi possível entregar|"
    r"olevererbart|ikke leveret|kan ikke leveres|niedostarczalna|"
    r"undeliverable mail|warning: could not send message)"
)
_OOO_SUBJECT_RE = re.compile(
    r"(?i)(?:^|[\s:\[(])(?:"
    r"out of (?:the )?office|out-of-office|ooo\b|automatic reply|auto(?:matic)?[- ]?response|"
    r"autoreply|auto-reply|auto reply|on vacation|on leave|away from (?:the )?office|"
    r"abwesenheitsnotiz|automatische antwort|abwesend|nicht im büro|außer haus|ausser haus|"
    r"urlaubsbenachrichtigung|"
    r"absence du bureau|réponse automatique|reponse automatique|absent du bureau|"
    r"fuera de la oficina|respuesta automática|respuesta automatica|ausente|"
    r"afwezig|automatisch antwoord|niet op kantoor|buiten kantoor|"
    r"risposta automatica|fuori ufficio|assente|"
    r"resposta automática|resposta automatica|ausência|fora do escritório|"
    r"frånvaro|automatiskt svar|autosvar|fraværende|ikke på kontoret|ferie|"
    r"automatyczna odpowiedź|nieobecność|poza biurem|"
    r"automaattinen vastaus|poissa toimistosta|"
    r"автоответ|автоматический ответ|нет на месте"
    r")(?!\w)"
)
# "Auto:" (Outlook on the web), "AutoReply:" and friends as a subject prefix.
_AUTO_PREFIX_RE = re.compile(r"(?i)^(?:auto|autoreply|auto-reply|automatische antwort|réponse automatique)\s*:")
_ESP_HEADERS = (
    "x-campaign", "x-campaignid", "x-mailchimp-campaign", "x-mc-user", "x-sg-eid",
    "x-mailgun-tag", "x-ses-outgoing", "feedback-id", "x-marketoid", "x-hs-cta",
    "x-newsletter", "x-mailer-recptid", "x-rpcampaign",
)
_NOREPLY_RE = re.compile(
    r"(?i)(?:^|[<\s\"])(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|donotreply|notifications?|newsletters?|"
    r"news|marketing|mailer|bounce[s]?|info-?mail|updates?|digest)[^@\s]*@"
)
_DAEMON_RE = re.compile(
    r"(?i)(?:^|[<\s\"(])(?:mailer-daemon[@>\s\")]|mailer-daemon$|mail delivery (?:subsystem|system)\b)"
)
_POSTMASTER_RE = re.compile(r"(?i)(?:^|[<\s\"])postmaster[@>\s\"]")
_REPORT_TYPE_RE = re.compile(r"(?i)report-type\s*=\s*\"?([a-z-]+)")


class _Headers:
    """Case-insensitive, first-value header access over a Message or a Mapping."""

    __slots__ = ("_map", "_msg")

    def __init__(self, headers: Mapping[str, str] | Message) -> None:
        self._msg: Message | None = None
        self._map: dict[str, str] | None = None
        if isinstance(headers, Message):
            self._msg = headers
        else:
            self._map = {str(k).lower(): v for k, v in headers.items()}

    @classmethod
    def from_lower(cls, headers: dict[str, str]) -> _Headers:
        """Wrap a dict whose keys are already lower-case (no copy)."""
        self = cls.__new__(cls)
        self._msg = None
        self._map = headers
        return self

    def get(self, name: str) -> str:
        if self._msg is not None:
            value = self._msg.get(name)
        else:
            assert self._map is not None
            value = self._map.get(name)
        if value is None:
            return ""
        # compat32 hands back a Header object for undecodable values.
        return str(value) if not isinstance(value, str) else value

    def has(self, name: str) -> bool:
        if self._msg is not None:
            return name in self._msg
        assert self._map is not None
        return name in self._map


def classify_auto(
    headers: Mapping[str, str] | Message, subject: str, text: str
) -> AutoKind | None:
    """Say whether a message was written by a machine, and which kind.

    Args:
        headers: The message's headers: a parsed ``email.message.Message``
            (any policy) or a mapping of header name to (decoded) value.
        subject: The decoded subject.
        text: The readable body text (used only for a weak bounce hint).

    Returns:
        ``"bounce"``, ``"complaint"``, ``"auto_reply"``, ``"bulk"``, or
        ``None`` for mail a person wrote.
    """
    return classify_headers(_Headers(headers), subject, text)


def classify_lowercase(headers: dict[str, str], subject: str, text: str) -> AutoKind | None:
    """:func:`classify_auto` for a dict already keyed by lower-case names (no copy)."""
    return classify_headers(_Headers.from_lower(headers), subject, text)


def classify_headers(h: _Headers, subject: str, text: str) -> AutoKind | None:
    """The rules of :func:`classify_auto` over wrapped headers."""
    subject = (subject or "").strip()
    ctype = h.get("content-type").lower()
    if "multipart/report" in ctype:
        match = _REPORT_TYPE_RE.search(ctype)
        report = match.group(1) if match else ""
        if report == "delivery-status":
            return "bounce"
        if report == "feedback-report":
            return "complaint"
        if report == "disposition-notification":
            return "auto_reply"
    if h.has("x-failed-recipients"):
        return "bounce"
    sender = h.get("from")
    null_sender = h.get("return-path").strip() == "<>"
    if _DAEMON_RE.search(sender):
        return "bounce"
    if _POSTMASTER_RE.search(sender) and (null_sender or _BOUNCE_SUBJECT_RE.match(subject)):
        # A postmaster also writes by hand: only a bounce-like one counts.
        return "bounce"
    if _BOUNCE_SUBJECT_RE.match(subject) and (null_sender or _looks_like_bounce_body(text)):
        return "bounce"

    auto_submitted = h.get("auto-submitted").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return "auto_reply"
    if h.has("x-autoreply") or h.has("x-autorespond") or h.has("x-autoresponder"):
        return "auto_reply"
    suppress = h.get("x-auto-response-suppress").lower()
    if suppress and any(tok in suppress for tok in ("all", "oof", "autoreply")):
        return "auto_reply"
    precedence = h.get("precedence").strip().lower()
    if precedence == "auto_reply":
        return "auto_reply"
    if subject and (_AUTO_PREFIX_RE.match(subject) or _OOO_SUBJECT_RE.search(subject[:200])):
        return "auto_reply"

    if precedence in ("bulk", "junk", "list"):
        return "bulk"
    listed = h.has("list-unsubscribe") or h.has("list-id")
    if listed and (_NOREPLY_RE.search(sender) or any(h.has(name) for name in _ESP_HEADERS)):
        return "bulk"
    return None


_BOUNCE_BODY_RE = re.compile(
    r"(?i)(?:could not be delivered|delivery (?:to the following recipients? )?(?:has )?failed|"
    r"permanent(?:ly)? (?:error|fatal)|user unknown|mailbox (?:unavailable|full|not found)|"
    r"address rejected|550[ -]5\.\d\.\d|unzustellbar|non remis)"
)


def _looks_like_bounce_body(text: str) -> bool:
    """A weak body check that backs up a bounce-like subject."""
    return bool(text) and bool(_BOUNCE_BODY_RE.search(text[:4000]))
