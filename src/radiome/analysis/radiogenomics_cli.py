"""``radiome radiogenomics``: image features against genomic variables, adjusted for confounders.

Mounted by :mod:`radiome.cli` as a top-level command. It is one call of
:func:`radiome.analysis.load_radiogenomics` and :func:`radiome.analysis.association_screen`
(and of :func:`radiome.analysis.predict_genomic` per ``--predict`` label); the tables and
figures go into the output folder. Heavy imports happen inside the command.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def radiogenomics(
    features: Annotated[Path, typer.Argument(help="Feature table: wide CSV/Parquet (one row per "
                                             "patient) or long radiome table.")],
    genomics: Annotated[Path, typer.Argument(help="Genomic table (CSV or Parquet): one row per "
                                             "patient; mutations 0/1, expression, signatures.")],
    id_col: Annotated[str, typer.Option("--id", help="Patient ID column of both tables.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    confounders: Annotated[
        str, typer.Option("--confounders", help="Comma-separated columns (of either table) "
                          "adjusted for, e.g. age,sex,site.")
    ] = "",
    fdr: Annotated[
        float, typer.Option("--fdr", min=0.0, max=1.0, help="Benjamini-Hochberg level.")
    ] = 0.05,
    permutations: Annotated[
        int, typer.Option("--permutations", min=0, help="Permutations of the family-wise "
                          "p-value (max statistic); 0 skips it.")
    ] = 0,
    predict: Annotated[
        list[str] | None,
        typer.Option("--predict", help="Genomic label (binary or continuous) to predict from "
                     "the features (nested CV, confounders unpenalised); repeatable."),
    ] = None,
    inner: Annotated[
        bool, typer.Option("--inner", help="Analyse the patients in both tables when some are "
                           "in one only (default: an error).")
    ] = False,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Outer folds.")] = 5,
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="Outer repeats.")] = 5,
    n_boot: Annotated[int, typer.Option("--n-boot", min=100, help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of permutations and splits.")] = 0,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Parallel outer folds.")] = 1,
) -> None:
    """Association screen of every (feature, genomic variable) pair with FDR control.

    Writes OUT/associations.csv (feature, genomic, effect, ci_low, ci_high, p, q, then model,
    n, significant and, with --permutations, p_fwer), OUT/volcano.png and OUT/heatmap.png;
    with --predict LABEL also OUT/prediction_LABEL.json (AUC with CI and calibration, or R^2
    with CI; selected features) and OUT/stability_LABEL.csv (selection frequency over the outer
    folds).
    """
    from radiome._output import check_output, written
    from radiome._progress import progress
    from radiome.analysis.plots import association_heatmap, volcano_plot
    from radiome.analysis.radiogenomics import (
        association_screen,
        load_radiogenomics,
        predict_genomic,
    )

    names = [c.strip() for c in confounders.split(",") if c.strip()]
    csv_path = check_output(out / "associations.csv", (".csv",), "association table")
    data = load_radiogenomics(features, genomics, id_col=id_col, confounders=names, inner=inner)
    with progress("association screen"):
        table = association_screen(data.features, data.genomics, data.confounders,
                                   binary=data.binary, fdr=fdr, n_permutations=permutations,
                                   random_state=seed)
    with written(csv_path, "association table") as partial:
        table.to_csv(partial, index=False)
    volcano_plot(table, out / "volcano.png", fdr=fdr)
    association_heatmap(table, out / "heatmap.png", fdr=fdr)
    hits = table.loc[table["significant"]]
    typer.echo(
        f"{len(data.features)} patients, {data.features.shape[1]} features x "
        f"{data.genomics.shape[1]} genomic variables ({len(data.binary)} binary), adjusted for "
        f"{list(data.confounders.columns) or 'nothing'}: {len(hits)} of {len(table)} pairs with "
        f"q <= {fdr:g} ({hits['feature'].nunique()} features, {hits['genomic'].nunique()} "
        f"genomic variables); written to {out}"
    )
    for label in predict or ():
        with progress(f"nested CV of {label}") as advance:
            summary, stability = predict_genomic(
                data, label, n_splits=folds, n_repeats=repeats, n_boot=n_boot,
                random_state=seed, n_jobs=jobs,
                progress=lambda done, total: advance(1 if done else 0, total=total),
            )
        with written(out / f"stability_{label}.csv", "stability table") as partial:
            stability.to_csv(partial, index=False)
        clean = {k: (None if isinstance(v, float) and math.isnan(v) else v)
                 for k, v in summary.items()}
        with written(out / f"prediction_{label}.json", "prediction summary") as partial:
            partial.write_text(json.dumps(clean, indent=2) + "\n")
        metric = "auc" if "auc" in summary else "r2"
        typer.echo(
            f"{label}: {metric.upper()} {summary[metric]:.3f} ({summary[metric + '_ci_low']:.3f}-"
            f"{summary[metric + '_ci_high']:.3f}), {summary['n_repeats']} x "
            f"{summary['n_splits']}-fold "
            f"nested CV; selected in >= half of the folds: "
            f"{', '.join(summary['selected_features']) or 'none'}"
        )
