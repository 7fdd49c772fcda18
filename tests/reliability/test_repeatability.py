"""Repeatability coefficient (QIBA, Raunig et al. 2015) of repeat scans: values, CI, log scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from radiome.errors import ReliabilityError, ReliabilityWarning
from radiome.reliability import feature_repeatability, repeatability_coefficient
from radiome.reliability.repeatability import RC_FACTOR


def test_rc_factor_is_qiba_2_77():
    assert RC_FACTOR == pytest.approx(1.959964 * np.sqrt(2), rel=1e-6)
    assert round(RC_FACTOR, 2) == 2.77


def test_hand_computed_rc_and_chi_square_ci_of_three_test_retest_pairs():
    # differences 2, -1, 0: within sum of squares d²/2 summed = 2 + 0.5 + 0 = 2.5 on 3 df
    row = repeatability_coefficient([[10.0, 12.0], [20.0, 19.0], [5.0, 5.0]])
    wsd = np.sqrt(2.5 / 3)
    assert row["df"] == 3
    assert row["n_subjects"] == 3
    assert row["n_scans"] == 6
    assert row["wsd"] == pytest.approx(wsd, rel=1e-12)
    assert row["rc"] == pytest.approx(RC_FACTOR * wsd, rel=1e-12)
    low = RC_FACTOR * wsd * np.sqrt(3 / stats.chi2.ppf(0.975, 3))
    high = RC_FACTOR * wsd * np.sqrt(3 / stats.chi2.ppf(0.025, 3))
    assert row["rc_ci_low"] == pytest.approx(low, rel=1e-12)
    assert row["rc_ci_high"] == pytest.approx(high, rel=1e-12)
    assert row["mean"] == pytest.approx(71 / 6)


def test_unbalanced_subjects_pool_their_within_sums_of_squares():
    # [1, 2, 3]: SS 2 on 2 df; [4, 6]: SS 2 on 1 df -> s_w² = 4 / 3; NaN scans are left out
    row = repeatability_coefficient([np.array([1.0, 2.0, 3.0]), np.array([4.0, 6.0, np.nan])])
    assert row["df"] == 3
    assert row["wsd"] == pytest.approx(np.sqrt(4 / 3), rel=1e-12)


def test_subjects_with_fewer_than_two_finite_scans_are_left_out():
    row = repeatability_coefficient([[1.0, 3.0], [5.0, np.nan], [np.nan, np.nan]])
    assert (row["n_subjects"], row["n_scans"], row["df"]) == (1, 2, 1)
    assert row["wsd"] == pytest.approx(np.sqrt(2.0))


def test_rc_bounds_95_percent_of_new_retest_differences():
    rng = np.random.default_rng(1)
    truth = rng.normal(100, 30, size=(400, 1))
    row = repeatability_coefficient(truth + rng.normal(0, 2.0, size=(400, 2)))
    assert row["rc"] == pytest.approx(RC_FACTOR * 2.0, rel=0.08)
    assert row["rc_ci_low"] < RC_FACTOR * 2.0 < row["rc_ci_high"]
    fresh = rng.normal(0, 2.0, size=(20_000, 2))
    within = np.abs(fresh[:, 1] - fresh[:, 0]) <= row["rc"]
    assert 0.93 <= within.mean() <= 0.97


def test_rc_confidence_interval_covers_the_true_rc_at_its_level():
    rng = np.random.default_rng(2)
    true_rc = RC_FACTOR * 3.0
    covered = 0
    for _ in range(400):
        row = repeatability_coefficient(rng.normal(0, 3.0, size=(15, 2)) + np.arange(15)[:, None])
        covered += row["rc_ci_low"] <= true_rc <= row["rc_ci_high"]
    assert 0.92 <= covered / 400 <= 0.98


def test_log_scale_wcv_of_multiplicative_noise():
    rng = np.random.default_rng(3)
    level = rng.uniform(10, 1000, size=(500, 1))
    row = repeatability_coefficient(level * np.exp(rng.normal(0, 0.1, size=(500, 2))))
    assert row["log_wsd"] == pytest.approx(0.1, rel=0.08)
    assert row["wcv"] == pytest.approx(np.sqrt(np.expm1(row["log_wsd"] ** 2)), rel=1e-12)
    assert row["rc_log"] == pytest.approx(RC_FACTOR * row["log_wsd"], rel=1e-12)
    assert row["rc_relative"] == pytest.approx(RC_FACTOR * row["wcv"], rel=1e-12)
    assert row["rc_relative_ci_low"] < row["rc_relative"] < row["rc_relative_ci_high"]
    # the absolute RC of a multiplicative error depends on the levels: it is large here
    assert row["rc"] > 10 * row["rc_log"]


def test_log_scale_is_undefined_when_a_scan_is_not_positive():
    row = repeatability_coefficient([[0.0, 1.0], [2.0, 3.0]])
    assert np.isfinite(row["rc"])
    for key in ("log_wsd", "wcv", "rc_log", "rc_relative", "rc_relative_ci_high"):
        assert np.isnan(row[key]), key


def test_identical_repeats_give_zero_rc():
    row = repeatability_coefficient([[7.0, 7.0], [9.0, 9.0]])
    assert row["rc"] == 0.0
    assert row["rc_ci_high"] == 0.0


def test_no_subject_scanned_twice_gives_nan():
    row = repeatability_coefficient([[1.0, np.nan], [2.0, np.nan]])
    assert row["df"] == 0
    assert np.isnan(row["rc"])
    assert np.isnan(row["rc_ci_low"])


def test_bad_confidence_is_an_error_naming_it():
    with pytest.raises(ReliabilityError, match="confidence"):
        repeatability_coefficient([[1.0, 2.0]], confidence=1.5)


def _long(values: dict[str, np.ndarray], aggregation: str = "", filter_name: str = ""):
    rows = []
    for name, matrix in values.items():
        for i, scans in enumerate(matrix):
            for j, v in enumerate(scans):
                rows.append({"case_id": f"p{i}_{j}", "patient": f"p{i}", "timepoint": f"t{j}",
                             "feature": name, "family": name.split("_")[0],
                             "aggregation": aggregation, "filter": filter_name, "value": v})
    return pd.DataFrame(rows)


def test_feature_repeatability_equals_the_coefficient_of_each_features_scans():
    rng = np.random.default_rng(4)
    a = rng.normal(50, 10, size=(12, 1)) + rng.normal(0, 1, size=(12, 2))
    b = rng.uniform(1, 5, size=(12, 1)) * np.exp(rng.normal(0, 0.2, size=(12, 2)))
    table = feature_repeatability(_long({"stat_mean": a, "cm_contrast": b}, "3d_avg", "log_s1"))
    assert table["feature"].tolist() == ["cm_contrast_3d_avg__log_s1", "stat_mean_3d_avg__log_s1"]
    assert table["name"].tolist() == ["cm_contrast", "stat_mean"]
    assert set(table["filter"]) == {"log_s1"}
    for key, matrix in (("stat_mean_3d_avg__log_s1", a), ("cm_contrast_3d_avg__log_s1", b)):
        expected = repeatability_coefficient(matrix)
        got = table.set_index("feature").loc[key]
        for column in ("rc", "rc_ci_low", "wcv", "rc_relative", "n_subjects"):
            assert got[column] == pytest.approx(expected[column], rel=1e-12), column


def test_feature_without_any_repeat_is_nan_with_a_warning():
    table = _long({"stat_mean": np.array([[1.0, 2.0], [3.0, 5.0]])})
    table = pd.concat([table, table.iloc[:1].assign(feature="stat_max", value=9.0)])
    with pytest.warns(ReliabilityWarning, match="stat_max"):
        result = feature_repeatability(table).set_index("feature")
    assert np.isnan(result.at["stat_max", "rc"])
    assert result.at["stat_mean", "rc"] == pytest.approx(RC_FACTOR * np.sqrt(2.5 / 2))


def test_missing_columns_are_named():
    with pytest.raises(ReliabilityError, match=r"missing column\(s\) \['patient'\]"):
        feature_repeatability(_long({"stat_mean": np.ones((2, 2))}).drop(columns="patient"))


def test_duplicated_scan_rows_are_an_error_naming_them():
    table = _long({"stat_mean": np.ones((2, 2))})
    with pytest.raises(ReliabilityError, match="duplicated.*'p0'"):
        feature_repeatability(pd.concat([table, table.iloc[:1]]))
