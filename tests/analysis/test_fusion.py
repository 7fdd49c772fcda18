"""Multi-modality fusion: late fusion stacks on inner out-of-fold predictions (a noise table
stays at chance where in-fold stacking is inflated), each base model sees only its own columns,
the modality with the signal is found, and the modality patterns fail with clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from radiome.analysis import default_pipeline
from radiome.analysis.diagnostic import fast_auc
from radiome.analysis.fusion import (
    FusionModel,
    fusion_cv,
    fusion_summary,
    modality_columns,
    read_modalities,
)
from radiome.errors import AnalysisError


def _two_modalities(n=120, p=40, signal=0.0, seed=0):
    """CT_* and PET_* columns of noise; ``signal`` shifts CT_0..CT_2 by the class."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 2)
    X = pd.DataFrame(rng.normal(size=(n, 2 * p)),
                     columns=[f"CT_{i}" for i in range(p)] + [f"PET_{i}" for i in range(p)])
    X[["CT_0", "CT_1", "CT_2"]] += signal * (2 * y[:, None] - 1)
    return X, y


def _small_base():
    return default_pipeline("binary", inner_splits=3, search="linear").set_params(
        param_grid={"selector__k": [5, 20], "model__C": [1.0]}
    )


MODALITIES = {"CT": ["CT_*"], "PET": ["PET_*"]}


def test_in_fold_stacking_inflates_noise_auc_late_fusion_stays_at_chance():
    X, y = _two_modalities()
    # wrong: base models fitted on all cases, the stacker cross-validated on their in-fold
    # probabilities of those same cases
    in_fold = np.column_stack([
        RandomForestClassifier(100, random_state=0).fit(X[cols], y).predict_proba(X[cols])[:, 1]
        for cols in (X.columns[:40], X.columns[40:])
    ])
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    leaky = cross_val_score(LogisticRegression(), in_fold, y, cv=cv, scoring="roc_auc").mean()
    # right: radiome's late fusion, stacked on inner out-of-fold probabilities
    results = fusion_cv(X, y, MODALITIES, base=_small_base(), n_repeats=2, random_state=0)
    late = results["late"].summary(n_boot=300)
    assert leaky > 0.9
    assert abs(late["auc"] - 0.5) < 0.1
    assert late["auc_ci_low"] < 0.5 < late["auc_ci_high"]


def test_stacker_learns_from_inner_out_of_fold_probabilities_not_in_fold_ones():
    X, y = _two_modalities(p=150, seed=1)
    overfitting = _small_base().set_params(param_grid={"selector__k": ["all"], "model__C": [10.0]})
    model = FusionModel(modality_columns(MODALITIES, X.columns), overfitting).fit(X, y)
    for j, name in enumerate(("CT", "PET")):
        select, pipe = model.pipelines_[name]
        oof = pipe.oof_risk_
        clipped = np.clip(oof, 1e-6, 1 - 1e-6)
        logit = np.log(clipped / (1 - clipped))
        np.testing.assert_allclose(model.stack_input_[:, j], logit)
        in_fold_auc = fast_auc(y, pipe.risk_score(select.transform(X)))
        assert in_fold_auc > 0.95  # what in-fold stacking would learn from
        assert abs(fast_auc(y, oof) - 0.5) < 0.15  # what radiome's stacker learns from


def test_each_base_model_sees_only_its_own_columns_early_fusion_sees_all():
    X, y = _two_modalities(p=10, seed=2)
    X["clinical_age"] = 1.0  # matched by no modality: used by no model
    model = FusionModel(modality_columns(MODALITIES, X.columns), _small_base()).fit(X, y)
    seen = {name: list(pipe.feature_names_in_) for name, (_, pipe) in model.pipelines_.items()}
    assert seen["CT"] == [f"CT_{i}" for i in range(10)]
    assert seen["PET"] == [f"PET_{i}" for i in range(10)]
    assert seen["early"] == seen["CT"] + seen["PET"]
    scores = model.risk_scores(X)
    assert list(scores.columns) == ["CT", "PET", "early", "late", "late_mean"]
    np.testing.assert_allclose(scores["late_mean"], scores[["CT", "PET"]].mean(axis=1))


