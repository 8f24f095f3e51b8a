"""The ``outreach`` command line.

Single-step commands (``sync``, ``detect``, ``draft``, ``drafts``, ``send``,
``status``, ``report``…) call the step functions in-process without
starting Prefect, so they answer in about a second; ``run``, ``demo`` and
``serve`` run the real Prefect flows. Heavy imports (Prefect, pandas) are
deferred to the commands that need them.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_args

import typer

from outreach.errors import ConfigError, OutreachError
from outreach.models import DRAFT_STATUSES, DraftKind

if TYPE_CHECKING:
    from connectors.store import Store
    from outreach.settings import Settings

app = typer.Typer(
    help="Proactive customer care from a support inbox.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
drafts_app = typer.Typer(help="Review drafts: list, show, approve, reject, edit.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Messages that could not be parsed, with the reason.", no_args_is_help=True)
app.add_typer(drafts_app, name="drafts")
app.add_typer(quarantine_app, name="quarantine")


class State:
    """Settings and store, opened on first use."""

    def __init__(self, config: Path | None) -> None:
        self.config = config
        self._settings: Settings | None = None
        self._store: Store | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from outreach.settings import load_settings

            self._settings = load_settings(self.config)
        return self._settings

    @property
    def store(self) -> Store:
        if self._store is None:
            from connectors.store import Store

            self._store = Store.open(self.settings.store.url, echo=self.settings.store.echo)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def _state(ctx: typer.Context) -> State:
    return ctx.ensure_object(State) if ctx.obj is None else ctx.obj


def _now(as_of: str | None) -> datetime:
    if not as_of:
        return datetime.now(UTC)
    from dateutil import parser as dateparser

    try:
        when = dateparser.isoparse(as_of)
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 time: {as_of!r}", param_hint="--as-of") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _console() -> Any:
    from rich.console import Console

    return Console()


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


# Choices, so --help lists the values and a typo ('pending' for 'pending_review') is a usage
# error instead of a filter that silently matches nothing. Built from outreach.models, so a
# new status or kind needs no change here.
DraftStatusChoice = StrEnum("DraftStatusChoice", [(s, s) for s in DRAFT_STATUSES])
DraftKindChoice = StrEnum("DraftKindChoice", [(k, k) for k in get_args(DraftKind)])

AsOf = Annotated[str | None, typer.Option("--as-of", help="ISO 8601 time to use as 'now' (reproducible runs).")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.callback()
def main_callback(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", envvar="OUTREACH_CONFIG", help="Config file (TOML); default: built-in defaults."),
    ] = None,
) -> None:
    """Proactive customer care from a support inbox."""
    from outreach.redact import install as redact_logs

    redact_logs()  # no customer address or body in any log line of ours or Prefect's
    state = State(config)
    ctx.obj = state
    ctx.call_on_close(state.close)


# -- pipeline steps --------------------------------------------------------------


def _source(state: State, spec: str) -> Any:
    from connectors.factory import make_source

    return make_source(state.settings, spec)


_SYNC_COUNTS = ("fetched", "stored", "duplicates", "quarantined", "threaded")


@app.command()
def sync(
    ctx: typer.Context,
    source: Annotated[str, typer.Option(help="imap | mbox:PATH | maildir:PATH")] = "imap",
) -> None:
    """Fetch new mail, store it once, and rebuild the conversations."""
    state = _state(ctx)
    src = _source(state, source)
    try:
        settled, new = _quick_look(state, src)
        if settled and new == 0:
            counts = dict.fromkeys(_SYNC_COUNTS, 0)
        else:
            from outreach.ingest import POOL_MIN_BATCH, BatchParser

            with BatchParser(state.settings) as parser:
                if new is not None and new >= POOL_MIN_BATCH and state.settings.imap.batch_size >= POOL_MIN_BATCH:
                    # Plenty of mail: the parser processes start (about half a second) while
                    # the store layer loads, instead of after the first batch arrives.
                    parser.start()
                from flows import steps

                with _progress("Syncing", state) as advance:
                    report = steps.sync(state.store, src, state.settings, progress=advance, parser=parser)
            counts = {k: getattr(report, k) for k in _SYNC_COUNTS}
    finally:
        src.close()
    _console().print(
        f"[bold]{src.name}[/]: {counts['fetched']} fetched, {counts['stored']} new, "
        f"{counts['duplicates']} already stored, {counts['quarantined']} quarantined, {counts['threaded']} threaded",
        highlight=False,  # rich's number highlighter compiles its patterns first: a tenth of this command
    )


def _quick_look(state: State, src: Any) -> tuple[bool, int | None]:
    """Whether the store has nothing pending, and at most how many messages are new.

    Answered with the database driver and one STATUS per folder, before the store
    layer or the parser is loaded: most scheduled syncs find nothing, and this way
    they take a fraction of the time. ``(False, None)`` for a source that cannot tell
    (mbox, Maildir); a store not created yet (or with an older schema) counts as unsettled.
    """
    from outreach.ports import ChangeProbe

    if not isinstance(src, ChangeProbe):
        return False, None
    from connectors.store_peek import peek

    seen = peek(state.settings.store.url, src.name)
    if seen is None:
        return False, src.new_messages({})  # a first sync, most likely: everything is new
    return seen.settled, src.new_messages(seen.folders)


@app.command()
def detect(
    ctx: typer.Context,
    as_of: AsOf = None,
    as_json: AsJson = False,
    explain: Annotated[int | None, typer.Option("--explain", help="Show every signal of one thread.")] = None,
) -> None:
    """Find who we owe an answer and who went quiet unhappy."""
    from flows import steps

    state = _state(ctx)
    now = _now(as_of)
    if explain is not None:
        _print_json(steps.explain(state.store, state.settings, explain, now))
        return
    found = steps.detect(state.store, state.settings, now)
    found.sort(key=lambda c: (-c.priority, c.thread_id))
    if as_json:
        _print_json(
            [
                {"thread_id": c.thread_id, "customer": c.customer, "kind": c.kind, "priority": c.priority, "reasons": c.reasons}
                for c in found
            ]
        )
        return
    from rich.table import Table

    table = Table(title=f"{len(found)} candidates")
    for col in ("thread", "customer", "kind", "priority", "reasons"):
        table.add_column(col)
    for c in found:
        table.add_row(str(c.thread_id), c.customer, c.kind, str(c.priority), "\n".join(c.reasons))
    _console().print(table)


@app.command()
def draft(ctx: typer.Context, as_of: AsOf = None) -> None:
    """Draft a personal email for every open candidate (calls get no email)."""
    from flows import steps

    state = _state(ctx)
    report = steps.draft(state.store, state.settings, _now(as_of))
    _console().print(
        f"{report.created} drafts ({report.auto_approved} auto-approved), "
        f"{report.skipped} already drafted, {report.expired} expired"
    )
    for err in report.errors:
        _console().print(f"[red]problem[/]: {err}")


@app.command()
def send(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide and show; send nothing.")] = False,
    as_of: AsOf = None,
) -> None:
    """Send approved drafts the throttle allows, each at most once."""
    from connectors.factory import make_sender
    from flows import steps

    state = _state(ctx)
    sender = make_sender(state.settings)
    try:
        report = steps.send(state.store, sender, state.settings, _now(as_of), dry_run=dry_run)
    finally:
        sender.close()
    con = _console()
    if dry_run:
        con.print(f"dry run: would send {len(report.would_send)} now; {report.deferred} wait")
    else:
        con.print(
            f"sent {report.sent}, failed {report.failed}, retry later {report.retry_later}, "
            f"waiting {report.deferred}, unknown {report.unknown}"
        )
    for reason, n in sorted(report.wait_reasons.items(), key=lambda kv: -kv[1]):
        con.print(f"  waiting: {n} × {reason}")
    if report.budget:
        b = report.budget
        con.print(
            f"  budget: {b['hour_left']} this hour, {b['day_left']} in 24 h, "
            f"{max(b['free_minutes'], 0):.0f} free agent minutes; limited by {b['limited_by']}"
        )


@app.command()
def run(
    ctx: typer.Context,
    source: Annotated[str, typer.Option(help="imap | mbox:PATH | maildir:PATH")] = "imap",
    as_of: AsOf = None,
) -> None:
    """Run sync → detect → draft → send once, as a Prefect flow."""
    state = _state(ctx)
    settings = state.settings  # a bad config fails before Prefect starts
    from flows.pipeline import run_pipeline_with_prefect

    summary = run_pipeline_with_prefect(settings, source=source, as_of=as_of, config=state.config)
    _print_summary(summary)


@app.command()
def status(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Counts of messages, threads, quarantine, candidates, drafts and today's budget."""
    from flows import steps

    state = _state(ctx)
    now = datetime.now(UTC)
    data = state.store.status(now)
    data["budget"] = steps.budget_today(state.store, state.settings, now)
    if as_json:
        _print_json(data)
        return
    from rich.table import Table

    table = Table(title="Outreach status", show_header=False)
    for key in ("messages", "threads", "quarantined", "candidates", "sent_last_24h", "suppressed", "survey_responses"):
        table.add_row(key.replace("_", " "), str(data[key]))
    table.add_row("candidates by kind", ", ".join(f"{k} {v}" for k, v in sorted(data["candidates_by_kind"].items())) or "-")
    table.add_row("drafts", ", ".join(f"{k} {v}" for k, v in data["drafts"].items() if v) or "-")
    b = data["budget"]
    table.add_row("budget left today", f"{b['day_left']} sends ({b['hour_left']} this hour), limited by {b['limited_by']}")
    for f in data["folders"]:
        when = f["synced_at"][:16].replace("T", " ") + " UTC" if f["synced_at"] else "never"
        table.add_row(f"synced {f['folder']}", f"{when} (up to UID {f['last_uid']}) from {f['source']}")
    _console().print(table)


