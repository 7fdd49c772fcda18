"""Delta-radiomics: how each feature of a patient's tumour changes between time points.

Input is a long feature table (:mod:`radiome.table` columns) with the case labels ``patient`` and
``timepoint``, as ``FeatureStore.features(labels=["patient", "timepoint"])`` returns it. For
each patient, ROI and feature, the change from the ``baseline`` time point ``x₀`` to a follow-up
``x₁`` in labelled forms (``delta_kind``):

- ``absolute``: ``x₁ - x₀``, in the feature's unit;
- ``relative``: ``(x₁ - x₀) / |x₀|``, NaN where ``|x₀|`` is about 0 (counted and warned);
- ``log_ratio``: ``ln(x₁ / x₀)``, for features never negative in the table (NaN at a 0);
- ``per_day``: ``(x₁ - x₀) / (d₁ - d₀)`` with the scan dates in days, when dates are known;
- ``slope``: with more than two time points, the patient's own slope of the feature over time
  (per day with dates, else per time-point step), from a linear mixed model with a random
  intercept and slope per patient (statsmodels ``MixedLM``; Fave et al. 2017).

Against measurement noise each delta carries ``rc``, the repeatability coefficient of its
feature (:func:`radiome.reliability.feature_repeatability`) in the delta's own scale, and
``exceeds_rc``, whether ``|delta| > rc``: a change within measurement noise is never flagged
as one. The RC comes from repeat scans: several cases of one patient at one time point (a
same-day rescan), the scans of the ``retest`` labels, or a repeatability table of a separate
test-retest study. Without any, ``rc`` is NaN and ``exceeds_rc`` empty, and a warning says so.
Nothing here reads images.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from radiome.errors import AnalysisError, AnalysisWarning
from radiome.table import feature_key

__all__ = ["DELTA_COLUMNS", "DELTA_KINDS", "delta_features", "delta_repeatability", "delta_wide"]

DELTA_COLUMNS = ("patient", "roi", "filter", "feature", "aggregation", "delta_kind", "value",
                 "rc", "exceeds_rc")
DELTA_KINDS = ("absolute", "relative", "log_ratio", "per_day", "slope")
_NEEDED = ("case_id", "roi", "filter", "feature", "aggregation", "value", "patient", "timepoint")
_RC_NEEDED = ("feature", "wsd", "rc", "rc_log", "rc_relative")
_GROUP = ["patient", "roi"]


def delta_features(
    table: pd.DataFrame,
    *,
    baseline: str,
    followup: str | None = None,
    retest: Iterable[str] = (),
    repeatability: pd.DataFrame | str | None = "auto",
    dates: pd.DataFrame | None = None,
    kinds: Iterable[str] = DELTA_KINDS,
    zero_tol: float = 1e-6,
    on_progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Per-patient changes of every feature between time points, judged against noise.

    Parameters
    ----------
    table : DataFrame
        Long feature table with ``case_id, roi, filter, feature, aggregation, value`` and the
        case labels ``patient`` and ``timepoint``; optionally ``date`` (ISO ``YYYY-MM-DD`` or
        DICOM ``YYYYMMDD``) or ``days`` (days from any reference) per case. Rows without a
        patient or time point are left out (warned).
    baseline : str
        Time point label of the baseline scans.
    followup : str, optional
        Time point label of the follow-up scans; by default each patient's last time point
        after the baseline (ordered by date when known, else by label in natural order:
        ``T2`` < ``T10``).
    retest : iterable of str
        Time point labels of repeat scans of the baseline (e.g. ``T0R``, a same-day rescan):
        treated as more scans of the baseline time point.
    repeatability : DataFrame, "auto" or None, default "auto"
        Repeatability of the features, as :func:`radiome.reliability.feature_repeatability`
        returns it (columns ``feature``, ``wsd``, ``rc``, ``rc_log``, ``rc_relative``), e.g. from
        a separate test-retest study; ``"auto"`` computes it from the repeat scans of ``table``
        (:func:`delta_repeatability`); None: no RC.
    dates : DataFrame, optional
        Scan dates when ``table`` has none: columns ``date`` or ``days`` and either
        ``case_id`` or ``patient`` and ``timepoint`` (a manifest with a ``date`` column works).
    kinds : iterable of str, default all of :data:`DELTA_KINDS`
        The forms to compute. ``per_day`` needs dates (omitted, warned, without them);
        ``slope`` is computed for the patients with at least 3 time points.
    zero_tol : float, default 1e-6
        ``|x₀|`` at most ``zero_tol`` times the largest ``|value|`` of the feature counts as 0
        (relative change undefined).
    on_progress : callable, optional
        Called as ``on_progress(done, total)`` after each feature of the slope models.

    Returns
    -------
    DataFrame
        Columns :data:`DELTA_COLUMNS`: ``patient, roi, filter, feature, aggregation,
        delta_kind, value, rc, exceeds_rc`` (nullable boolean: empty where ``rc`` or ``value``
        is NaN), sorted by patient, ROI, feature and kind.

    Raises
    ------
    AnalysisError
        Missing columns, an unknown kind, no case at the baseline, a case holding one feature
        twice, unreadable dates, or a repeatability table lacking its columns.

    Warns
    -----
    AnalysisWarning
        Patients without a baseline or follow-up scan (left out), undefined relative changes,
        per-day rates without dates, and when no RC is available.

    Notes
    -----
    A time point with several scans of a patient (repeats) has the mean of its scans as its
    value. The RC bounds the difference of two single scans (95 %), so for such averaged
    time points ``|delta| > rc`` is a conservative test (the noise of an averaged delta is
    smaller). The ``rc`` of each kind: ``absolute``: RC; ``relative``: RC% = 2.77 wCV (the
    within-subject coefficient of variation on the log scale) when both values are positive
    and the feature was positive in the repeat scans, else RC / |x₀|; ``log_ratio``: RC of
    ``ln x``; ``per_day``: RC / days; ``slope``: ``1.96 s_w / √Σ(t - t̄)²``, the 95 % limit of a
    least-squares slope of pure measurement noise over the patient's times (RC / days with two
    time points).

    References
    ----------
    Fave X, Zhang L, Yang J, et al. Delta-radiomics features for the prediction of patient
    outcomes in non-small cell lung cancer. Sci Rep 2017;7:588. Raunig DL, et al. Stat Methods
    Med Res 2015;24:27-67 (repeatability coefficient).
    """
    wanted = _check_kinds(kinds)
    frame = _prepare(table, baseline, retest, dates)
    rc_table = _rc_table(frame, repeatability)
    points = _time_points(frame)
    pairs = _pairs(points, baseline, followup)
    rc = _rc_lookup(rc_table, points["_key"].unique())
    scale = frame["value"].abs().groupby(frame["_key"]).max()
    parts = [_two_point(pairs, kind, rc, scale, zero_tol) for kind in wanted
             if kind != "slope" and not (kind == "per_day" and not _has_days(pairs))]
    if "per_day" in wanted and not _has_days(pairs):
        warnings.warn("delta: per_day rates need scan dates (a date column in the table or "
                      "dates=); none given, so no per_day rows", AnalysisWarning, stacklevel=2)
    if "slope" in wanted:
        parts.append(_slopes(points, baseline, followup, rc, on_progress))
    out = pd.concat([p for p in parts if len(p)], ignore_index=True) if parts else None
    if out is None or out.empty:
        return _empty()
    meta = frame.drop_duplicates("_key").set_index("_key")[["filter", "feature", "aggregation"]]
    out = out.join(meta, on="_key")
    out["exceeds_rc"] = _exceeds(out["value"], out["rc"])
    out["_kind"] = out["delta_kind"].map(DELTA_KINDS.index)
    out = out.sort_values(["patient", "roi", "filter", "feature", "aggregation", "_kind"],
                          kind="stable")
    _warn_no_rc(rc_table, rc)
    return out[list(DELTA_COLUMNS)].reset_index(drop=True)


