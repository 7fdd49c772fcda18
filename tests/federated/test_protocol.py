"""Federated analyses run in one process equal the same analyses on the pooled table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from radiome.analysis import ComBat
from radiome.errors import AnalysisError
from radiome.federated import SiteData, Study, load_site, multisite_tables, run_in_process
from radiome.federated import sums as S
from radiome.federated.demo import FEATURES

FEATS = list(FEATURES)


def _sites(tables):
    return [SiteData(name, t[FEATS].to_numpy(float), t["grade"].to_numpy(float),
                     t["time"].to_numpy(float), t["event"].to_numpy(float))
            for name, t in tables.items()]


@pytest.fixture(scope="module")
def tables():
    return multisite_tables(0)


@pytest.fixture(scope="module")
def study(tables):
    return run_in_process(Study(FEATS, l2=1.0, cox=True), _sites(tables))


@pytest.fixture(scope="module")
def pooled(tables, study):
    table = pd.concat(tables.values(), ignore_index=True)
    x = table[FEATS].to_numpy(float)
    rows = ~np.isnan(x).any(axis=1)
    z = (x[rows] - study.mean) / study.sd
    return table, x, rows, z


def _pooled_logistic(z, y, l2):
    model = LogisticRegression(C=1.0 / l2 if l2 else np.inf, solver="newton-cholesky",
                               tol=1e-14, max_iter=1000)
    model.fit(z, y)
    return np.concatenate([model.intercept_, model.coef_[0]])


def test_federated_mean_and_sd_equal_pooled_to_1e9(study, pooled):
    _, x, _, _ = pooled
    np.testing.assert_allclose(study.mean, np.nanmean(x, axis=0), rtol=1e-9)
    np.testing.assert_allclose(study.sd, np.nanstd(x, axis=0, ddof=1), rtol=1e-9)
    np.testing.assert_array_equal(study.missing, np.isnan(x).sum(axis=0))


def test_federated_logistic_l2_equals_pooled_sklearn_fit_to_1e6(study, pooled):
    table, _, rows, z = pooled
    expected = _pooled_logistic(z, table["grade"].to_numpy()[rows], 1.0)
    np.testing.assert_allclose(study.fits[0]["beta"], expected, atol=1e-6)
    assert study.fits[0]["converged"]


def test_federated_unpenalised_logistic_equals_pooled_maximum_likelihood(tables, pooled):
    table, _, rows, z = pooled
    fitted = run_in_process(Study(FEATS, l2=0.0, loso=False), _sites(tables))
    expected = _pooled_logistic(z, table["grade"].to_numpy()[rows], 0.0)
    np.testing.assert_allclose(fitted.fits[0]["beta"], expected, atol=1e-6)


def test_federated_cox_efron_equals_lifelines_and_sksurv_on_pooled(study, pooled):
    from lifelines import CoxPHFitter
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    table, _, rows, z = pooled
    frame = pd.DataFrame(z, columns=FEATS)
    frame["T"], frame["E"] = table["time"].to_numpy()[rows], table["event"].to_numpy()[rows]
    lifelines = CoxPHFitter().fit(frame, "T", "E", fit_options={"precision": 1e-12})
    np.testing.assert_allclose(study.cox_fit["beta"], lifelines.params_.to_numpy(), atol=1e-6)
    assert study.cox_fit["loglik"] == pytest.approx(lifelines.log_likelihood_, rel=1e-12)
    y = np.array(list(zip(frame["E"] > 0, frame["T"], strict=True)),
                 dtype=[("event", bool), ("time", float)])
    sksurv = CoxPHSurvivalAnalysis(ties="efron", tol=1e-12, n_iter=200).fit(z, y)
    np.testing.assert_allclose(study.cox_fit["beta"], sksurv.coef_, atol=1e-9)


def test_pooled_auc_from_histograms_within_0005_of_exact(study, pooled):
    table, _, rows, z = pooled
    beta = study.fits[0]["beta"]
    exact = roc_auc_score(table["grade"].to_numpy()[rows], z @ beta[1:])
    assert abs(study.result()["auc"] - exact) < 0.005


def test_leave_one_site_out_fit_equals_pooled_fit_without_that_site(tables, study, pooled):
    table, _, rows, z = pooled
    fit = next(f for f in study.fits if f["exclude"] == "site_b")
    keep = (table["case_id"].str.startswith("site_b") == False).to_numpy()[rows]  # noqa: E712
    expected = _pooled_logistic(z[keep], table["grade"].to_numpy()[rows][keep], 1.0)
    np.testing.assert_allclose(fit["beta"], expected, atol=1e-6)
    held_out = table["case_id"].str.startswith("site_b").to_numpy()[rows]
    auc = roc_auc_score(table["grade"].to_numpy()[rows][held_out], z[held_out] @ fit["beta"][1:])
    assert study.site_metrics["site_b"]["loso_auc"] == pytest.approx(auc, abs=1e-9)


def _with_age(tables):
    return [SiteData(s.name, s.x, s.y, s.time, s.event, t[["age"]].to_numpy(float))
            for s, t in zip(_sites(tables), tables.values(), strict=True)]


@pytest.mark.parametrize("covariates", [[], ["age"]])
def test_federated_combat_sums_equal_pooled_combat_to_1e6(tables, covariates):
    parts = [t[FEATS[:-1] + covariates].dropna() for t in tables.values()]
    xs = [p[FEATS[:-1]].to_numpy(float) for p in parts]
    zs = [p[covariates].to_numpy(float) for p in parts]
    total = {k: sum(S.combat_sums(x, z)[k] for x, z in zip(xs, zs, strict=True))
             for k in ("n", "sum", "zsum", "xx", "zz", "zx")}
    grand_mean, var_pooled, coef = S.combat_global(total)
    federated = np.vstack([S.combat_harmonise(x, z, grand_mean, var_pooled, coef)
                           for x, z in zip(xs, zs, strict=True)])
    batch = np.repeat(list(tables), [len(x) for x in xs])
    combat = ComBat().fit(np.vstack(xs), batch=batch,
                          covariates=pd.concat(parts)[covariates] if covariates else None)
    np.testing.assert_allclose(grand_mean, combat.grand_mean_, rtol=1e-10)
    np.testing.assert_allclose(var_pooled, combat.var_pooled_, rtol=1e-9)
    np.testing.assert_allclose(coef, combat.coef_covariates_, rtol=1e-9, atol=1e-12)
    expected = combat.transform(np.vstack(xs), batch=batch,
                                covariates=pd.concat(parts)[covariates] if covariates else None)
    np.testing.assert_allclose(federated, expected, atol=1e-6)


def test_study_with_combat_equals_pooled_combat_then_pooled_fit(tables):
    study = run_in_process(Study(FEATS, combat=True, loso=False), _with_age(tables))
    table = pd.concat(tables.values(), ignore_index=True)
    rows = ~table[FEATS].isna().any(axis=1).to_numpy()
    x = table[FEATS].to_numpy(float)[rows]
    harmonised = ComBat().fit_transform(x, batch=table["case_id"].str[:6].to_numpy()[rows],
                                        covariates=table.loc[rows, ["age"]])
    np.testing.assert_allclose(study.mean, harmonised.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(study.sd, harmonised.std(axis=0, ddof=1), rtol=1e-9)
    assert study.n.tolist() == [rows.sum()] * len(FEATS)
    z = (harmonised - study.mean) / study.sd
    expected = _pooled_logistic(z, table["grade"].to_numpy()[rows], 1.0)
    np.testing.assert_allclose(study.fits[0]["beta"], expected, atol=1e-6)
    assert study.result()["combat"]["coef"] == pytest.approx(
        ComBat().fit(x, batch=table["case_id"].str[:6].to_numpy()[rows],
                     covariates=table.loc[rows, ["age"]]).coef_covariates_.ravel().tolist())


def test_covariate_confounded_with_site_is_an_error(tables):
    sites = [SiteData(s.name, s.x, s.y, z=np.full((len(s.y), 1), float(i)))
             for i, s in enumerate(_sites(tables))]
    with pytest.raises(AnalysisError, match="confounded with site"):
        run_in_process(Study(FEATS, combat=True), sites)


def test_top_k_filter_selects_as_select_k_best_and_fits_the_selected_features(tables, pooled):
    from sklearn.feature_selection import SelectKBest, f_classif

    table, _, rows, z = pooled
    y = table["grade"].to_numpy()[rows]
    study = run_in_process(Study(FEATS, top_k=3), _sites(tables))
    chosen = SelectKBest(f_classif, k=3).fit(z, y).get_support()
    assert study.result()["logistic"]["selected"] == [f for f, c in zip(FEATS, chosen,
                                                                        strict=True) if c]
    expected = np.zeros(len(FEATS) + 1)
    expected[np.r_[True, chosen]] = _pooled_logistic(z[:, chosen], y, 1.0)
    np.testing.assert_allclose(study.fits[0]["beta"], expected, atol=1e-6)
    held_in = ~table["case_id"].str.startswith("site_b").to_numpy()[rows]
    loso = next(f for f in study.fits if f["exclude"] == "site_b")
    own = SelectKBest(f_classif, k=3).fit(z[held_in], y[held_in]).get_support()
    np.testing.assert_array_equal(loso["keep"][1:], own)


def test_pooled_c_index_within_0005_of_harrell_c(study, pooled):
    from radiome.analysis.survival import harrell_c

    table, _, rows, z = pooled
    y = np.array(list(zip(table["event"].to_numpy()[rows] > 0, table["time"].to_numpy()[rows],
                          strict=True)), dtype=[("event", bool), ("time", float)])
    exact = harrell_c(y, z @ study.cox_fit["beta"])
    assert abs(study.result()["cox"]["c_index"] - exact) < 0.005



@pytest.mark.parametrize("seed", range(6))
def test_site_c_index_equals_sksurv_with_tied_times_and_risks(seed):
    from sksurv.metrics import concordance_index_censored

    rng = np.random.default_rng(seed)
    n = [7, 40, 300][seed % 3]
    time = rng.integers(1, 12, n).astype(float)
    event = (rng.random(n) < 0.6).astype(float)
    event[0] = 1.0
    risk = rng.integers(0, 5, n).astype(float) if seed % 2 else rng.normal(size=n)
    expected = concordance_index_censored(event > 0, time, risk)[0]
    assert S.exact_c_index(time, event, risk) == pytest.approx(expected, abs=1e-12)


def test_site_c_index_is_nan_without_a_comparable_pair():
    assert np.isnan(S.exact_c_index(np.array([1.0, 2.0]), np.zeros(2), np.array([0.1, 0.2])))

def test_auc_from_histograms_counts_ties_in_a_bin_as_half():
    hist = np.zeros((2, 4))
    hist[0, [0, 2]] = 1  # negatives in bins 0 and 2
    hist[1, [2, 3]] = 1  # positives in bins 2 and 3
    assert S.auc_from_histograms(hist) == pytest.approx((1 + 0.5 + 1 + 1) / 4)


def test_malformed_site_table_is_refused_naming_every_problem(tmp_path, tables):
    bad = tables["site_a"].drop(columns=["entropy"]).assign(grade=2)
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(AnalysisError, match=r"bad.csv: site 'a' refused: column 'entropy' "
                                            r"missing; column 'grade' must be 0/1"):
        load_site(path, "a", features=FEATS, id_col="case_id", outcome="grade")


def test_constant_feature_over_all_sites_is_an_error(tables):
    sites = [SiteData(s.name, np.column_stack([s.x[:, 0], np.ones(len(s.y))]), s.y)
             for s in _sites(tables)]
    with pytest.raises(AnalysisError, match=r"\['flat'\] are constant"):
        run_in_process(Study(["volume", "flat"]), sites)


def test_federated_demo_writes_the_site_tables_and_the_next_commands(tmp_path):
    from typer.testing import CliRunner

    from radiome.federated.cli import app

    result = CliRunner().invoke(app, ["demo", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name, table in multisite_tables(0).items():
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / f"{name}.csv"), table,
                                      check_dtype=False)
    assert "radiome federated run --site site_a=" in result.stdout
    assert "--combat --covariates age" in result.stdout


@pytest.mark.parametrize("combat", [False, True])
def test_max_newton_counts_newton_rounds_with_or_without_combat(tables, combat):
    study = run_in_process(Study(FEATS, max_newton=2, combat=combat), _sites(tables))
    assert study.fits[0]["iterations"] == 2
    assert study.rounds == 2 + 1 + combat  # the moments and ComBat rounds come first
