"""ComBat against neuroCombat 0.2.12 and neuroHarmonize 2.4.5 on the same data, to 1e-4.

The references are the reference implementations of Fortin et al. (neuroCombat, a port of R
``sva::ComBat``) and Pomponio et al. (neuroHarmonize, whose ``harmonizationApply`` applies frozen
estimates to new samples). Both print progress; the output is swallowed.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.utils.estimator_checks import parametrize_with_checks
from tests.conftest import require_module

from radiome.analysis import ComBat
from radiome.errors import AnalysisError, AnalysisWarning

neuroCombat = require_module("neuroCombat").neuroCombat

TOL = 1e-4


def _quiet(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def _sites(rng, n_per_site, p):
    """Features with additive and multiplicative site effects plus age and sex effects."""
    batch = np.repeat(np.array(["siteA", "siteB", "siteC"]), n_per_site)
    n = batch.size
    age = rng.uniform(20, 80, n)
    sex = rng.choice(np.array(["F", "M"]), n)
    X = rng.normal(size=(n, p)) + 0.03 * age[:, None] + 0.5 * (sex == "M")[:, None]
    shift = {"siteA": 0.0, "siteB": 1.5, "siteC": -1.0}
    scale = {"siteA": 1.0, "siteB": 2.0, "siteC": 0.5}
    X = X * np.array([scale[b] for b in batch])[:, None]
    X += np.array([shift[b] for b in batch])[:, None] * rng.uniform(0.5, 2.0, p)
    return X, batch, pd.DataFrame({"age": age, "sex": sex})


@pytest.fixture(scope="module")
def synthetic():
    return _sites(np.random.default_rng(7), [25, 35, 30], 40)


@pytest.fixture(scope="module")
def real_with_sites(shared_data: Path):
    """HN1 radiomics table (105 features, 137 patients) split into 3 sites with added effects."""
    df = pd.read_csv(shared_data / "radmlbench" / "datasets" / "Head-Neck-Radiomics-HN1.gz")
    X = df.drop(columns=["ID", "Target"]).to_numpy()
    rng = np.random.default_rng(3)
    batch = rng.choice(np.array(["s1", "s2", "s3"]), X.shape[0], p=[0.3, 0.3, 0.4])
    effect = {"s1": (0.0, 1.0), "s2": (0.8, 1.6), "s3": (-0.5, 0.7)}
    X = (
        X * np.array([effect[b][1] for b in batch])[:, None]
        + np.array([effect[b][0] for b in batch])[:, None]
    )
    return X, batch


@pytest.mark.parametrize("parametric", [True, False], ids=["parametric", "nonparametric"])
def test_equals_neurocombat_with_covariates(synthetic, parametric):
    X, batch, cov = synthetic
    ref = _quiet(
        neuroCombat,
        X.T.copy(),
        cov.assign(batch=batch),
        "batch",
        categorical_cols=["sex"],
        continuous_cols=["age"],
        parametric=parametric,
    )["data"].T
    got = ComBat(parametric=parametric).fit_transform(X, batch=batch, covariates=cov)
    np.testing.assert_allclose(got, ref, atol=TOL, rtol=0)


@pytest.mark.parametrize("parametric", [True, False], ids=["parametric", "nonparametric"])
def test_equals_neurocombat_on_real_features(real_with_sites, parametric):
    X, batch = real_with_sites
    ref = _quiet(
        neuroCombat, X.T.copy(), pd.DataFrame({"batch": batch}), "batch", parametric=parametric
    )["data"].T
    got = ComBat(parametric=parametric).fit_transform(X, batch=batch)
    np.testing.assert_allclose(got, ref, atol=TOL, rtol=0)


def test_removes_site_effects(real_with_sites):
    X, batch = real_with_sites
    got = ComBat().fit_transform(X, batch=batch)
    site_means = np.array([got[batch == b].mean(axis=0) for b in np.unique(batch)])
    raw_means = np.array([X[batch == b].mean(axis=0) for b in np.unique(batch)])
    assert (
        np.abs(site_means - site_means.mean(0)).max()
        < 0.2 * np.abs(raw_means - raw_means.mean(0)).max()
    )


def test_stopping_rule_counts_like_neurocombat(synthetic, monkeypatch):
    """Same number of EB iterations as neuroCombat's it_sol (stopping rule is the definition)."""
    nc = importlib.import_module("neuroCombat.neuroCombat")  # the module, not the function

    X, batch, _ = synthetic
    counts = []
    original = nc.postvar

    def counting_postvar(*args):
        counts.append(1)
        return original(*args)

    monkeypatch.setattr(nc, "postvar", counting_postvar)
    _quiet(nc.neuroCombat, X.T.copy(), pd.DataFrame({"batch": batch}), "batch")
    model = ComBat().fit(X, batch=batch)
    assert model.n_iter_.sum() == len(counts)


