"""Build the study report: gather the facts of the store and the analyses, render one page.

The page is self-contained: styles and the one small script are inline, every figure and
picture is a ``data:`` URI, nothing is fetched from the network, so it opens from disk and can
be mailed as one file. Every number that comes from the store or an analysis output is written
as ``<span class="num" data-key=... data-value=...>`` so that it can be traced to its source.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

__all__ = ["collect_study", "write_report"]


def _num(value, key: str, fmt: str = ".3f"):
    """A number of the page: formatted text with its source key and full value as data."""
    from markupsafe import Markup, escape

    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return Markup(f'<span class="num na" data-key="{escape(key)}" data-value="">n/a</span>')
    if isinstance(value, bool):
        value = int(value)
    text = str(value) if isinstance(value, int) else format(float(value), fmt)
    data = str(value) if isinstance(value, int) else repr(float(value))
    return Markup(f'<span class="num" data-key="{escape(key)}" data-value="{data}">'
                  f"{escape(text)}</span>")


def _main_spec(cases: pd.DataFrame, runs: pd.DataFrame) -> str | None:
    """The spec hash of most stored cases (the latest run's when the store has no case)."""
    if len(cases):
        return str(cases["spec_hash"].value_counts().sort_index().idxmax())
    return str(runs["spec_hash"].iloc[-1]) if len(runs) else None


def _flags(cases: pd.DataFrame, warnings: pd.DataFrame) -> dict[tuple[str, str], list[str]]:
    """Why each case deserves a look: failed conformance, radiome warnings."""
    flags: dict[tuple[str, str], list[str]] = {}
    for case in cases.itertuples(index=False):
        if case.conformance == "fail":
            flags.setdefault((case.case_id, case.roi), []).append(
                f"conformance fail: {case.conformance_reasons}")
    for (case_id, roi), rows in warnings.groupby(["case_id", "roi"]):
        flags.setdefault((case_id, roi), []).append(
            f"{len(rows)} warning(s), e.g. {rows['message'].iloc[0]}")
    return flags


def _agreement(inputs, cases: pd.DataFrame) -> dict | None:
    """Dice and HD95 between the first two raters of each patient (None: one rater)."""
    from radiome.errors import RadiomeError
    from radiome.io import load_mask, load_volume
    from radiome.reliability import agreement

    rated = cases[cases["rater"].fillna("") != ""]
    raters = sorted(rated["rater"].unique())
    if len(raters) < 2:
        return None
    where = {(i.case_id, i.roi): i for i in inputs}
    rows, skipped = [], 0
    subject = rated["patient"].fillna(rated["case_id"])
    for patient, group in rated.groupby(subject):
        pair = group[group["rater"].isin(raters[:2])].sort_values("rater")
        files = [where.get((c, r)) for c, r in zip(pair["case_id"], pair["roi"], strict=True)]
        if len(files) != 2 or any(f is None or f.problems for f in files):
            skipped += 1
            continue
        try:
            volume = load_volume(files[0].image, modality=files[0].modality)
            masks = [load_mask(f.mask, roi=f.roi or None, reference=volume) for f in files]
            found = agreement(masks[0], masks[1])
        except RadiomeError:
            skipped += 1
            continue
        rows.append({"patient": patient, "dice": found["dice"], "hd95_mm": found["hd95_mm"]})
    return {"raters": raters[:2], "rows": rows, "skipped": skipped}


def collect_study(store: str, *, models: Iterable[str | Path] = (),
                  manifest: str | Path | None = None, ibsi_data: str | Path | None = None,
                  cache: str | Path | None = None, pictures: bool = True) -> dict:
    """Every fact of the report, from the store at ``store`` and the evaluation JSONs.

    See :func:`write_report` for the parameters; returns the template's context.
    """
    from radiome.cohort import FeatureStore
    from radiome.report import analyses, checklists, methods
    from radiome.report.cohort import (
        cohort_facts,
        plain_cases,
        resolve_inputs,
        thumbnails,
    )
    from radiome.table import to_wide

    feature_store = FeatureStore(store)
    try:
        runs = feature_store.runs()
        all_cases = feature_store.cases()
        errors, warnings = feature_store.errors(), feature_store.warnings()
        spec_hash = _main_spec(all_cases, runs)
        long = feature_store.features(spec_hash=spec_hash,
                                      labels=["patient", "timepoint", "site", "rater"])
        icc = feature_store.icc(spec_hash)
    finally:
        feature_store.close()
    cases = plain_cases(all_cases)
    spec_runs = runs[runs["spec_hash"] == spec_hash] if spec_hash else runs
    spec = spec_runs["spec"].iloc[-1] if len(spec_runs) else None
    software = dict(spec_runs["software"].iloc[-1] or {}) if len(spec_runs) else {}
    inputs, located = resolve_inputs(cases, runs, manifest)
    plain_long = long[~long["roi"].str.contains("#", regex=False)]
    first_rater = sorted(plain_long["rater"].dropna().unique())[:1]
    if first_rater:
        plain_long = plain_long[plain_long["rater"].isin(first_rater)]
    wide = to_wide(plain_long, index=["case_id", "roi"]) if len(plain_long) else pd.DataFrame()
    sites = (plain_long.drop_duplicates(["case_id", "roi"]).set_index(["case_id", "roi"])
             ["site"].reindex(wide.index) if len(wide) else pd.Series(dtype=str))
    study = {
        "store": store, "spec_hash": spec_hash,
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cohort": cohort_facts(cases, errors, warnings, runs),
        "located": located,
        "pictures": thumbnails(inputs, _flags(cases, warnings)) if pictures else [],
        "methods": {"hash": spec_hash, "name": (spec or {}).get("name"),
                    "items": methods.methods_items(spec) if spec else [],
                    "has_profile": bool(spec and any(
                        v is not None for v in spec.get("acquisition", {}).values()))},
        "software": software,
        "ibsi": methods.ibsi_compliance(ibsi_data, cache),
        "reliability": analyses.reliability_facts(icc),
        "agreement": _agreement(inputs, cases),
        "harmonisation": analyses.harmonisation_facts(wide, sites) if len(wide) else None,
        "models": analyses.model_facts([Path(p) for p in models]),
        "delta": analyses.delta_facts(long) if len(long) else None,
        "habitats": analyses.habitat_facts(long) if len(long) else None,
    }
    study["clear_items"] = checklists.clear_items(study)
    study["rqs_items"] = checklists.rqs_items(study)
    evidenced = [i for i in study["rqs_items"] if i.evidenced]
    study["rqs_total"] = sum(i.points for i in evidenced)
    study["rqs_max"] = sum(i.max_points for i in evidenced)
    return study


def write_report(store: str, out: str | Path, *, models: Iterable[str | Path] = (),
                 manifest: str | Path | None = None, ibsi_data: str | Path | None = None,
                 cache: str | Path | None = None, pictures: bool = True) -> Path:
    """Write the study report of a feature store and its analyses as one HTML file.

    Parameters
    ----------
    store : str
        URL of the feature store (``sqlite:///study.db`` or a PostgreSQL URL).
    out : path
        The ``.html`` file to write (whole or not at all).
    models : iterable of path
        JSON files of ``radiome model evaluate --json`` (one per model).
    manifest : path, optional
        Manifest locating the images and masks; by default those recorded with the runs.
    ibsi_data : path, optional
        The IBSI 1 data folder, to check IBSI compliance when the report is made (else a
        cached result of this software is used, or the page says it was not checked).
    cache : path, optional
        Cache folder of the IBSI compliance results.
    pictures : bool, default True
        Draw the quality pictures (reads every image and mask).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    StoreError
        No store at ``store``.
    UnreadableFileError, MissingFileError
        A model JSON is missing or not an evaluation.
    UnwritableFileError
        ``out`` does not end in ``.html`` or cannot be written.
    """
    from jinja2 import Environment, PackageLoader, StrictUndefined

    from radiome._output import check_output, written

    out = check_output(out, (".html",), "report")
    study = collect_study(store, models=models, manifest=manifest, ibsi_data=ibsi_data,
                          cache=cache, pictures=pictures)
    environment = Environment(loader=PackageLoader("radiome.report", "templates"),
                              autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True)
    environment.globals["num"] = _num
    page = environment.get_template("report.html.j2").render(study=study, s=study)
    with written(out, "report") as partial:
        partial.write_text(page, encoding="utf-8")
    return out