@app.command()
def report(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for report.html and report.json.")] = None,
    as_json: AsJson = False,
    as_of: AsOf = None,
) -> None:
    """Write the HTML report (and its figures as JSON)."""
    from flows import steps
    from outreach.report import REPORT_STEPS

    state = _state(ctx)
    out_dir = out or Path(state.settings.report.out_dir)
    now = _now(as_of)
    _report_folder(out_dir, from_option=out is not None)  # before minutes of work, not after
    try:
        with _progress("Report", state, total=REPORT_STEPS + 2, unit="step") as advance:
            result = steps.report(state.store, state.settings, out_dir, now, progress=advance)
    except OSError as exc:  # the folder was checked; a full disk or a file in the way is left
        raise OutreachError(f"cannot write the report to {out_dir}: {exc.strerror or exc}") from None
    if as_json:
        _print_json(result.figures)
        return
    _console().print(f"report: {result.html_path}")


@app.command()
def demo(ctx: typer.Context) -> None:
    """Generate the sample mailbox and run the whole pipeline on it (SQLite, file outbox)."""
    import os

    # Links in demo emails need a key; a real deployment sets its own secret.
    os.environ.setdefault("OUTREACH_SENDER__SIGNING_KEY", "demo-only-signing-key-not-for-production")
    state = _state(ctx)
    settings = state.settings
    from flows.pipeline import run_demo

    summary = run_demo(settings, config=state.config)
    _print_summary(summary)


