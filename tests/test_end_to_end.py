"""From the demo to a cohort to a model, with radiome's own files and commands only."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

import radiome
from radiome.cli import main


def test_demo_batch_export_and_model_evaluate_fit_predict(tmp_path: Path, monkeypatch, capsys):
    """demo -> batch (its manifest, from another working directory) -> export --wide -> model."""
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--out", "demo", "--cases", "8"]) == 0
    clinical = pd.read_csv("demo/clinical.csv")
    assert list(clinical.columns) == ["case_id", "outcome"]
    assert sorted(clinical["outcome"]) == [0] * 4 + [1] * 4

    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # manifest paths do not depend on the cwd
    store = f"sqlite:///{tmp_path / 'study.db'}"
    demo = tmp_path / "demo"
    assert main(["batch", str(demo / "manifest.csv"), "--store", store, "--workers", "1"]) == 0
    wide = demo / "features_wide.csv"
    assert main(["export", "--store", store, "--wide", "--provenance", "--out", str(wide)]) == 0
    exported = pd.read_csv(wide)
    assert len(exported) == 8
    assert {"run_id", "input_hash", "radiome_version", "software"} <= set(exported.columns)
    spec_hash = exported["spec_hash"].iloc[0]
    n_features = sum(c.split("_")[0] in {"morph", "loc", "stat", "ih", "ivh", "cm", "rlm", "szm",
                                         "dzm", "ngt", "ngl"} for c in exported.columns)
    assert n_features > 100
    capsys.readouterr()

    args = ["model", "evaluate", str(wide), "--clinical", str(demo / "clinical.csv"),
            "--id", "case_id", "--outcome", "outcome", "--repeats", "1", "--n-boot", "200",
            "--json"]
    assert main(args) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert (out["n"], out["n_positive"], out["n_features"]) == (8, 4, n_features)
    assert out["spec_hash"] == spec_hash
    assert (out["n_repeats"], out["n_splits"]) == (1, 4)  # 4 per class: 4 folds, not 5
    assert out["auc_ci_low"] <= out["auc"] <= out["auc_ci_high"]
    assert "radiome: warning: small sample: 8 cases, 4 in the smaller class; outer CV ran 4 " \
           "folds instead of 5" in captured.err

    model = tmp_path / "model.joblib"
    assert main(["model", "fit", str(wide), "--clinical", str(demo / "clinical.csv"),
                 "--id", "case_id", "--outcome", "outcome", "--out", str(model)]) == 0
    capsys.readouterr()
    predictions = tmp_path / "predictions.csv"
    assert main(["model", "predict", str(model), str(wide), "--id", "case_id",
                 "--out", str(predictions)]) == 0
    assert "warning" not in capsys.readouterr().err  # same spec, same software
    predicted = pd.read_csv(predictions)
    assert list(predicted.columns) == ["case_id", "risk", "predicted"]
    assert sorted(predicted["case_id"]) == sorted(clinical["case_id"])
    assert predicted["risk"].between(0, 1).all()

    other = exported.assign(radiome_version="0.0.1")  # as if another radiome computed them
    other.to_csv(tmp_path / "other.csv", index=False)
    assert main(["model", "predict", str(model), str(tmp_path / "other.csv"), "--id", "case_id",
                 "--out", str(predictions)]) == 0
    assert capsys.readouterr().err.splitlines()[0] == (
        "radiome: warning: the features to predict were computed by other software than the "
        f"model's training features (radiome_version 0.0.1 vs {radiome.__version__}); values "
        "may differ"
    )
