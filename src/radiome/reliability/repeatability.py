"""Repeatability of every feature from repeat scans: within-subject SD, RC and within-subject CV.

Symbols (QIBA; Raunig et al. 2015): subject ``i`` (a patient's ROI at one time point) is
measured ``k_i >= 2`` times under repeatability conditions (same-day rescans), giving ``x_ij``.

- within-subject variance ``s_w² = Σ_i Σ_j (x_ij - x̄_i)² / df`` with ``df = Σ_i (k_i - 1)``
  (the pooled one-way ANOVA within mean square; with two scans ``Σ_i d_i² / (2 n)``);
- repeatability coefficient ``RC = z √2 s_w`` (``z`` = 1.96, so ``RC ≈ 2.77 s_w``): the
  difference of two measurements of one subject lies within ±RC with 95 % probability;
- its confidence interval from ``df s_w² / σ_w² ~ χ²(df)``:
  ``RC √(df / χ²_{df, 1-α/2}) .. RC √(df / χ²_{df, α/2})``;
- on the log scale (features positive in every scan used): ``s_log`` is ``s_w`` of ``ln x``,
  ``RC_log = z √2 s_log`` bounds ``|ln(x₂ / x₁)|``, the within-subject coefficient of variation
  is ``wCV = √(exp(s_log²) - 1)`` and ``RC% = z √2 wCV`` bounds the relative difference
  ``|x₂ - x₁| / x₁`` (the "%RC" of QIBA profiles).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from radiome.errors import ReliabilityError, ReliabilityWarning
from radiome.table import feature_key

__all__ = ["REPEATABILITY_COLUMNS", "feature_repeatability", "repeatability_coefficient"]

REPEATABILITY_COLUMNS = (
    "feature",
    "family",
    "filter",
    "aggregation",
    "name",
    "n_subjects",
    "n_scans",
    "df",
    "mean",
    "wsd",
    "rc",
    "rc_ci_low",
    "rc_ci_high",
    "log_wsd",
    "wcv",
    "rc_log",
    "rc_log_ci_low",
    "rc_log_ci_high",
    "rc_relative",
    "rc_relative_ci_low",
    "rc_relative_ci_high",
)
_NEEDED = ("feature", "family", "filter", "aggregation", "value")
#: z √2 at 95 %: the RC of a within-subject SD of 1 (QIBA's 2.77).
RC_FACTOR = float(stats.norm.ppf(0.975) * np.sqrt(2.0))


def repeatability_coefficient(scans, *, confidence: float = 0.95) -> dict[str, float]:
    """Within-subject SD, RC with its confidence interval, and the log-scale forms of one feature.

    Parameters
    ----------
    scans : (n, k) array-like, or sequence of 1-D arrays
        Repeated measurements of ``n`` subjects (row ``i``: the ``k_i`` scans of subject
        ``i``); NaN marks a missing scan. Subjects with fewer than 2 finite scans are left out.
    confidence : float, default 0.95
        Level of the confidence intervals of the RCs (the RCs themselves are 95 % limits).

    Returns
    -------
    dict
        ``n_subjects`` and ``n_scans`` used, ``df``, ``mean``, ``wsd`` (``s_w``), ``rc``,
        ``rc_ci_low``, ``rc_ci_high``, ``log_wsd``, ``wcv``, ``rc_log`` (with CI) and
        ``rc_relative`` (with CI). Everything is NaN when no subject has 2 finite scans; the
        log-scale values are NaN unless every scan used is positive.

    Notes
    -----
    See the module docstring for the formulas. A feature identical in every repeat has
    ``wsd`` = ``rc`` = 0 (so any change of it exceeds its RC).

    References
    ----------
    Raunig DL, McShane LM, Pennello G, et al. Quantitative imaging biomarkers: a review of
    statistical methods for technical performance assessment. Stat Methods Med Res
    2015;24:27-67. QIBA, Metrology working group terminology (Kessler et al. 2015).
    """
    if not 0 < confidence < 1:
        msg = f"repeatability: confidence must be in (0, 1), got {confidence!r}"
        raise ReliabilityError(msg)
    rows = [np.asarray(r, dtype=float).ravel() for r in scans]
    rows = [r[np.isfinite(r)] for r in rows]
    rows = [r for r in rows if r.size >= 2]
    counts = np.array([r.size for r in rows], dtype=np.int64)
    values = np.concatenate(rows) if rows else np.empty(0)
    positive = values.size > 0 and bool((values > 0).all())
    log_sums = _within_sums([np.log(r) for r in rows]) if positive else np.nan
    return _summary(len(rows), int(counts.sum()), int((counts - 1).sum()),
                    float(values.mean()) if values.size else np.nan, _within_sums(rows),
                    log_sums, confidence)


def _within_sums(rows: list[np.ndarray]) -> float:
    """Σ_i Σ_j (x_ij - x̄_i)² of the subjects' rows (NaN without any)."""
    return float(sum(((r - r.mean()) ** 2).sum() for r in rows)) if rows else np.nan


