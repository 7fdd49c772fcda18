"""Diagnostic value of a score for a binary outcome: AUC with DeLong CI, paired DeLong test,
threshold chosen on training data, and sensitivity, specificity, PPV, NPV at that threshold.

Symbols: ``m`` cases (outcome 1) with scores ``X_i``, ``n`` controls with scores ``Y_j``;
``psi(x, y) = 1 if x > y, 1/2 if x = y, 0 otherwise``; AUC = mean over pairs of ``psi``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from radiome.analysis._outcome import binary_labels
from radiome.errors import AnalysisError

__all__ = [
    "auc_delong",
    "classification_metrics",
    "delong_test",
    "fast_auc",
    "youden_threshold",
]


def fast_auc(y01: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """AUC (Mann-Whitney, ties count 1/2) of each row of ``scores`` against 0/1 labels ``y01``.

    ``scores`` is (n,) or (k, n); returns a float or a (k,) array, NaN when ``y01`` holds one
    class only. No input checks (internal use on validated data, e.g. inside bootstrap loops).
    """
    scores = np.atleast_2d(scores)
    pos = y01 == 1
    m, n = int(pos.sum()), int((~pos).sum())
    ranks = stats.rankdata(scores, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # one class only: NaN, as documented
        auc = (ranks[:, pos].sum(axis=1) - m * (m + 1) / 2) / (m * n)
    return auc if auc.size > 1 else float(auc[0])


def _placements(y01: np.ndarray, scores: np.ndarray):
    """DeLong structural components V10 (k, m) and V01 (k, n) by midranks (Sun & Xu 2014)."""
    pos = y01 == 1
    x, y = scores[:, pos], scores[:, ~pos]
    m, n = x.shape[1], y.shape[1]
    tz = stats.rankdata(np.hstack([x, y]), axis=1)
    tx, ty = stats.rankdata(x, axis=1), stats.rankdata(y, axis=1)
    v10 = (tz[:, :m] - tx) / n
    v01 = 1.0 - (tz[:, m:] - ty) / m
    return v10, v01


def _delong(y, scores):
    """(AUCs (k,), covariance (k, k)) of k scores by DeLong's method."""
    _, y01 = binary_labels(y)
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    if scores.shape[1] != y01.size:
        msg = f"scores have {scores.shape[1]} values, the outcome {y01.size}"
        raise AnalysisError(msg)
    if not np.isfinite(scores).all():
        msg = "scores contain NaN or infinite values"
        raise AnalysisError(msg)
    m, n = int(y01.sum()), int((1 - y01).sum())
    if m < 2 or n < 2:
        msg = f"DeLong needs at least 2 cases and 2 controls, got {m} and {n}"
        raise AnalysisError(msg)
    v10, v01 = _placements(y01, scores)
    auc = v10.mean(axis=1)
    cov = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return auc, cov


def auc_delong(y, score, *, level: float = 0.95) -> dict[str, float]:
    """AUC of ``score`` with its DeLong standard error and confidence interval.

    Parameters
    ----------
    y : (n,) array-like
        Binary outcome; the positive class is the larger label (``np.unique(y)[1]``).
    score : (n,) array-like
        Higher means more likely positive.
    level : float, default 0.95

    Returns
    -------
    dict
        ``auc``, ``se``, ``ci_low``, ``ci_high``.

    Notes
    -----
    Variance by DeLong, DeLong & Clarke-Pearson (1988), computed with midranks (Sun & Xu 2014);
    the interval is ``auc +/- z se`` clipped to [0, 1], as pROC's ``ci.auc(method="delong")``.

    References
    ----------
    DeLong ER, DeLong DM, Clarke-Pearson DL. Comparing the areas under two or more correlated
    receiver operating characteristic curves: a nonparametric approach. Biometrics 1988;44:837-845.
    Sun X, Xu W. Fast implementation of DeLong's algorithm for comparing the areas under
    correlated receiver operating characteristic curves. IEEE Signal Process Lett 2014;21:1389-93.
    """
    auc, cov = _delong(y, score)
    se = float(np.sqrt(cov[0, 0]))
    z = stats.norm.ppf(0.5 + level / 2)
    a = float(auc[0])
    return {
        "auc": a,
        "se": se,
        "ci_low": float(max(0.0, a - z * se)),
        "ci_high": float(min(1.0, a + z * se)),
    }


