"""``radiome report``: the study report of a feature store as one HTML page.

Mounted by ``radiome.cli``; the command is one call of :func:`radiome.report.write_report`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def report(
    store: Annotated[
        str, typer.Option("--store", help="Database URL: sqlite:///file.db or postgresql+...")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The .html file to write.")],
    model: Annotated[
        list[Path] | None,
        typer.Option("--model", help="JSON of `radiome model evaluate --json` (repeatable)."),
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option("--manifest", help="Manifest locating the images (default: the runs' own)."),
    ] = None,
    ibsi_data: Annotated[
        Path | None,
        typer.Option("--ibsi-data", help="IBSI 1 data folder: check IBSI compliance now."),
    ] = None,
    pictures: Annotated[
        bool, typer.Option("--pictures/--no-pictures", help="Draw the quality pictures.")
    ] = True,
) -> None:
    """Write the study report: cohort, quality, methods, reliability, models, checklists."""
    from radiome.report import write_report

    path = write_report(store, out, models=model or (), manifest=manifest, ibsi_data=ibsi_data,
                        pictures=pictures)
    typer.echo(f"report written to {path}")
