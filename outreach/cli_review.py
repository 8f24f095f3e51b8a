"""CLI commands of the review side: ``review``, ``agents``, ``templates check`` and ``drafts snooze``.

``outreach.cli`` calls :func:`register` on start. Commands reach settings and
the store through the CLI's ``State`` object (``ctx.obj``), so this module
does not import ``outreach.cli`` (which imports this one).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

agents_app = typer.Typer(help="Agents who may log in to the review app.", no_args_is_help=True)
templates_app = typer.Typer(help="Check the email templates.", no_args_is_help=True)


def _echo(text: str) -> None:
    sys.stdout.write(text + "\n")


def review(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Bind address (default: review.host).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default: review.port).")] = None,
) -> None:
    """Run the agents' review app (and the public survey/unsubscribe pages)."""
    from flows.steps import signing_key
    from outreach.review.app import serve
    from outreach.review.auth import session_secret
    from outreach.review.context import WebContext

    state: Any = ctx.obj
    settings = state.settings
    session_secret(settings)  # refuse to start without it, before opening anything
    key = signing_key(settings)
    web = WebContext(settings=settings, store=state.store, signing_key=key)
    bind_host = host or settings.review.host
    bind_port = port or settings.review.port
    _echo(f"review app on http://{bind_host}:{bind_port}/ (Ctrl+C stops)")
    serve(web, bind_host, bind_port)


@agents_app.command("add")
def agents_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Login name (also the reviewer in the audit log).")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (first line).")
    ] = False,
    role: Annotated[str, typer.Option("--role", help="agent or admin.")] = "agent",
) -> None:
    """Add an agent; the password is stored as an Argon2 hash."""
    from connectors.accounts import ROLES, add_agent

    if role not in ROLES:
        raise typer.BadParameter(f"must be one of {', '.join(ROLES)}", param_hint="--role")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    state: Any = ctx.obj
    add_agent(state.store, name, password, role)  # type: ignore[arg-type]
    _echo(f"added {role} {name}")


@agents_app.command("list")
def agents_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List agents with their role and state."""
    from connectors.accounts import list_agents

    state: Any = ctx.obj
    rows = list_agents(state.store)
    if as_json:
        _echo(json.dumps(
            [{"name": a.name, "role": a.role, "disabled": a.disabled, "created_at": a.created_at.isoformat()} for a in rows],
            indent=2,
        ))
        return
    for a in rows:
        _echo(f"{a.name}\t{a.role}\t{'disabled' if a.disabled else 'active'}\t{a.created_at:%Y-%m-%d}")


@agents_app.command("disable")
def agents_disable(ctx: typer.Context, name: str) -> None:
    """Disable an agent (they cannot log in; open sessions end)."""
    from connectors.accounts import set_disabled

    state: Any = ctx.obj
    set_disabled(state.store, name, True)
    state.store.record_audit("cli", "agent_disabled", None, agent=name)
    _echo(f"disabled {name}")


@agents_app.command("enable")
def agents_enable(ctx: typer.Context, name: str) -> None:
    """Enable a disabled agent again."""
    from connectors.accounts import set_disabled

    state: Any = ctx.obj
    set_disabled(state.store, name, False)
    state.store.record_audit("cli", "agent_enabled", None, agent=name)
    _echo(f"enabled {name}")


@templates_app.command("check")
def templates_check(ctx: typer.Context) -> None:
    """Render every template against sample contexts; exit 1 on any problem."""
    from outreach.drafting import check_templates

    state: Any = ctx.obj
    problems = check_templates(state.settings.templates_path)
    for problem in problems:
        _echo(f"problem: {problem}")
    if problems:
        _echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}")
        raise typer.Exit(1)
    _echo(f"templates OK ({state.settings.templates_path})")


def drafts_snooze(
    ctx: typer.Context,
    draft_id: int,
    hours: Annotated[float, typer.Option("--hours", help="Hide from the review queue for this long.")] = 4,
    reviewer: Annotated[str, typer.Option("--as", help="Who snoozes (audit log).")] = "cli",
    as_of: Annotated[str | None, typer.Option("--as-of", help="ISO 8601 time to use as 'now'.")] = None,
) -> None:
    """Hide a pending draft from the review queue for a while (it still expires on time)."""
    from dateutil import parser as dateparser

    from outreach.review.actions import snooze

    now = datetime.now(UTC)
    if as_of:
        try:
            now = dateparser.isoparse(as_of)
        except ValueError:
            raise typer.BadParameter(f"not an ISO 8601 time: {as_of!r}", param_hint="--as-of") from None
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
    state: Any = ctx.obj
    until = snooze(state.store, state.settings, draft_id, hours=hours, reviewer=reviewer, now=now)
    _echo(f"snoozed #{draft_id} until {until:%Y-%m-%d %H:%M} UTC")


def register(app: typer.Typer) -> None:
    """Add ``review``, ``agents``, ``templates`` and ``drafts snooze`` to the main CLI."""
    app.command("review")(review)
    app.add_typer(agents_app, name="agents")
    app.add_typer(templates_app, name="templates")
    for group in app.registered_groups:
        if group.name == "drafts" and group.typer_instance is not None:
            group.typer_instance.command("snooze")(drafts_snooze)


__all__ = ["register"]
