"""Additive value of a biomarker over a baseline model.

Likelihood-ratio test of nested models (logistic: statsmodels; Cox: lifelines); net
reclassification improvement (categorical, at given risk cut-offs, and continuous) and integrated
discrimination improvement (IDI), each with percentile-bootstrap CIs, for a binary outcome or a
survival outcome at a time horizon.

Symbols: ``p_old``, ``p_new`` predicted risks of the baseline and the extended model; E events
(outcome 1, or event by the horizon), N non-events; "up" means ``p_new`` moved to a higher
category (categorical NRI) or ``p_new > p_old`` (continuous NRI).

    NRI = [P(up | E) - P(down | E)] + [P(down | N) - P(up | N)]
    IDI = [mean(p_new - p_old | E)] - [mean(p_new - p_old | N)]

At a horizon ``t`` the events and non-events are weighted by inverse probability of censoring
(Uno et al. 2013): a case with an event at ``T_i <= t`` counts ``1 / G(T_i-)``, a case still
event-free at ``t`` counts ``1 / G(t)``, a case censored before ``t`` counts 0, where ``G`` is
the Kaplan-Meier estimate of the censoring distribution (``G(T_i-)`` its value just before
``T_i``). Without censoring before ``t`` all weights are equal and the binary formulas result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from radiome.analysis._bootstrap import bootstrap_ci
from radiome.analysis._outcome import binary_labels, is_survival, split_survival
from radiome.errors import AnalysisError

__all__ = ["idi", "likelihood_ratio_test", "nri"]


def likelihood_ratio_test(y, base: pd.DataFrame, added: pd.DataFrame) -> dict[str, float]:
    """Likelihood-ratio test of ``base`` against ``base + added`` predictors.

    Parameters
    ----------
    y : (n,) binary labels, or structured (event, time) survival array
        Binary: logistic regression with intercept (statsmodels ``Logit``); survival: Cox
        proportional hazards (lifelines ``CoxPHFitter``, Efron ties, no penalty).
    base : DataFrame
        Baseline predictors (may have no columns: intercept-only / null Cox model).
    added : DataFrame
        Predictors added to the baseline (e.g. the radiomic signature).

    Returns
    -------
    dict
        ``statistic`` = 2 (loglik_full - loglik_base), ``df`` (number of added columns), ``p``
        (chi-square), ``loglik_base``, ``loglik_full``.
    """
    base = pd.DataFrame(base).reset_index(drop=True)
    added = pd.DataFrame(added).reset_index(drop=True)
    overlap = sorted(set(base.columns) & set(added.columns))
    if overlap or added.shape[1] == 0:
        got = list(added.columns)
        msg = f"likelihood_ratio_test: added needs new columns, got {got} (overlap {overlap})"
        raise AnalysisError(msg)
    full = pd.concat([base, added], axis=1)
    if is_survival(y):
        fitted = _cox_fit(y, full)
        ll_full = fitted.log_likelihood_
        if base.shape[1]:
            ll_base = _cox_fit(y, base).log_likelihood_
        else:  # lifelines' own null (no covariate) partial likelihood
            ll_base = ll_full - fitted.log_likelihood_ratio_test().test_statistic / 2
    else:
        _, y01 = binary_labels(y)
        ll_base, ll_full = _logit_loglik(y01, base), _logit_loglik(y01, full)
    statistic = 2.0 * (ll_full - ll_base)
    df = added.shape[1]
    return {
        "statistic": float(statistic),
        "df": int(df),
        "p": float(stats.chi2.sf(statistic, df)),
        "loglik_base": float(ll_base),
        "loglik_full": float(ll_full),
    }


def _logit_loglik(y01: np.ndarray, X: pd.DataFrame) -> float:
    """Maximised log-likelihood of a logistic regression with intercept."""
    import statsmodels.api as sm

    design = sm.add_constant(X.astype(float), has_constant="add")
    return float(sm.Logit(y01, design).fit(disp=0).llf)


def _cox_fit(y, X: pd.DataFrame):
    """Fitted lifelines Cox model (Efron ties, no penalty) of ``X``."""
    from lifelines import CoxPHFitter

    event, time = split_survival(y)
    data = X.astype(float).assign(_time=time, _event=event.astype(int))
    return CoxPHFitter().fit(data, "_time", "_event")


def _event_weights(y, horizon: float | None) -> tuple[np.ndarray, np.ndarray]:
    """(is_event, weight) per case: binary labels with weight 1, or IPCW at the horizon."""
    if not is_survival(y):
        _, y01 = binary_labels(y)
        return y01 == 1, np.ones(y01.size)
    if horizon is None:
        msg = "survival outcome: pass horizon= (the time at which risk is evaluated)"
        raise AnalysisError(msg)
    from sksurv.nonparametric import kaplan_meier_estimator

    event, time = split_survival(y)
    cens_t, cens_s = kaplan_meier_estimator(~event, time)

    def g_before(t: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(cens_t, t, side="left") - 1
        return np.where(idx >= 0, cens_s[np.maximum(idx, 0)], 1.0)

    def g_at(t: float) -> float:
        idx = np.searchsorted(cens_t, t, side="right") - 1
        return float(cens_s[idx]) if idx >= 0 else 1.0

    is_event = event & (time <= horizon)
    still_free = time > horizon
    weight = np.zeros(time.size)
    weight[is_event] = 1.0 / g_before(time[is_event])
    if still_free.any():
        weight[still_free] = 1.0 / g_at(horizon)
    if not is_event.any() or not still_free.any():
        msg = f"horizon {horizon}: needs cases with an event by then and cases event-free after it"
        raise AnalysisError(msg)
    return is_event, weight


def _movement(risk_old, risk_new, cutoffs) -> np.ndarray:
    """+1 up, -1 down, 0 same: by category when ``cutoffs`` is given, else by any change."""
    if cutoffs is None:
        return np.sign(risk_new - risk_old)
    return np.sign(
        np.searchsorted(cutoffs, risk_new, side="right")
        - np.searchsorted(cutoffs, risk_old, side="right")
    )


def _nri_parts(move, is_event, weight) -> np.ndarray:
    """(NRI, NRI among events, NRI among non-events)."""
    we, wn = weight * is_event, weight * ~is_event
    events = (we * (move > 0)).sum() / we.sum() - (we * (move < 0)).sum() / we.sum()
    nonevents = (wn * (move < 0)).sum() / wn.sum() - (wn * (move > 0)).sum() / wn.sum()
    return np.array([events + nonevents, events, nonevents])


def _idi_parts(diff, is_event, weight) -> np.ndarray:
    """(IDI, mean change among events, mean change among non-events)."""
    we, wn = weight * is_event, weight * ~is_event
    events = (we * diff).sum() / we.sum()
    nonevents = (wn * diff).sum() / wn.sum()
    return np.array([events - nonevents, events, nonevents])


def _risks(risk_old, risk_new, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Both risk vectors as checked float arrays of length ``n`` with values in [0, 1]."""
    old = np.asarray(risk_old, dtype=np.float64)
    new = np.asarray(risk_new, dtype=np.float64)
    for name, r in (("risk_old", old), ("risk_new", new)):
        if r.shape != (n,) or not np.isfinite(r).all() or (r < 0).any() or (r > 1).any():
            msg = f"{name} must be {n} finite probabilities in [0, 1]"
            raise AnalysisError(msg)
    return old, new