def test_fusion_finds_the_modality_with_signal_and_delong_separates_it():
    X, y = _two_modalities(n=150, signal=0.8, seed=3)
    results = fusion_cv(X, y, MODALITIES, base=_small_base(), n_repeats=1, random_state=0)
    out = fusion_summary(results, n_boot=200)
    auc = {name: v["auc"] for name, v in out["fusion"].items()}
    assert set(auc) == {"CT", "PET", "early", "late", "late_mean"}
    assert auc["CT"] > 0.85
    assert abs(auc["PET"] - 0.5) < 0.12
    assert auc["late"] > 0.8
    assert auc["early"] > 0.8
    for v in out["fusion"].values():
        assert v["auc_ci_low"] < v["auc"] < v["auc_ci_high"]
    tests = {(t["a"], t["b"]): t for t in out["delong"]}
    assert len(tests) == 10  # every pair of the 5 variants
    assert tests[("CT", "PET")]["p"] < 0.001
    assert tests[("CT", "PET")]["diff"] == pytest.approx(
        tests[("CT", "PET")]["auc_a"] - tests[("CT", "PET")]["auc_b"]
    )
    # every variant was scored on the same outer folds
    assert all(np.array_equal(r.fold, results["CT"].fold) for r in results.values())


def test_modality_text_and_yaml_give_the_same_groups(tmp_path):
    text = read_modalities("CT=CT_*, PET=PET_*,PET=SUV*")
    path = tmp_path / "modalities.yaml"
    path.write_text("CT: CT_*\nPET: [PET_*, SUV*]\n")
    assert text == read_modalities(str(path)) == {"CT": ["CT_*"], "PET": ["PET_*", "SUV*"]}


@pytest.mark.parametrize(
    ("modalities", "message"),
    [
        ({"CT": ["CT_*"]}, "at least two modalities"),
        ({"CT": ["CT_*"], "MR": ["T1_*"]}, "'MR': pattern(s) ['T1_*'] match no feature column"),
        ({"CT": ["CT_*"], "all": ["*_1"]}, "column 'CT_1' matches modalities 'CT' and 'all'"),
        ({"CT": ["CT_*"], "early": ["PET_*"]}, "'early' is reserved"),
    ],
)
def test_bad_modalities_are_one_clear_error(modalities, message):
    X, _ = _two_modalities(n=10, p=3)
    with pytest.raises(AnalysisError) as err:
        modality_columns(modalities, X.columns)
    assert message in str(err.value)


def test_bad_modality_text_names_the_item():
    with pytest.raises(AnalysisError, match="'CT' is not NAME=PATTERN"):
        read_modalities("CT,PET=PET_*")


def test_cli_fusion_json_on_head_neck_pet_ct(shared_data):
    """The contract: --modalities --json prints fusion AUCs with CIs and paired DeLong p-values."""
    import json

    from typer.testing import CliRunner

    from radiome.analysis.cli import app

    table = shared_data / "radmlbench" / "datasets" / "Head-Neck-PET-CT.gz"
    options = ("--id ID --outcome Target --modalities CT=CT_*,PET=PET_* --repeats 1 --folds 3 "
               "--search linear --n-boot 200 --json")
    result = CliRunner().invoke(app, ["evaluate", str(table), *options.split()])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["modalities"] == {"CT": 105, "PET": 105}
    assert set(out["fusion"]) == {"CT", "PET", "early", "late", "late_mean"}
    for v in out["fusion"].values():
        assert set(v) == {"auc", "auc_ci_low", "auc_ci_high"}
        assert v["auc_ci_low"] < v["auc"] < v["auc_ci_high"]
        assert 0.45 < v["auc"] < 0.95
    pairs = {(t["a"], t["b"]) for t in out["delong"]}
    assert ("early", "late") in pairs and len(pairs) == 10
    assert all(0 <= t["p"] <= 1 for t in out["delong"])


def test_cli_fusion_with_a_pattern_matching_nothing_is_one_line(shared_data):
    from typer.testing import CliRunner

    from radiome.analysis.cli import app

    table = shared_data / "radmlbench" / "datasets" / "Head-Neck-PET-CT.gz"
    result = CliRunner().invoke(app, ["evaluate", str(table), "--id", "ID", "--outcome",
                                      "Target", "--modalities", "CT=CT_*,MR=T1_*"])
    assert result.exit_code != 0
    assert "modality 'MR': pattern(s) ['T1_*'] match no feature column" in str(result.exception)
