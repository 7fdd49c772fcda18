"""``radiome delta``: delta-radiomics from the feature store, judged against measurement noise.

Mounted by :mod:`radiome.cli` as a top-level command. It reads the stored features with their
``patient`` and ``timepoint`` labels, the scan dates of the manifest (``date`` column) and the
features' repeatability from repeat scans, and is one call of
:func:`radiome.analysis.delta_features`. Heavy imports happen inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

_KINDS = "absolute,relative,log_ratio,per_day,slope"


@app.command()
def delta(
    store: Annotated[str, typer.Option("--store", help="Database URL: sqlite:///file.db or "
                                       "postgresql+psycopg://...")],
    baseline: Annotated[str, typer.Option("--baseline", help="Time point label of the baseline.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Delta table (.csv or .parquet).")],
    followup: Annotated[
        str | None,
        typer.Option("--followup", help="Follow-up time point (default: each patient's last)."),
    ] = None,
    retest: Annotated[
        list[str] | None,
        typer.Option("--retest", help="Time point label of same-day repeat scans of the "
                     "baseline (repeatable). Several cases of one patient at one time point are "
                     "repeat scans anyway."),
    ] = None,
    retest_store: Annotated[
        str | None,
        typer.Option("--retest-store", help="Store of a separate test-retest study of the same "
                     "spec (each patient's time points are its repeat scans) to take the RC from."),
    ] = None,
    dates: Annotated[
        Path | None,
        typer.Option("--dates", help="CSV of scan dates: date (or days) per case_id, or per "
                     "patient and timepoint; default: the date column of the manifests the "
                     "store's runs of this spec read, when they have one."),
    ] = None,
    spec_hash: Annotated[
        str | None, typer.Option("--spec-hash", help="Features of this spec (default: latest run).")
    ] = None,
    roi: Annotated[str | None, typer.Option("--roi", help="Only this ROI.")] = None,
    kinds: Annotated[str, typer.Option("--kinds", help="Comma-separated delta kinds.")] = _KINDS,
    wide: Annotated[
        bool, typer.Option("--wide", help="Write one row per patient and ROI, one column per "
                           "delta feature (delta_<kind>__<feature>), for `radiome model`.")
    ] = False,
    rc_out: Annotated[
        Path | None,
        typer.Option("--rc-out", help="Write the repeatability table (RC with its CI, wCV)."),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a waterfall plot (PNG) with the RC band.")
    ] = None,
    plot_feature: Annotated[
        str, typer.Option("--plot-feature", help="Feature of the plot (wide column name).")
    ] = "morph_volume",
    plot_kind: Annotated[str, typer.Option("--plot-kind", help="Delta kind of the plot.")] = (
        "relative"),
) -> None:
    """Per-patient feature changes between time points, each flagged against its RC.

    Columns: patient, roi, filter, feature, aggregation, delta_kind (absolute, relative,
    log_ratio, per_day, slope), value, rc, exceeds_rc (|value| > rc; empty without an RC).
    """
    from radiome._output import TABLE_EXTENSIONS, check_output, written
    from radiome._progress import progress
    from radiome.analysis.delta import delta_features, delta_wide
    from radiome.cohort import FeatureStore
    from radiome.reliability.cli import _spec_hash
    from radiome.table import write_table

    check_output(out, TABLE_EXTENSIONS, "delta table")
    if rc_out is not None:
        check_output(rc_out, TABLE_EXTENSIONS, "repeatability table")
    if plot is not None:
        check_output(plot, (".png",), "waterfall plot")
    feature_store = FeatureStore(store)
    with progress("reading the store") as advance:
        chosen = _spec_hash(feature_store, spec_hash)
        table = _features(feature_store, chosen, roi)
        date_table = _dates(dates, feature_store, chosen)
        advance(0, description="repeatability")
        rc_table = _repeatability(table, retest_store, chosen, baseline, retest or ())
        advance(0, description="deltas (slopes per feature)")
        deltas = delta_features(table, baseline=baseline, followup=followup,
                                retest=retest or (), repeatability=rc_table, dates=date_table,
                                kinds=[k.strip() for k in kinds.split(",") if k.strip()],
                                on_progress=lambda _done, total: advance(total=total))
    result = delta_wide(deltas).assign(spec_hash=chosen) if wide else deltas
    with written(out, "delta table") as partial:
        write_table(result, partial)
    if rc_out is not None and rc_table is not None:
        with written(rc_out, "repeatability table") as partial:
            write_table(rc_table, partial)
    if plot is not None:
        from radiome.analysis.plots import delta_waterfall

        from radiome.errors import AnalysisError

        with written(plot, "waterfall plot") as partial:
            try:
                delta_waterfall(deltas, partial, feature=plot_feature, kind=plot_kind)
            except AnalysisError as exc:
                raise AnalysisError(f"{plot}: not written: {exc}") from None
    _report(deltas, rc_table, baseline=baseline, followup=followup, spec=chosen, out=out,
            rc_out=rc_out, plot=plot, rows=len(result))


def _features(feature_store, spec: str, roi: str | None):
    """The stored features of ``spec`` with patient and timepoint labels (one ROI if given)."""
    from radiome.errors import AnalysisError

    table = feature_store.features(spec_hash=spec, labels=["patient", "timepoint"])
    if table.empty:
        msg = f"{feature_store.url}: no stored features for spec {spec}"
        raise AnalysisError(msg)
    if roi is not None:
        found = sorted(table["roi"].unique())
        table = table.loc[table["roi"] == roi]
        if table.empty:
            msg = f"{feature_store.url}: no ROI {roi!r} among the stored ROIs {found[:8]}"
            raise AnalysisError(msg)
    return table


def _dates(path: Path | None, feature_store, spec: str):
    """Scan dates from --dates, else from the manifests of the store's runs (None: no dates)."""
    import pandas as pd

    from radiome.errors import AnalysisError, MissingFileError, UnreadableFileError

    if path is None:
        runs = feature_store.runs()
        found = [Path(m) for m in runs.loc[runs["spec_hash"] == spec, "manifest"].dropna()
                 .unique() if Path(m).is_file()]
        tables = [t for t in map(_read_csv, found) if t is not None and
                  {"case_id"} <= set(t.columns) and ({"date", "days"} & set(t.columns))]
        if not tables:
            return None
        typer.echo(f"scan dates from {', '.join(str(p) for p in found)}", err=True)
        return pd.concat(tables, ignore_index=True)
    if not path.is_file():
        msg = f"{path}: dates table does not exist"
        raise MissingFileError(msg)
    table = _read_csv(path)
    if table is None:
        msg = f"{path}: cannot read the dates table as CSV"
        raise UnreadableFileError(msg)
    keys_ok = "case_id" in table.columns or {"patient", "timepoint"} <= set(table.columns)
    if not ({"date", "days"} & set(table.columns)) or not keys_ok:
        msg = (f"{path}: the dates table needs a date (or days) column and case_id, or patient "
               f"and timepoint; it has {', '.join(map(str, table.columns[:8]))}")
        raise AnalysisError(msg)
    return table


