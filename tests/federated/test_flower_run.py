"""`radiome federated run` with real Flower processes on loopback (SuperLink + SuperNodes).

Every message exchange on Flower's deployment engine costs seconds, so one study without SecAgg+
(ComBat with age, then to convergence) and one with it run once for the module and are shared.
The SecAgg+ study is short (ComBat, the statistics and two Newton steps with the ANOVA filter,
leave-one-site-out fits and a Cox model; the second step's request carries the first step's
models, which the sites and the summed histograms evaluate) and starts with a fourth site,
killed while it computes its first answer: the three left meet SecAgg+'s reconstruction
threshold, so the study runs again on them alone, and its results equal the same study run in
one process. Two more runs without SecAgg+ show a malformed site refused and a killed site
ending the study. (The studies run one after the other: side by side on two test workers they
slowed each other and the rest of the suite.)
"""

from __future__ import annotations

import json
import threading

import numpy as np
import pandas as pd
import pytest

from radiome.analysis import ComBat
from radiome.analysis.survival import harrell_c
from radiome.federated import SiteData, Study, multisite_tables, run_in_process
from tests.federated.flower import FEATS, kill_when, run_study, site_tables, study_args

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    return site_tables(tmp_path_factory.mktemp("sites"))


@pytest.fixture(scope="module")
def plain(tables, tmp_path_factory):
    out = tmp_path_factory.mktemp("plain")
    code, left = run_study(study_args(tables, out, "--time", "time", "--event", "event",
                                      "--no-secagg", "--combat", "--covariates", "age"))
    return code, left, out


@pytest.fixture(scope="module")
def pooled(tables, plain):
    """The pooled table, its rows with every feature, and those rows ComBat-harmonised
    (site = batch, age preserved) and z-scored by the federated statistics."""
    table = pd.concat([pd.read_csv(p) for p in tables[1].values()], ignore_index=True)
    stats = pd.read_csv(plain[2] / "statistics.csv")
    rows = ~table[FEATS].isna().any(axis=1).to_numpy()
    x = ComBat().fit_transform(table[FEATS].to_numpy(float)[rows],
                               batch=table["case_id"].str[:6].to_numpy()[rows],
                               covariates=table.loc[rows, ["age"]])
    z = (x - stats["mean"].to_numpy()) / stats["sd"].to_numpy()
    return table, x, rows, z


def test_plain_run_exits_0_and_leaves_no_flower_process(plain):
    code, left, _ = plain
    assert code == 0
    assert not left, f"Flower processes left running: {left}"


def test_plain_run_statistics_equal_pooled_combat_harmonised_to_1e9(plain, pooled):
    _, x, _, _ = pooled
    stats = pd.read_csv(plain[2] / "statistics.csv")
    assert stats["feature"].tolist() == FEATS
    np.testing.assert_array_equal(stats["n"], [len(x)] * len(FEATS))
    np.testing.assert_allclose(stats["mean"], x.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(stats["sd"], x.std(axis=0, ddof=1), rtol=1e-9)


def test_plain_run_logistic_and_cox_equal_pooled_fits_to_1e6(plain, pooled):
    from lifelines import CoxPHFitter
    from sklearn.linear_model import LogisticRegression

    table, _, rows, z = pooled
    model = json.loads((plain[2] / "model.json").read_text())
    reference = LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-14, max_iter=1000)
    reference.fit(z, table["grade"].to_numpy()[rows])
    assert model["intercept"] == pytest.approx(reference.intercept_[0], abs=1e-6)
    np.testing.assert_allclose([model["coefficients"][f] for f in FEATS], reference.coef_[0],
                               atol=1e-6)
    frame = pd.DataFrame(z, columns=FEATS)
    frame["T"], frame["E"] = table["time"].to_numpy()[rows], table["event"].to_numpy()[rows]
    cox = CoxPHFitter().fit(frame, "T", "E", fit_options={"precision": 1e-12})
    np.testing.assert_allclose([model["cox"]["coefficients"][f] for f in FEATS],
                               cox.params_.to_numpy(), atol=1e-6)


def test_plain_run_pooled_c_index_within_0005_of_harrell_c(plain, pooled):
    table, _, rows, z = pooled
    model = json.loads((plain[2] / "model.json").read_text())
    y = np.array(list(zip(table["event"].to_numpy()[rows] > 0, table["time"].to_numpy()[rows],
                          strict=True)), dtype=[("event", bool), ("time", float)])
    beta = np.array([model["cox"]["coefficients"][f] for f in FEATS])
    assert abs(model["cox"]["c_index"] - harrell_c(y, z @ beta)) < 0.005


def test_plain_run_summary_names_sites_rounds_and_no_secagg(plain):
    summary = json.loads((plain[2] / "summary.json").read_text())
    assert summary["sites"] == ["site_a", "site_b", "site_c"]
    assert summary["secagg"] is False and summary["error"] is None
    assert 5 <= summary["rounds"] <= 13
    assert summary["seconds"] > summary["study_seconds"] > 0


