"""Calibration and clinical utility of predicted probabilities of a binary outcome.

Symbols: ``y`` the 0/1 outcome, ``p`` the predicted probability of ``y = 1``, ``lp =
logit(p)`` the linear predictor, ``n`` the number of cases, ``pt`` a threshold probability.

- Calibration slope ``b``: the logistic recalibration ``logit P(y=1) = a + b lp``; 1 when the
  predictions are neither too extreme (``b < 1``, overfitting) nor too modest (``b > 1``).
- Calibration intercept (calibration-in-the-large) ``a``: ``logit P(y=1) = a + lp`` with ``lp``
  as an offset (slope fixed at 1); 0 when the mean prediction matches the event rate.
- Brier score: ``mean((p - y)^2)``.
- Net benefit of treating the cases with ``p >= pt``: ``TP/n - FP/n * pt / (1 - pt)``; treat
  all: ``prevalence - (1 - prevalence) * pt / (1 - pt)``; treat none: 0 (Vickers & Elkin 2006).

References
----------
Van Calster B et al. (2019) Calibration: the Achilles heel of predictive analytics. BMC Med 17:230.
Vickers AJ, Elkin EB (2006) Decision curve analysis. Med Decis Making 26:565-574.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from scipy.stats import norm

from radiome.analysis._bootstrap import bootstrap_ci
from radiome.analysis._outcome import binary_labels
from radiome.errors import AnalysisError

__all__ = ["THRESHOLDS", "calibration_metrics", "calibration_summary", "net_benefit"]

#: Threshold probabilities of the decision curve: 0.01, 0.02, ..., 0.99.
THRESHOLDS = np.round(np.arange(1, 100) / 100, 2)
#: Probabilities are clipped to [EPS, 1 - EPS] before the logit (a model may predict 0 or 1).
EPS = 1e-6
_MAX_ITER = 50


def _logit(p: np.ndarray) -> np.ndarray:
    """logit of ``p`` clipped to [EPS, 1 - EPS]."""
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


def _recalibration(y: np.ndarray, lp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(intercept, slope, (k, 2, 2) inverse information) of ``logit P(y) = a + b lp`` per row.

    ``lp`` is (k, n); Newton-Raphson on every row at once; NaN where it does not converge or
    where ``lp`` separates the classes (no finite maximum likelihood).
    """
    k = lp.shape[0]
    coef = np.zeros((k, 2))
    converged = np.zeros(k, dtype=bool)
    cov = np.full((k, 2, 2), np.nan)
    for _ in range(_MAX_ITER):
        mu = expit(coef[:, :1] + coef[:, 1:] * lp)
        w = mu * (1 - mu)
        info = np.stack([np.stack([w.sum(1), (w * lp).sum(1)], -1),
                         np.stack([(w * lp).sum(1), (w * lp * lp).sum(1)], -1)], -2)
        grad = np.stack([(y - mu).sum(1), ((y - mu) * lp).sum(1)], -1)
        with np.errstate(invalid="ignore", divide="ignore"):
            det = info[:, 0, 0] * info[:, 1, 1] - info[:, 0, 1] ** 2
            cov = np.stack([np.stack([info[:, 1, 1], -info[:, 0, 1]], -1),
                            np.stack([-info[:, 0, 1], info[:, 0, 0]], -1)], -2) / det[:, None, None]
        step = np.einsum("kij,kj->ki", cov, grad)
        coef += np.where(np.isfinite(step), step, np.nan)
        converged = np.abs(step).max(axis=1) < 1e-10
        if converged.all() or not np.isfinite(coef).any():
            break
    coef[~converged | _separated(y, lp)] = np.nan
    return coef[:, 0], coef[:, 1], cov


def _separated(y: np.ndarray, lp: np.ndarray) -> np.ndarray:
    """Per row of ``lp``: True when the events' and non-events' ranges do not overlap."""
    events, others = lp[:, y == 1], lp[:, y == 0]
    if events.shape[1] == 0 or others.shape[1] == 0:
        return np.ones(lp.shape[0], dtype=bool)
    overlap = (events.min(1) < others.max(1)) & (others.min(1) < events.max(1))
    return ~overlap