def _read_csv(path: Path):
    """A CSV read as text (None when unreadable)."""
    import pandas as pd

    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def _repeatability(table, retest_store: str | None, spec: str, baseline: str, retest):
    """The RC table: of a separate test-retest store, or of the repeat scans in ``table``."""
    from radiome.analysis.delta import delta_repeatability
    from radiome.cohort import FeatureStore
    from radiome.errors import AnalysisError
    from radiome.reliability import feature_repeatability

    if retest_store is None:
        return delta_repeatability(table, baseline=baseline, retest=retest)
    other = FeatureStore(retest_store).features(spec_hash=spec, labels=["patient", "timepoint"])
    other = other.loc[other["patient"].notna() & other["timepoint"].notna()]
    if other.empty:
        msg = (f"{retest_store}: no test-retest features of spec {spec} with patient and "
               "timepoint labels")
        raise AnalysisError(msg)
    subject = other.groupby(["patient", "roi"]).ngroup()
    return feature_repeatability(other.assign(_subject=subject), subject="_subject",
                                 by="timepoint")


def _report(deltas, rc_table, *, baseline, followup, spec, out, rc_out, plot, rows) -> None:
    """What was computed: patients, the RC's source, deltas beyond noise, files written."""
    to = f"{followup!r}" if followup else "each patient's last time point"
    n_patients = deltas[["patient", "roi"]].drop_duplicates().shape[0]
    typer.echo(f"deltas {baseline!r} -> {to}, spec {spec}: {n_patients} patient/ROI pair(s), "
               f"{deltas['feature'].nunique()} feature(s), kinds "
               f"{', '.join(dict.fromkeys(deltas['delta_kind']))}")
    if rc_table is not None:
        usable = rc_table.loc[rc_table["rc"].notna()]
        subjects = int(usable["n_subjects"].max()) if len(usable) else 0
        absolute = deltas.loc[deltas["delta_kind"] == "absolute", "exceeds_rc"].dropna()
        typer.echo(f"RC of {len(usable)} feature(s) from {subjects} repeat-scanned subject(s); "
                   f"{int(absolute.sum())} of {len(absolute)} absolute deltas exceed their RC")
    else:
        typer.echo("no RC (no repeat scans): rc is empty and exceeds_rc unknown")
    typer.echo(f"{rows} row(s) written to {out}")
    if rc_out is not None:
        typer.echo(f"repeatability table: {rc_out}" if rc_table is not None
                   else f"repeatability table: {rc_out} not written (no repeat scans)")
    if plot is not None:
        typer.echo(f"waterfall plot: {plot}")
