"""Feature selection by reliability: keep only features that a reliability study found stable.

The reliability table comes from a separate test-retest, multi-segmentation or perturbation study
(issue 7's ICC table: columns ``feature``, ``icc``, ``ci_low``, ``ci_high``). It never sees the
outcome, so keeping its stable features is not fitted to the training folds: ``fit`` only records
which of the table's features are columns of ``X``. Outcome-driven selection (univariate or L1)
is done by scikit-learn's ``SelectKBest`` / ``SelectFromModel`` inside the validated pipeline.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from radiome.errors import AnalysisError, AnalysisWarning
from radiome.reliability.study import stable_features

__all__ = ["ReliabilityFilter", "anova_f", "cox_score", "stable_features"]



def anova_f(X, y) -> tuple[np.ndarray, np.ndarray]:
    """(F, p) of scikit-learn's ``f_classif``, with features constant in ``X`` scored F=0, p=1.

    A feature can be constant within a training fold (few distinct values); ``f_classif`` would
    return NaN and warn. A feature constant within each class but not overall keeps F = inf
    (without scikit-learn's warning: it is the best possible separation, not a problem).
    For ``SelectKBest(anova_f)``.
    """
    from sklearn.feature_selection import f_classif

    X = np.asarray(X, dtype=np.float64)
    varying = np.ptp(X, axis=0) > 0
    f, p = np.zeros(X.shape[1]), np.ones(X.shape[1])
    if varying.any():
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Features .* are constant", UserWarning)
            f[varying], p[varying] = f_classif(X[:, varying], y)
    return f, p


def cox_score(X, y) -> tuple[np.ndarray, np.ndarray]:
    """(chi-square, p) of the univariate Cox score test of every feature (Breslow ties).

    For feature j at beta = 0: ``U = sum over events i of (x_ij - mean of x_j over the risk set
    at t_i)`` and ``I = sum over events of the variance of x_j over that risk set`` (divided by
    its size); the statistic is ``U^2 / I`` (the log-rank test of a continuous covariate). Equal
    to ``statsmodels`` ``PHReg(ties="breslow")`` score and information at 0 (tested). Features
    constant over all risk sets get 0, p = 1. For ``SelectKBest(cox_score)`` on a survival ``y``
    (structured event/time array).
    """
    from scipy import stats

    from radiome.analysis._outcome import split_survival

    event, time = split_survival(y)
    X = np.asarray(X, dtype=np.float64)
    order = np.argsort(-time, kind="stable")  # descending: the risk set of t is a prefix
    x, t, e = X[order], time[order], event[order]
    n_at = np.arange(1, t.size + 1, dtype=np.float64)
    sum_x, sum_x2 = np.cumsum(x, axis=0), np.cumsum(x**2, axis=0)
    last = np.searchsorted(-t, -t, side="right") - 1  # last row tied with t: whole risk set
    mean = sum_x[last] / n_at[last, None]
    var = sum_x2[last] / n_at[last, None] - mean**2
    u = ((x - mean) * e[:, None]).sum(axis=0)
    info = (np.maximum(var, 0.0) * e[:, None]).sum(axis=0)
    chi2 = np.divide(u**2, info, out=np.zeros_like(u), where=info > 1e-12 * np.maximum(1.0, u**2))
    return chi2, stats.chi2.sf(chi2, 1)


class ReliabilityFilter(SelectorMixin, BaseEstimator):
    """Keep the features listed as stable (or reaching ``min_icc`` in an ICC table).

    Parameters
    ----------
    stable : list of str or DataFrame
        Stable feature names, or an ICC table (see :func:`stable_features`).
    min_icc : float, default 0.75
        Threshold when ``stable`` is an ICC table.
    ci : {"lower", "point"}, default "lower"
        Which ICC value is compared with ``min_icc``.

    Attributes
    ----------
    support_ : (n_features_in_,) bool ndarray
        Columns of ``X`` that are kept.

    Notes
    -----
    Column names come from ``X`` (a DataFrame) or, for arrays, scikit-learn's default names
    ``x0, x1, ...``. Columns of ``X`` absent from the reliability table are dropped with an
    :class:`~radiome.errors.AnalysisWarning` (their reliability is unknown).
    """

    def __init__(self, *, stable=None, min_icc: float = 0.75, ci: str = "lower"):
        self.stable = stable
        self.min_icc = min_icc
        self.ci = ci

    def fit(self, X, y=None):
        """Record which columns of ``X`` are stable; returns ``self``."""
        validate_data(self, X, ensure_all_finite="allow-nan")
        names = _check_feature_names_in(self, None)
        if isinstance(self.stable, pd.DataFrame):
            stable = stable_features(self.stable, min_icc=self.min_icc, ci=self.ci)
            known = set(self.stable["feature"].astype(str))
        elif self.stable is None:
            msg = "ReliabilityFilter: stable must be a list of feature names or an ICC table"
            raise AnalysisError(msg)
        else:
            stable = [str(s) for s in self.stable]
            known = None
        self.support_ = np.isin(names, stable)
        if known is not None:
            unknown = [n for n in names if n not in known]
            if unknown:
                warnings.warn(
                    f"ReliabilityFilter: {len(unknown)} feature(s) not in the ICC table are "
                    f"dropped (e.g. {unknown[:3]})",
                    AnalysisWarning,
                    stacklevel=2,
                )
        if not self.support_.any():
            msg = (
                f"ReliabilityFilter: none of the {len(names)} features is stable "
                f"(e.g. {list(names[:3])}); check the feature names or lower min_icc"
            )
            raise AnalysisError(msg)
        return self

    def _get_support_mask(self) -> np.ndarray:
        """Boolean mask of the kept columns."""
        check_is_fitted(self)
        return self.support_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
