"""Operations commands: ``outreach serve`` (every deployment, one process) and ``outreach watch`` (IMAP IDLE).

Registered by ``outreach.cli`` through :func:`register`. Prefect and the
IMAP connector are imported inside the commands, so the rest of the CLI
stays quick.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

log = logging.getLogger("outreach.ops")


def register(app: typer.Typer) -> None:
    """Add ``check``, ``serve`` and ``watch`` to the ``outreach`` command line."""
    app.command("check")(check)
    app.command("serve")(serve)
    app.command("watch")(watch)


_MARKS = {"ok": "[green]ok[/]", "failed": "[red]FAILED[/]", "skipped": "[dim]skipped[/]"}


def check(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check the config against the real systems: store, mailbox, sender, links, templates, Prefect.

    Sends nothing and changes nothing on the mailbox. Exit code 1 when any check fails.
    """
    from connectors.preflight import run_checks

    state = ctx.obj
    results = run_checks(state.settings)
    if as_json:
        import json

        typer.echo(json.dumps([{"check": r.name, "outcome": r.outcome, "detail": r.detail} for r in results], indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="outreach check", show_header=False)
        for r in results:
            table.add_row(r.name, _MARKS[r.outcome], r.detail)
        Console().print(table, highlight=False)
    if any(r.outcome == "failed" for r in results):
        raise typer.Exit(1)


def serve(
    ctx: typer.Context,
    prefect_yaml: Annotated[
        Path | None, typer.Option("--deployments", help="prefect.yaml to serve (default: the repository's).")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Most flow runs at once in this process.")] = None,
) -> None:
    """Run every deployment of prefect.yaml on its schedule in this process, until Ctrl-C or SIGTERM.

    Uses the Prefect API in PREFECT_API_URL (start one with `prefect server start`);
    without it, a temporary local server lives as long as this process.
    """
    from flows.runtime import prepare_prefect

    state = ctx.obj
    _ = state.settings  # a bad config fails here, before Prefect starts
    prepare_prefect()
    from flows.serve import PREFECT_YAML, serve_all

    config = str(Path(state.config).resolve()) if state.config else None
    # Prefect's runner turns SIGTERM into SystemExit(0) after stopping; SIGINT is KeyboardInterrupt,
    # which prefect.serve catches. Either way the schedules are paused and the process ends cleanly.
    serve_all(config=config, path=prefect_yaml or PREFECT_YAML, limit=limit)
    sys.stderr.write("outreach serve: stopped\n")


def watch(
    ctx: typer.Context,
    emit_events: Annotated[
        bool,
        typer.Option(
            "--emit-events/--no-emit-events",
            help="After each sync, emit the Prefect event outreach.mail.received (starts detection by trigger).",
        ),
    ] = False,
    folder: Annotated[
        list[str] | None, typer.Option("--folder", help="Folder to watch (repeatable; default: imap.folders + sent).")
    ] = None,
) -> None:
    """Watch the inbox with IMAP IDLE and sync as soon as mail arrives, until Ctrl-C or SIGTERM."""
    from connectors.factory import imap_credentials
    from connectors.imap import watch as imap_watch

    state = ctx.obj
    settings = state.settings
    imap = settings.imap
    if not imap.host:
        from outreach.errors import ConfigError

        # A config problem, not a usage one: no option of ``watch`` can supply the host.
        raise ConfigError("imap.host", "is empty; set it (or OUTREACH_IMAP__HOST) to watch an inbox")
    password, token = imap_credentials(imap)
    if not folder:
        # The folders a sync would read: missing ones skipped, \Sent found by special use.
        from connectors.imap import ImapSource

        with ImapSource(imap, password=password, oauth2_token=token) as source:
            folder = [name for name, _sent in source.folders()]
    stop = threading.Event()
    syncer = _Syncer(state, emit_events)

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping the watch", signum)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    worker = threading.Thread(target=syncer.run, args=(stop,), name="outreach-watch-sync", daemon=True)
    worker.start()
    syncer.request("startup")  # catch up on what arrived while nobody watched
    try:
        imap_watch(
            imap, syncer.request, stop=stop, password=password, oauth2_token=token, folders=folder,
            on_ready=lambda f: log.info("%s: watching", f),
        )
    finally:
        stop.set()
        worker.join(timeout=30)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    typer.echo(f"outreach watch: stopped after {syncer.runs} syncs")


class _Syncer:
    """Runs one sync at a time on its own thread; bursts of new-mail signals become one sync."""

    def __init__(self, state: Any, emit_events: bool) -> None:
        self.state = state
        self.emit_events = emit_events
        self.wanted = threading.Event()
        self.folders: set[str] = set()
        self.runs = 0
        self._lock = threading.Lock()

    def request(self, folder: str) -> None:
        """IDLE callback: must return quickly, so it only records the wish."""
        with self._lock:
            self.folders.add(folder)
        self.wanted.set()

    def run(self, stop: threading.Event) -> None:
        from connectors.factory import make_source
        from connectors.store import Store
        from flows import steps
        from outreach.errors import OutreachError

        settings = self.state.settings
        while not stop.is_set():
            if not self.wanted.wait(timeout=0.5):
                continue
            self.wanted.clear()
            with self._lock:
                folders, self.folders = sorted(self.folders), set()
            try:
                source = make_source(settings, "imap")
                try:
                    with Store.open(settings.store.url) as store:
                        report = steps.sync(store, source, settings)
                finally:
                    source.close()
            except OutreachError as exc:
                log.error("sync after new mail failed: %s", exc)
                continue
            self.runs += 1
            log.info("synced after new mail in %s: %d new", ", ".join(folders), report.stored)
            if self.emit_events and report.stored:
                _emit_mail_received(folders, report.stored)


def _emit_mail_received(folders: list[str], stored: int) -> None:
    """``outreach.mail.received`` for the detect deployment's trigger (prefect.yaml)."""
    from prefect.events import emit_event

    for name in folders or ["INBOX"]:
        emit_event(
            event="outreach.mail.received",
            resource={"prefect.resource.id": f"outreach.mailbox.{name}", "prefect.resource.name": name},
            payload={"stored": stored},
        )
