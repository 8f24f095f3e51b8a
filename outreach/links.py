"""Signed links in outgoing mail (survey scores, unsubscribe) and reply tokens.

Tokens are signed with itsdangerous, one salt per purpose, so a survey
token can never be replayed as an unsubscribe token and vice versa. The
tokens carry no secret data; the signature only proves that we made them.
"""

from __future__ import annotations

import base64
import secrets
from typing import Literal
from urllib.parse import quote

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from outreach.errors import ConfigError, TokenError

SURVEY_SALT = "outreach.survey.v1"
UNSUBSCRIBE_SALT = "outreach.unsubscribe.v1"

SURVEY_PATH = "/survey/"
"""``survey_url`` builds ``<base>/survey/<token>``; the review app serves it."""
UNSUBSCRIBE_PATH = "/unsubscribe/"
"""``unsubscribe_url`` builds ``<base>/unsubscribe/<token>``; the review app serves it."""

_SCALE_SCORES: dict[str, range] = {"csat": range(1, 6), "nps": range(11)}


def _serializer(key: str, salt: str) -> URLSafeTimedSerializer:
    if not key:
        # An empty key would sign with nothing anyone could not forge.
        raise ConfigError("sender.signing_key", "a signing key is required to sign links")
    return URLSafeTimedSerializer(key, salt=salt)


def make_survey_token(draft_id: int, score: int, key: str) -> str:
    """Sign a (draft, score) pair for a one-click survey link.

    Args:
        draft_id: The survey draft the link belongs to.
        score: The score the link casts (0–10).
        key: The signing key (``sender.signing_key``).

    Returns:
        A URL-safe token.

    Raises:
        ConfigError: The key is empty.
    """
    return _serializer(key, SURVEY_SALT).dumps([int(draft_id), int(score)])


def read_survey_token(token: str, key: str, max_age_seconds: float) -> tuple[int, int]:
    """Verify a survey token and return what it casts.

    Args:
        token: The token from the link.
        key: The signing key.
        max_age_seconds: Older tokens are refused (``surveys.link_expiry_days``).

    Returns:
        ``(draft_id, score)``.

    Raises:
        TokenError: Bad signature, tampered, expired, malformed, or made for another purpose.
        ConfigError: The key is empty.
    """
    serializer = _serializer(key, SURVEY_SALT)
    try:
        payload = serializer.loads(token, max_age=max_age_seconds)
    except SignatureExpired:
        raise TokenError("survey link has expired") from None
    except BadData:
        raise TokenError("survey link is invalid") from None
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not all(type(part) is int for part in payload)
        or not 0 <= payload[1] <= 10
    ):
        raise TokenError("survey link is malformed")
    return payload[0], payload[1]


def make_unsubscribe_token(address: str, key: str) -> str:
    """Sign an address for its unsubscribe link (never expires: old mail must still work).

    Raises:
        ConfigError: The key is empty.
    """
    return _serializer(key, UNSUBSCRIBE_SALT).dumps(address.strip().lower())


def read_unsubscribe_token(token: str, key: str) -> str:
    """Verify an unsubscribe token.

    Returns:
        The lower-cased address to unsubscribe.

    Raises:
        TokenError: Bad signature, tampered, malformed, or made for another purpose.
        ConfigError: The key is empty.
    """
    try:
        payload = _serializer(key, UNSUBSCRIBE_SALT).loads(token)
    except BadData:
        raise TokenError("unsubscribe link is invalid") from None
    if not isinstance(payload, str) or "@" not in payload:
        raise TokenError("unsubscribe link is malformed")
    return payload


def new_reply_token() -> str:
    """A random token for the Reply-To plus-address (``support+<token>@…``).

    Lower-case base32 (26 characters, 128 bits): some mail servers fold the
    case of local parts, and a token must survive that round trip.
    """
    return base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=").lower()


def _join(base: str, path: str, token: str) -> str:
    return f"{base.rstrip('/')}{path}{quote(token, safe='')}"


def survey_url(base: str, token: str) -> str:
    """The link that opens the survey confirm page: ``<base>/survey/<token>``."""
    return _join(base, SURVEY_PATH, token)


def unsubscribe_url(base: str, token: str) -> str:
    """The unsubscribe link: ``<base>/unsubscribe/<token>``."""
    return _join(base, UNSUBSCRIBE_PATH, token)


def survey_links(
    base: str, draft_id: int, scale: Literal["csat", "nps"], key: str
) -> dict[int, str]:
    """One signed link per score of ``scale`` (1–5 or 0–10), ready for ``DraftContext``.

    Raises:
        ConfigError: The key is empty.
    """
    return {
        score: survey_url(base, make_survey_token(draft_id, score, key))
        for score in _SCALE_SCORES[scale]
    }
