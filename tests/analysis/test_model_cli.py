"""``radiome model evaluate | fit | predict`` on radMLBench tables and long feature tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from radiome.analysis.cli import app
from radiome.errors import AnalysisError, MissingFileError


@pytest.fixture(scope="module")
def radmlbench(shared_data: Path) -> Path:
    return shared_data / "radmlbench"


def _invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_evaluate_binary_json_on_fusco(radmlbench: Path, tmp_path: Path):
    """Fusco2022: Target written True/False, ID and Target the last columns."""
    table = radmlbench / "datasets" / "Fusco2022.gz"
    options = "--id ID --outcome Target --repeats 1 --folds 3 --n-boot 200 --json --plots"
    result = _invoke("evaluate", table, *options.split(), tmp_path)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["task"] == "binary"
    assert (out["n"], out["n_features"], out["n_positive"]) == (54, 192, 33)
    assert out["auc_ci_low"] < out["auc"] < out["auc_ci_high"]
    assert 0.4 < out["auc"] < 0.95
    assert out["chosen_models"] == {"ensemble, k=all": 3}  # the default: one point per fold
    for name in ("sensitivity", "specificity", "ppv", "npv"):
        assert 0 <= out[f"{name}_ci_low"] <= out[name] <= out[f"{name}_ci_high"] <= 1
    assert (tmp_path / "roc.png").stat().st_size > 5000
    assert (tmp_path / "calibration.png").stat().st_size > 5000


def _survival_csv(tmp_path: Path, n: int = 120) -> Path:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 12))
    time = rng.exponential(np.exp(-(X[:, 0] - 0.5 * X[:, 1])))
    cens = rng.exponential(1.5, n)
    table = pd.DataFrame(X, columns=[f"f{i}" for i in range(12)])
    table.insert(0, "pid", [f"P{i:03d}" for i in range(n)])
    clinical = pd.DataFrame(
        {
            "pid": table["pid"],
            "os": np.minimum(time, cens),
            "dead": (time <= cens).astype(int),
            "site": np.repeat(["a", "b", "c"], n // 3),
        }
    )
    table.to_csv(tmp_path / "features.csv", index=False)
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    return tmp_path


def test_evaluate_survival_with_clinical_and_site(tmp_path: Path):
    folder = _survival_csv(tmp_path)
    options = "--id pid --time os --event dead --site site --repeats 1 --folds 3 --n-boot 100"
    result = _invoke(
        "evaluate",
        folder / "features.csv",
        *options.split(),
        "--clinical",
        folder / "clinical.csv",
        "--json",
        "--plots",
        tmp_path / "figures",
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["task"] == "survival"
    assert out["harmonized"] is True
    assert out["n_features"] == 12
    assert out["c_index_ci_low"] < out["c_index"] < out["c_index_ci_high"]
    assert out["c_index"] > 0.65
    assert (tmp_path / "figures" / "km_risk_groups.png").stat().st_size > 5000
    km = out["curves"]["km"]
    assert km["logrank_p"] == pytest.approx(out["logrank_p"], rel=1e-12)
    assert sum(g["n"] for g in km["groups"]) == out["n"]
    assert sum(g["n_events"] for g in km["groups"]) == out["n_events"]


def test_evaluate_prints_headline(radmlbench: Path):
    options = "--id ID --outcome Target --repeats 1 --folds 3 --n-boot 100 --search linear"
    result = _invoke("evaluate", radmlbench / "datasets" / "HNSCC.gz", *options.split())
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("auc ")
    assert "95% CI" in result.stdout


def _long_table(tmp_path: Path, spec_hash: str, n: int = 60) -> tuple[Path, Path]:
    rng = np.random.default_rng(1)
    y = np.arange(n) % 2
    rows = []
    for i in range(n):
        for j, (feat, agg) in enumerate(
            (("stat_mean", ""), ("stat_var", ""), ("cm_joint_max", "3d_avg"))
        ):
            value = rng.normal() + (1.2 * y[i] if j == 0 else 0.0)
            rows.append(
                {
                    "case_id": f"c{i}",
                    "roi": "GTV",
                    "filter": "",
                    "family": feat[:2],
                    "feature": feat,
                    "ibsi_code": "",
                    "aggregation": agg,
                    "value": value,
                    "unit": "",
                    "spec_hash": spec_hash,
                }
            )
    long = tmp_path / f"long_{spec_hash}.csv"
    pd.DataFrame(rows).to_csv(long, index=False)
    clinical = tmp_path / "clin.csv"
    pd.DataFrame({"case_id": [f"c{i}" for i in range(n)], "label": y}).to_csv(clinical, index=False)
    return long, clinical


def test_fit_predict_round_trip_checks_spec_hash(tmp_path: Path):
    long, clinical = _long_table(tmp_path, "abc123")
    model = tmp_path / "model.joblib"
    result = _invoke(
        "fit", long, "--id", "case_id", "--outcome", "label", "--clinical", clinical, "--out", model
    )
    assert result.exit_code == 0, result.output
    assert "(chosen: ensemble, k=all) written to" in result.stderr
    result = _invoke("predict", model, long, "--id", "case_id")
    assert result.exit_code == 0, result.output
    preds = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert list(preds.columns) == ["case_id", "risk", "predicted"]
    assert len(preds) == 60
    truth = (preds["case_id"].str[1:].astype(int) % 2).to_numpy()
    assert ((preds["predicted"] == truth).mean()) > 0.6
    other, _ = _long_table(tmp_path, "zzz999")
    result = _invoke("predict", model, other, "--id", "case_id")
    assert isinstance(result.exception, AnalysisError)
    assert "spec zzz999" in str(result.exception)
    assert "abc123" in str(result.exception)


def test_bad_input_is_one_clear_error(radmlbench: Path, tmp_path: Path):
    table = radmlbench / "datasets" / "HNSCC.gz"
    result = _invoke("evaluate", table, "--id", "ID", "--outcome", "label")
    assert isinstance(result.exception, AnalysisError)
    assert "['label'] not found" in str(result.exception)
    result = _invoke("evaluate", table, "--id", "patient", "--outcome", "Target")
    assert "no ID column 'patient'" in str(result.exception)
    result = _invoke("evaluate", tmp_path / "nope.csv", "--id", "ID", "--outcome", "Target")
    assert isinstance(result.exception, MissingFileError)
    result = _invoke("evaluate", table, "--id", "ID")
    assert "either outcome=" in str(result.exception)


def _binary_csv(tmp_path: Path, n: int = 40) -> Path:
    rng = np.random.default_rng(2)
    y = np.arange(n) % 2
    table = pd.DataFrame({"case_id": [f"c{i}" for i in range(n)], "label": y})
    for j in range(6):
        table[f"f{j}"] = rng.normal(size=n) + (y if j == 0 else 0)
    path = tmp_path / "wide.csv"
    table.to_csv(path, index=False)
    return path


def test_evaluate_treats_an_infinite_value_as_missing_with_a_warning(tmp_path: Path, capsys):
    from radiome.cli import main

    path = _binary_csv(tmp_path)
    table = pd.read_csv(path)
    table.loc[3, "f2"] = np.inf
    table.to_csv(path, index=False)
    args = ["model", "evaluate", str(path), "--id", "case_id", "--outcome", "label",
            "--repeats", "1", "--folds", "3", "--n-boot", "100", "--search", "linear", "--json"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.err == (
        f"radiome: warning: {path}: 1 infinite feature value(s) treated as missing (e.g. column "
        "'f2', case 'c3')\n"
    )
    out = json.loads(captured.out)
    assert (out["n"], out["n_features"], out["n_missing_values"]) == (40, 6, 1)


def test_evaluate_prints_draws_and_writes_one_interval(tmp_path: Path, monkeypatch):
    import radiome.analysis.plots as plots

    drawn = {}
    original = plots.roc_plot

    def spy(*args, **kwargs):
        drawn.update(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(plots, "roc_plot", spy)
    path = _binary_csv(tmp_path)
    options = "--id case_id --outcome label --repeats 2 --folds 3 --n-boot 100 --search linear"
    result = _invoke("evaluate", path, *options.split(), "--json", "--plots", tmp_path)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert drawn["ci"] == (out["auc"], out["auc_ci_low"], out["auc_ci_high"], out["ci_method"])
    assert drawn["band"] == out["curves"]["roc"] and len(out["curves"]["roc"]["fpr"]) == 101
    assert sum(out["curves"]["calibration"]["count"]) == out["n"] == 40
    assert out["ci_method"].startswith("95% CI: percentile bootstrap over cases (100 resamples)")
    assert sum(out["chosen_models"].values()) == 6  # --search linear: C and k only
    assert all(label.startswith("model, C=") for label in out["chosen_models"])
    text = _invoke("evaluate", path, *options.split()).stdout.splitlines()[0]
    assert text == (
        f"auc {out['auc']:.3f} ({out['auc_ci_low']:.3f}-{out['auc_ci_high']:.3f}; "
        f"{out['ci_method']}), n = 40, 2 x 3-fold nested CV"
    )


@pytest.mark.parametrize("kind", ["csv", "empty", "other-pickle"])
def test_predict_with_a_file_that_is_not_a_model_is_one_line(tmp_path: Path, capsys, kind):
    import joblib

    from radiome.cli import main

    path = _binary_csv(tmp_path)
    model = tmp_path / f"model_{kind}.joblib"
    if kind == "csv":
        model.write_bytes(path.read_bytes())
    elif kind == "empty":
        model.write_bytes(b"")
    else:
        joblib.dump(pd.read_csv(path), model)
    assert main(["model", "predict", str(model), str(path), "--id", "case_id"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"radiome: error: {model}: not a radiome model file")
    assert err.count("\n") == 1
