"""``radiome model``: evaluate, fit and apply the default leak-free pipeline on a feature table.

Mounted by ``radiome.cli`` as ``radiome model``. Each command is one call of a function of
:mod:`radiome.analysis.workflow`; bad input raises a :class:`~radiome.errors.RadiomeError`, which
the main CLI prints as one line. Heavy imports happen inside the commands. Work that takes more
than a moment shows a progress bar or spinner on stderr when it is a terminal (none in pipes).
"""

from __future__ import annotations

import json
import math
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

import typer

__all__ = ["app"]

app = typer.Typer(
    help="Validate and apply radiomic models (nested CV, no leakage).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

FeaturesArg = Annotated[
    Path, typer.Argument(help="Wide CSV (one row per case) or long radiome feature table.")
]
IdOpt = Annotated[str, typer.Option("--id", help="ID column (also of the clinical CSV).")]
OutcomeOpt = Annotated[
    str | None, typer.Option("--outcome", help="Binary outcome column (0/1 or True/False).")
]
TimeOpt = Annotated[str | None, typer.Option("--time", help="Survival: follow-up time column.")]
EventOpt = Annotated[
    str | None, typer.Option("--event", help="Survival: event column (1 = event).")
]
SiteOpt = Annotated[
    str | None, typer.Option("--site", help="Site/scanner column: ComBat inside the pipeline.")
]
GroupOpt = Annotated[
    str | None, typer.Option("--group", help="Patient column when rows are lesions (grouped CV).")
]
ClinicalOpt = Annotated[
    Path | None, typer.Option("--clinical", help="Clinical CSV joined on the ID column.")
]
IccOpt = Annotated[
    Path | None,
    typer.Option("--icc", help="ICC table (feature, icc, ci_low, ci_high): keep stable features."),
]
MinIccOpt = Annotated[
    float, typer.Option("--min-icc", help="Stable if the ICC's lower 95% bound reaches this.")
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of every split and bootstrap.")]
SearchOpt = Annotated[
    Literal["ensemble", "models", "linear"],
    typer.Option("--search", help="Binary outcome: average an L2 logistic regression, a random "
                 "forest and extra trees (ensemble); let the inner CV choose among 22 model "
                 "families and feature counts (models); or tune an L2 logistic regression only "
                 "(linear, fast)."),
]
MaxMissingOpt = Annotated[
    float,
    typer.Option(
        "--max-missing",
        min=0.0,
        max=1.0,
        help="Drop a feature missing (empty, NaN, inf) in more than this share of cases; the "
        "other missing values are imputed (training median) inside each fold.",
    ),
]


def _cohort(features, id_col, outcome, time, event, site, group, clinical, max_missing):
    from radiome.analysis.tables import load_cohort

    return load_cohort(
        features,
        id_col=id_col,
        outcome=outcome,
        time=time,
        event=event,
        site=site,
        group=group,
        clinical=clinical,
        max_missing=max_missing,
    )


@contextmanager
def _fold_progress():
    """A ``progress(done, total)`` callback moving a bar of the outer folds (terminals only)."""
    from radiome._progress import progress

    with progress("outer CV folds") as advance:

        def on_fold(done: int, total: int) -> None:
            advance(1 if done else 0, total=total,
                    description="bootstrap CIs" if done == total else None)

        yield on_fold


def _shown(value) -> str:
    """A summary value as printed: floats to 4 digits, lists as a count and a few names."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return f"{len(value)}" + (f" ({', '.join(map(str, value[:5]))}"
                                  f"{', ...' if len(value) > 5 else ''})" if value else "")
    if isinstance(value, dict):
        return f"{', '.join(map(str, value))} (see --json)"
    return str(value)


def _icc(path: Path | None):
    if path is None:
        return None
    from radiome.analysis.tables import read_icc

    return read_icc(path)


@app.command()
def evaluate(
    features: FeaturesArg,
    id_col: IdOpt,
    outcome: OutcomeOpt = None,
    time: TimeOpt = None,
    event: EventOpt = None,
    site: SiteOpt = None,
    group: GroupOpt = None,
    clinical: ClinicalOpt = None,
    icc: IccOpt = None,
    min_icc: MinIccOpt = 0.75,
    max_missing: MaxMissingOpt = 0.2,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Outer folds.")] = 5,
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="Outer repeats.")] = 5,
    n_boot: Annotated[int, typer.Option("--n-boot", min=100, help="Bootstrap resamples.")] = 1000,
    seed: SeedOpt = 0,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Parallel outer folds.")] = 1,
    search: SearchOpt = "ensemble",
    plots: Annotated[
        Path | None, typer.Option("--plots", help="Folder for ROC/calibration or KM PNGs.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Write the metrics as JSON.")] = False,
    modalities: Annotated[
        str | None,
        typer.Option("--modalities", help="Fusion: NAME=PATTERN groups of columns "
                     "(CT=CT_*,PET=PET_*) or a YAML file of them; each modality alone, early "
                     "and late fusion in one nested CV, with paired DeLong tests."),
    ] = None,
) -> None:
    """Nested, repeated, stratified CV of the default pipeline: AUC or C-index with 95% CIs.

    The CIs are percentile bootstraps over cases (patients with --group) of the metric averaged
    over the repeats; the same interval is printed, written by --json and drawn on the ROC plot.
    With --modalities: AUCs of every modality alone, of early fusion (all their columns) and of
    late fusion (stacking on inner out-of-fold predictions; ``late_mean``: averaged
    probabilities), on the same outer folds.
    """
    from radiome.analysis.workflow import evaluate as run

    cohort = _cohort(features, id_col, outcome, time, event, site, group, clinical, max_missing)
    if modalities is not None:
        _fusion(cohort, modalities, folds, repeats, n_boot, seed, jobs, search, as_json)
        return
    with _fold_progress() as progress:
        summary, _ = run(
            cohort,
            reliability=_icc(icc),
            min_icc=min_icc,
            n_splits=folds,
            n_repeats=repeats,
            n_boot=n_boot,
            random_state=seed,
            n_jobs=jobs,
            search=search,
            plots=plots,
            progress=progress,
        )
    if as_json:
        clean = {
            k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in summary.items()
        }
        json.dump(clean, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    headline = "auc" if cohort.task == "binary" else "c_index"
    typer.echo(
        f"{headline} {summary[headline]:.3f} ({summary[headline + '_ci_low']:.3f}-"
        f"{summary[headline + '_ci_high']:.3f}; {summary['ci_method']}), n = {summary['n']}, "
        f"{summary['n_repeats']} x {summary['n_splits']}-fold nested CV"
    )
    for key, value in summary.items():
        if key not in (headline, f"{headline}_ci_low", f"{headline}_ci_high", "ci_method"):
            typer.echo(f"  {key}: {_shown(value)}")


def _fusion(cohort, modalities, folds, repeats, n_boot, seed, jobs, search, as_json) -> None:
    """Run and print ``evaluate --modalities``."""
    from radiome.analysis.fusion import evaluate_fusion, read_modalities

    with _fold_progress() as progress:
        summary, _ = evaluate_fusion(cohort, read_modalities(modalities), n_splits=folds,
                                     n_repeats=repeats, n_boot=n_boot, random_state=seed,
                                     n_jobs=jobs, search=search, progress=progress)
    if as_json:
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    typer.echo(f"n = {summary['n']}, {summary['n_repeats']} x {summary['n_splits']}-fold nested "
               f"CV; {summary['ci_method']}")
    for name, v in summary["fusion"].items():
        columns = summary["modalities"].get(name)
        what = f"{columns} columns" if columns else "fused"
        typer.echo(f"  {name:10s} auc {v['auc']:.3f} ({v['auc_ci_low']:.3f}-"
                   f"{v['auc_ci_high']:.3f}), {what}")
    typer.echo(f"paired DeLong tests ({summary['delong_method']}):")
    for t in summary["delong"]:
        typer.echo(f"  {t['a']} vs {t['b']}: difference {t['diff']:+.3f}, p = {t['p']:.3g}")


@app.command()
def fit(
    features: FeaturesArg,
    id_col: IdOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Model file to write (.joblib).")],
    outcome: OutcomeOpt = None,
    time: TimeOpt = None,
    event: EventOpt = None,
    site: SiteOpt = None,
    group: GroupOpt = None,
    clinical: ClinicalOpt = None,
    icc: IccOpt = None,
    min_icc: MinIccOpt = 0.75,
    max_missing: MaxMissingOpt = 0.2,
    seed: SeedOpt = 0,
    search: SearchOpt = "ensemble",
) -> None:
    """Tune (inner CV) and fit the default pipeline on all cases; save it with its provenance.

    The model file records the feature names, the spec hash and the software that computed the
    training features; `radiome model predict` checks them.
    """
    from radiome._progress import progress
    from radiome.analysis.search import model_label
    from radiome.analysis.workflow import fit_model, save_model

    cohort = _cohort(features, id_col, outcome, time, event, site, group, clinical, max_missing)
    with progress("tuning and fitting the model"):
        pipeline = fit_model(cohort, reliability=_icc(icc), min_icc=min_icc, random_state=seed,
                             search=search)
    save_model(pipeline, out, spec_hash=cohort.spec_hash, software=cohort.software)
    typer.echo(
        f"{cohort.task} model on {len(cohort.X)} cases and {cohort.X.shape[1]} features "
        f"(chosen: {model_label(pipeline.best_params_)}) written to {out}",
        err=True,
    )


@app.command()
def predict(
    model: Annotated[Path, typer.Argument(help="Model file written by `radiome model fit`.")],
    features: FeaturesArg,
    id_col: IdOpt,
    site: SiteOpt = None,
    clinical: ClinicalOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output CSV (default: stdout).")
    ] = None,
) -> None:
    """Apply a saved model: risk and predicted class/group per case.

    The spec hash must match the model's; a warning says when the software that computed the
    features differs from the one that computed the training features.
    """
    from radiome.analysis.tables import load_features
    from radiome.analysis.workflow import load_model
    from radiome.analysis.workflow import predict as run

    saved = load_model(model)
    data = load_features(features, id_col=id_col, clinical=clinical)
    table = data.table
    batch = None
    if site is not None:
        if site not in table.columns:
            from radiome.errors import AnalysisError

            msg = f"{features}: site column {site!r} not found"
            raise AnalysisError(msg)
        batch = table[site].astype(str).to_numpy()
    predictions = run(saved, table, spec_hash=data.spec_hash, software=data.software,
                      batch=batch)
    if out is None:
        predictions.to_csv(sys.stdout, index_label=id_col)
    else:
        predictions.to_csv(out, index_label=id_col)
        typer.echo(f"{len(predictions)} predictions written to {out}", err=True)
