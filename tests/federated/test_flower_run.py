"""`radiome federated run` with real Flower processes on loopback (SuperLink + 3 SuperNodes),
without SecAgg+ (the SecAgg+ runs: ``test_flower_secagg.py``, run by another test worker).

Every message exchange on Flower's deployment engine costs seconds, so one study (ComBat with
age, then to convergence) runs once for the module and is shared. Two more runs show a
malformed site refused and a killed site ending the study.
"""

from __future__ import annotations

import json
import threading

import numpy as np
import pandas as pd
import pytest

from radiome.analysis import ComBat
from radiome.analysis.survival import harrell_c
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