def _summary(n: int, n_scans: int, df: int, mean: float, ss: float, log_ss: float,
             confidence: float) -> dict[str, float]:
    """The repeatability row of one feature from its within sums of squares."""
    nan = float("nan")
    wsd = float(np.sqrt(ss / df)) if df >= 1 else nan
    log_wsd = float(np.sqrt(log_ss / df)) if df >= 1 else nan
    low, high = _ci_factors(df, confidence)
    wcv = float(np.sqrt(np.expm1(log_wsd**2)))
    return {
        "n_subjects": n, "n_scans": n_scans, "df": df, "mean": mean, "wsd": wsd,
        "rc": RC_FACTOR * wsd, "rc_ci_low": RC_FACTOR * wsd * low,
        "rc_ci_high": RC_FACTOR * wsd * high,
        "log_wsd": log_wsd, "wcv": wcv, "rc_log": RC_FACTOR * log_wsd,
        "rc_log_ci_low": RC_FACTOR * log_wsd * low, "rc_log_ci_high": RC_FACTOR * log_wsd * high,
        "rc_relative": RC_FACTOR * wcv,
        "rc_relative_ci_low": RC_FACTOR * float(np.sqrt(np.expm1((log_wsd * low) ** 2))),
        "rc_relative_ci_high": RC_FACTOR * float(np.sqrt(np.expm1((log_wsd * high) ** 2))),
    }


def _ci_factors(df: int, confidence: float) -> tuple[float, float]:
    """Factors of s_w giving its confidence bounds: √(df / χ²_{df, 1-α/2}), √(df / χ²_{df, α/2})."""
    if df < 1:
        return float("nan"), float("nan")
    alpha = 1 - confidence
    return (float(np.sqrt(df / stats.chi2.ppf(1 - alpha / 2, df))),
            float(np.sqrt(df / stats.chi2.ppf(alpha / 2, df))))


def feature_repeatability(
    long_table: pd.DataFrame,
    *,
    subject: str = "patient",
    by: str = "timepoint",
    confidence: float = 0.95,
    on_progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Repeatability coefficient (RC) of every feature of a long table of repeat scans.

    Parameters
    ----------
    long_table : DataFrame
        Long feature table (columns ``feature, family, filter, aggregation, value`` at least)
        with the columns ``subject`` and ``by``: one row per subject, repeat scan and feature,
        e.g. a test-retest study in the store (``FeatureStore.features(labels=["patient",
        "timepoint"])``, as ``radiome reliability --by timepoint`` reads it). One ROI per
        subject and scan; filter a table holding several ROIs first, or make the ROI part of
        the subject.
    subject : str, default "patient"
        Column identifying the subject measured repeatedly.
    by : str, default "timepoint"
        Column identifying the repeat scan of a subject.
    confidence : float, default 0.95
        Level of the confidence intervals.
    on_progress : callable, optional
        Called after each feature with the number of features done and their total.

    Returns
    -------
    DataFrame
        One row per feature (wide column name from :func:`radiome.table.feature_key`, in
        ``feature``), sorted by it, with ``family``, ``filter``, ``aggregation``, ``name``
        and the columns of :func:`repeatability_coefficient` (:data:`REPEATABILITY_COLUMNS`).
        Subjects with fewer than 2 finite scans of a feature are left out of its row.

    Raises
    ------
    ReliabilityError
        Missing columns, a (subject, scan, feature) repeated, or a bad ``confidence``.

    Warns
    -----
    ReliabilityWarning
        When some features have no subject with 2 finite scans (their RC is NaN).

    References
    ----------
    Raunig DL, et al. Stat Methods Med Res 2015;24:27-67 (see
    :func:`repeatability_coefficient`).
    """
    absent = [c for c in (*_NEEDED, subject, by) if c not in long_table.columns]
    if absent:
        msg = f"repeatability: missing column(s) {absent}"
        raise ReliabilityError(msg)
    if not 0 < confidence < 1:
        msg = f"repeatability: confidence must be in (0, 1), got {confidence!r}"
        raise ReliabilityError(msg)
    frame = long_table.assign(
        filter=long_table["filter"].fillna(""),
        aggregation=long_table["aggregation"].fillna(""),
        _value=pd.to_numeric(long_table["value"], errors="coerce"),
    )
    frame["_key"] = [feature_key(f, a, flt) for f, a, flt in
                     zip(frame["feature"], frame["aggregation"], frame["filter"], strict=True)]
    dup = frame.duplicated(["_key", subject, by])
    if dup.any():
        first = frame.loc[dup].iloc[0]
        msg = (f"repeatability: {int(dup.sum())} duplicated ({subject}, {by}, feature) rows, "
               f"e.g. ({first[subject]!r}, {first[by]!r}, {first['_key']!r}); keep one ROI per "
               f"{subject} and {by}")
        raise ReliabilityError(msg)
    meta = frame.drop_duplicates("_key").set_index("_key")
    groups = frame.loc[np.isfinite(frame["_value"])].groupby("_key", sort=True)
    rows, undefined = [], []
    keys = sorted(meta.index)
    for done, key in enumerate(keys, start=1):
        block = groups.get_group(key) if key in groups.groups else frame.iloc[:0]
        scans = [g.to_numpy() for _, g in block.groupby(subject, sort=True)["_value"]]
        row = repeatability_coefficient(scans, confidence=confidence)
        if not np.isfinite(row["rc"]):
            undefined.append(key)
        rows.append({"feature": key, "family": meta.at[key, "family"],
                     "filter": meta.at[key, "filter"], "aggregation": meta.at[key, "aggregation"],
                     "name": meta.at[key, "feature"], **row})
        if on_progress is not None:
            on_progress(done, len(keys))
    if undefined:
        warnings.warn(
            f"repeatability: RC undefined (NaN) for {len(undefined)} feature(s) without any "
            f"{subject} scanned twice with finite values, e.g. {undefined[:3]}",
            ReliabilityWarning, stacklevel=2)
    return pd.DataFrame(rows, columns=list(REPEATABILITY_COLUMNS))
