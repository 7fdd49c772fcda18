"""Curve data of an out-of-fold evaluation: ROC band, calibration bins, KM by risk group."""

from __future__ import annotations

import numpy as np
import pytest

from radiome.analysis.curves import calibration_bins, evaluation_curves, km_groups, roc_band
from radiome.analysis.validation import CVResult


def _binary(n: int = 120, repeats: int = 3) -> CVResult:
    """Out-of-fold probabilities of a useful binary model, ``repeats`` noisy repeats."""
    rng = np.random.default_rng(3)
    y = (rng.random(n) < 0.4).astype(int)
    signal = y + rng.normal(0, 0.9, n)
    risk = 1 / (1 + np.exp(-(signal[None, :] + rng.normal(0, 0.3, (repeats, n)))))
    return CVResult(task="binary", y=y, risk=risk, predicted=risk > 0.5,
                    fold=np.tile(np.arange(n) % 5, (repeats, 1)), params=[])


def test_roc_auc_by_trapezoid_of_the_emitted_curve_matches_the_summary_auc():
    result = _binary()
    curves = evaluation_curves(result, n_boot=200)
    roc = curves["roc"]
    auc = np.trapezoid(roc["tpr"], roc["fpr"])
    assert auc == pytest.approx(result.summary(n_boot=100)["auc"], abs=0.006)
    assert len(roc["fpr"]) <= 101


def test_roc_band_contains_the_mean_curve_and_widens_with_fewer_cases():
    result = _binary()
    wide = roc_band(result.y[:40], result.risk[:, :40], n_boot=200)
    narrow = roc_band(result.y, result.risk, n_boot=200)
    low, tpr, high = (np.array(narrow[k]) for k in ("tpr_ci_low", "tpr", "tpr_ci_high"))
    assert np.all(low <= tpr + 1e-9) and np.all(tpr <= high + 1e-9)
    width = lambda band: np.mean(np.subtract(band["tpr_ci_high"], band["tpr_ci_low"]))  # noqa: E731
    assert width(wide) > width(narrow) > 0.02


def test_calibration_bins_count_every_case_and_match_sklearn_quantile_bins():
    from sklearn.calibration import calibration_curve

    result = _binary()
    bins = calibration_bins(result.y, result.risk, n_bins=10)
    assert sum(bins["count"]) == result.y.size
    observed, predicted = calibration_curve(result.y, result.risk.mean(0), n_bins=10,
                                            strategy="quantile")
    np.testing.assert_allclose(bins["observed"], observed, atol=1e-6)
    np.testing.assert_allclose(bins["predicted"], predicted, atol=1e-6)


def test_km_of_the_risk_groups_and_its_logrank_p_equal_lifelines():
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import logrank_test

    from radiome.analysis._outcome import survival_array

    rng = np.random.default_rng(5)
    n = 300
    risk = rng.normal(size=n)
    time = rng.exponential(np.exp(-risk)) * 10
    event = rng.random(n) < 0.7
    y = survival_array(event, time)
    predicted = (risk + rng.normal(0, 0.5, n)) > 0
    result = CVResult(task="survival", y=y, risk=risk[None, :], predicted=predicted[None, :],
                      fold=np.zeros((1, n), int), params=[])
    km = evaluation_curves(result)["km"]
    test = logrank_test(time[predicted], time[~predicted], event[predicted], event[~predicted])
    assert km["logrank_p"] == pytest.approx(test.p_value, rel=1e-9)
    assert km == km_groups(y, np.where(predicted, "high risk", "low risk"))
    for group in km["groups"]:
        members = predicted if group["label"] == "high risk" else ~predicted
        assert group["n"] == members.sum() and group["n_events"] == event[members].sum()
        assert len(group["time"]) <= 100
        fitter = KaplanMeierFitter().fit(time[members], event[members])
        expected = fitter.survival_function_at_times(group["time"]).to_numpy()
        np.testing.assert_allclose(group["survival"], expected, atol=1e-6)
