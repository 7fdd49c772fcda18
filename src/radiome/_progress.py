"""Progress of long commands: a rich bar on stderr when it is a terminal, silence otherwise."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["Advance", "progress"]

Advance = Callable[..., None]


@contextlib.contextmanager
def progress(
    description: str, total: float | None = None, *, console: Console | None = None
) -> Iterator[Advance]:
    """Show a progress bar on stderr while the block runs; yield the function that moves it.

    Parameters
    ----------
    description : str
        What is being done, shown before the bar.
    total : float, optional
        Number of steps; None for an open-ended task (the bar pulses).
    console : rich Console, optional
        Where to draw (default: a console on stderr).

    Yields
    ------
    advance : callable
        ``advance(steps=1, *, total=None, description=None, status=None)`` moves the bar by
        ``steps`` and, when given, sets its total, the text before it or the text after it.

    Notes
    -----
    A spinner and the elapsed time keep moving during a long step, so nothing looks stalled.
    When the console is not a terminal (a pipe, a file, a test's capture) nothing is drawn
    and ``advance`` does nothing, so only a command's results reach its output. The bar is
    removed when the block ends. Output written to stdout meanwhile goes above the bar when
    stdout is a terminal too, and straight to stdout otherwise (so pipes get only the data).
    """
    if console is None:
        from rich.console import Console

        console = Console(stderr=True)
    if not console.is_terminal:
        yield _quiet
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               MofNCompleteColumn(), TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True,
                  redirect_stdout=sys.stdout.isatty()) as bar:
        task = bar.add_task(description, total=total, status="")

        def advance(steps: float = 1, *, total: float | None = None,
                    description: str | None = None, status: str | None = None) -> None:
            changes = {"total": total, "description": description, "status": status}
            bar.update(task, advance=steps, **{k: v for k, v in changes.items() if v is not None})

        yield advance


def _quiet(steps: float = 1, *, total: float | None = None, description: str | None = None,
           status: str | None = None) -> None:
    """The ``advance`` of a progress bar that is not drawn."""
