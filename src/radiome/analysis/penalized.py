"""Penalised GLMs whose first columns (the confounders) are not penalised, by glum.

glmnet's ``penalty.factor = 0``: glum's ``GeneralizedLinearRegressor`` takes per-column L1
and L2 penalty weights ``P1`` and ``P2``; weight 0 leaves a column free, so the confounders'
coefficients are those of an unpenalised fit given the selected features, and the penalty
selects among the image features only. glum's OpenMP loops run on one thread: on these small
problems more threads make a fit 10 to 50 times slower (measured on 2 busy cores).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from radiome.analysis._outcome import binary_labels
from radiome.errors import AnalysisError

__all__ = ["PenalizedLogistic", "PenalizedRegression"]


class _PenalizedGLM(BaseEstimator):
    """Elastic-net GLM (glum) with the first ``n_unpenalized`` columns unpenalised."""

    _family = "normal"

    def __init__(self, *, alpha: float = 0.01, l1_ratio: float = 1.0, n_unpenalized: int = 0):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.n_unpenalized = n_unpenalized

    def _fit_glm(self, X, target) -> None:
        """Fit glum on validated ``X``; set ``coef_``, ``intercept_`` and ``n_iter_``."""
        from glum import GeneralizedLinearRegressor
        from threadpoolctl import threadpool_limits

        if not 0 <= self.n_unpenalized <= X.shape[1]:
            msg = (f"n_unpenalized must be between 0 and the {X.shape[1]} columns of X, got "
                   f"{self.n_unpenalized!r}")
            raise AnalysisError(msg)
        weights = np.r_[np.zeros(self.n_unpenalized), np.ones(X.shape[1] - self.n_unpenalized)]
        glm = GeneralizedLinearRegressor(
            family=self._family, alpha=self.alpha, l1_ratio=self.l1_ratio, P1=weights,
            P2=weights, fit_intercept=True, gradient_tol=1e-6,
        )
        with threadpool_limits(limits=1, user_api="openmp"):  # tiny fits: threads only cost
            glm.fit(X, target)
        self.coef_ = np.asarray(glm.coef_, dtype=np.float64)
        self.intercept_ = float(glm.intercept_)
        self.n_iter_ = glm.n_iter_

    def _linear(self, X) -> np.ndarray:
        """Linear predictor of new ``X``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_ + self.intercept_


class PenalizedLogistic(ClassifierMixin, _PenalizedGLM):
    """Elastic-net logistic regression with unpenalised confounders (the first columns).

    Parameters
    ----------
    alpha : float, default 0.01
        Penalty strength (glum: mean deviance / 2 + alpha * (l1_ratio * |w|_1 +
        (1 - l1_ratio) / 2 * |w|_2^2) over the penalised columns).
    l1_ratio : float, default 1.0
        1 is the lasso, 0 ridge.
    n_unpenalized : int, default 0
        The first ``n_unpenalized`` columns of ``X`` (confounders) get penalty weight 0.

    Attributes
    ----------
    coef_ : (n_features,) ndarray
    intercept_ : float
    classes_ : (2,) ndarray
    """

    _family = "binomial"

    def fit(self, X, y):
        """Fit on ``X`` and binary ``y``; returns ``self``."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        self.classes_, y01 = binary_labels(y)
        self._fit_glm(X, y01.astype(np.float64))
        return self

    def decision_function(self, X) -> np.ndarray:
        """Log-odds of ``classes_[1]``."""
        return self._linear(X)

    def predict_proba(self, X) -> np.ndarray:
        """(n_samples, 2) class probabilities."""
        from scipy.special import expit

        p = expit(self._linear(X))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        """Class with probability >= 0.5."""
        positive = self._linear(X) >= 0
        return self.classes_[positive.astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


class PenalizedRegression(RegressorMixin, _PenalizedGLM):
    """Elastic-net linear regression with unpenalised confounders (the first columns).

    Parameters and attributes as :class:`PenalizedLogistic` (Gaussian family, no ``classes_``).
    """

    def fit(self, X, y):
        """Fit on ``X`` and continuous ``y``; returns ``self``."""
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        self._fit_glm(X, y)
        return self

    def predict(self, X) -> np.ndarray:
        """Predicted mean."""
        return self._linear(X)
