"""Selection: by reliability (ICC table or list), ANOVA F and the univariate Cox score test."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_selection import f_classif
from sklearn.utils.estimator_checks import parametrize_with_checks

from radiome.analysis import ReliabilityFilter, anova_f, cox_score, survival_array
from radiome.errors import AnalysisError, AnalysisWarning

ICC = pd.DataFrame(
    {
        "feature": ["a", "b", "c", "d"],
        "icc": [0.95, 0.85, 0.80, 0.40],
        "ci_low": [0.90, 0.70, 0.76, 0.20],
        "ci_high": [0.98, 0.93, 0.88, 0.60],
    }
)


def test_filter_keeps_stable_columns_by_name():
    X = pd.DataFrame(np.arange(12.0).reshape(3, 4), columns=["d", "c", "b", "a"])
    f = ReliabilityFilter(stable=ICC).fit(X)
    np.testing.assert_array_equal(f.get_support(), [False, True, False, True])
    np.testing.assert_array_equal(f.transform(X), X[["c", "a"]].to_numpy())
    assert list(f.get_feature_names_out()) == ["c", "a"]
    assert list(ReliabilityFilter(stable=["b"]).fit(X).get_feature_names_out()) == ["b"]


def test_unknown_features_warn_and_none_stable_is_an_error():
    X = pd.DataFrame(np.ones((3, 3)), columns=["a", "zz", "d"])
    with pytest.warns(AnalysisWarning, match=r"1 feature\(s\) not in the ICC table"):
        ReliabilityFilter(stable=ICC).fit(X)
    with pytest.raises(AnalysisError, match="none of the 2 features is stable"):
        ReliabilityFilter(stable=ICC).fit(X[["zz", "d"]].rename(columns={"zz": "b"}))


def test_anova_f_equals_f_classif_and_scores_constant_features_zero():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    y = np.arange(30) % 2
    X[:, 2] = 7.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f, p = anova_f(X, y)
    ref_f, ref_p = f_classif(X[:, [0, 1, 3]], y)
    np.testing.assert_allclose(f[[0, 1, 3]], ref_f)
    np.testing.assert_allclose(p[[0, 1, 3]], ref_p)
    assert (f[2], p[2]) == (0.0, 1.0)


def test_cox_score_equals_statsmodels_phreg_breslow():
    """Score test at beta = 0: U^2 / I with statsmodels' PHReg score and Hessian (Breslow ties),
    on data with tied times, tied covariate values and a constant feature."""
    from statsmodels.duration.hazard_regression import PHReg

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    X[:, 2] = np.round(X[:, 2])
    X[:, 3] = 1.5
    time = np.round(rng.exponential(np.exp(-X[:, 0])), 1) + 0.1
    event = rng.random(80) < 0.7
    chi2, p = cox_score(X, survival_array(event, time))
    for j in range(3):
        model = PHReg(time, X[:, [j]], status=event.astype(int), ties="breslow")
        u, h = model.score(np.zeros(1))[0], model.hessian(np.zeros(1))[0, 0]
        assert chi2[j] == pytest.approx(u**2 / -h, rel=1e-10)
    assert chi2[0] > 20
    assert p[0] < 1e-5
    assert (chi2[3], p[3]) == (0.0, 1.0)


@parametrize_with_checks([ReliabilityFilter(stable=["x0", "x1", "x3", "x5", "x9"])])
def test_sklearn_contract(estimator, check):
    check(estimator)