def _report_folder(out_dir: Path, *, from_option: bool) -> None:
    """Create the report folder, or say why it cannot be one (``--out`` or ``report.out_dir``)."""
    import os

    if out_dir.exists() and not out_dir.is_dir():
        problem = f"{out_dir} is a file, not a folder"
    else:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            problem = f"cannot create folder {out_dir}: {exc.strerror or exc}"
        else:
            if os.access(out_dir, os.W_OK):
                return
            problem = f"folder {out_dir} is not writable"
    if from_option:
        raise typer.BadParameter(problem, param_hint="--out")
    raise ConfigError("report.out_dir", problem)


def _print_summary(summary: dict[str, Any]) -> None:
    from rich.table import Table

    con = _console()
    table = Table(title="Outreach run", show_header=False)
    for key, value in summary["rows"]:
        table.add_row(key, str(value))
    con.print(table)
    for label, path in summary.get("paths", {}).items():
        con.print(f"{label}: [bold]{path}[/]")


# -- drafts ----------------------------------------------------------------------


@drafts_app.command("list")
def drafts_list(
    ctx: typer.Context,
    status: Annotated[DraftStatusChoice | None, typer.Option("--status", help="Only this status.")] = None,
    kind: Annotated[DraftKindChoice | None, typer.Option("--kind", help="Only this kind.")] = None,
    as_json: AsJson = False,
) -> None:
    """List drafts, highest priority first."""
    state = _state(ctx)
    rows = state.store.list_drafts(status=status.value if status else None, kind=kind.value if kind else None)
    if as_json:
        _print_json(
            [
                {k: r[k] for k in ("id", "thread_id", "customer", "kind", "priority", "status", "subject", "not_before", "wait_reason", "error")}
                for r in rows
            ]
        )
        return
    from rich.table import Table

    table = Table(title=f"{len(rows)} drafts")
    for col in ("id", "kind", "priority", "status", "customer", "subject", "note"):
        table.add_column(col)
    for r in rows:
        note = r.get("wait_reason") or r.get("error") or r.get("review_note") or ""
        table.add_row(str(r["id"]), r["kind"], str(r["priority"]), r["status"], r["customer"], r["subject"], note)
    _console().print(table)