def _with_ci(point, low, high, names) -> dict[str, float]:
    """Flat dict ``name, name_ci_low, name_ci_high`` for each part."""
    out = {}
    for i, name in enumerate(names):
        out[name], out[f"{name}_ci_low"], out[f"{name}_ci_high"] = (
            float(point[i]),
            float(low[i]),
            float(high[i]),
        )
    return out


def nri(
    y,
    risk_old,
    risk_new,
    *,
    cutoffs=None,
    horizon: float | None = None,
    groups=None,
    n_boot: int = 1000,
    level: float = 0.95,
    random_state: int = 0,
) -> dict[str, float]:
    """Net reclassification improvement of ``risk_new`` over ``risk_old``, with bootstrap CIs.

    Parameters
    ----------
    y : (n,) binary labels, or structured (event, time) survival array
    risk_old, risk_new : (n,) array-like
        Predicted risk (probability of the outcome, or of an event by ``horizon``).
    cutoffs : sequence of float, optional
        Risk category bounds (increasing): categorical NRI, where category ``k`` holds
        ``cutoffs[k-1] <= risk < cutoffs[k]``. None gives the continuous (category-free) NRI.
    horizon : float, optional
        Required for a survival outcome (IPCW weights, see the module docstring).
    groups : (n,) array-like, optional
        Patient of each row, resampled as a whole in the bootstrap.
    n_boot, level, random_state
        Percentile bootstrap.

    Returns
    -------
    dict
        ``nri``, ``nri_events``, ``nri_nonevents``, each with ``_ci_low`` and ``_ci_high``.

    References
    ----------
    Pencina MJ, D'Agostino RB Sr, D'Agostino RB Jr, Vasan RS. Evaluating the added predictive
    ability of a new marker. Stat Med 2008;27:157-172.
    Pencina MJ, D'Agostino RB Sr, Steyerberg EW. Extensions of net reclassification improvement
    calculations to measure usefulness of new biomarkers. Stat Med 2011;30:11-21.
    Uno H, Tian L, Cai T, Kohane IS, Wei LJ. A unified inference procedure for a class of
    measures to assess improvement in risk prediction systems with survival data. Stat Med
    2013;32:2430-2442.
    """
    if cutoffs is not None:
        cutoffs = np.asarray(cutoffs, dtype=np.float64)
        if cutoffs.ndim != 1 or cutoffs.size == 0 or np.any(np.diff(cutoffs) <= 0):
            msg = f"nri: cutoffs must be increasing, got {cutoffs.tolist()}"
            raise AnalysisError(msg)
    return _reclassification(
        y,
        risk_old,
        risk_new,
        horizon,
        groups,
        n_boot,
        level,
        random_state,
        lambda old, new, e, w: _nri_parts(_movement(old, new, cutoffs), e, w),
        ("nri", "nri_events", "nri_nonevents"),
    )


