"""Reliability commands of the ``radiome`` CLI: ``agreement`` and ``icc`` (mounted by radiome.cli).

Each command is one call of a public function of :mod:`radiome.reliability`; heavy imports
happen inside the commands. Errors are :class:`~radiome.errors.RadiomeError` subclasses that the
top-level CLI prints as one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

__all__ = ["app"]

app = typer.Typer(
    help="Reliability: segmentation agreement and intraclass correlation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command()
def agreement(
    mask_a: Annotated[Path, typer.Argument(help="Reference mask: label map, RTSTRUCT or SEG.")],
    mask_b: Annotated[Path, typer.Argument(help="Compared mask, on the same grid.")],
    roi_a: Annotated[
        str | None, typer.Option("--roi-a", help="Label value or structure name in MASK_A.")
    ] = None,
    roi_b: Annotated[
        str | None, typer.Option("--roi-b", help="Label value or structure name in MASK_B.")
    ] = None,
    image: Annotated[
        Path | None,
        typer.Option("--image", help="The image both masks belong to (needed for RTSTRUCT)."),
    ] = None,
    tolerance: Annotated[
        float, typer.Option("--tolerance", min=0.0, help="Surface Dice tolerance in mm.")
    ] = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """Dice, Jaccard, volume difference and surface distances (mm) of two segmentations."""
    from radiome.io import load_mask, load_volume
    from radiome.reliability import agreement as compute_agreement

    reference = load_volume(image) if image is not None else None
    a = load_mask(mask_a, roi=roi_a, reference=reference)
    b = load_mask(mask_b, roi=roi_b, reference=reference)
    result = compute_agreement(a, b, tolerance_mm=tolerance)
    if as_json:
        typer.echo(json.dumps(result))
        return
    labels = {
        "dice": "Dice",
        "jaccard": "Jaccard",
        "volume_diff_mm3": "volume B - A (mm³)",
        "volume_diff_rel": "volume (B - A) / A",
        "hd_mm": "Hausdorff (mm)",
        "hd95_mm": "HD95, pooled (mm)",
        "assd_mm": "ASSD (mm)",
        "surface_dice": f"surface Dice at {tolerance:g} mm",
    }
    values = dict(result)
    for key, label in labels.items():
        typer.echo(f"{label:<26} {values[key]:.6g}")


@app.command()
def icc(
    table: Annotated[Path, typer.Argument(help="CSV with one row per rating.")],
    subject: Annotated[str, typer.Option("--subject", help="Subject column.")] = "subject",
    rater: Annotated[str, typer.Option("--rater", help="Rater (or timepoint) column.")] = "rater",
    value: Annotated[str, typer.Option("--value", help="Rating column.")] = "value",
    missing: Annotated[
        Literal["raise", "drop"],
        typer.Option("--missing", help="Subjects lacking a rating: raise an error or drop them."),
    ] = "raise",
    confidence: Annotated[
        float, typer.Option("--confidence", min=0.5, max=0.999, help="CI level.")
    ] = 0.95,
    as_json: JsonOpt = False,
) -> None:
    """The six Shrout–Fleiss ICC forms with F-tests and confidence intervals."""
    import pandas as pd

    from radiome.errors import MissingFileError, UnreadableFileError
    from radiome.reliability import icc as compute_icc

    if not table.is_file():
        msg = f"{table}: ratings table does not exist"
        raise MissingFileError(msg)
    try:
        data = pd.read_csv(table)
    except (OSError, ValueError) as exc:
        msg = f"{table}: cannot read the ratings CSV: {exc}"
        raise UnreadableFileError(msg) from exc
    result = compute_icc(
        data, subject=subject, rater=rater, value=value, missing=missing, confidence=confidence
    )
    if as_json:
        typer.echo(result.to_json(orient="records"))
        return
    shown = result[["form", "mcgraw_wong", "icc", "ci_low", "ci_high", "f", "p_value"]]
    typer.echo(
        f"{int(result['n_subjects'].iloc[0])} subjects x {int(result['n_raters'].iloc[0])} "
        f"raters; {confidence:.0%} confidence intervals"
    )
    typer.echo(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