@drafts_app.command("show")
def drafts_show(ctx: typer.Context, draft_id: int) -> None:
    """Show one draft: reasons, text, status and its audit trail."""
    state = _state(ctx)
    row = state.store.get_draft(draft_id)
    if row is None:
        raise OutreachError(f"draft {draft_id} does not exist")
    con = _console()
    con.print(f"[bold]#{row['id']} {row['kind']}[/] priority {row['priority']} · {row['status']} · to {row['customer']}")
    for reason in (row.get("context") or {}).get("reasons", []):
        con.print(f"  • {reason}")
    con.print(f"\n[bold]Subject:[/] {row['subject']}\n")
    con.print(row["text"], markup=False, highlight=False)
    for entry in reversed(state.store.audit_log(draft_id)):
        con.print(f"  {entry['at']:%Y-%m-%d %H:%M} {entry['actor']} {entry['action']}", highlight=False)


@drafts_app.command("approve")
def drafts_approve(
    ctx: typer.Context,
    draft_ids: Annotated[list[int] | None, typer.Argument(help="Draft ids.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every draft pending review.")] = False,
    kind: Annotated[DraftKindChoice | None, typer.Option("--kind", help="With --all: only this kind.")] = None,
    reviewer: Annotated[str, typer.Option("--as", help="Who approves (audit log).")] = "cli",
) -> None:
    """Approve drafts for sending (policy may refuse some, with the reason)."""
    from flows import steps

    state = _state(ctx)
    ids = list(draft_ids or [])
    if all_:
        ids += [r["id"] for r in state.store.list_drafts(status="pending_review", kind=kind.value if kind else None)]
    if not ids and all_:
        _console().print("no drafts pending review")  # nothing to do is not an error
        return
    if not ids:
        ctx.fail("give draft ids or --all")  # a usage error (exit 2), not about one parameter
    ids = list(dict.fromkeys(ids))
    # Approving an approved draft again is what the reviewer wanted already: say so and succeed,
    # so scripts and retries can repeat an approval safely.
    already = [i for i in ids if _status(state, i) == "approved"]
    todo = [i for i in ids if i not in already]
    done, refused = steps.approve(state.store, state.settings, todo, reviewer, datetime.now(UTC)) if todo else ([], {})
    con = _console()
    if todo:
        con.print(f"approved {len(done)}")
    for draft_id in already:
        con.print(f"#{draft_id} already approved")
    for draft_id, why in refused.items():
        con.print(f"[yellow]not approved[/] #{draft_id}: {why}")
    if refused and not done and not already:
        raise typer.Exit(1)


def _status(state: State, draft_id: int) -> str | None:
    row = state.store.get_draft(draft_id)
    return row["status"] if row else None