def _in_the_large(y: np.ndarray, lp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(intercept, its variance) of ``logit P(y) = a + lp`` (offset ``lp``) per row of ``lp``."""
    a = np.zeros(lp.shape[0])
    # saturated predictions (information 0) give inf or NaN steps: the intercept is undefined
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(_MAX_ITER):
            mu = expit(a[:, None] + lp)
            info = (mu * (1 - mu)).sum(1)
            step = (y - mu).sum(1) / info
            a += step
            if (np.abs(step) < 1e-10).all():
                break
        a[~(np.abs(step) < 1e-10)] = np.nan
        mu = expit(a[:, None] + lp)
        return a, 1.0 / (mu * (1 - mu)).sum(1)


def calibration_metrics(y, probability, *, level: float = 0.95) -> dict[str, float]:
    """Calibration intercept and slope with Wald CIs, and the Brier score, of one prediction.

    Parameters
    ----------
    y : (n,) binary labels
    probability : (n,) float
        Predicted probability of the positive class (``classes[1]``).
    level : float, default 0.95

    Returns
    -------
    dict
        ``calibration_intercept`` (offset logistic model, calibration-in-the-large),
        ``calibration_slope`` (logistic recalibration on ``logit(p)``), each with ``_ci_low``
        and ``_ci_high`` (Wald, as statsmodels' ``Logit.conf_int``), and ``brier``. NaN
        intercept or slope where the logistic fit does not converge (complete separation).
    """
    y01, p = _checked(y, probability)
    lp = _logit(p)[None, :]
    _, slope, cov = _recalibration(y01, lp)
    intercept, var_a = _in_the_large(y01, lp)
    z = norm.ppf(0.5 + level / 2)
    se_b, se_a = np.sqrt(cov[0, 1, 1]), np.sqrt(var_a[0])
    return {
        "calibration_intercept": float(intercept[0]),
        "calibration_intercept_ci_low": float(intercept[0] - z * se_a),
        "calibration_intercept_ci_high": float(intercept[0] + z * se_a),
        "calibration_slope": float(slope[0]),
        "calibration_slope_ci_low": float(slope[0] - z * se_b),
        "calibration_slope_ci_high": float(slope[0] + z * se_b),
        "brier": float(np.mean((p - y01) ** 2)),
    }


def net_benefit(y, probability, thresholds=THRESHOLDS) -> dict[str, np.ndarray]:
    """Decision curve: net benefit of the model, of treating all and of treating none.

    Parameters
    ----------
    y : (n,) binary labels
    probability : (n,) or (k, n) float
        Predicted probability; k rows (e.g. the out-of-fold predictions of k CV repeats) give
        the mean of their net benefits.
    thresholds : (T,) float in (0, 1), default 0.01, 0.02, ..., 0.99

    Returns
    -------
    dict
        ``thresholds``, ``values`` (model: ``TP/n - FP/n * pt/(1 - pt)`` with the cases
        ``p >= pt`` treated), ``treat_all`` (``prev - (1 - prev) * pt/(1 - pt)``) and
        ``treat_none`` (zeros), each (T,).
    """
    y01, p = _checked(y, probability)
    pt = np.asarray(thresholds, dtype=np.float64)
    if pt.ndim != 1 or not ((pt > 0) & (pt < 1)).all():
        msg = f"net_benefit: thresholds must be a 1-D array inside (0, 1), got {thresholds!r}"
        raise AnalysisError(msg)
    odds = pt / (1 - pt)
    rows = np.atleast_2d(p)
    treated = rows[:, None, :] >= pt[None, :, None]  # (k, T, n)
    tp = (treated & (y01 == 1)).sum(-1) / y01.size
    fp = (treated & (y01 == 0)).sum(-1) / y01.size
    prevalence = y01.mean()
    return {
        "thresholds": pt,
        "values": (tp - fp * odds).mean(axis=0),
        "treat_all": prevalence - (1 - prevalence) * odds,
        "treat_none": np.zeros_like(pt),
    }


def calibration_summary(
    y, risk, *, groups=None, n_boot: int = 1000, level: float = 0.95, random_state: int = 0,
    thresholds=THRESHOLDS,
) -> dict:
    """Calibration, Brier score and decision curve of out-of-fold predictions (JSON-ready).

    Each value is the mean over the rows of ``risk`` (the repeats of a nested CV) of the
    pooled out-of-fold value; its interval is the percentile bootstrap over cases (patients
    when ``groups``) of that mean, as in :meth:`~radiome.analysis.CVResult.summary`.

    Parameters
    ----------
    y : (n,) 0/1 labels
    risk : (R, n) float
        Out-of-fold probabilities of each repeat.
    groups : (n,) array-like, optional
    n_boot, level, random_state
        Bootstrap settings.
    thresholds : (T,) float, default 0.01, ..., 0.99

    Returns
    -------
    dict
        ``calibration_intercept``, ``calibration_slope``, ``brier`` each with ``_ci_low`` and
        ``_ci_high``, and ``net_benefit``: ``{"thresholds", "values", "treat_all",
        "treat_none"}`` as lists (see :func:`net_benefit`). The slope (and intercept) and their
        intervals are NaN when the outcome is perfectly separated by the predictions (the
        logistic recalibration has no finite solution).
    """
    y01, p = _checked(y, risk)
    lp = _logit(np.atleast_2d(p))
    names = ("calibration_intercept", "calibration_slope", "brier")

    def stat(rows: np.ndarray) -> np.ndarray:
        yy, ll = y01[rows], lp[:, rows]
        intercept, _ = _in_the_large(yy, ll)
        slope = _recalibration(yy, ll)[1]
        brier = ((np.atleast_2d(p)[:, rows] - yy) ** 2).mean(axis=1)
        return np.array([intercept.mean(), slope.mean(), brier.mean()])

    point = stat(np.arange(y01.size))
    defined = np.isfinite(point)
    low, high = np.full(point.shape, np.nan), np.full(point.shape, np.nan)
    low[defined], high[defined] = bootstrap_ci(
        lambda rows: stat(rows)[defined], y01.size, groups=groups, n_boot=n_boot, level=level,
        random_state=random_state,
    )
    out: dict = {}
    for i, name in enumerate(names):
        out[name] = float(point[i])
        out[f"{name}_ci_low"], out[f"{name}_ci_high"] = float(low[i]), float(high[i])
    curve = net_benefit(y01, p, thresholds)
    out["net_benefit"] = {key: [round(float(v), 6) for v in values]
                          for key, values in curve.items()}
    return out


def _checked(y, probability) -> tuple[np.ndarray, np.ndarray]:
    """(0/1 labels, probabilities as float) with matching lengths and values in [0, 1]."""
    _, y01 = binary_labels(y)
    p = np.asarray(probability, dtype=np.float64)
    if p.shape[-1] != y01.size or p.ndim > 2:
        msg = f"probabilities of shape {p.shape} do not match {y01.size} labels"
        raise AnalysisError(msg)
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        msg = "predicted probabilities must be finite and inside [0, 1]"
        raise AnalysisError(msg)
    return y01, p
