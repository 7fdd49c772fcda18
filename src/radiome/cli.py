"""The ``radiome`` command line: a thin face over the Python API.

Every command is one call of a public function. Errors print one line
(``radiome: error: FILE: what is wrong``) and exit non-zero; nothing prints a traceback unless
``RADIOME_DEBUG=1`` is set. Heavy imports happen inside the commands so ``--help`` is fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app", "main"]

app = typer.Typer(
    name="radiome",
    help="IBSI-exact radiomics: from images and masks to trustworthy quantitative biomarkers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
spec_app = typer.Typer(help="Inspect measurand specs.", no_args_is_help=True)
app.add_typer(spec_app, name="spec")

ImageArg = Annotated[Path, typer.Argument(help="Volume file (NIfTI, NRRD, MHA) or DICOM folder.")]
MaskArg = Annotated[Path, typer.Argument(help="Label map, DICOM RTSTRUCT or DICOM SEG.")]
SpecOpt = Annotated[
    Path | None, typer.Option("--spec", help="Spec YAML; default: the modality's default spec.")
]
RoiOpt = Annotated[
    str | None, typer.Option("--roi", help="Label value or structure/segment name.")
]
ModalityOpt = Annotated[
    str | None,
    typer.Option("--modality", help="CT, MR or PT for files that do not record it (NIfTI, NRRD)."),
]
SeriesOpt = Annotated[
    str | None,
    typer.Option("--series", help="DICOM folder with several series: UID, number or description."),
]


def _load_image(image: Path, modality: str | None, series: str | None):
    from radiome.io import load_volume

    return load_volume(image, series=series, modality=modality)


@app.command()
def extract(
    image: ImageArg,
    mask: MaskArg,
    spec: SpecOpt = None,
    roi: RoiOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output .csv or .parquet (default: stdout).")
    ] = None,
    case_id: Annotated[str | None, typer.Option("--case-id", help="Value of case_id.")] = None,
    modality: ModalityOpt = None,
    series: SeriesOpt = None,
) -> None:
    """Compute the spec's features of one image and ROI as a long feature table."""
    import radiome
    from radiome.table import write_table

    volume = _load_image(image, modality, series)
    table = radiome.extract(volume, mask, spec=spec, roi=roi, case_id=case_id)
    if out is None:
        table.to_csv(sys.stdout, index=False, float_format="%.17g")
        return
    write_table(table, out)
    typer.echo(f"{len(table)} feature values written to {out}", err=True)


@spec_app.command("show")
def spec_show(
    spec: Annotated[Path | None, typer.Argument(help="Spec YAML (omit for a default).")] = None,
    modality: Annotated[
        str, typer.Option("--modality", help="Default spec of CT, MR or PT.")
    ] = "CT",
) -> None:
    """Print the resolved spec (every default filled in) and its hash."""
    from radiome.spec import load_spec

    resolved = load_spec(spec, modality=modality)
    typer.echo(f"# spec_hash: {resolved.hash}")
    typer.echo(resolved.to_yaml(), nl=False)


@app.command("ibsi-check")
def ibsi_check(
    image: ImageArg,
    mask: MaskArg,
    spec: Annotated[Path, typer.Option("--spec", help="Spec reproducing the reference setting.")],
    reference: Annotated[Path, typer.Option("--reference", help="IBSI reference-value CSV.")],
    roi: RoiOpt = None,
    modality: ModalityOpt = None,
) -> None:
    """Compare radiome with an IBSI reference table: matched/total per family and mismatches."""
    from rich.console import Console
    from rich.table import Table

    import radiome
    from radiome.ibsi import compare, load_reference, summarise

    ref = load_reference(reference)
    volume = _load_image(image, modality, None)
    comparison = compare(radiome.extract(volume, mask, spec=spec, roi=roi), ref)
    console = Console()
    summary = Table(title=f"IBSI compliance: {reference.name}")
    for column in ("family", "matched", "total"):
        summary.add_column(column, justify="left" if column == "family" else "right")
    for row in summarise(comparison).itertuples(index=False):
        summary.add_row(row.family, str(row.matched), str(row.total))
    console.print(summary)
    bad = comparison[comparison["status"].isin(["mismatch", "missing"])]
    if len(bad):
        detail = Table(title="mismatches")
        for column in ("feature", "aggregation", "ibsi_code", "got", "reference", "tolerance"):
            detail.add_column(column)
        for row in bad.itertuples(index=False):
            detail.add_row(row.feature, row.aggregation, row.ibsi_code, f"{row.got:.6g}",
                           f"{row.value:.6g}", f"{row.tolerance:.3g}")
        console.print(detail)
    matched = int((comparison["status"] == "match").sum())
    scored = int((comparison["status"] != "no reference").sum())
    console.print(f"{matched}/{scored} reference values matched")
    if matched != scored:
        raise typer.Exit(1)


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the synthetic cohort and its features.")
    ] = Path("radiome_demo"),
    cases: Annotated[int, typer.Option("--cases", min=1, help="Number of synthetic cases.")] = 6,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the cohort.")] = 0,
) -> None:
    """Write a small synthetic CT cohort, extract its features and show a summary."""
    from radiome.demo import run_demo

    run_demo(out, n_cases=cases, seed=seed)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; turn radiome errors into one line on stderr and an exit code."""
    from radiome.errors import RadiomeError

    try:
        result = app(args=argv, prog_name="radiome", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        typer.echo("radiome: aborted", err=True)
        return 130
    except typer.TyperException as exc:  # usage errors: bad or missing arguments
        exc.show()
        return getattr(exc, "exit_code", 2)
    except RadiomeError as exc:
        typer.echo(f"radiome: error: {exc}", err=True)
        return 1
    except OSError as exc:
        if os.environ.get("RADIOME_DEBUG") == "1":
            raise
        typer.echo(f"radiome: error: {exc}", err=True)
        return 1
    except Exception as exc:
        if os.environ.get("RADIOME_DEBUG") == "1":
            raise
        typer.echo(
            f"radiome: internal error: {type(exc).__name__}: {exc} "
            "(please report it; RADIOME_DEBUG=1 shows the traceback)",
            err=True,
        )
        return 3
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