@drafts_app.command("reject")
def drafts_reject(
    ctx: typer.Context,
    draft_id: int,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")],
    reviewer: Annotated[str, typer.Option("--as", help="Who rejects (audit log).")] = "cli",
) -> None:
    """Reject a draft with a reason."""
    from flows import steps

    state = _state(ctx)
    if _status(state, draft_id) == "rejected":
        # Idempotent like approve; the first reason stays in the audit log.
        _console().print(f"#{draft_id} already rejected")
        return
    steps.reject(state.store, draft_id, reviewer, reason, datetime.now(UTC))
    _console().print(f"rejected #{draft_id}")


@drafts_app.command("edit")
def drafts_edit(
    ctx: typer.Context,
    draft_id: int,
    subject: Annotated[str | None, typer.Option(help="New subject.")] = None,
    text_file: Annotated[Path | None, typer.Option("--text-file", help="New plain-text body ('-' for stdin).")] = None,
    reviewer: Annotated[str, typer.Option("--as", help="Who edits (audit log).")] = "cli",
    gesture: Annotated[str | None, typer.Option("--gesture", help="Apology gesture, one of drafts.gestures.")] = None,
) -> None:
    """Edit a draft's subject, text or gesture before approving it."""
    if subject is None and text_file is None and gesture is None:
        # Otherwise the draft is "edited" into itself, with an audit entry saying it was.
        ctx.fail("nothing to edit: give --subject, --text-file or --gesture")
    new_text = _read_text_option(text_file, "--text-file") if text_file is not None else None
    state = _state(ctx)
    row = state.store.get_draft(draft_id)
    if row is None:
        raise OutreachError(f"draft {draft_id} does not exist")
    body = row["text"] if new_text is None else new_text
    from flows import steps

    reopened = steps.edit(
        state.store, state.settings, draft_id, subject=subject or row["subject"], text_body=body,
        reviewer=reviewer, now=datetime.now(UTC), gesture=gesture or row.get("gesture"),
    )
    if reopened:
        _console().print(f"edited #{draft_id}; it was approved, so it is back in review: approve it again to send it")
    else:
        _console().print(f"edited #{draft_id}")


def _read_text_option(path: Path, option: str) -> str:
    """A text file named on the command line ('-': stdin); any problem is a usage error on ``option``.

    Checked here rather than with typer's ``exists=``/``allow_dash=``: typer 0.29 turns the
    value into a Path before its dash test, so '-' would be refused as a missing file.
    """
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problem = f"{path} does not exist"
    except IsADirectoryError:
        problem = f"{path} is a folder, not a file"
    except OSError as exc:
        problem = f"cannot read {path}: {exc.strerror or exc}"
    except UnicodeDecodeError as exc:
        problem = f"cannot read {path} as UTF-8 text ({exc.reason} at byte {exc.start})"
    raise typer.BadParameter(problem, param_hint=option)


