"""Calibration intercept and slope, Brier score and net benefit against hand-computed values and
statsmodels; their place in the nested-CV summary and in ``radiome model evaluate --json``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit, logit
from typer.testing import CliRunner

from radiome.analysis import calibration_metrics, calibration_summary, default_pipeline, nested_cv
from radiome.analysis import net_benefit as decision_curve
from radiome.analysis.cli import app
from radiome.errors import AnalysisError

# 10 cases, 3 events: a table small enough to count by hand.
Y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
P = np.array([0.9, 0.6, 0.2, 0.7, 0.3, 0.1, 0.1, 0.05, 0.4, 0.15])


@pytest.mark.parametrize(
    ("pt", "model", "treat_all"),
    [
        # p >= 0.1: 9 treated, TP 3, FP 6: 3/10 - 6/10 * (0.1/0.9); all: 0.3 - 0.7 * (1/9)
        (0.1, 0.3 - 0.6 / 9, 0.3 - 0.7 / 9),
        # p >= 0.25: 0.9 0.6 (events) 0.7 0.3 0.4: TP 2, FP 3: 0.2 - 0.3 * (1/3)
        (0.25, 0.1, 0.3 - 0.7 / 3),
        # p >= 0.5: 0.9 0.6 0.7: TP 2, FP 1: 0.2 - 0.1 * 1
        (0.5, 0.1, 0.3 - 0.7),
        # p >= 0.8: 0.9: TP 1, FP 0
        (0.8, 0.1, 0.3 - 0.7 * 4),
        # p >= 0.95: nobody treated
        (0.95, 0.0, 0.3 - 0.7 * 19),
    ],
)
def test_net_benefit_equals_hand_count(pt, model, treat_all):
    curve = decision_curve(Y, P, thresholds=[pt])
    assert curve["values"][0] == pytest.approx(model, abs=1e-12)
    assert curve["treat_all"][0] == pytest.approx(treat_all, abs=1e-12)
    assert curve["treat_none"][0] == 0.0


def test_net_benefit_of_several_repeats_is_their_mean():
    other = np.where(Y == 1, 0.8, 0.2)  # perfect at pt = 0.5: TP 3, FP 0 -> 0.3
    curve = decision_curve(Y, np.vstack([P, other]), thresholds=[0.5])
    assert curve["values"][0] == pytest.approx((0.1 + 0.3) / 2, abs=1e-12)


def test_brier_equals_hand_sum():
    # squared errors: .01 .16 .64 .49 .09 .01 .01 .0025 .16 .0225 -> 1.595 / 10
    assert calibration_metrics(Y, P)["brier"] == pytest.approx(0.1595, abs=1e-12)


def test_intercept_of_constant_prediction_is_logit_of_event_rate():
    """lp = 0 for all: a = logit(3/10), Wald SE = 1 / sqrt(n * 0.3 * 0.7)."""
    got = calibration_metrics(Y, np.full(10, 0.5))
    a, se = np.log(0.3 / 0.7), 1 / np.sqrt(10 * 0.3 * 0.7)
    assert got["calibration_intercept"] == pytest.approx(a, abs=1e-9)
    assert got["calibration_intercept_ci_low"] == pytest.approx(a - 1.959964 * se, abs=1e-6)
    assert got["calibration_intercept_ci_high"] == pytest.approx(a + 1.959964 * se, abs=1e-6)


def test_slope_of_two_groups_is_the_saturated_fit():
    """lp in {-1, 1} with event rates 0.2 and 0.8: a - b = logit(.2), a + b = logit(.8)."""
    y = np.r_[np.ones(2), np.zeros(8), np.ones(8), np.zeros(2)].astype(int)
    p = np.r_[np.full(10, expit(-1.0)), np.full(10, expit(1.0))]
    got = calibration_metrics(y, p)
    assert got["calibration_slope"] == pytest.approx(np.log(4.0), abs=1e-9)


def test_slope_and_intercept_equal_statsmodels_logit_on_logit_p():
    rng = np.random.default_rng(3)
    true_lp = rng.normal(0.0, 1.5, 400)
    y = (rng.random(400) < expit(true_lp)).astype(int)
    p = expit(0.4 + 1.7 * true_lp)  # overconfident and shifted
    got = calibration_metrics(y, p)
    lp = logit(p)
    slope_fit = sm.Logit(y, sm.add_constant(lp)).fit(disp=0)
    offset_fit = sm.GLM(y, np.ones((400, 1)), family=sm.families.Binomial(), offset=lp).fit()
    assert got["calibration_slope"] == pytest.approx(slope_fit.params[1], rel=1e-8)
    assert (got["calibration_slope_ci_low"], got["calibration_slope_ci_high"]) == pytest.approx(
        tuple(slope_fit.conf_int()[1]), rel=1e-6
    )
    assert got["calibration_intercept"] == pytest.approx(offset_fit.params[0], rel=1e-8)
    assert (
        got["calibration_intercept_ci_low"], got["calibration_intercept_ci_high"]
    ) == pytest.approx(tuple(offset_fit.conf_int()[0]), rel=1e-6)
    assert got["calibration_slope"] < 1 and got["calibration_intercept"] < 0


def test_summary_of_identical_repeats_equals_single_calibration():
    rng = np.random.default_rng(4)
    y = (rng.random(200) < 0.4).astype(int)
    p = expit(rng.normal(-0.4, 1.0, 200) + y)
    single = calibration_metrics(y, p)
    summary = calibration_summary(y, np.vstack([p, p, p]), n_boot=200)
    for key in ("calibration_intercept", "calibration_slope", "brier"):
        assert summary[key] == pytest.approx(single[key], rel=1e-9)
        assert summary[f"{key}_ci_low"] < summary[key] < summary[f"{key}_ci_high"]
    curve = summary["net_benefit"]
    assert curve["thresholds"][:3] == [0.01, 0.02, 0.03] and len(curve["values"]) == 99
    assert curve["values"][49] == pytest.approx(decision_curve(y, p, [0.5])["values"][0], abs=1e-6)


def test_perfect_separation_gives_nan_slope_and_still_a_brier_score():
    y = np.r_[np.zeros(30), np.ones(30)].astype(int)
    p = np.r_[np.full(30, 0.3), np.full(30, 0.8)]  # every event above every non-event
    summary = calibration_summary(y, p[None, :], n_boot=100)
    assert np.isnan(summary["calibration_slope"]) and np.isnan(summary["calibration_slope_ci_low"])
    assert summary["brier"] == pytest.approx((0.3**2 + 0.2**2) / 2)
    assert summary["brier_ci_low"] <= summary["brier"] <= summary["brier_ci_high"]


def test_probabilities_outside_unit_interval_are_one_clear_error():
    with pytest.raises(AnalysisError, match=r"inside \[0, 1\]"):
        calibration_metrics(Y, P + 0.5)
    with pytest.raises(AnalysisError, match="thresholds must be"):
        decision_curve(Y, P, thresholds=[0.0, 0.5])


def test_nested_cv_summary_reports_out_of_fold_calibration():
    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(120, 6)), columns=[f"f{i}" for i in range(6)])
    y = (rng.random(120) < expit(1.5 * X["f0"].to_numpy())).astype(int)
    pipeline = default_pipeline("binary", inner_splits=3).set_params(
        param_grid={"selector__k": [2], "model__C": [1.0]}
    )
    result = nested_cv(pipeline, X, y, n_splits=3, n_repeats=2, random_state=0)
    summary = result.summary(n_boot=100)
    oof = calibration_summary(result.y, result.risk, n_boot=100)
    assert summary["calibration_slope"] == oof["calibration_slope"]
    assert summary["brier"] == pytest.approx(np.mean((result.risk - y) ** 2), rel=1e-12)
    assert 0.5 < summary["calibration_slope"] < 1.6
    assert summary["net_benefit"] == oof["net_benefit"]


def test_model_evaluate_json_has_calibration_and_decision_curve(tmp_path: Path):
    rng = np.random.default_rng(6)
    y = np.arange(60) % 2
    table = pd.DataFrame({"case_id": [f"c{i}" for i in range(60)], "label": y})
    for j in range(4):
        table[f"f{j}"] = rng.normal(size=60) + (y if j == 0 else 0)
    path = tmp_path / "wide.csv"
    table.to_csv(path, index=False)
    options = ("--id case_id --outcome label --repeats 1 --folds 3 --n-boot 100 --search linear "
               "--json --plots")
    result = CliRunner().invoke(app, ["evaluate", str(path), *options.split(), str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    for key in ("calibration_slope", "calibration_intercept", "brier"):
        assert out[f"{key}_ci_low"] <= out[key] <= out[f"{key}_ci_high"]
    assert set(out["net_benefit"]) == {"thresholds", "values", "treat_all", "treat_none"}
    assert out["net_benefit"]["treat_all"][0] == pytest.approx(0.5 - 0.5 * 0.01 / 0.99, abs=1e-6)
    assert (tmp_path / "decision_curve.png").stat().st_size > 5000
    assert (tmp_path / "calibration.png").stat().st_size > 5000
