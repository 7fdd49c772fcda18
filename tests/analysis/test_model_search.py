"""The default ensemble and the model search: both stay at chance on noise (no leak from choosing
among families), find a non-linear signal a linear model cannot see; the search chooses its family
inside the inner CV, and the grids are what the documentation says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import ParameterGrid

from radiome.analysis import BiomarkerPipeline, default_pipeline, model_search_grid, nested_cv
from radiome.analysis.search import model_label
from radiome.errors import AnalysisError


def _table(n, p, seed):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n, p)), columns=[f"f{i}" for i in range(p)]), rng


def test_default_ensemble_on_a_noise_table_stays_at_chance():
    X, rng = _table(120, 200, seed=0)
    y = rng.permutation(np.arange(120) % 2)
    result = nested_cv(default_pipeline("binary", inner_splits=3), X, y, n_splits=3,
                       n_repeats=1, n_jobs=2, random_state=0)
    summary = result.summary(n_boot=300)
    assert abs(summary["auc"] - 0.5) < 0.1
    assert summary["auc_ci_low"] < 0.5


def test_model_search_on_a_noise_table_stays_at_chance():
    X, rng = _table(120, 200, seed=0)
    y = rng.permutation(np.arange(120) % 2)
    search = default_pipeline("binary", search="models")
    result = nested_cv(search, X, y, n_repeats=1, n_jobs=2, random_state=0)
    summary = result.summary(n_boot=300)
    # choosing the best of the 22 points on the same CV that scores it is optimistic
    best_inner = search.fit(X, y).cv_results_["score"].max()
    assert best_inner > 0.55
    # the nested estimate is not: at chance (or, as usual without signal, slightly below it)
    assert abs(summary["auc"] - 0.5) < 0.1
    assert summary["auc_ci_low"] < 0.5
    assert summary["auc"] < best_inner - 0.05


def test_ensemble_and_search_find_a_non_linear_signal_the_linear_model_misses():
    X, rng = _table(160, 10, seed=1)
    y = (X["f0"].abs() > 0.7).astype(int).to_numpy()  # same mean in both classes: no linear signal
    kwargs = {"n_splits": 3, "n_repeats": 1, "n_jobs": 2, "random_state": 0}
    ensemble = nested_cv(default_pipeline("binary", inner_splits=3), X, y, **kwargs)
    search = nested_cv(default_pipeline("binary", inner_splits=3, search="models"), X, y,
                       **kwargs)
    linear = nested_cv(default_pipeline("binary", inner_splits=3, search="linear"), X, y,
                       **kwargs)
    assert ensemble.summary(n_boot=200)["auc"] > 0.75
    assert search.summary(n_boot=200)["auc"] > 0.75
    assert linear.summary(n_boot=200)["auc"] < 0.65
    families = {model_label(p).split(",")[0] for fold in search.params for p in fold}
    assert families <= {"random forest", "gradient boosting", "RBF SVM"}


def test_family_is_chosen_by_the_inner_cv_and_refitted():
    X, _ = _table(100, 10, seed=2)
    y = (X["f0"] + 0.3 * X["f1"] > 0).astype(int).to_numpy()  # linear signal
    pipe = default_pipeline("binary", inner_splits=3, search="models").fit(X, y)
    scores = pipe.cv_results_["score"].to_numpy()
    assert len(scores) == len(ParameterGrid(model_search_grid())) == 22
    assert pipe.best_params_ == pipe.cv_results_["params"][int(np.nanargmax(scores))]
    assert type(pipe.model_) is type(pipe.best_params_["model"])
    assert pipe.model_ is not pipe.best_params_["model"]  # a fitted clone, the grid stays unfitted
    assert pipe.score(X, y) > 0.9


def test_grid_labels_name_every_family_and_its_settings():
    labels = [model_label(p) for p in ParameterGrid(model_search_grid())]
    families = {label.split(",")[0] for label in labels}
    assert families == {"L2 logistic", "L1 logistic", "elastic-net logistic", "random forest",
                        "gradient boosting", "RBF SVM"}
    assert "RBF SVM, C=3.0, k=64" in labels
    assert "random forest, k=all" in labels
    assert "L2 logistic, C=0.01, k=8" in labels


def test_default_ensemble_averages_the_three_families_probabilities():
    X, _ = _table(80, 6, seed=4)
    y = (X["f0"] > 0).astype(int).to_numpy()
    pipe = default_pipeline("binary", inner_splits=3).fit(X, y)
    assert model_label(pipe.best_params_) == "ensemble, k=all"
    members = pipe.model_.named_estimators_
    assert list(members) == ["logistic", "forest", "extra_trees"]
    assert members["forest"].n_estimators == members["extra_trees"].n_estimators == 300
    z = pipe._tail_input(pipe._front_transform(X, None, None))
    mean = np.mean([m.predict_proba(z)[:, 1] for m in members.values()], axis=0)
    np.testing.assert_allclose(pipe.predict_proba(X)[:, 1], mean, rtol=1e-12)


def test_bad_search_and_grid_keys_are_one_clear_error():
    with pytest.raises(AnalysisError, match="search must be 'ensemble', 'models' or 'linear', "
                                            "got 'deep'"):
        default_pipeline("binary", search="deep")
    X, _ = _table(30, 3, seed=3)
    pipe = BiomarkerPipeline(param_grid={"scaler": [None]})
    with pytest.raises(AnalysisError, match=r"only model, selector__\* and model__\*.*'scaler'"):
        pipe.fit(X, np.arange(30) % 2)