@drafts_app.command("unknown")
def drafts_unknown(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Drafts whose sender stopped between claim and settle: check the provider, then resolve."""
    state = _state(ctx)
    rows = state.store.list_drafts(status="unknown")
    if as_json:
        _print_json([{k: r[k] for k in ("id", "customer", "kind", "claimed_at", "claimed_by", "provider")} for r in rows])
        return
    con = _console()
    con.print(
        f"{len(rows)} drafts in an unknown state (never resent automatically; "
        "check the provider, then `outreach drafts resolve ID --sent|--not-sent`)"
    )
    for r in rows:
        con.print(f"  #{r['id']} {r['kind']} to {r['customer']} claimed {r['claimed_at']} by {r['claimed_by']}")


@drafts_app.command("resolve")
def drafts_resolve(
    ctx: typer.Context,
    draft_id: int,
    sent: Annotated[
        bool | None,
        typer.Option("--sent/--not-sent", help="What the provider's log (or the outbox folder) says happened."),
    ] = None,
    reviewer: Annotated[str, typer.Option("--as", help="Who checked (audit log).")] = "cli",
) -> None:
    """Settle a draft in the unknown state: --sent records it as sent; --not-sent puts it back in the send queue."""
    if sent is None:
        raise typer.BadParameter("say what the provider shows: --sent or --not-sent", param_hint="--sent/--not-sent")
    state = _state(ctx)
    now = datetime.now(UTC)
    if sent:
        state.store.transition(
            draft_id, "sent", actor=reviewer, action="resolved_sent", now=now, values={"sent_at": now},
            expect={"unknown"},
        )
        _console().print(f"#{draft_id} recorded as sent")
    else:
        state.store.transition(
            draft_id, "approved", actor=reviewer, action="resolved_not_sent", now=now,
            values={"claimed_at": None, "claimed_by": None}, expect={"unknown"},
        )
        _console().print(f"#{draft_id} is approved again: the next send sends it (throttle permitting)")


# -- quarantine ------------------------------------------------------------------


@quarantine_app.command("list")
def quarantine_list(ctx: typer.Context, as_json: AsJson = False, limit: int = 100) -> None:
    """Messages that could not be parsed, with the one-line reason."""
    state = _state(ctx)
    rows = state.store.quarantine_list(limit=limit)
    if as_json:
        _print_json(rows)
        return
    from rich.table import Table

    table = Table(title=f"{len(rows)} quarantined")
    for col in ("id", "folder", "uid", "size", "reason"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["id"]), r["folder"], str(r["uid"]), str(r["size"]), r["reason"])
    _console().print(table)


# -- progress ----------------------------------------------------------------------


def _progress(label: str, state: State, *, total: int | None = None, unit: str = "msg") -> Any:
    """A progress bar with counts and rate on a terminal; silent otherwise (see outreach.progress)."""
    from outreach.progress import progress_bar

    return progress_bar(label, total=total, unit=unit)


# -- command groups in their own modules -------------------------------------------

# Each module adds its commands with ``register(app)``, so one command group lives in
# one module; they import their heavy dependencies inside the commands.
from outreach import cli_ops, cli_review, cli_surveys, cli_throttle  # noqa: E402

for _group in (cli_review, cli_throttle, cli_surveys, cli_ops):
    _group.register(app)


# -- entry point -------------------------------------------------------------------


def _click_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """``(ClickException, Exit, Abort)`` classes of the click that typer runs on, and of real click.

    typer before 0.29 runs on click itself; 0.29 and later vendor their own copy
    (``typer._click``) whose exceptions are *not* subclasses of click's, so catching
    ``click.ClickException`` lets every usage error escape as a traceback. typer
    re-exports ``BadParameter``, ``Exit`` and ``Abort`` from whichever click it uses,
    so their modules are the ones to catch from; real click's classes are added
    when it is installed, in case a dependency raises them.
    """
    import importlib

    typer_click = importlib.import_module(typer.BadParameter.__module__)
    errors: list[type[BaseException]] = [typer_click.ClickException]
    exits: list[type[BaseException]] = [typer.Exit]
    aborts: list[type[BaseException]] = [typer.Abort]
    try:
        import click
    except ImportError:  # typer 0.29+ no longer needs click installed
        pass
    else:
        errors.append(click.ClickException)
        exits.append(click.exceptions.Exit)
        aborts.append(click.exceptions.Abort)
    return tuple(dict.fromkeys(errors)), tuple(dict.fromkeys(exits)), tuple(dict.fromkeys(aborts))


def main(argv: list[str] | None = None) -> int:
    """Console-script entry: errors become one line and an exit code, never a traceback.

    Usage errors print click's usage line and ``Error: …`` and return 2; config
    errors return 2; other deliberate errors return 1.
    """
    click_errors, exits, aborts = _click_errors()
    command = typer.main.get_command(app)
    try:
        # Without standalone mode click *returns* the code of a ``typer.Exit`` (1 from
        # ``templates check``, ``check``…) instead of raising it; commands return None.
        # Standalone mode would instead print usage errors in typer's rich boxes and
        # call sys.exit itself, so errors are shown here.
        code = command.main(args=argv, prog_name="outreach", standalone_mode=False)
    except ConfigError as exc:
        sys.stderr.write(f"outreach: config error: {exc}\n")
        return 2
    except OutreachError as exc:
        sys.stderr.write(f"outreach: {exc}\n")
        return 1
    except exits as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except aborts:
        sys.stderr.write("outreach: aborted\n")
        return 130
    except click_errors as exc:
        exc.show()  # type: ignore[attr-defined]  # every ClickException has show() and exit_code
        return int(exc.exit_code)  # type: ignore[attr-defined]
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
