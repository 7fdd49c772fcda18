"""The penalised GLMs with unpenalised confounders keep the scikit-learn estimator contract."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from radiome.analysis import PenalizedLogistic, PenalizedRegression


@parametrize_with_checks([PenalizedLogistic(), PenalizedRegression(n_unpenalized=1)])
def test_sklearn_contract(estimator, check):
    check(estimator)
