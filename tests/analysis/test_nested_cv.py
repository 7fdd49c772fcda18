"""Leak-free validation: the nested pipeline on pure noise stays at chance, every fitted step sees
only training rows, grouped rows stay together, results are reproducible."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from radiome.analysis import (
    BiomarkerPipeline,
    ComBat,
    ReliabilityFilter,
    default_pipeline,
    nested_cv,
    survival_array,
)
from radiome.errors import AnalysisError, AnalysisWarning


def _noise_with_sites(n_per_site=40, p=300, seed=0):
    """Pure-noise features with strong additive and multiplicative site effects; y is a coin."""
    rng = np.random.default_rng(seed)
    site = np.repeat(np.array(["A", "B", "C"]), n_per_site)
    X = rng.normal(size=(site.size, p))
    for s in np.unique(site):
        rows = site == s
        X[rows] = X[rows] * rng.uniform(0.5, 2.0, p) + rng.normal(0, 2.0, p)
    y = np.zeros(site.size, dtype=int)
    for s in np.unique(site):  # balanced within site: the outcome carries no site information
        rows = np.flatnonzero(site == s)
        y[rng.permutation(rows)[: rows.size // 2]] = 1
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(p)]), y, site


def _small_binary(harmonize: bool) -> BiomarkerPipeline:
    return default_pipeline("binary", harmonize=harmonize, inner_splits=3).set_params(
        param_grid={"selector__k": [5, 10], "model__C": [1.0]}
    )


def test_leakage_inflates_auc_nested_stays_at_chance():
    X, y, site = _noise_with_sites()
    # wrong: ComBat and univariate selection fitted on all cases, then only the model is validated
    Xh = ComBat().fit_transform(X, batch=site)
    Xs = SelectKBest(f_classif, k=10).fit_transform(Xh, y)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    leaky = cross_val_score(LogisticRegression(), Xs, y, cv=cv, scoring="roc_auc").mean()
    # right: every step inside the folds
    summary = nested_cv(_small_binary(True), X, y, batch=site, n_repeats=2, random_state=0).summary(
        n_boot=300
    )
    assert leaky > 0.75
    assert abs(summary["auc"] - 0.5) < 0.1
    assert summary["auc_ci_low"] < 0.5 < summary["auc_ci_high"]


_SEEN: list[set] = []


class _SpyScaler(TransformerMixin, BaseEstimator):
    """Identity transformer that records the row IDs (column 0) it is fitted on."""

    def fit(self, X, y=None):
        _SEEN.append(set(np.asarray(X)[:, 0].round().astype(int)))
        return self

    def transform(self, X):
        return np.asarray(X)


class _SpyComBat(ComBat):
    """ComBat that records the row IDs (column 0) it is fitted on."""

    def fit(self, X, y=None, *, batch, covariates=None):
        _SEEN.append(set(np.asarray(X)[:, 0].round().astype(int)))
        return super().fit(X, batch=batch, covariates=covariates)


class _SpySelector(SelectKBest):
    """SelectKBest that records the row IDs (column 0) it is fitted on."""

    def fit(self, X, y=None):
        _SEEN.append(set(np.asarray(X)[:, 0].round().astype(int)))
        return super().fit(X, y)


class _SpyModel(LogisticRegression):
    """LogisticRegression that records the row IDs (column 0) it is fitted on."""

    def fit(self, X, y, sample_weight=None):
        _SEEN.append(set(np.asarray(X)[:, 0].round().astype(int)))
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize(
    ("steps", "fits_per_outer_fold"),
    [
        (
            {"harmonizer": _SpyComBat()},
            3 + 1,
        ),  # once per inner fold (shared by grid points) + refit
        ({"scaler": _SpyScaler()}, 3 + 1),
        ({"selector": _SpySelector(f_classif, k=3)}, 3 * 2 + 1),  # per inner fold and grid point
        ({"model": _SpyModel()}, 3 * 2 + 1),
    ],
    ids=["harmonizer", "scaler", "selector", "model"],
)
def test_every_fitted_step_sees_only_training_rows(steps, fits_per_outer_fold):
    X, y, site = _noise_with_sites(n_per_site=12, p=8, seed=1)
    X.insert(0, "row_id", np.arange(len(X), dtype=float))
    _SEEN.clear()
    grid = {"model__C": [0.1, 1.0]}
    pipe = BiomarkerPipeline(**steps, param_grid=grid, inner_splits=3)
    result = nested_cv(pipe, X, y, batch=site, n_splits=3, n_repeats=2, random_state=5)
    trains = [set(np.flatnonzero(result.fold[r] != f)) for r in range(2) for f in range(3)]
    assert len(_SEEN) == 2 * 3 * fits_per_outer_fold
    for seen in _SEEN:
        assert any(seen <= train for train in trains), "a step was fitted on rows of a test fold"
    assert all(len(seen) < len(X) for seen in _SEEN)


def test_grouped_rows_stay_together():
    rng = np.random.default_rng(2)
    patient = np.repeat(np.arange(40), rng.integers(1, 4, 40))
    y = (rng.random(40) < 0.5).astype(int)[patient]
    X = pd.DataFrame(rng.normal(size=(patient.size, 6))).assign(row_id=np.arange(patient.size))
    X = X[["row_id", 0, 1, 2, 3, 4, 5]]
    X.columns = X.columns.astype(str)
    _SEEN.clear()
    pipe = BiomarkerPipeline(
        scaler=_SpyScaler(), param_grid={"model__C": [0.1, 1.0]}, inner_splits=3
    )
    result = nested_cv(pipe, X, y, groups=patient, n_splits=4, n_repeats=2, random_state=0)
    for r in range(2):
        for p in np.unique(patient):
            assert np.unique(result.fold[r, patient == p]).size == 1
    for seen in _SEEN:  # inner folds keep patients whole too
        rows = np.array(sorted(seen))
        whole = np.isin(np.flatnonzero(np.isin(patient, patient[rows])), rows)
        assert whole.all()


def test_reproducible_and_independent_of_jobs():
    X, y, site = _noise_with_sites(n_per_site=20, p=30, seed=3)
    pipe = _small_binary(True)
    a = nested_cv(pipe, X, y, batch=site, n_splits=3, n_repeats=2, random_state=11)
    b = nested_cv(pipe, X, y, batch=site, n_splits=3, n_repeats=2, random_state=11, n_jobs=2)
    np.testing.assert_array_equal(a.risk, b.risk)
    np.testing.assert_array_equal(a.fold, b.fold)
    assert a.summary(n_boot=100) == b.summary(n_boot=100)
    c = nested_cv(pipe, X, y, batch=site, n_splits=3, n_repeats=2, random_state=12)
    assert not np.array_equal(a.fold, c.fold)


def test_threshold_and_tuning_come_from_training_data():
    X, y, _ = _noise_with_sites(n_per_site=30, p=20, seed=4)
    signal = X["f0"] + (2 * y - 1) * 1.5
    X = X.assign(f0=signal)
    pipe = _small_binary(False).fit(X, y)
    assert set(pipe.cv_results_.columns) == {"params", "score"}
    assert pipe.best_params_ == pipe.cv_results_["params"][int(pipe.cv_results_["score"].idxmax())]
    risk = pipe.risk_score(X)
    np.testing.assert_array_equal(pipe.predict(X), (risk >= pipe.threshold_).astype(int))
    assert pipe.score(X, y) > 0.8


def test_survival_pipeline_on_whas500():
    from sksurv.datasets import load_whas500

    X, y_raw = load_whas500()
    y = survival_array(y_raw["fstat"], y_raw["lenfol"])
    result = nested_cv(
        default_pipeline("survival", inner_splits=3),
        X.astype(float),
        y,
        n_splits=3,
        n_repeats=1,
        random_state=0,
    )
    summary = result.summary(n_boot=100)
    assert 0.7 < summary["c_index"] < 0.85
    assert summary["c_index_ci_low"] < summary["c_index"] < summary["c_index_ci_high"]
    assert 0.7 < summary["td_auc"] < 0.9
    assert 0.05 < summary["ibs"] < 0.25
    assert summary["logrank_p"] < 1e-6
    assert result.survival.shape == (1, len(y), result.times.size)


def test_reliability_filter_inside_pipeline():
    X, y, _ = _noise_with_sites(n_per_site=20, p=10, seed=5)
    icc = pd.DataFrame({"feature": X.columns, "icc": 0.9, "ci_low": [0.8, 0.5] * 5, "ci_high": 1.0})
    pipe = BiomarkerPipeline(reliability=ReliabilityFilter(stable=icc), inner_splits=3).fit(X, y)
    assert list(pipe.features_used_) == [f"f{i}" for i in range(0, 10, 2)]
    assert pipe.model_.coef_.shape == (1, 5)


def test_errors_name_the_problem():
    X, y, site = _noise_with_sites(n_per_site=10, p=5)
    with pytest.raises(AnalysisError, match="pass batch="):
        _small_binary(True).fit(X, y)
    with pytest.raises(AnalysisError, match=r"only model, selector__\* and model__\*"):
        BiomarkerPipeline(param_grid={"scaler__with_mean": [True]}).fit(X, y)
    with pytest.raises(AnalysisError, match="Only binary"):
        BiomarkerPipeline().fit(X, np.arange(len(y)) % 3)
    fitted = _small_binary(True).fit(X, y, batch=site)
    with pytest.raises(AnalysisError, match=r"\['Z'\] not seen"):
        fitted.risk_score(X, batch=np.where(site == "A", "Z", site))


@parametrize_with_checks(
    [
        BiomarkerPipeline(
            scaler=StandardScaler(),
            selector=SelectKBest(k=2),
            model=LogisticRegression(),
            param_grid={"model__C": [0.1, 1.0]},
            inner_splits=3,
        )
    ],
    expected_failed_checks=lambda est: {
        "check_classifiers_train": "predict uses the threshold chosen on training data, not "
        "probability 0.5 (as scikit-learn's TunedThresholdClassifierCV)",
    },
)
def test_sklearn_contract(estimator, check):
    check(estimator)


def test_tiny_sample_reports_the_folds_that_ran_and_warns_once():
    rng = np.random.default_rng(4)
    X = pd.DataFrame(rng.normal(size=(8, 4)), columns=[f"f{i}" for i in range(4)])
    y = np.array([0, 1, 0, 1, 0, 1, 0, 0])  # 3 positives: at most 3 outer folds
    calls = []
    with pytest.warns(AnalysisWarning) as caught:
        result = nested_cv(
            _small_binary(False).set_params(inner_splits=2),
            X,
            y,
            n_splits=5,
            n_repeats=2,
            progress=lambda done, total: calls.append((done, total)),
        )
    small = [str(w.message) for w in caught if "small sample" in str(w.message)]
    assert small == [
        "small sample: 8 cases, 3 in the smaller class; outer CV ran 3 folds instead of 5; "
        "the estimates and their intervals are unstable"
    ]
    assert calls == [(i, 6) for i in range(7)]
    summary = result.summary(n_boot=100)
    assert (summary["n_splits"], summary["n_repeats"]) == (3, 2)
    assert summary["ci_method"] == (
        "95% CI: percentile bootstrap over cases (100 resamples) of the mean over 2 repeats"
    )


def test_imputer_fills_missing_values_from_training_rows_only():
    rng = np.random.default_rng(6)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    y = (X["a"] > 0).astype(int).to_numpy()
    X.iloc[:6, 1] = np.nan
    pipe = default_pipeline("binary", inner_splits=3).fit(X, y)
    imputer = pipe.front_[0][1]
    np.testing.assert_allclose(imputer.statistics_, X.median().to_numpy())
    result = nested_cv(default_pipeline("binary", inner_splits=3), X, y, n_splits=3, n_repeats=1)
    assert np.isfinite(result.risk).all()
    with pytest.raises(ValueError, match="NaN"):
        BiomarkerPipeline(scaler=StandardScaler()).fit(X, y)
