"""Reliability commands of the ``radiome`` CLI (mounted by radiome.cli).

``agreement`` and ``icc`` work on files; ``reliability`` and ``perturb`` on the feature store.

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

    from radiome._progress import progress
    from radiome.errors import MissingFileError, ReliabilityError, UnreadableFileError
    from radiome.reliability import icc as compute_icc

    if not table.exists():
        msg = f"{table}: ratings table does not exist"
        raise MissingFileError(msg)
    with progress(f"reading {table.name}") as advance:
        try:
            data = pd.read_csv(table)
        except (OSError, ValueError) as exc:
            msg = f"{table}: cannot read the ratings CSV ({' '.join(str(exc).split())})"
            raise UnreadableFileError(msg) from None
        advance(0, description="ICC")
        try:
            result = compute_icc(data, subject=subject, rater=rater, value=value,
                                 missing=missing, confidence=confidence)
        except ReliabilityError as exc:
            raise ReliabilityError(f"{table}: {exc}") from None
    if as_json:
        records = result.astype(object).where(result.notna(), None).to_dict(orient="records")
        typer.echo(json.dumps(records))
        return
    shown = result[["form", "mcgraw_wong", "icc", "ci_low", "ci_high", "f", "p_value"]]
    typer.echo(
        f"{int(result['n_subjects'].iloc[0])} subjects x {int(result['n_raters'].iloc[0])} "
        f"raters; {confidence:.0%} confidence intervals"
    )
    typer.echo(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


StoreOpt = Annotated[
    str, typer.Option("--store", help="Database URL: sqlite:///file.db or postgresql+psycopg://...")
]
MinIccOpt = Annotated[
    float, typer.Option("--min-icc", min=0.0, max=1.0, help="ICC a stable feature reaches.")
]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Write the ICC table (.csv or .parquet).")
]
PlotOpt = Annotated[Path | None, typer.Option("--plot", help="Write the sorted ICC plot (PNG).")]


def _check_outputs(out: Path | None, plot: Path | None) -> None:
    """Fail on a bad --out or --plot before the work, not after it."""
    from radiome._output import TABLE_EXTENSIONS, check_output

    if out is not None:
        check_output(out, TABLE_EXTENSIONS, "ICC table")
    if plot is not None:
        check_output(plot, (".png",), "ICC plot")


def _report(table, *, what: str, min_icc: float, out: Path | None, plot: Path | None) -> None:
    from radiome._output import written
    from radiome.errors import ReliabilityError
    from radiome.reliability import plot_icc
    from radiome.table import write_table

    passing = int(table["passes"].sum())
    typer.echo(f"{what}: {passing}/{len(table)} features with ICC lower bound >= {min_icc:g}")
    shown = table.sort_values("icc")[["feature", "icc", "ci_low", "ci_high", "n_subjects",
                                      "passes"]]
    typer.echo(shown.head(10).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if out is not None:
        with written(out, "ICC table") as partial:
            write_table(table, partial)
        typer.echo(f"ICC table: {out}")
    if plot is not None:
        with written(plot, "ICC plot") as partial:
            try:
                plot_icc(table, partial, min_icc=min_icc)
            except ReliabilityError as exc:
                raise ReliabilityError(f"{plot}: not written: {exc}") from None
        typer.echo(f"ICC plot: {plot}")


def _spec_hash(store, given: str | None) -> str:
    from radiome.errors import ReliabilityError

    if given is not None:
        return given
    runs = store.runs()
    if runs.empty:
        msg = f"{store.url}: the store holds no run; run `radiome batch` first"
        raise ReliabilityError(msg)
    return str(runs["spec_hash"].iloc[-1])


@app.command()
def reliability(
    store: StoreOpt,
    by: Annotated[
        Literal["timepoint", "rater"],
        typer.Option("--by", help="What repeats for each patient: timepoint (test-retest) or rater."),
    ],
    min_icc: MinIccOpt = 0.75,
    form: Annotated[
        Literal["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"],
        typer.Option("--form", help="Shrout–Fleiss form (ICC2: two-way random, agreement)."),
    ] = "ICC2",
    spec_hash: Annotated[
        str | None, typer.Option("--spec-hash", help="Features of this spec (default: latest run).")
    ] = None,
    out: OutOpt = None,
    plot: PlotOpt = None,
) -> None:
    """Per-feature ICC of a test-retest or multi-rater study in the store; stored back."""
    from radiome._progress import progress
    from radiome.cohort import FeatureStore
    from radiome.errors import ReliabilityError
    from radiome.reliability import feature_icc

    _check_outputs(out, plot)
    feature_store = FeatureStore(store)
    with progress("reading the store") as advance:
        chosen = _spec_hash(feature_store, spec_hash)
        table = feature_store.features(spec_hash=chosen, labels=["patient", by])
        if table.empty:
            msg = f"{store}: no stored features for spec {chosen}"
            raise ReliabilityError(msg)
        unlabelled = table["patient"].isna() | (table["patient"] == "") | table[by].isna()
        if unlabelled.any():
            cases = ", ".join(sorted(table.loc[unlabelled, "case_id"].unique())[:5])
            msg = (f"{store}: cases without a patient or {by} label (e.g. {cases}); the "
                   f"manifest's patient and {by} columns say which cases repeat which patient")
            raise ReliabilityError(msg)
        advance(0, description=f"{form} per feature")
        result = feature_icc(table, subject="patient", by=by, form=form, min_icc=min_icc,
                             on_progress=lambda _done, total: advance(total=total))
        feature_store.write_icc(chosen, by, form, min_icc, result)
    _report(result, what=f"{form} by {by}, spec {chosen}", min_icc=min_icc, out=out, plot=plot)


@app.command()
def perturb(
    manifest: Annotated[Path, typer.Argument(help="Manifest CSV (case_id, image, mask, roi, ...).")],
    spec: Annotated[Path, typer.Option("--spec", help="Spec of the features to assess.")],
    store: StoreOpt,
    n: Annotated[int, typer.Option("--n", min=2, help="Perturbed versions per case.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the perturbations.")] = 0,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Local worker processes (default: cores).")
    ] = None,
    min_icc: MinIccOpt = 0.75,
    out: OutOpt = None,
    plot: PlotOpt = None,
) -> None:
    """Robustness to image and contour perturbations: ICC(1,1) per feature over a cohort."""
    import functools

    from radiome._progress import progress
    from radiome.cohort import FeatureStore, read_manifest, run_batch, run_case
    from radiome.errors import ReliabilityError
    from radiome.reliability import feature_icc, perturbed_versions
    from radiome.spec import load_spec

    _check_outputs(out, plot)
    cases = read_manifest(manifest)
    resolved = load_spec(spec)
    feature_store = FeatureStore(store, create=True)
    versions = functools.partial(perturbed_versions, n=n, seed=seed)
    task = functools.partial(run_case, versions=versions, salt=("perturb", n, seed))
    with progress(f"perturbing each case {n} times", len(cases)) as advance:
        summary = run_batch(cases, resolved, feature_store, workers=workers,
                            manifest_name=str(manifest), task=task, perturbed=True,
                            on_progress=lambda s, _case: advance(status=f"{s.failed} failed"))
    typer.echo(f"run {summary.run_id}: {summary.done} case(s) perturbed {n} times, "
               f"{summary.unchanged} already stored, {summary.failed} failed", err=True)
    with progress("reading the store") as advance:
        table = feature_store.features(spec_hash=resolved.hash, labels=["perturbation"],
                                       perturbed=True)
        if table.empty:
            msg = (f"{store}: no perturbed features of spec {resolved.hash} are stored: every "
                   f"case failed; `radiome export --store {store} --errors` says why")
            raise ReliabilityError(msg)
        table["subject"] = table["case_id"] + "/" + table["roi"]
        advance(0, description="ICC1 per feature")
        result = feature_icc(table, subject="subject", by="perturbation", form="ICC1",
                             min_icc=min_icc, missing="drop",
                             on_progress=lambda _done, total: advance(total=total))
        feature_store.write_icc(resolved.hash, "perturbation", "ICC1", min_icc, result)
    _report(result, what=f"ICC1 over {n} perturbations", min_icc=min_icc, out=out, plot=plot)
    if summary.failed:
        raise typer.Exit(1)