def idi(
    y,
    risk_old,
    risk_new,
    *,
    horizon: float | None = None,
    groups=None,
    n_boot: int = 1000,
    level: float = 0.95,
    random_state: int = 0,
) -> dict[str, float]:
    """Integrated discrimination improvement of ``risk_new`` over ``risk_old``, with CIs.

    Parameters are those of :func:`nri` (without ``cutoffs``).

    Returns
    -------
    dict
        ``idi`` (= discrimination slope of new minus old), ``idi_events`` (mean risk change among
        events), ``idi_nonevents`` (among non-events), each with ``_ci_low`` and ``_ci_high``.
    """
    return _reclassification(
        y,
        risk_old,
        risk_new,
        horizon,
        groups,
        n_boot,
        level,
        random_state,
        lambda old, new, e, w: _idi_parts(new - old, e, w),
        ("idi", "idi_events", "idi_nonevents"),
    )


def _reclassification(y, risk_old, risk_new, horizon, groups, n_boot, level, seed, parts, names):
    """Point estimate and bootstrap CI of a reclassification measure (weights per resample)."""
    is_event, weight = _event_weights(y, horizon)
    old, new = _risks(risk_old, risk_new, is_event.size)
    point = parts(old, new, is_event, weight)

    def statistic(rows: np.ndarray) -> np.ndarray:
        e, w = _event_weights(y[rows] if is_survival(y) else np.asarray(y)[rows], horizon)
        return parts(old[rows], new[rows], e, w)

    low, high = bootstrap_ci(
        statistic, is_event.size, groups=groups, n_boot=n_boot, level=level, random_state=seed
    )
    return _with_ci(point, low, high, names)