def test_malformed_site_table_stops_the_run_naming_the_site(tables, tmp_path, capsys):
    folder, paths = tables
    bad = folder / "bad.csv"
    pd.read_csv(paths["site_b"]).drop(columns=["entropy"]).to_csv(bad, index=False)
    sites = {"site_a": paths["site_a"], "bad": bad, "site_c": paths["site_c"]}
    code, left = run_study(study_args((folder, sites), tmp_path, "--no-secagg",
                                      "--timeout", "60"))
    assert not left
    assert code == 1
    err = capsys.readouterr().err.splitlines()[-1]
    assert "federated study failed: round 1 (moments): 2 of 3 sites answered" in err
    assert not (tmp_path / "model.json").exists()


def test_killed_supernode_ends_the_run_with_a_clear_message(tables, tmp_path, capsys):
    _, paths = tables
    killed: list[int] = []
    killer = threading.Thread(target=kill_when, args=(str(paths["site_b"]), "flwr-serverapp",
                                                      killed))
    killer.start()
    code, left = run_study(study_args(tables, tmp_path, "--no-secagg", "--timeout", "20"))
    killed.append(0)  # stops the killer if the run ended first
    killer.join()
    assert killed[0] > 0, "site_b was not killed"
    assert not left
    assert code == 1
    err = capsys.readouterr().err.splitlines()[-1]
    assert "federated study failed: " in err
    assert "2 of 3 sites answered" in err or "only 2 of 3 sites connected" in err


@pytest.fixture(scope="module")
def secagg(tables, tmp_path_factory):
    out = tmp_path_factory.mktemp("secagg")
    folder, paths = tables
    fourth = folder / "site_d.csv"
    extra = multisite_tables(1)["site_a"]
    extra["case_id"] = extra["case_id"].str.replace("site_a", "site_d")
    extra.to_csv(fourth, index=False)
    killed: list[int] = []
    killer = threading.Thread(target=kill_when, args=(str(fourth), "flwr-clientapp", killed))
    killer.start()
    code, left = run_study(study_args(
        (folder, {**paths, "site_d": fourth}), out, "--time", "time", "--event", "event",
        "--max-newton", "2", "--combat", "--covariates", "age", "--top-k", "4",
        "--timeout", "30"))
    killed.append(0)  # stops the killer if the run ended first
    killer.join()
    return code, left, out, killed


@pytest.fixture(scope="module")
def in_process(tables):
    """The same study over sites a, b and c by function calls (sums in float64)."""
    sites = [SiteData(name, t[FEATS].to_numpy(float), t["grade"].to_numpy(float),
                      t["time"].to_numpy(float), t["event"].to_numpy(float),
                      t[["age"]].to_numpy(float))
             for name, t in ((n, pd.read_csv(p)) for n, p in tables[1].items())]
    return run_in_process(Study(FEATS, cox=True, max_newton=2, combat=True, top_k=4), sites)


def test_secagg_run_goes_on_without_the_killed_site_and_says_so(secagg):
    code, left, out, killed = secagg
    assert killed[0] > 0, "site_d was not killed"
    assert code == 1  # not every site took part
    assert not left, f"Flower processes left running: {left}"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["error"] is None
    assert summary["sites"] == ["site_a", "site_b", "site_c"]
    assert len(summary["dropouts"]) == 1
    assert summary["dropouts"][0].startswith("round 1 (combat): ")
    assert "3 of 4 sites" in summary["dropouts"][0]


def test_secagg_statistics_equal_in_process_sums_within_the_quantisation_bound(secagg,
                                                                               in_process):
    summary = json.loads((secagg[2] / "summary.json").read_text())
    assert summary["secagg"] is True and summary["rounds"] == 4
    assert 0 < summary["quantisation_bound"] < 1e-11
    got = pd.read_csv(secagg[2] / "statistics.csv")
    assert got["feature"].tolist() == FEATS
    np.testing.assert_array_equal(got["n"], in_process.n)
    np.testing.assert_allclose(got["mean"], in_process.mean, rtol=1e-12)
    np.testing.assert_allclose(got["sd"], in_process.sd, rtol=1e-12)


def test_secagg_newton_steps_equal_in_process_steps_to_1e9(secagg, in_process):
    model = json.loads((secagg[2] / "model.json").read_text())
    assert model["iterations"] == 2 and model["converged"] is False
    assert model["selected"] == in_process.result()["logistic"]["selected"]
    assert sum(v == 0.0 for v in model["coefficients"].values()) == len(FEATS) - 4
    np.testing.assert_allclose([model["intercept"], *model["coefficients"].values()],
                               in_process.fits[0]["beta"], atol=1e-9)
    np.testing.assert_allclose(list(model["cox"]["coefficients"].values()),
                               in_process.cox_fit["beta"], atol=1e-9)


def test_secagg_evaluation_equals_in_process_evaluation(secagg, in_process):
    """The pooled AUC (summed score histograms) and C-index (summed concordance counts) come
    through SecAgg+ exactly; the per-site and leave-one-site-out AUCs are the sites' own."""
    model = json.loads((secagg[2] / "model.json").read_text())
    expected = in_process.result()
    assert 0.5 < model["auc"] == pytest.approx(expected["auc"], abs=1e-12)
    assert model["cox"]["c_index"] == pytest.approx(expected["cox"]["c_index"], abs=1e-12)
    assert set(model["sites"]) == {"site_a", "site_b", "site_c"}
    for site, metrics in expected["sites"].items():
        assert set(metrics) >= {"auc", "loso_auc", "c_index"}
        for name, value in metrics.items():
            assert model["sites"][site][name] == pytest.approx(value, abs=1e-12), (site, name)
