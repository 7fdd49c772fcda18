"""Per-feature reliability of a feature table: test-retest, multi-rater or perturbation studies.

Input is a long feature table (``radiome.table``) with two extra columns: the subject (e.g.
``patient``) and what varies between the repeated measurements of one subject (``timepoint``,
``rater``, ``perturbation``). Each feature gets its ICC with a confidence interval; features whose
ICC (or its lower bound) reaches a threshold are the stable ones kept for modelling.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Literal

import numpy as np
import pandas as pd

from radiome.errors import ReliabilityError, ReliabilityWarning
from radiome.reliability.concordance import ICC_FORMS, icc_form
from radiome.table import feature_key

__all__ = ["ICC_TABLE_COLUMNS", "feature_icc", "stable_features"]

ICC_TABLE_COLUMNS = (
    "feature",
    "family",
    "filter",
    "aggregation",
    "name",
    "form",
    "icc",
    "ci_low",
    "ci_high",
    "f",
    "p_value",
    "n_subjects",
    "n_raters",
    "passes",
)
_NEEDED = ("feature", "family", "filter", "aggregation", "value")


def feature_icc(
    long_table: pd.DataFrame,
    *,
    subject: str = "patient",
    by: str = "rater",
    form: str = "ICC2",
    min_icc: float = 0.75,
    ci: Literal["lower", "point"] = "lower",
    missing: Literal["raise", "drop"] = "raise",
    confidence: float = 0.95,
    on_progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """ICC of every feature of a long feature table across repeated measurements of subjects.

    Parameters
    ----------
    long_table : DataFrame
        Long feature table (columns ``feature, family, filter, aggregation, value`` at least)
        with the columns ``subject`` and ``by``: one row per subject, repetition and feature.
        One ROI per subject and repetition (the ROI name may differ between raters); filter a
        table that holds several ROIs first.
    subject : str, default "patient"
        Column identifying the subject whose repeated measurements are compared.
    by : str, default "rater"
        Column identifying the repetition: ``rater``, ``timepoint``, ``perturbation``, ...
    form : {"ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"}, default "ICC2"
        Shrout–Fleiss form (see :func:`~radiome.reliability.icc`). ICC2 (two-way random,
        absolute agreement, single measurement) is the usual choice for test-retest and
        multi-rater studies (Koo & Li 2016); ICC1 for perturbations, whose repetitions are
        not the same "raters" across subjects (Zwanenburg et al. 2019).
    min_icc : float, default 0.75
        Threshold of ``passes`` ("good" reliability, Koo & Li 2016).
    ci : {"lower", "point"}, default "lower"
        ``passes`` compares the lower confidence bound (``ci_low``) or the ICC with ``min_icc``.
    missing : {"raise", "drop"}, default "raise"
        A subject without a finite value from every repetition for a feature: raise an
        :class:`~radiome.errors.ReliabilityError` naming it, or leave that subject out of that
        feature's ICC (``n_subjects`` tells how many were used).
    confidence : float, default 0.95
        Level of the confidence interval.
    on_progress : callable, optional
        Called after each feature with the number of features done and their total.

    Returns
    -------
    DataFrame
        One row per feature (wide column name from :func:`radiome.table.feature_key`, in
        ``feature``), sorted by it, with ``family``, ``filter``, ``aggregation``, ``name`` (the
        feature's own name), ``form``, ``icc``, ``ci_low``, ``ci_high``, ``f``, ``p_value``,
        ``n_subjects``, ``n_raters`` (repetitions) and ``passes``.

    Warns
    -----
    ReliabilityWarning
        When the ICC of some features is undefined (NaN): constant over all subjects and
        repetitions, or fewer than 2 complete subjects. Those rows do not pass.
    """
    _check_arguments(long_table, subject, by, form, ci, missing)
    frame = long_table.assign(
        _key=[
            feature_key(f, a or "", flt or "")
            for f, a, flt in zip(
                long_table["feature"],
                long_table["aggregation"].fillna(""),
                long_table["filter"].fillna(""),
                strict=True,
            )
        ],
        _value=pd.to_numeric(long_table["value"], errors="coerce"),
        filter=long_table["filter"].fillna(""),
        aggregation=long_table["aggregation"].fillna(""),
    )
    dup = frame.duplicated(["_key", subject, by])
    if dup.any():
        key, s, r = (frame.loc[dup, column].tolist()[0] for column in ("_key", subject, by))
        msg = (
            f"feature ICC: {int(dup.sum())} duplicated ({subject}, {by}, feature) rows, e.g. "
            f"({s!r}, {r!r}, {key!r}); keep one ROI per {subject} and {by}"
        )
        raise ReliabilityError(msg)
    cube = frame.pivot(index=["_key", subject], columns=by, values="_value")
    cube = cube.reindex(
        pd.MultiIndex.from_product(
            [cube.index.unique("_key"), cube.index.unique(subject)], names=["_key", subject]
        )
    )
    meta = frame.drop_duplicates("_key").set_index("_key")
    rows, undefined = [], []
    n_features = len(meta)
    for done, (key, block) in enumerate(cube.groupby(level="_key", sort=True), start=1):
        ratings = block.to_numpy(dtype=float)
        complete = np.isfinite(ratings).all(axis=1)
        if not complete.all() and missing == "raise":
            lacking = list(block.index.get_level_values(subject)[~complete][:3])
            msg = (
                f"feature ICC: {key!r} lacks a finite value for {int((~complete).sum())} "
                f"{subject}(s) from some {by} (e.g. {lacking}); pass missing='drop' to leave "
                "them out"
            )
            raise ReliabilityError(msg)
        row = _one_feature(ratings[complete], form, confidence, ratings.shape[1])
        if np.isnan(row["icc"]):
            undefined.append(key)
        limit = row["ci_low"] if ci == "lower" else row["icc"]
        rows.append(
            {
                "feature": key,
                "family": meta.at[key, "family"],
                "filter": meta.at[key, "filter"],
                "aggregation": meta.at[key, "aggregation"],
                "name": meta.at[key, "feature"],
                "form": form,
                **row,
                "passes": bool(limit >= min_icc),
            }
        )
        if on_progress is not None:
            on_progress(done, n_features)
    if undefined:
        warnings.warn(
            f"feature ICC: undefined (NaN) for {len(undefined)} feature(s) (constant, or fewer "
            f"than 2 complete {subject}s), e.g. {undefined[:3]}; they do not pass",
            ReliabilityWarning,
            stacklevel=2,
        )
    return pd.DataFrame(rows, columns=list(ICC_TABLE_COLUMNS))


def _check_arguments(
    table: pd.DataFrame, subject: str, by: str, form: str, ci: str, missing: str
) -> None:
    """Raise ReliabilityError naming every bad argument or missing column."""
    problems = []
    absent = [c for c in (*_NEEDED, subject, by) if c not in table.columns]
    if absent:
        problems.append(f"missing column(s) {absent}")
    if form not in ICC_FORMS:
        problems.append(f"form must be one of {list(ICC_FORMS)}, got {form!r}")
    if ci not in ("lower", "point"):
        problems.append(f"ci must be 'lower' or 'point', got {ci!r}")
    if missing not in ("raise", "drop"):
        problems.append(f"missing must be 'raise' or 'drop', got {missing!r}")
    if problems:
        msg = "feature ICC: " + "; ".join(problems)
        raise ReliabilityError(msg)


def _one_feature(ratings: np.ndarray, form: str, confidence: float, k: int) -> dict:
    """ICC, CI, F-test and counts of one feature's complete (n, k) ratings (NaN when n < 2)."""
    n = ratings.shape[0]
    if n < 2:
        nan = float("nan")
        return {
            "icc": nan,
            "ci_low": nan,
            "ci_high": nan,
            "f": nan,
            "p_value": nan,
            "n_subjects": n,
            "n_raters": k,
        }
    row = icc_form(ratings, form, confidence=confidence)
    return {
        c: row[c] for c in ("icc", "ci_low", "ci_high", "f", "p_value", "n_subjects", "n_raters")
    }


def stable_features(
    icc_table: pd.DataFrame, *, min_icc: float = 0.75, ci: Literal["lower", "point"] = "lower"
) -> list[str]:
    """Names of the features whose reliability reaches ``min_icc``.

    Parameters
    ----------
    icc_table : DataFrame
        One row per feature with columns ``feature`` (wide column name), ``icc``, ``ci_low``
        (as returned by :func:`feature_icc`).
    min_icc : float, default 0.75
        Threshold ("good" reliability in Koo & Li 2016; 0.9 "excellent").
    ci : {"lower", "point"}, default "lower"
        Compare the lower confidence bound (``ci_low``) or the point estimate (``icc``).

    Returns
    -------
    list of str
        Stable feature names, in the table's order. Features with an undefined (NaN) ICC are
        never stable.
    """
    missing = [c for c in ("feature", "icc", "ci_low") if c not in icc_table.columns]
    if missing:
        msg = f"ICC table: missing column(s) {missing}; expected feature, icc, ci_low, ci_high"
        raise ReliabilityError(msg)
    if ci not in ("lower", "point"):
        msg = f"stable_features: ci must be 'lower' or 'point', got {ci!r}"
        raise ReliabilityError(msg)
    value = icc_table["ci_low" if ci == "lower" else "icc"].astype(float)
    return icc_table.loc[value >= min_icc, "feature"].astype(str).tolist()