def delta_repeatability(table: pd.DataFrame, *, baseline: str | None = None,
                        retest: Iterable[str] = ()) -> pd.DataFrame | None:
    """Repeatability (RC table) of every feature from the repeat scans a longitudinal table holds.

    Repeat scans are the cases of one patient and ROI at one time point (after the ``retest``
    labels are taken as the ``baseline``, see :func:`delta_features`); each such (patient,
    ROI, time point) is one subject of :func:`radiome.reliability.feature_repeatability`.

    Returns
    -------
    DataFrame or None
        The RC table (see :func:`radiome.reliability.feature_repeatability`), or None when the table
        holds no repeat scans.
    """
    retest = tuple(retest)
    if retest and baseline is None:
        msg = "delta: retest labels are repeats of the baseline; give baseline= too"
        raise AnalysisError(msg)
    return _repeats_rc(_prepare(table, baseline or "", retest, None))


def delta_wide(deltas: pd.DataFrame, *, kinds: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per patient and ROI, one column per feature and kind: delta features to model.

    Parameters
    ----------
    deltas : DataFrame
        As :func:`delta_features` returns it.
    kinds : iterable of str, optional
        Keep only these kinds (default: all present).

    Returns
    -------
    DataFrame
        Columns ``patient``, ``roi``, then ``delta_<kind>__<feature key>`` (feature key as
        :func:`radiome.table.feature_key`, e.g. ``delta_relative__morph_volume``), sorted. A
        table for ``radiome model evaluate --id patient`` (one ROI per patient), where each
        patient is one row, so no patient's data can fall in two folds.
    """
    missing = [c for c in DELTA_COLUMNS if c not in deltas.columns]
    if missing:
        msg = f"delta_wide: not a delta table, missing column(s) {missing}"
        raise AnalysisError(msg)
    chosen = deltas if kinds is None else deltas[deltas["delta_kind"].isin(_check_kinds(kinds))]
    columns = [f"delta_{kind}__{feature_key(f, a or '', flt or '')}" for kind, f, a, flt in zip(
        chosen["delta_kind"], chosen["feature"], chosen["aggregation"].fillna(""),
        chosen["filter"].fillna(""), strict=True)]
    wide = chosen.assign(_column=columns).pivot(index=_GROUP, columns="_column", values="value")
    wide.columns.name = None
    return wide[sorted(wide.columns)].reset_index()


def _check_kinds(kinds: Iterable[str]) -> list[str]:
    """The kinds asked for, in :data:`DELTA_KINDS` order (AnalysisError for unknown ones)."""
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    unknown = sorted(set(kinds) - set(DELTA_KINDS))
    if unknown or not kinds:
        msg = f"delta: kinds must be among {', '.join(DELTA_KINDS)}, got {unknown or 'none'}"
        raise AnalysisError(msg)
    return [k for k in DELTA_KINDS if k in kinds]


def _empty() -> pd.DataFrame:
    """A delta table without rows."""
    out = pd.DataFrame({c: pd.Series(dtype=object) for c in DELTA_COLUMNS})
    out[["value", "rc"]] = out[["value", "rc"]].astype(float)
    out["exceeds_rc"] = out["exceeds_rc"].astype("boolean")
    return out


def _prepare(table: pd.DataFrame, baseline: str, retest: Iterable[str],
             dates: pd.DataFrame | None) -> pd.DataFrame:
    """The table's rows with labels as text, retest labels as the baseline, keys and days."""
    missing = [c for c in _NEEDED if c not in table.columns]
    if missing:
        msg = (f"delta: the feature table lacks column(s) {missing}; read the store with "
               "FeatureStore.features(labels=['patient', 'timepoint'])")
        raise AnalysisError(msg)
    frame = table.reset_index(drop=True)
    for column in ("case_id", "roi", "filter", "aggregation", "patient", "timepoint"):
        frame[column] = frame[column].fillna("").astype(str).str.strip()
    frame["_days"] = _days(frame, "the feature table") if dates is None else np.nan
    unlabelled = (frame["patient"] == "") | (frame["timepoint"] == "")
    if unlabelled.any():
        cases = sorted(frame.loc[unlabelled, "case_id"].unique())
        warnings.warn(f"delta: {len(cases)} case(s) without a patient or timepoint label left "
                      f"out (e.g. {', '.join(cases[:3])})", AnalysisWarning, stacklevel=3)
        frame = frame.loc[~unlabelled]
    frame.loc[frame["timepoint"].isin({str(r) for r in retest}), "timepoint"] = baseline
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    frame["_key"] = [feature_key(f, a, flt) for f, a, flt in
                     zip(frame["feature"], frame["aggregation"], frame["filter"], strict=True)]
    dup = frame.duplicated(["case_id", "roi", "_key"])
    if dup.any():
        first = frame.loc[dup].iloc[0]
        msg = (f"delta: case {first['case_id']!r} (ROI {first['roi']!r}) holds feature "
               f"{first['_key']!r} more than once; keep one spec and no perturbed versions")
        raise AnalysisError(msg)
    return frame if dates is None else _dated(frame, dates)


def _days(source: pd.DataFrame, where: str) -> pd.Series:
    """Days (from 1970) of each row's ``days`` or ``date`` column; NaN where there is none."""
    if "days" in source.columns:
        text, column = source["days"], "days"
        days = pd.to_numeric(text, errors="coerce")
    elif "date" in source.columns:
        text, column = source["date"], "date"
        clean = text.fillna("").astype(str).str.strip()
        parsed = pd.to_datetime(clean.where(clean != ""), errors="coerce", format="mixed")
        days = (parsed - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0
    else:
        return pd.Series(np.nan, index=source.index)
    given = text.notna() & (text.astype(str).str.strip() != "")
    bad = days.isna() & given
    if bad.any():
        msg = (f"delta: {where} has {int(bad.sum())} unreadable {column} value(s), e.g. "
               f"{text[bad].iloc[0]!r} (dates as YYYY-MM-DD or YYYYMMDD, days as numbers)")
        raise AnalysisError(msg)
    return days.astype(float)


def _dated(frame: pd.DataFrame, dates: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``_days`` from a dates table keyed by case_id or (patient, timepoint)."""
    if "days" not in dates.columns and "date" not in dates.columns:
        msg = "delta: dates= needs a date or days column"
        raise AnalysisError(msg)
    keys = ["case_id"] if "case_id" in dates.columns else ["patient", "timepoint"]
    if not all(k in dates.columns for k in keys):
        msg = "delta: dates= needs a case_id column, or patient and timepoint columns"
        raise AnalysisError(msg)
    lookup = dates[keys].fillna("").astype(str).apply(lambda c: c.str.strip())
    lookup["_days"] = _days(dates, "dates").to_numpy()
    lookup = lookup.dropna(subset=["_days"]).drop_duplicates(keys)
    return frame.drop(columns="_days").merge(lookup, on=keys, how="left")


def _rc_table(frame: pd.DataFrame, repeatability: pd.DataFrame | str | None
              ) -> pd.DataFrame | None:
    """The repeatability table to use (checked), from the argument or the repeat scans."""
    if isinstance(repeatability, str):
        if repeatability != "auto":
            msg = f"delta: repeatability must be a table, 'auto' or None, got {repeatability!r}"
            raise AnalysisError(msg)
        return _repeats_rc(frame)
    if repeatability is None:
        return None
    missing = [c for c in _RC_NEEDED if c not in repeatability.columns]
    if missing:
        msg = (f"delta: the repeatability table lacks column(s) {missing}; compute it with "
               "radiome.reliability.feature_repeatability")
        raise AnalysisError(msg)
    return repeatability


def _repeats_rc(frame: pd.DataFrame) -> pd.DataFrame | None:
    """RC table of the (patient, ROI, time point) groups scanned more than once, or None."""
    from radiome.reliability.repeatability import feature_repeatability

    scans = frame.groupby(["patient", "roi", "timepoint"])["case_id"].transform("nunique")
    repeats = frame.loc[scans > 1]
    if repeats.empty:
        return None
    subject = repeats.groupby(["patient", "roi", "timepoint"]).ngroup()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # features without repeats: rc NaN, counted below
        return feature_repeatability(repeats.assign(_subject=subject), subject="_subject",
                                     by="case_id")


def _rc_lookup(rc_table: pd.DataFrame | None, keys) -> pd.DataFrame:
    """wsd, rc, rc_log, rc_relative by feature key (NaN for keys without repeatability)."""
    columns = ["wsd", "rc", "rc_log", "rc_relative"]
    if rc_table is None:
        return pd.DataFrame(np.nan, index=pd.Index(keys, name="_key"), columns=columns)
    found = rc_table.drop_duplicates("feature").set_index("feature")[columns].astype(float)
    return found.reindex(pd.Index(keys, name="_key"))


def _time_points(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per patient, ROI, time point and feature: mean over its scans, days, order."""
    points = frame.groupby(["patient", "roi", "timepoint", "_key"], sort=False).agg(
        value=("value", "mean"), days=("_days", "min")).reset_index()
    labels = sorted(points["timepoint"].unique(), key=_natural)
    points["_rank"] = points["timepoint"].map({t: i for i, t in enumerate(labels)})
    dated = points.groupby(_GROUP)["days"].transform(lambda d: d.notna().all())
    points["_order"] = np.where(dated, points["days"], points["_rank"])
    return points


def _natural(label: str) -> list:
    """Sort key of a label in natural order (``T2`` before ``T10``)."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", label)]


def _pairs(points: pd.DataFrame, baseline: str, followup: str | None) -> pd.DataFrame:
    """Baseline and follow-up values of each patient, ROI and feature (x0, x1, d0, d1)."""
    found = sorted(points["timepoint"].unique(), key=_natural)
    for label, what in ((baseline, "baseline"), (followup, "follow-up")):
        if label is not None and label not in found:
            msg = (f"delta: no case at {what} time point {label!r} (time points: "
                   f"{', '.join(found[:8])})")
            raise AnalysisError(msg)
    if followup == baseline:
        msg = f"delta: the follow-up time point is the baseline, {baseline!r}"
        raise AnalysisError(msg)
    base = points.loc[points["timepoint"] == baseline]
    after = points.merge(base[[*_GROUP, "_key", "_order"]], on=[*_GROUP, "_key"],
                         suffixes=("", "_base"))
    after = after.loc[after["_order"] > after["_order_base"]]
    if followup is not None:
        follow = after.loc[after["timepoint"] == followup]
    else:
        last = after.groupby(_GROUP)["_order"].transform("max")
        follow = after.loc[after["_order"] == last]
    pairs = base.merge(follow[[*_GROUP, "_key", "value", "days", "timepoint"]],
                       on=[*_GROUP, "_key"], suffixes=("0", "1"))
    _warn_unpaired(points, base, pairs, baseline, followup)
    return pairs.rename(columns={"value0": "x0", "value1": "x1", "days0": "d0", "days1": "d1"})


def _warn_unpaired(points: pd.DataFrame, base: pd.DataFrame, pairs: pd.DataFrame,
                   baseline: str, followup: str | None) -> None:
    """One warning counting the patients left out for lack of a baseline or follow-up scan."""
    every = set(map(tuple, points[_GROUP].drop_duplicates().to_numpy()))
    with_base = set(map(tuple, base[_GROUP].drop_duplicates().to_numpy()))
    paired = set(map(tuple, pairs[_GROUP].drop_duplicates().to_numpy()))
    later = f"a {followup!r} scan" if followup else f"a scan after {baseline!r}"
    parts = [f"{len(s)} without {what} (e.g. {'/'.join(sorted(s)[0])})"
             for s, what in ((every - with_base, f"a {baseline!r} scan"),
                             (with_base - paired, later)) if s]
    if parts:
        warnings.warn(f"delta: patient/ROI pairs left out: {'; '.join(parts)}", AnalysisWarning,
                      stacklevel=4)


def _has_days(pairs: pd.DataFrame) -> bool:
    """True when some pair has both scan dates."""
    return bool((pairs["d0"].notna() & pairs["d1"].notna()).any())


def _two_point(pairs: pd.DataFrame, kind: str, rc: pd.DataFrame, scale: pd.Series,
               zero_tol: float) -> pd.DataFrame:
    """Rows of one two-time-point kind: value and rc in that kind's scale."""
    x0, x1 = pairs["x0"].to_numpy(), pairs["x1"].to_numpy()
    noise = rc.reindex(pairs["_key"].to_numpy())
    diff = x1 - x0
    keep = np.ones(len(pairs), dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "absolute":
            value, limit = diff, noise["rc"].to_numpy()
        elif kind == "relative":
            zero = np.abs(x0) <= zero_tol * scale.reindex(pairs["_key"]).to_numpy()
            value = np.where(zero, np.nan, diff / np.abs(x0))
            _warn_zero(pairs, zero & np.isfinite(diff))
            logged = (x0 > 0) & (x1 > 0) & np.isfinite(noise["rc_relative"].to_numpy())
            limit = np.where(logged, noise["rc_relative"].to_numpy(),
                             noise["rc"].to_numpy() / np.abs(x0))
        elif kind == "log_ratio":
            never_negative = _never_negative(pairs)
            keep = never_negative.reindex(pairs["_key"]).to_numpy()
            value = np.where((x0 > 0) & (x1 > 0), np.log(x1 / x0), np.nan)
            limit = noise["rc_log"].to_numpy()
        else:  # per_day, where both scans are dated on different days
            days = (pairs["d1"] - pairs["d0"]).to_numpy()
            keep = np.isfinite(days) & (days != 0)
            value, limit = diff / days, noise["rc"].to_numpy() / np.abs(days)
    return pairs.loc[keep, [*_GROUP, "_key"]].assign(delta_kind=kind, value=value[keep],
                                                      rc=limit[keep])


def _never_negative(pairs: pd.DataFrame) -> pd.Series:
    """Whether each feature key has no negative baseline or follow-up value."""
    values = pd.concat([pairs[["_key", "x0"]].rename(columns={"x0": "x"}),
                        pairs[["_key", "x1"]].rename(columns={"x1": "x"})])
    return values.groupby("_key")["x"].agg(lambda x: bool((x.dropna() >= 0).all()))


def _warn_zero(pairs: pd.DataFrame, zero: np.ndarray) -> None:
    """Warn once with the number of relative changes undefined for a baseline of about 0."""
    if zero.any():
        first = pairs.loc[zero].iloc[0]
        keys = pairs.loc[zero, "_key"].nunique()
        warnings.warn(
            f"delta: relative change undefined (NaN) for {int(zero.sum())} delta(s) of {keys} "
            f"feature(s) whose baseline is about 0 (e.g. {first['_key']!r} of patient "
            f"{first['patient']!r})", AnalysisWarning, stacklevel=4)


def _slopes(points: pd.DataFrame, baseline: str, followup: str | None, rc: pd.DataFrame,
            on_progress: Callable[[int, int], None] | None) -> pd.DataFrame:
    """Per-patient mixed-model slopes over the time points from baseline to follow-up."""
    from radiome.reliability.repeatability import RC_FACTOR

    window = _window(points, baseline, followup)
    counts = window.groupby(_GROUP)["timepoint"].transform("nunique")
    window = window.loc[counts >= 2]
    if not (counts >= 3).any():
        return pd.DataFrame(columns=[*_GROUP, "_key", "delta_kind", "value", "rc"])
    window = window.assign(_group=window.groupby(_GROUP).ngroup())
    names = window.drop_duplicates("_group").set_index("_group")[_GROUP]
    rows, keys = [], sorted(window["_key"].unique())
    failed = []
    for done, (key, block) in enumerate(window.groupby("_key", sort=True), start=1):
        block = block.loc[np.isfinite(block["value"])]
        slopes = _mixed_slopes(block["_t"].to_numpy(), block["value"].to_numpy(),
                               block["_group"].to_numpy())
        if slopes is None:
            failed.append(key)
            slopes = {}
        wsd = rc.at[key, "wsd"] if key in rc.index else np.nan
        for group, times in block.groupby("_group")["_t"]:
            if times.size < 3:
                continue
            patient, roi = names.loc[group]
            sxx = float(((times - times.mean()) ** 2).sum())
            limit = RC_FACTOR * wsd / np.sqrt(2 * sxx) if sxx > 0 else np.nan
            rows.append((patient, roi, key, "slope", slopes.get(group, np.nan), limit))
        if on_progress is not None:
            on_progress(done, len(keys))
    if failed:
        warnings.warn(f"delta: the mixed model of {len(failed)} feature(s) did not fit, their "
                      f"slopes are NaN (e.g. {failed[:3]})", AnalysisWarning, stacklevel=3)
    return pd.DataFrame(rows, columns=[*_GROUP, "_key", "delta_kind", "value", "rc"])


def _window(points: pd.DataFrame, baseline: str, followup: str | None) -> pd.DataFrame:
    """Time points from each patient's baseline to its follow-up, with time ``_t`` from baseline.

    ``_t`` is in days when every time point of the patient is dated, else in time-point steps
    (natural order of the labels).
    """
    base = points.loc[points["timepoint"] == baseline, [*_GROUP, "_key", "_order"]]
    window = points.merge(base, on=[*_GROUP, "_key"], suffixes=("", "_base"))
    window = window.loc[window["_order"] >= window["_order_base"]]
    if followup is not None:
        end = window.loc[window["timepoint"] == followup, [*_GROUP, "_key", "_order"]]
        window = window.merge(end, on=[*_GROUP, "_key"], suffixes=("", "_end"))
        window = window.loc[window["_order"] <= window["_order_end"]]
    return window.assign(_t=window["_order"] - window["_order_base"])


def _mixed_slopes(t: np.ndarray, y: np.ndarray, groups: np.ndarray) -> dict[int, float] | None:
    """Each group's slope (fixed + random) of ``y`` over ``t``; None when the model fails."""
    from statsmodels.regression.mixed_linear_model import MixedLM

    names = pd.unique(groups)
    y_sd, t_sd = float(np.std(y)), float(np.std(t))
    if y.size == 0 or t_sd == 0:
        return None
    if y_sd == 0:
        return dict.fromkeys(names, 0.0)
    z = (y - y.mean()) / y_sd
    s = (t - t.mean()) / t_sd
    exog = np.column_stack([np.ones_like(s), s])
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # boundary fits (no slope variance) are expected
            result = MixedLM(z, exog, groups=groups, exog_re=exog).fit(reml=True)
    except (np.linalg.LinAlgError, ValueError):
        return None
    fixed = float(np.asarray(result.fe_params)[1])
    effects = result.random_effects
    slopes = {g: (fixed + float(np.asarray(effects[g])[1])) * y_sd / t_sd for g in names}
    return slopes if all(np.isfinite(v) for v in slopes.values()) else None


def _exceeds(value: pd.Series, rc: pd.Series) -> pd.Series:
    """|value| > rc as nullable booleans, empty where either is NaN."""
    known = np.isfinite(value.to_numpy(dtype=float)) & np.isfinite(rc.to_numpy(dtype=float))
    flags = pd.Series(np.abs(value.to_numpy(dtype=float)) > rc.to_numpy(dtype=float),
                      index=value.index, dtype="boolean")
    return flags.where(known, pd.NA)


def _warn_no_rc(rc_table: pd.DataFrame | None, rc: pd.DataFrame) -> None:
    """Say when deltas cannot be judged against noise (no RC at all, or for some features)."""
    if rc_table is None:
        warnings.warn("delta: no repeat scans and no repeatability table, so no RC: rc is NaN "
                      "and exceeds_rc empty; a same-day rescan (a second case of a patient at "
                      "one time point, or one labelled as given by retest=, CLI --retest) "
                      "gives each feature's RC", AnalysisWarning, stacklevel=3)
        return
    lacking = rc.index[~np.isfinite(rc["rc"].to_numpy())]
    if len(lacking):
        warnings.warn(f"delta: no RC for {len(lacking)} feature(s) (no repeat scans with "
                      f"finite values), e.g. {list(lacking[:3])}: their exceeds_rc is empty",
                      AnalysisWarning, stacklevel=3)
