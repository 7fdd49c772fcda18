"""Prognostic value of a risk score for a time-to-event outcome.

Harrell's and Uno's C-index with bootstrap CIs, time-dependent (cumulative/dynamic) AUC,
integrated Brier score (scikit-survival), risk groups by a cut-off learned on training data,
Kaplan-Meier curves and the log-rank test (lifelines).

Outcomes are structured arrays ``[("event", bool), ("time", float)]`` (see
:func:`radiome.analysis.survival_array`); a higher risk score means earlier events.

Tie handling of the C-indices (scikit-survival's, stated here because it changes the value):
a pair is comparable when the shorter time is an event; two events at the same time are not
comparable; an event and a censoring at the same time are comparable (the censored case is
taken to outlive the event); pairs whose risk scores differ by at most 1e-8 count 1/2.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from radiome.analysis._bootstrap import bootstrap_ci
from radiome.analysis._outcome import split_survival, survival_array
from radiome.errors import AnalysisError

__all__ = [
    "concordance",
    "harrell_c",
    "integrated_brier",
    "kaplan_meier",
    "logrank",
    "time_dependent_auc",
    "uno_c",
]


def _as_y(y) -> np.ndarray:
    """Normalised structured outcome (event bool, time float)."""
    return survival_array(*split_survival(y))


def _rows(risk, n: int) -> np.ndarray:
    """Risk scores as a (k, n) float array (k = repeats), checked finite."""
    risk = np.atleast_2d(np.asarray(risk, dtype=np.float64))
    if risk.shape[1] != n:
        msg = f"risk has {risk.shape[1]} values per row, the outcome {n}"
        raise AnalysisError(msg)
    if not np.isfinite(risk).all():
        msg = "risk scores contain NaN or infinite values"
        raise AnalysisError(msg)
    return risk


def harrell_c(y, risk) -> float:
    """Harrell's C-index of ``risk`` (mean over rows when ``risk`` is (k, n)).

    Parameters
    ----------
    y : structured (event, time) array
    risk : (n,) or (k, n) array-like
        Higher = earlier event.

    Returns
    -------
    float

    Notes
    -----
    ``sksurv.metrics.concordance_index_censored``; tie handling in the module docstring.
    """
    from sksurv.metrics import concordance_index_censored

    y = _as_y(y)
    risk = _rows(risk, y.size)
    return float(np.mean([concordance_index_censored(y["event"], y["time"], r)[0] for r in risk]))


def uno_c(y, risk, *, y_train=None, tau: float | None = None) -> float:
    """Uno's IPCW C-index of ``risk`` truncated at ``tau`` (mean over rows of a (k, n) risk).

    Parameters
    ----------
    y : structured (event, time) array
        Outcome of the scored cases.
    risk : (n,) or (k, n) array-like
    y_train : structured array, optional
        Data for the Kaplan-Meier estimate of the censoring distribution (default ``y``).
    tau : float, optional
        Truncation time: only pairs whose shorter time is below ``tau`` count. Choose it where
        the censoring survival is still well above 0 (default: the largest time).

    Notes
    -----
    ``sksurv.metrics.concordance_index_ipcw`` (weights ``G(T_i)^-2``); tie handling as Harrell's.

    References
    ----------
    Uno H, Cai T, Pencina MJ, D'Agostino RB, Wei LJ. On the C-statistics for evaluating overall
    adequacy of risk prediction procedures with censored survival data. Stat Med 2011;30:1105-17.
    """
    from sksurv.metrics import concordance_index_ipcw

    y = _as_y(y)
    y_train = y if y_train is None else _as_y(y_train)
    risk = _rows(risk, y.size)
    return float(np.mean([concordance_index_ipcw(y_train, y, r, tau=tau)[0] for r in risk]))


def concordance(
    y,
    risk,
    *,
    tau: float | None = None,
    groups=None,
    n_boot: int = 1000,
    level: float = 0.95,
    random_state: int = 0,
) -> dict[str, float]:
    """Harrell's and Uno's C-index with percentile-bootstrap confidence intervals.

    Parameters
    ----------
    y : structured (event, time) array
    risk : (n,) or (k, n) array-like
        One risk score per case, or k of them (e.g. out-of-fold scores of k CV repeats), in
        which case each C is the mean over rows and every resample re-scores all rows.
    tau : float, optional
        Truncation time of Uno's C.
    groups : (n,) array-like, optional
        Patient of each row: whole patients are resampled.
    n_boot : int, default 1000
    level : float, default 0.95
    random_state : int, default 0

    Returns
    -------
    dict
        ``c_index``, ``c_index_ci_low``, ``c_index_ci_high`` (Harrell), ``uno_c``,
        ``uno_c_ci_low``, ``uno_c_ci_high``. In each resample the censoring distribution of
        Uno's C is re-estimated from the resample.
    """
    y = _as_y(y)
    risk = _rows(risk, y.size)
    with threadpool_limits(limits=1, user_api="blas"):  # many tiny products: 1 thread is faster
        low, high = bootstrap_ci(
            _ResampledConcordance(y, risk, tau),
            y.size,
            groups=groups,
            n_boot=n_boot,
            level=level,
            random_state=random_state,
        )
    c_harrell, c_uno = harrell_c(y, risk), uno_c(y, risk, tau=tau)
    return {
        "c_index": c_harrell,
        "c_index_ci_low": float(low[0]),
        "c_index_ci_high": float(high[0]),
        "uno_c": c_uno,
        "uno_c_ci_low": float(low[1]),
        "uno_c_ci_high": float(high[1]),
    }


class _ResampledConcordance:
    """(Harrell's C, Uno's C) of a bootstrap resample, from pair matrices computed once.

    Equal to scikit-survival's ``concordance_index_censored`` and ``concordance_index_ipcw`` on
    the resampled rows (tested): copies of one case are never comparable with each other, so a
    resample is the original pairs weighted by the product of the cases' multiplicities. Uno's
    per-event weight ``G(T_i)^-2`` comes from scikit-survival's censoring estimator fitted on
    the resample.
    """

    def __init__(self, y: np.ndarray, risk: np.ndarray, tau: float | None):
        event, time = y["event"], y["time"]
        self.y, self.tau = y, np.inf if tau is None else tau
        self.comparable = event[:, None] & (
            (time[:, None] < time[None, :]) | ((time[:, None] == time[None, :]) & ~event[None, :])
        )
        diff = risk[:, :, None] - risk[:, None, :]
        self.concordant = np.where(np.abs(diff) <= 1e-8, 0.5, (diff > 0) * 1.0) * self.comparable

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        from sksurv.nonparametric import CensoringDistributionEstimator

        w = np.bincount(rows, minlength=self.y.size).astype(np.float64)
        present = w > 0
        ipcw = np.zeros(self.y.size)
        ipcw[present] = (
            CensoringDistributionEstimator().fit(self.y[rows]).predict_ipcw(self.y[present])
        )
        uno_w = w * ipcw**2 * (self.y["time"] < self.tau)
        harrell = (w @ self.concordant @ w) / (w @ self.comparable @ w)
        uno = (uno_w @ self.concordant @ w) / (uno_w @ self.comparable @ w)
        return np.array([harrell.mean(), uno.mean()])


def time_dependent_auc(y, risk, times, *, y_train=None) -> tuple[np.ndarray, float]:
    """Cumulative/dynamic AUC at ``times`` and its mean (scikit-survival).

    Returns ``(auc_at_times, mean_auc)``; the mean is weighted by the Kaplan-Meier estimate of
    the event distribution over ``times`` (Lambert & Chevret 2016), as
    ``sksurv.metrics.cumulative_dynamic_auc``. A (k, n) ``risk`` gives row means.
    """
    from sksurv.metrics import cumulative_dynamic_auc

    y = _as_y(y)
    y_train = y if y_train is None else _as_y(y_train)
    risk = _rows(risk, y.size)
    results = [cumulative_dynamic_auc(y_train, y, r, np.asarray(times, float)) for r in risk]
    return np.mean([r[0] for r in results], axis=0), float(np.mean([r[1] for r in results]))


def integrated_brier(y, survival, times, *, y_train=None) -> float:
    """Integrated Brier score of predicted survival probabilities over ``times``.

    Parameters
    ----------
    y : structured (event, time) array
    survival : (n, n_times) or (k, n, n_times) array
        Predicted probability of being event-free at each of ``times``.
    times : (n_times,) array
        At least 2 increasing times within the follow-up of ``y``.
    y_train : structured array, optional
        For the censoring weights (default ``y``).

    Notes
    -----
    ``sksurv.metrics.integrated_brier_score`` (IPCW Brier score of Graf et al. 1999, integrated
    by the trapezoidal rule and divided by the time span).
    """
    from sksurv.metrics import integrated_brier_score

    y = _as_y(y)
    y_train = y if y_train is None else _as_y(y_train)
    survival = np.asarray(survival, dtype=np.float64)
    survival = survival[None] if survival.ndim == 2 else survival
    return float(
        np.mean([integrated_brier_score(y_train, y, s, np.asarray(times, float)) for s in survival])
    )


def kaplan_meier(y, group=None) -> dict:
    """Kaplan-Meier curves: ``{group: (time, survival)}`` (one curve ``"all"`` without groups).

    Uses ``sksurv.nonparametric.kaplan_meier_estimator``.
    """
    from sksurv.nonparametric import kaplan_meier_estimator

    event, time = split_survival(_as_y(y))
    group = np.full(time.size, "all") if group is None else np.asarray(group)
    return {
        g: kaplan_meier_estimator(event[group == g], time[group == g]) for g in np.unique(group)
    }


def logrank(y, group) -> dict[str, float]:
    """Log-rank test of equal survival between the groups in ``group``.

    Returns ``statistic`` (chi-square), ``df``, ``p``, from lifelines'
    ``multivariate_logrank_test`` (two groups give the usual two-sample test).
    """
    from lifelines.statistics import multivariate_logrank_test

    event, time = split_survival(_as_y(y))
    group = np.asarray(group)
    if np.unique(group).size < 2:
        msg = f"log-rank test needs at least 2 groups, got {np.unique(group).tolist()}"
        raise AnalysisError(msg)
    res = multivariate_logrank_test(time, group, event)
    return {
        "statistic": float(res.test_statistic),
        "df": int(res.degrees_of_freedom),
        "p": float(res.p_value),
    }