def test_frozen_parameters_apply_to_new_samples(synthetic):
    X, batch, cov = synthetic
    train = np.arange(X.shape[0]) % 4 != 0
    model = ComBat().fit(X[train], batch=batch[train], covariates=cov[train])
    whole = model.transform(X[~train], batch=batch[~train], covariates=cov[~train])
    one_by_one = np.vstack(
        [
            model.transform(X[[i]], batch=batch[[i]], covariates=cov.iloc[[i]])
            for i in np.flatnonzero(~train)
        ]
    )
    np.testing.assert_allclose(whole, one_by_one, atol=1e-12)
    np.testing.assert_allclose(
        model.transform(X[train], batch=batch[train], covariates=cov[train]),
        ComBat().fit_transform(X[train], batch=batch[train], covariates=cov[train]),
        atol=1e-12,
    )


def test_equals_neuroharmonize_apply_on_new_samples(synthetic):
    """Frozen estimates on held-out samples: neuroHarmonize harmonizationLearn/-Apply."""
    require_module("nibabel")  # neuroHarmonize 2.4.5 imports it without declaring it
    from neuroHarmonize import harmonizationApply, harmonizationLearn

    X, batch, cov = synthetic
    covars = pd.DataFrame({"SITE": batch, "age": cov["age"], "male": (cov["sex"] == "M") * 1.0})
    train = np.arange(X.shape[0]) % 4 != 0
    model, _ = _quiet(harmonizationLearn, X[train], covars[train].reset_index(drop=True))
    ref = _quiet(harmonizationApply, X[~train], covars[~train].reset_index(drop=True), model)
    ours = ComBat().fit(X[train], batch=batch[train], covariates=covars.loc[train, ["age", "male"]])
    got = ours.transform(
        X[~train], batch=batch[~train], covariates=covars.loc[~train, ["age", "male"]]
    )
    np.testing.assert_allclose(got, ref, atol=TOL, rtol=0)


def test_unseen_batch_is_named(synthetic):
    X, batch, _ = synthetic
    model = ComBat().fit(X, batch=batch)
    other = batch.copy()
    other[:3] = "siteZ"
    with pytest.raises(AnalysisError, match=r"'siteZ'.*not seen in fit.*refit"):
        model.transform(X, batch=other)


@pytest.mark.parametrize(
    ("batch", "covariates", "match"),
    [
        (np.array(["a"] * 10), None, "at least 2 batches"),
        (np.array(["a"] * 9 + ["b"]), None, "at least 2 samples per batch"),
        (np.array(["a"] * 5 + ["b"] * 5), pd.DataFrame({"g": ["x"] * 5 + ["y"] * 5}), "confounded"),
        (np.array(["a"] * 5 + ["b"] * 4 + [None]), None, "missing label"),
    ],
    ids=["one-batch", "singleton-batch", "confounded", "missing"],
)
def test_bad_input_is_named(batch, covariates, match):
    X = np.random.default_rng(0).normal(size=(10, 4))
    with pytest.raises(AnalysisError, match=match):
        ComBat().fit(X, batch=batch, covariates=covariates)


def test_missing_covariates_at_transform(synthetic):
    X, batch, cov = synthetic
    model = ComBat().fit(X, batch=batch, covariates=cov)
    with pytest.raises(AnalysisError, match=r"covariates \['age', 'sex'\]"):
        model.transform(X, batch=batch)
    with pytest.raises(AnalysisError, match="level"):
        model.transform(X, batch=batch, covariates=cov.assign(sex="X"))


def test_single_feature_warns_and_skips_shrinkage():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 1))
    batch = np.repeat(["a", "b"], 10)
    with pytest.warns(AnalysisWarning, match="one varying feature"):
        model = ComBat().fit(X, batch=batch)
    s = (X - model.grand_mean_) / np.sqrt(model.var_pooled_)
    np.testing.assert_allclose(model.gamma_star_[:, 0], [s[:10].mean(), s[10:].mean()])


def _row_sites(X) -> np.ndarray:
    """A site per row from a checksum of its values: stable under row order and subsets."""
    if sparse.issparse(X) or np.iscomplexobj(np.asarray(X)):  # ComBat itself must refuse these
        return np.arange(X.shape[0]) % 2
    rows = np.asarray(X, dtype=np.float64)
    rows = rows.reshape(-1, 1) if rows.ndim == 1 else rows
    return np.array([zlib.crc32(np.ascontiguousarray(r).tobytes()) % 2 for r in rows])


class _ChecksumSites(ComBat):
    """ComBat with the site derived from the row, so scikit-learn's checks can call fit(X)."""

    def fit(self, X, y=None):
        return super().fit(X, batch=_row_sites(X))

    def transform(self, X):
        return super().transform(X, batch=_row_sites(X))

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)


@parametrize_with_checks([_ChecksumSites()])
def test_sklearn_contract(estimator, check):
    check(estimator)
