"""`radiome federated run` under SecAgg+ with real Flower processes on loopback: a study of four
sites that loses one and goes on with the three left (SuperLink + 4 SuperNodes).

SecAgg+ costs four exchanges a round, so the study is short: ComBat, the statistics and two
Newton steps (with the ANOVA filter, leave-one-site-out fits and a Cox model; the second step's
request carries the first step's models, which the sites and the summed histograms evaluate). site_d is killed while it computes its
first answer: the three left meet SecAgg+'s reconstruction threshold, so the study runs again
on them alone, and its results equal the same study run in one process.
"""

from __future__ import annotations

import json
import threading

import numpy as np
import pandas as pd
import pytest

from radiome.federated import SiteData, Study, multisite_tables, run_in_process
from tests.federated.flower import FEATS, kill_when, run_study, site_tables, study_args

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    return site_tables(tmp_path_factory.mktemp("sites"))


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