def delong_test(y, score_a, score_b, *, level: float = 0.95) -> dict[str, float]:
    """Paired DeLong test of two AUCs measured on the same cases.

    Parameters
    ----------
    y : (n,) array-like
        Binary outcome.
    score_a, score_b : (n,) array-like
        Scores of the two models for the same cases, in the same order.
    level : float, default 0.95
        Level of the interval of the difference.

    Returns
    -------
    dict
        ``auc_a``, ``auc_b``, ``diff`` (a - b), ``se``, ``ci_low``, ``ci_high``, ``z``, ``p``
        (two-sided).

    Notes
    -----
    ``z = (AUC_a - AUC_b) / sqrt(var_a + var_b - 2 cov_ab)`` with DeLong's covariance, as pROC's
    ``roc.test(method="delong", paired=TRUE)``.
    """
    auc, cov = _delong(y, np.vstack([np.asarray(score_a, float), np.asarray(score_b, float)]))
    diff = float(auc[0] - auc[1])
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    se = float(np.sqrt(max(var, 0.0)))
    z = diff / se if se > 0 else 0.0
    zc = stats.norm.ppf(0.5 + level / 2)
    return {
        "auc_a": float(auc[0]),
        "auc_b": float(auc[1]),
        "diff": diff,
        "se": se,
        "ci_low": diff - zc * se,
        "ci_high": diff + zc * se,
        "z": z,
        "p": float(2 * stats.norm.sf(abs(z))),
    }


def youden_threshold(y, score) -> float:
    """Threshold maximising Youden's J = sensitivity + specificity - 1 (positive if score >= t).

    Choose it on training data only (e.g. the inner cross-validated predictions) and apply the
    frozen value to test data. Among equal J the highest threshold wins.
    """
    from sklearn.metrics import roc_curve

    _, y01 = binary_labels(y)
    fpr, tpr, thresholds = roc_curve(y01, np.asarray(score, dtype=np.float64))
    best = int(np.argmax(tpr - fpr))
    return float(thresholds[best]) if np.isfinite(thresholds[best]) else float(thresholds[1])


def classification_metrics(y, predicted, *, level: float = 0.95) -> dict[str, float]:
    """Sensitivity, specificity, PPV and NPV of 0/1 predictions, with Wilson intervals.

    Parameters
    ----------
    y : (n,) array-like
        Binary outcome (positive class = larger label).
    predicted : (n,) array-like of bool or 0/1
        Predicted positive.
    level : float, default 0.95

    Returns
    -------
    dict
        ``tp, fp, tn, fn`` and for each of ``sensitivity, specificity, ppv, npv`` the value and
        ``<name>_ci_low``, ``<name>_ci_high`` (Wilson score interval; NaN when the denominator
        is 0, e.g. PPV when nothing is predicted positive).
    """
    from statsmodels.stats.proportion import proportion_confint

    _, y01 = binary_labels(y)
    pred = np.asarray(predicted).astype(bool)
    tp = int(np.sum(pred & (y01 == 1)))
    fp = int(np.sum(pred & (y01 == 0)))
    tn = int(np.sum(~pred & (y01 == 0)))
    fn = int(np.sum(~pred & (y01 == 1)))
    out: dict[str, float] = {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
    for name, k, total in (
        ("sensitivity", tp, tp + fn),
        ("specificity", tn, tn + fp),
        ("ppv", tp, tp + fp),
        ("npv", tn, tn + fn),
    ):
        if total == 0:
            out[name] = out[f"{name}_ci_low"] = out[f"{name}_ci_high"] = float("nan")
            continue
        low, high = proportion_confint(k, total, alpha=1 - level, method="wilson")
        out[name], out[f"{name}_ci_low"], out[f"{name}_ci_high"] = (
            k / total,
            float(low),
            float(high),
        )
    return out
