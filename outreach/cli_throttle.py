"""``outreach throttle``: why drafts wait today, and what the coming days look like."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import typer

throttle_app = typer.Typer(help="The send budget: explain today's, simulate the coming days.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``throttle`` command group to the main CLI."""
    app.add_typer(throttle_app, name="throttle")


def _inputs(state: Any, now: Any) -> tuple[Any, dict[str, Any], dict[str, float]]:
    """The throttle's inputs as ``send`` would read them (read-only, no lock)."""
    from flows.steps import throttle_inputs

    with state.store.engine.connect() as conn:
        return throttle_inputs(state.store, conn, state.settings, now)


@throttle_app.command("explain")
def explain(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option("--as-of", help="ISO 8601 time to use as 'now'.")] = None,
    limit: Annotated[int, typer.Option(help="Waiting drafts to list (highest priority first).")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Today's budget, what limits it, and why each waiting draft waits."""

    from outreach import throttle
    from outreach.cli import _console, _now, _print_json, _state

    state = _state(ctx)
    now = _now(as_of)
    approved, inputs, rates = _inputs(state, now)
    plan = throttle.plan(approved, rates=rates, settings=state.settings, now=now, **inputs)
    assert plan.budget is not None
    by_id = approved.set_index("id") if not approved.empty else None
    waiting = []
    if by_id is not None:
        order = approved.sort_values(["priority", "created_at", "id"], ascending=[False, True, True])["id"]
        for draft_id in order:
            if int(draft_id) in plan.waits:
                until, reason = plan.waits[int(draft_id)]
                row = by_id.loc[draft_id]
                waiting.append({
                    "id": int(draft_id), "kind": str(row["kind"]), "priority": int(row["priority"]),
                    "customer": str(row["customer"]), "not_before": until.isoformat() if until else None,
                    "reason": reason,
                })
    budget = plan.budget.as_dict()
    summary = {
        "now": now.isoformat(), "budget": budget, "would_send_now": plan.send,
        "expected_replies": round(plan.expected_replies, 2), "expected_minutes": round(plan.expected_minutes, 1),
        "waiting": waiting,
    }
    if as_json:
        _print_json(summary)
        return
    from rich.table import Table

    s = state.settings
    con = _console()
    table = Table(title=f"Send budget at {now:%Y-%m-%d %H:%M} UTC", show_header=False)
    table.add_row("hourly cap left", f"{plan.budget.hour_left} of {s.throttle.max_per_hour}")
    table.add_row("24-hour cap left", f"{plan.budget.day_left} of {s.throttle.max_per_day}")
    table.add_row(
        "agent minutes, next 24 h",
        f"{plan.budget.capacity_minutes:.0f} ({len(s.capacity.agents)} agents × utilisation {s.capacity.max_utilisation:g})",
    )
    table.add_row("open backlog needs", f"{plan.budget.backlog_minutes:.0f} min ({inputs['backlog_threads']} threads)")
    table.add_row("replies expected (sent + this plan)", f"{plan.budget.committed_minutes:.0f} min")
    table.add_row("free after this plan", f"{plan.budget.free_minutes:.0f} min")
    table.add_row("reply rates", ", ".join(f"{k} {v:.0%}" for k, v in sorted(rates.items())))
    table.add_row("limited by", plan.budget.limited_by)
    table.add_row("would send now", f"{len(plan.send)} drafts, ~{plan.expected_replies:.1f} replies, "
                                    f"~{plan.expected_minutes:.0f} min")
    con.print(table)
    if not waiting:
        con.print("no approved draft is waiting")
        return
    wt = Table(title=f"{len(waiting)} waiting (showing {min(limit, len(waiting))})")
    for col in ("id", "kind", "prio", "customer", "not before", "why"):
        wt.add_column(col)
    for w in waiting[:limit]:
        wt.add_row(str(w["id"]), w["kind"], str(w["priority"]), w["customer"],
                   (w["not_before"] or "-")[:16], w["reason"])
    con.print(wt)


@throttle_app.command("simulate")
def simulate_cmd(
    ctx: typer.Context,
    days: Annotated[int, typer.Option("--days", min=1, max=90, help="Days to replay.")] = 7,
    as_of: Annotated[str | None, typer.Option("--as-of", help="ISO 8601 start (default: now).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Replay the current queue, roster, backlog and reply rates day by day."""
    from outreach.cli import _console, _now, _print_json, _state
    from outreach.simulate import simulate

    state = _state(ctx)
    start = _now(as_of)
    approved, inputs, rates = _inputs(state, start)
    result = simulate(approved, days=days, start=start, rates=rates, settings=state.settings,
                      step=timedelta(hours=1), **inputs)
    rows = [d.as_dict() for d in result]
    if as_json:
        _print_json({"start": start.isoformat(), "days": rows, "queue_start": len(approved), "reply_rates": rates})
        return
    from rich.table import Table

    table = Table(title=f"{days}-day replay of {len(approved)} approved drafts from {start:%Y-%m-%d %H:%M} UTC")
    for col in ("day", "sends", "by kind", "replies", "minutes", "capacity", "use", "backlog", "expired", "queue"):
        table.add_column(col, justify="left" if col in ("day", "by kind") else "right")
    for d in result:
        use = "-" if d.utilisation is None else f"{d.utilisation:.0%}"
        table.add_row(
            f"{d.day:%a %Y-%m-%d}", str(d.sends), ", ".join(f"{k} {n}" for k, n in sorted(d.sends_by_kind.items())) or "-",
            f"{d.expected_replies:.1f}", f"{d.expected_minutes:.0f}", f"{d.capacity_minutes:.0f}", use,
            f"{d.backlog_minutes_start:.0f}", str(d.expired), str(d.queue_end),
        )
    _console().print(table)


__all__ = ["register"]
