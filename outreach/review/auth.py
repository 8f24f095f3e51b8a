"""Who is logged in, and the checks every request of the review app passes.

- Sessions live in a cookie signed by Starlette's ``SessionMiddleware``
  (itsdangerous, HttpOnly, SameSite=Lax, ``Secure`` when
  ``review.secure_cookies``, by default when the public URL is https). Besides the cookie's own signed max-age the
  session carries its issue time, checked against the app's clock, so a
  session ends ``review.session_minutes`` after login whatever the cookie says,
  and the agent's session epoch: logging out or a new password bumps it, which
  ends every copy of every session of that agent, not only this browser's.
- Every POST carries a CSRF token bound to the session (a hidden form field
  or the ``X-CSRF-Token`` header); without a matching one the answer is 403.
- Login attempts are counted per (name, address) and per address before the
  password is checked (a good one is then uncounted); past
  ``review.login_attempts_per_minute`` the answer is 429 with Retry-After.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from outreach.errors import ConfigError

if TYPE_CHECKING:
    from starlette.requests import Request

    from connectors.accounts import Agent
    from outreach.settings import Settings

SESSION_COOKIE = "outreach_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MIN_SECRET_LENGTH = 32
# One address may try several names (a shared office NAT), but not endlessly.
ADDRESS_FACTOR = 4


def session_secret(settings: Settings) -> str:
    """The secret that signs sessions.

    Raises:
        ConfigError: unset or shorter than 32 characters.
    """
    secret = settings.review.session_secret
    if secret is None:
        raise ConfigError(
            "review.session_secret",
            "required to sign agent sessions; set OUTREACH_REVIEW__SESSION_SECRET "
            '(e.g. python -c "import secrets; print(secrets.token_urlsafe(48))")',
        )
    value = secret.get_secret_value()
    if len(value) < MIN_SECRET_LENGTH:
        raise ConfigError("review.session_secret", f"must have at least {MIN_SECRET_LENGTH} characters")
    return value


class LoginLimiter:
    """Counts failed logins in a sliding minute, per (name, address) and per address.

    Each attempt counts from the moment it starts (:meth:`begin`), so parallel
    guesses cannot all slip in while the password hashes run.

    In memory: one review process enforces its own limit (run one process, or
    put a proxy limit in front of several).
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._failures: dict[tuple[str, ...], deque[float]] = {}
        self._lock = threading.Lock()

    def _keys(self, name: str, address: str) -> list[tuple[tuple[str, ...], int]]:
        return [((name.lower(), address), self.per_minute), ((address,), self.per_minute * ADDRESS_FACTOR)]

    def begin(self, name: str, address: str) -> float | None:
        """Count a login attempt before its password is checked.

        Checking and counting happen under one lock: attempts sent in parallel
        cannot all pass the check while the slow password hash runs.

        Returns:
            None when the attempt may go on (it now counts as a failure until
            :meth:`succeeded`), else the seconds until another one is allowed.
        """
        now = self.clock()
        wait = 0.0
        with self._lock:
            keys = self._keys(name, address)
            for key, limit in keys:
                hits = self._prune(key, now)
                if len(hits) >= limit:
                    wait = max(wait, hits[0] + 60 - now)
            if wait > 0:
                return wait
            for key, _ in keys:
                self._failures.setdefault(key, deque()).append(now)
            if len(self._failures) > 10_000:  # bound memory under a spray of names
                for key in list(self._failures):
                    self._prune(key, now)
        return None

    def succeeded(self, name: str, address: str) -> None:
        """A good login: forget the name's failures from this address and uncount this attempt."""
        with self._lock:
            self._failures.pop((name.lower(), address), None)
            hits = self._failures.get((address,))
            if hits:
                hits.pop()

    def _prune(self, key: tuple[str, ...], now: float) -> deque[float]:
        hits = self._failures.get(key, deque())
        while hits and hits[0] <= now - 60:
            hits.popleft()
        if not hits:
            self._failures.pop(key, None)
        return hits


def cookies_https_only(settings: Settings) -> bool:
    """Whether the session cookie is marked ``Secure`` (``review.secure_cookies``, auto by the public URL)."""
    mode = settings.review.secure_cookies
    if mode == "auto":
        return settings.sender.public_url.lower().startswith("https://")
    return mode


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use)."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, form: Mapping[str, Any] | None) -> bool:
    """Whether the request carries the session's CSRF token (form field or header)."""
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not expected:
        return False
    sent = request.headers.get(CSRF_HEADER) or (form.get(CSRF_FIELD) if form is not None else None)
    if not isinstance(sent, str) or not sent:
        return False
    return secrets.compare_digest(sent.encode(), expected.encode())


def start_session(request: Request, agent: Agent, now: datetime) -> None:
    """Log ``agent`` in: a fresh session (new CSRF token) stamped with the login time."""
    request.session.clear()
    request.session.update(
        {"agent": agent.name, "iat": now.timestamp(), "epoch": agent.session_epoch, "csrf": secrets.token_urlsafe(32)}
    )


def session_epoch(request: Request) -> int:
    """The agent's session epoch this session started in (see ``Agent.session_epoch``)."""
    epoch = request.session.get("epoch", 0)
    return epoch if isinstance(epoch, int) else -1


def end_session(request: Request) -> None:
    request.session.clear()


def session_agent_name(request: Request, now: datetime, minutes: int) -> str | None:
    """The logged-in agent's name if the session is valid and not expired."""
    name = request.session.get("agent")
    issued = request.session.get("iat")
    if not isinstance(name, str) or not isinstance(issued, int | float):
        return None
    age = now.timestamp() - float(issued)
    if age < -60 or age > minutes * 60:  # far-future stamps are as suspect as old ones
        request.session.clear()
        return None
    return name


def safe_next(target: str | None) -> str:
    """A local path to go to after login (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
