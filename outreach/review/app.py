"""The web application: the agents' review pages plus the public pages customers reach from emails.

``create_app(ctx)`` refuses to build without ``review.session_secret`` (a
:class:`~outreach.errors.ConfigError`), mounts the vendored static files
(htmx, CSS, the keyboard script; nothing comes from a CDN), and the public
route modules (``public_suppression``, ``public_surveys``) when they exist.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outreach.review import pages
from outreach.review.auth import SESSION_COOKIE, LoginLimiter, cookies_https_only, session_secret
from outreach.review.body_limit import BodyLimit
from outreach.review.context import WebContext

STATIC = Path(__file__).resolve().parent / "static"
PUBLIC_MODULES = ("public_suppression", "public_surveys")


class SecurityHeaders:
    """Headers every response gets: no framing, no MIME sniffing, no referrer leaks."""

    HEADERS = (
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.HEADERS if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def public_routes(ctx: WebContext) -> list[BaseRoute]:
    """Routes of the public page modules present in this install (no login)."""
    found: list[BaseRoute] = []
    for name in PUBLIC_MODULES:
        module_name = f"outreach.review.{name}"
        if importlib.util.find_spec(module_name) is not None:
            found.extend(importlib.import_module(module_name).routes(ctx))
    return found


def _proxy_headers(trusted: list[str]) -> list[Middleware]:
    """uvicorn's X-Forwarded-For/-Proto handling, for requests from the trusted proxies only."""
    if not trusted:
        return []
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=trusted)]


def create_app(ctx: WebContext, *, limiter: LoginLimiter | None = None) -> Starlette:
    """Build the ASGI app.

    Args:
        ctx: Settings, store, link signing key and clock.
        limiter: Login rate limiter (tests pass one with their own clock).

    Raises:
        ConfigError: ``review.session_secret`` is missing or too short.
    """
    secret = session_secret(ctx.settings)
    review = ctx.settings.review
    routes: list[BaseRoute] = [
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        *public_routes(ctx),
        *pages.routes(ctx, limiter or LoginLimiter(review.login_attempts_per_minute)),
    ]
    middleware = [
        Middleware(BodyLimit),
        *_proxy_headers(review.trusted_proxies),
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=secret,
            session_cookie=SESSION_COOKIE,
            max_age=review.session_minutes * 60,
            same_site="lax",
            https_only=cookies_https_only(ctx.settings),
        ),
    ]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.ctx = ctx
    return app


class RedactTokens(logging.Filter):
    """Access-log filter: long path segments (signed tokens carry addresses) become '…'."""

    def filter(self, record: logging.LogRecord) -> bool:
        args: Any = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, _, _query = args[2].partition("?")
            parts = ["…" if len(p) > 24 else p for p in path.split("/")]
            record.args = (*args[:2], "/".join(parts), *args[3:])
        return True


def serve(ctx: WebContext, host: str, port: int) -> None:
    """Run the app with uvicorn until interrupted (access log without tokens or query strings)."""
    import uvicorn

    app = create_app(ctx)
    config = uvicorn.Config(app, host=host, port=port, proxy_headers=False, server_header=False)
    server = uvicorn.Server(config)
    logging.getLogger("uvicorn.access").addFilter(RedactTokens())
    server.run()
