"""Compact, JSON-ready curve data of an out-of-fold evaluation: ROC band, calibration, KM.

The same numbers feed the PNG figures of ``radiome model evaluate --plots`` and the ``curves``
object of its JSON, which the study report draws.
"""

from __future__ import annotations

import numpy as np

from radiome.analysis._bootstrap import bootstrap_ci
from radiome.analysis._outcome import binary_labels

__all__ = ["calibration_bins", "evaluation_curves", "km_groups", "risk_groups", "roc_band"]


def _mean_tpr(y01: np.ndarray, rows: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Mean over the rows of ``rows`` of the ROC sensitivity interpolated at ``grid``."""
    from sklearn.metrics import roc_curve

    tprs = []
    for row in rows:
        fpr, tpr, _ = roc_curve(y01, row)
        tprs.append(np.interp(grid, fpr, tpr))
    return np.mean(tprs, axis=0)


def roc_band(y, scores, *, groups=None, n_points: int = 101, n_boot: int = 1000,
             level: float = 0.95, random_state: int = 0) -> dict:
    """Mean ROC of ``scores`` (n,) or (k, n) on an even false-positive-rate grid, with its CI.

    Each row's ROC (``sklearn.metrics.roc_curve``) is interpolated at ``n_points`` false
    positive rates and averaged over rows; the band is the percentile bootstrap over cases
    (patients when ``groups`` is given) of that mean sensitivity at each rate.

    Returns
    -------
    dict
        ``fpr``, ``tpr``, ``tpr_ci_low``, ``tpr_ci_high`` (lists of ``n_points`` floats).
    """
    _, y01 = binary_labels(y)
    rows = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    grid = np.linspace(0.0, 1.0, n_points)

    def stat(take: np.ndarray) -> np.ndarray:
        if np.unique(y01[take]).size < 2:
            raise ValueError("one class")
        return _mean_tpr(y01[take], rows[:, take], grid)

    low, high = bootstrap_ci(stat, y01.size, groups=groups, n_boot=n_boot, level=level,
                             random_state=random_state)
    return {"fpr": _rounded(grid), "tpr": _rounded(_mean_tpr(y01, rows, grid)),
            "tpr_ci_low": _rounded(low), "tpr_ci_high": _rounded(high)}


def calibration_bins(y, probability, *, n_bins: int = 10) -> dict:
    """Mean predicted probability, observed event rate and case count of quantile bins.

    ``probability`` (n,) or (k, n) is averaged over rows first. Bin edges are the quantiles of
    the probability, as ``sklearn.calibration.calibration_curve(strategy="quantile")`` draws
    them; empty bins are left out.

    Returns
    -------
    dict
        ``predicted``, ``observed``, ``count`` (lists, one entry per non-empty bin).
    """
    _, y01 = binary_labels(y)
    prob = np.atleast_2d(np.asarray(probability, dtype=np.float64)).mean(axis=0)
    edges = np.percentile(prob, np.linspace(0, 100, n_bins + 1))
    ids = np.searchsorted(edges[1:-1], prob, side="right")
    count = np.bincount(ids, minlength=n_bins)
    kept = count > 0
    predicted = np.bincount(ids, weights=prob, minlength=n_bins)[kept] / count[kept]
    observed = np.bincount(ids, weights=y01, minlength=n_bins)[kept] / count[kept]
    return {"predicted": _rounded(predicted), "observed": _rounded(observed),
            "count": [int(c) for c in count[kept]]}


def km_groups(y, group, *, max_points: int = 100) -> dict:
    """Kaplan-Meier curve of each group (at most ``max_points`` steps each) and the log-rank p.

    Curves are :func:`~radiome.analysis.kaplan_meier`'s; a longer curve keeps ``max_points``
    of its times, evenly spaced in rank, with the exact survival at them.

    Returns
    -------
    dict
        ``groups``: list of ``{label, n, n_events, time, survival}``; ``logrank_p``.
    """
    from radiome.analysis._outcome import split_survival
    from radiome.analysis.survival import kaplan_meier, logrank

    event, _ = split_survival(y)
    group = np.asarray(group)
    out = []
    for label, (time, surv) in kaplan_meier(y, group).items():
        keep = np.unique(np.linspace(0, time.size - 1, min(max_points, time.size)).astype(int))
        members = group == label
        out.append({"label": str(label), "n": int(members.sum()),
                    "n_events": int(event[members].sum()),
                    "time": [float(t) for t in time[keep]], "survival": _rounded(surv[keep])})
    return {"groups": out, "logrank_p": float(logrank(y, group)["p"])}


def evaluation_curves(result, *, n_boot: int = 1000, level: float = 0.95,
                      random_state: int = 0) -> dict:
    """The ``curves`` of a :class:`~radiome.analysis.CVResult`, all out of fold.

    Binary: ``roc`` (:func:`roc_band` of every repeat) and ``calibration``
    (:func:`calibration_bins` of the repeat-averaged probability). Survival: ``km``
    (:func:`km_groups` of the first repeat's high/low-risk groups, split at each fold's
    training median risk, as the summary's ``logrank_p``). Regression: empty.
    """
    if result.task == "binary":
        return {"roc": roc_band(result.y, result.risk, groups=result.groups, n_boot=n_boot,
                                level=level, random_state=random_state),
                "calibration": calibration_bins(result.y, result.risk)}
    if result.task == "survival":
        return {"km": km_groups(result.y, risk_groups(result))}
    return {}


def risk_groups(result) -> np.ndarray:
    """``"high risk"``/``"low risk"`` of each case in the first repeat of a survival CV."""
    return np.where(result.predicted[0], "high risk", "low risk")


def _rounded(values) -> list[float]:
    """Floats rounded to 6 decimals, as a list."""
    return [round(float(v), 6) for v in np.asarray(values, dtype=np.float64)]
