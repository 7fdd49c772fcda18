"""`radiome federated run` with real Flower processes on loopback (SuperLink + 3 SuperNodes).

Every message exchange on Flower's deployment engine costs seconds, so one study without SecAgg+
(ComBat with age, then to convergence) and one with it (ComBat, statistics, the ANOVA filter and
one Newton step) run once for the module and are shared. The SecAgg+ study starts with a fourth
site that is killed in its first round: the three left meet SecAgg+'s threshold, so the study
runs again on them alone. Two more runs without SecAgg+ show a malformed site refused and a
killed site ending the study.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import psutil
import pytest

from radiome.analysis import ComBat
from radiome.analysis.survival import harrell_c
from radiome.cli import main
from radiome.federated import SiteData, Study, multisite_tables, run_in_process
from radiome.federated.demo import FEATURES

pytestmark = pytest.mark.slow
FEATS = list(FEATURES)


def _flower_pids() -> set[int]:
    """Processes of Flower (SuperLink, SuperNode, SuperExec, apps, flwr) now running."""
    found = set()
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "flower-" in cmdline or "flwr" in cmdline:
            found.add(proc.pid)
    return found


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sites")
    paths = {}
    for name, table in multisite_tables(0).items():
        paths[name] = folder / f"{name}.csv"
        table.to_csv(paths[name], index=False)
    return folder, paths


def _run(tables, out, *extra):
    folder, paths = tables
    sites = [f"--site={name}={path}" for name, path in paths.items()]
    before = _flower_pids()
    code = main(["federated", "run", *sites, "--id", "case_id", "--outcome", "grade",
                 "--features", ",".join(FEATS), "--out", str(out), "--timeout", "120", *extra])
    left = _flower_pids() - before
    return code, left


@pytest.fixture(scope="module")
def plain(tables, tmp_path_factory):
    out = tmp_path_factory.mktemp("plain")
    code, left = _run(tables, out, "--time", "time", "--event", "event", "--no-secagg",
                      "--combat", "--covariates", "age")
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


def _kill_when(victim: str, process: str, killed: list) -> None:
    """Kill the SuperNode of the site table ``victim`` (and its children) once a ``process``
    (``flwr-serverapp`` anywhere, ``flwr-clientapp`` under that SuperNode) runs."""
    import time

    ends = time.monotonic() + 600
    while time.monotonic() < ends and not killed:
        for node in psutil.process_iter(["cmdline"]):
            if "flower-supernode" not in " ".join(node.info["cmdline"] or []) or victim not in \
                    " ".join(node.info["cmdline"] or []):
                continue
            try:  # processes come and go while they are looked at
                children = node.children(recursive=True)
                running = (psutil.process_iter(["cmdline"]) if process == "flwr-serverapp"
                           else children)
                if any(process in " ".join(_cmdline(p)) for p in running):
                    for doomed in (node, *children):
                        _kill(doomed)
                    killed.append(node.pid)
            except psutil.Error:
                continue
        time.sleep(0.1)


def _cmdline(process: psutil.Process) -> list[str]:
    """The command line of ``process``, empty once it has ended."""
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def _kill(process: psutil.Process) -> None:
    """Kill ``process`` unless it has already ended."""
    try:
        process.kill()
    except psutil.NoSuchProcess:
        pass


@pytest.fixture(scope="module")
def secagg(tables, tmp_path_factory):
    """SecAgg+ costs four exchanges a round: ComBat, the statistics and one Newton step, after
    a first round that loses site_d (killed when its first answer is being computed)."""
    import threading

    out = tmp_path_factory.mktemp("secagg")
    fourth = tables[0] / "site_d.csv"
    extra = multisite_tables(1)["site_a"]
    extra["case_id"] = extra["case_id"].str.replace("site_a", "site_d")
    extra.to_csv(fourth, index=False)
    killed: list[int] = []
    killer = threading.Thread(target=_kill_when, args=(str(fourth), "flwr-clientapp", killed))
    killer.start()
    code, left = _run((tables[0], {**tables[1], "site_d": fourth}), out, "--time", "time",
                      "--event", "event", "--max-newton", "1", "--combat", "--covariates", "age",
                      "--top-k", "4", "--timeout", "30")
    killed.append(0)  # stops the killer if the run ended first
    killer.join()
    return code, left, out, killed


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


def test_secagg_statistics_equal_plain_run_within_the_quantisation_bound(secagg, plain):
    summary = json.loads((secagg[2] / "summary.json").read_text())
    assert summary["secagg"] is True and summary["rounds"] == 3
    assert 0 < summary["quantisation_bound"] < 1e-11
    got = pd.read_csv(secagg[2] / "statistics.csv")
    expected = pd.read_csv(plain[2] / "statistics.csv")
    np.testing.assert_array_equal(got["n"], expected["n"])
    np.testing.assert_allclose(got["mean"], expected["mean"], rtol=1e-12)
    np.testing.assert_allclose(got["sd"], expected["sd"], rtol=1e-12)


def test_secagg_newton_step_equals_in_process_step_to_1e9(secagg, tables):
    sites = [SiteData(name, t[FEATS].to_numpy(float), t["grade"].to_numpy(float),
                      t["time"].to_numpy(float), t["event"].to_numpy(float),
                      t[["age"]].to_numpy(float))
             for name, t in ((n, pd.read_csv(p)) for n, p in tables[1].items())]
    study = run_in_process(Study(FEATS, cox=True, max_newton=1, combat=True, top_k=4), sites)
    model = json.loads((secagg[2] / "model.json").read_text())
    assert model["iterations"] == 1 and model["converged"] is False
    assert model["selected"] == study.result()["logistic"]["selected"]
    assert sum(v == 0.0 for v in model["coefficients"].values()) == len(FEATS) - 4
    np.testing.assert_allclose([model["intercept"], *model["coefficients"].values()],
                               study.fits[0]["beta"], atol=1e-9)
    np.testing.assert_allclose(list(model["cox"]["coefficients"].values()),
                               study.cox_fit["beta"], atol=1e-9)


def test_malformed_site_table_stops_the_run_naming_the_site(tables, tmp_path, capsys):
    folder, paths = tables
    bad = folder / "bad.csv"
    pd.read_csv(paths["site_b"]).drop(columns=["entropy"]).to_csv(bad, index=False)
    before = _flower_pids()
    code = main(["federated", "run", f"--site=site_a={paths['site_a']}", f"--site=bad={bad}",
                 f"--site=site_c={paths['site_c']}", "--id", "case_id", "--outcome", "grade",
                 "--features", ",".join(FEATS), "--out", str(tmp_path), "--no-secagg",
                 "--timeout", "60"])
    assert not _flower_pids() - before
    assert code == 1
    err = capsys.readouterr().err.splitlines()[-1]
    assert "federated study failed: round 1 (moments): 2 of 3 sites answered" in err
    assert not (tmp_path / "model.json").exists()


def test_killed_supernode_ends_the_run_with_a_clear_message(tables, tmp_path, capsys):
    import threading
    import time

    _, paths = tables
    killed: list[int] = []
    killer = threading.Thread(target=_kill_when, args=(str(paths["site_b"]), "flwr-serverapp",
                                                       killed))
    before = _flower_pids()
    killer.start()
    code = main(["federated", "run", *(f"--site={n}={p}" for n, p in paths.items()),
                 "--id", "case_id", "--outcome", "grade", "--features", ",".join(FEATS),
                 "--out", str(tmp_path), "--no-secagg", "--timeout", "20"])
    killer.join()
    time.sleep(2)  # the killed node's SuperExec notices its parent is gone
    assert killed
    assert not _flower_pids() - before
    assert code == 1
    err = capsys.readouterr().err.splitlines()[-1]
    assert "federated study failed: " in err
    assert "2 of 3 sites answered" in err or "only 2 of 3 sites connected" in err
