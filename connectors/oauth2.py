"""XOAUTH2 access tokens renewed from a refresh token (OAuth 2.0 refresh-token grant, RFC 6749 §6).

Gmail and Microsoft 365 hand out access tokens that last about an hour. A sync scheduled
every five minutes, or a ``watch`` that runs for weeks, needs a valid one at every login:
:class:`RefreshingToken` is called for the token each time a connection logs in and asks the
provider's token endpoint for a new one shortly before the current one expires.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from outreach.errors import SourceError

if TYPE_CHECKING:
    import httpx

__all__ = ["RefreshingToken"]

log = logging.getLogger("outreach.oauth2")

_DEFAULT_LIFETIME = 3600  # seconds, when the endpoint does not say (``expires_in`` is optional)


class RefreshingToken:
    """A callable that returns a valid access token, renewing it before it expires.

    Safe to call from several threads (``watch`` logs in once per folder): one renewal
    serves them all. A renewed refresh token (Microsoft rotates them, and the one first
    configured expires after 90 days) replaces the old one for the rest of the process and
    is handed to ``on_rotate``, which can keep it (a Prefect Secret block).

    Args:
        token_url: The provider's token endpoint.
        client_id: The OAuth client (application) id.
        client_secret: The client secret; None for a public client.
        refresh_token: The long-lived refresh token obtained once at consent.
        scope: Scopes asked for with each renewal (space-separated); empty: none sent.
        timeout: Seconds per request to the token endpoint.
        renew_before: Renew this many seconds before the current token expires, so a
            token never runs out between being handed over and the login using it.
        clock: Monotonic seconds (tests pass their own).
        on_rotate: Called with a new refresh token when the endpoint issues one; its
            failure is logged and renewing goes on with the new token in memory.

    Raises:
        SourceError: from a call, when no token can be had. ``retryable`` is True when
            the endpoint could not be reached or failed (network, 429, 5xx) and False
            when it refused (revoked or expired refresh token, wrong client).
    """

    def __init__(
        self,
        token_url: str,
        *,
        client_id: str,
        client_secret: str | None,
        refresh_token: str,
        scope: str = "",
        timeout: float = 30.0,
        renew_before: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        on_rotate: Callable[[str], None] | None = None,
    ) -> None:
        parts = urlsplit(token_url)
        self.name = f"oauth2 token endpoint {parts.scheme}://{parts.netloc}{parts.path}"
        self._url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._scope = scope
        self._timeout = timeout
        self._renew_before = renew_before
        self._clock = clock
        self._on_rotate = on_rotate
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.renewals = 0
        """Access tokens obtained so far."""

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at - self._renew_before:
                self._renew()
            assert self._token is not None
            return self._token

    def _renew(self) -> None:
        form = {"grant_type": "refresh_token", "refresh_token": self._refresh_token, "client_id": self._client_id}
        if self._client_secret:
            form["client_secret"] = self._client_secret
        if self._scope:
            form["scope"] = self._scope
        import httpx  # here, not at import: a sync with nothing new never needs it

        started = self._clock()
        try:
            response = httpx.post(self._url, data=form, headers={"Accept": "application/json"}, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise SourceError(self.name, f"unreachable ({type(exc).__name__})", retryable=True) from None
        body = _json_object(response)
        if response.status_code == 429 or response.status_code >= 500:
            raise SourceError(self.name, f"failed with HTTP {response.status_code}", retryable=True)
        token = body.get("access_token")
        if response.status_code != 200 or not isinstance(token, str) or not token:
            raise SourceError(self.name, _refusal(response.status_code, body))
        self._token = token
        self._expires_at = started + _lifetime(body.get("expires_in"))
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != self._refresh_token:
            self._refresh_token = rotated
            if self._on_rotate is not None:
                try:
                    self._on_rotate(rotated)
                except Exception as exc:  # noqa: BLE001 - keeping the new token is best effort
                    log.warning("%s: could not keep the renewed refresh token (%s)", self.name, type(exc).__name__)
        self.renewals += 1
        log.info("%s: access token renewed, valid for %d s", self.name, int(self._expires_at - started))


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _lifetime(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return _DEFAULT_LIFETIME
    return seconds if seconds > 0 else _DEFAULT_LIFETIME


def _refusal(status: int, body: dict[str, Any]) -> str:
    """One line from an RFC 6749 §5.2 error answer (the codes and text carry no secrets)."""
    error = str(body.get("error") or f"HTTP {status}")[:80]
    detail = str(body.get("error_description") or "").splitlines()[0:1]
    hint = ""
    if error == "invalid_grant":
        hint = "; the refresh token was revoked or expired: obtain a new one (consent again)"
    elif error in ("invalid_client", "unauthorized_client"):
        hint = "; check imap.oauth2_client_id and the client secret"
    return f"refused to renew the access token: {error}{': ' + detail[0][:200] if detail else ''}{hint}"
