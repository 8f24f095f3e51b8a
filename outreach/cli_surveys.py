"""CLI commands for survey answers: ``surveys list``, ``surveys resolve`` and ``surveys metrics``.

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

surveys_app = typer.Typer(help="Survey answers (by reply or link) and their metrics.", no_args_is_help=True)

LIST_FIELDS = ("id", "draft_id", "customer", "thread_id", "scale", "score", "comment", "source", "needs_review", "time")


def _json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def response_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of ``survey_store.list_responses`` as the CLI prints them (``time``: last answer, ISO 8601)."""
    out = []
    for r in rows:
        when = r.get("updated_at") or r.get("created_at")
        out.append({
            **{k: r.get(k) for k in LIST_FIELDS if k != "time"},
            "needs_review": bool(r.get("needs_review")),
            "time": when.isoformat() if isinstance(when, datetime) else when,
        })
    return out


@surveys_app.command("list")
def surveys_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    needs_review: Annotated[
        bool, typer.Option("--needs-review", help="Only answers an agent must read (ambiguous or out of range).")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=0, help="At most this many (0: all).")] = 0,
) -> None:
    """Every survey response: customer, thread, scale, score (null when unread), comment, source, time."""
    from connectors.survey_store import list_responses

    state: Any = ctx.obj
    rows = response_rows(list_responses(state.store, needs_review=True if needs_review else None, limit=limit or None))
    if as_json:
        _json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} survey responses")
    for col in ("id", "customer", "thread", "scale", "score", "source", "time", "comment"):
        table.add_column(col)
    for r in rows:
        score = "—" if r["score"] is None else str(r["score"])
        if r["needs_review"]:
            score += " (review)"
        comment = (r["comment"] or "")[:80]
        table.add_row(
            str(r["id"]), r["customer"], f"#{r['thread_id']}", r["scale"], score, r["source"],
            (r["time"] or "")[:16].replace("T", " "), comment,
        )
    Console().print(table)


@surveys_app.command("resolve")
def surveys_resolve(
    ctx: typer.Context,
    response_id: Annotated[int, typer.Argument(help="The answer's id (see: surveys list --needs-review).")],
    score: Annotated[
        int | None, typer.Option("--score", help="The score the customer gave (CSAT 1-5, NPS 0-10).")
    ] = None,
    no_score: Annotated[bool, typer.Option("--no-score", help="The answer holds no score.")] = False,
    reviewer: Annotated[str, typer.Option("--as", help="Who read the answer (audit log).")] = "cli",
) -> None:
    """Record what an agent read in an answer flagged for review: a score, or none.

    Same rules and audit entries as the review page: a detractor's score
    opens the close-the-loop candidate; an off-scale score is refused.
    """
    from connectors.survey_store import resolve_response

    if (score is None) == (not no_score):
        raise typer.BadParameter("give either --score N or --no-score", param_hint="--score/--no-score")
    state: Any = ctx.obj
    candidate_id = resolve_response(
        state.store, state.settings.surveys, response_id, score=None if no_score else score, reviewer=reviewer,
        now=datetime.now(UTC),
    )
    if no_score:
        sys.stdout.write(f"answer #{response_id} recorded without a score\n")
        return
    follow = f"; close-the-loop candidate #{candidate_id}" if candidate_id is not None else ""
    sys.stdout.write(f"answer #{response_id} recorded as {score}{follow}\n")


@surveys_app.command("metrics")
def surveys_metrics(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help="ISO 8601 time to use as 'now'.")] = None,
) -> None:
    """Response rate, CSAT and NPS by week and kind, detractors followed up."""
    from outreach.survey_metrics import survey_metrics

    state: Any = ctx.obj
    now = datetime.fromisoformat(as_of) if as_of else datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    data = survey_metrics(state.store.frames(text_columns=False), now=now)
    if as_json:
        _json(data)
        return
    overall = data["overall"]
    lines = [
        f"surveys sent: {overall['sent']}, answered: {overall['answered']} "
        f"(response rate {_pct(overall['response_rate'])})",
        f"CSAT: {_num(overall['csat'])} ({overall['csat_n']} scores) · NPS: {_num(overall['nps'])} ({overall['nps_n']} scores)",
        f"detractors: {overall['detractors']}, followed up: {overall['detractors_followed_up']} "
        f"({_pct(overall['followed_up_share'])}); median hours to follow-up: {_num(overall['median_hours_to_follow_up'])}",
        f"waiting for an agent to read: {overall['needs_review']}",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def register(app: typer.Typer) -> None:
    """Add ``surveys list``, ``surveys resolve`` and ``surveys metrics`` to the main CLI."""
    app.add_typer(surveys_app, name="surveys")


__all__ = ["register", "response_rows"]
