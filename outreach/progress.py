"""A progress bar for long CLI work (backfill sync, report on a large store).

On a terminal: a bar (or a pulse while the total is unknown), the count,
the rate and the time; elsewhere (pipes, CI logs, cron): nothing at all, so
output that is read by programs stays clean.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

__all__ = ["progress_bar"]

Advance = Callable[[int], None]


@contextmanager
def progress_bar(
    label: str, *, total: int | None = None, unit: str = "msg", stream: IO[str] | None = None
) -> Iterator[Advance]:
    """Yield ``advance(n)``; shows a live bar on a terminal and nothing otherwise.

    Args:
        label: What is being done ("Syncing").
        total: Units expected, if known (a bar with an ETA); None: a pulse with the count.
        unit: Unit name shown with the rate ("msg/s").
        stream: Where to draw; default stderr (stdout stays for results and ``--json``).
    """
    out = stream or sys.stderr
    if not out.isatty():
        yield lambda _n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    if total is not None:
        columns.append(TaskProgressColumn())
    columns += [TextColumn("{task.fields[rate]}"), TimeElapsedColumn()]
    if total is not None:
        columns.append(TimeRemainingColumn())
    bar = Progress(*columns, console=Console(file=out), transient=True)
    task = bar.add_task(label, total=total, rate="")
    with bar:

        def advance(n: int) -> None:
            bar.advance(task, n)
            state = bar.tasks[0]
            if state.elapsed:
                bar.update(task, rate=f"{state.completed / state.elapsed:,.0f} {unit}/s")

        yield advance
