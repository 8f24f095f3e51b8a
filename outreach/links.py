"""Signed links in outgoing mail (survey scores, unsubscribe) and reply tokens.

Survey tokens are signed with itsdangerous, one salt per purpose, so a
survey token can never be replayed as an unsubscribe token and vice versa;
they carry only a draft id and a score. Unsubscribe tokens name the
customer's address, so they are sealed (AES-SIV: encrypted and
authenticated, and deterministic, so one address always gets the same
link): proxies, link scanners and browser histories that record the URL
must not learn the address. Signed-only unsubscribe tokens of earlier
versions are still honoured, since old mail keeps its links.
"""

from __future__ import annotations

import base64
import secrets
from functools import lru_cache
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from outreach.errors import ConfigError, TokenError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESSIV

SURVEY_SALT = "outreach.survey.v1"
UNSUBSCRIBE_SALT = "outreach.unsubscribe.v1"
_SEALED_PREFIX = "u2"
"""Sealed unsubscribe tokens start with it; v1 tokens (base64 of a JSON string) start with ``Im``."""

SURVEY_PATH = "/survey/"
"""``survey_url`` builds ``<base>/survey/<token>``; the review app serves it."""
UNSUBSCRIBE_PATH = "/unsubscribe/"
"""``unsubscribe_url`` builds ``<base>/unsubscribe/<token>``; the review app serves it."""

_SCALE_SCORES: dict[str, range] = {"csat": range(1, 6), "nps": range(11)}


def _require_key(key: str) -> None:
    if not key:
        # An empty key would sign with nothing anyone could not forge.
        raise ConfigError("sender.signing_key", "a signing key is required to sign links")


def _serializer(key: str, salt: str) -> URLSafeTimedSerializer:
    _require_key(key)
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
    """Seal an address for its unsubscribe link (never expires: old mail must still work).

    Raises:
        ConfigError: The key is empty.
    """
    _require_key(key)
    sealed = _sealer(key).encrypt(address.strip().lower().encode("utf-8"), [UNSUBSCRIBE_SALT.encode()])
    return _SEALED_PREFIX + base64.urlsafe_b64encode(sealed).decode("ascii").rstrip("=")


def read_unsubscribe_token(token: str, key: str) -> str:
    """Open an unsubscribe token (sealed, or signed by an earlier version).

    Returns:
        The lower-cased address to unsubscribe.

    Raises:
        TokenError: Bad signature, tampered, malformed, or made for another purpose.
        ConfigError: The key is empty.
    """
    _require_key(key)
    if token.startswith(_SEALED_PREFIX):
        from cryptography.exceptions import InvalidTag

        body = token[len(_SEALED_PREFIX) :]
        try:
            sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            payload: object = _sealer(key).decrypt(sealed, [UNSUBSCRIBE_SALT.encode()]).decode("utf-8")
        except (InvalidTag, ValueError):
            raise TokenError("unsubscribe link is invalid") from None
    else:
        try:
            payload = _serializer(key, UNSUBSCRIBE_SALT).loads(token)
        except BadData:
            raise TokenError("unsubscribe link is invalid") from None
    if not isinstance(payload, str) or "@" not in payload:
        raise TokenError("unsubscribe link is malformed")
    return payload


@lru_cache(maxsize=4)
def _sealer(key: str) -> AESSIV:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESSIV
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    derived = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=b"outreach.unsubscribe.v2").derive(
        key.encode("utf-8")
    )
    return AESSIV(derived)


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
