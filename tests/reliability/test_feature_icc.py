"""Per-feature ICC of long feature tables (test-retest, multi-rater) and stable features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radiome.errors import ReliabilityError, ReliabilityWarning
from radiome.reliability import feature_icc, icc, stable_features

# (feature, family, aggregation, filter, noise SD); every feature's true between-patient SD is 1,
# so its true ICC (all forms, no rater effect) is 1 / (1 + noise²).
FEATURES = [
    ("stat_mean", "stat", "", "", 0.1),
    ("cm_joint_max", "cm", "3d_avg", "", 0.3),
    ("cm_joint_max", "cm", "3d_avg", "log_1mm", 0.6),
    ("szm_sze", "szm", "3d", "", 1.0),
    ("morph_volume", "morph", "", "", 2.0),
]
KEYS = [
    "stat_mean",
    "cm_joint_max_3d_avg",
    "cm_joint_max_3d_avg__log_1mm",
    "szm_sze_3d",
    "morph_volume",
]


def _cohort(n_patients=80, timepoints=("t0", "t1"), seed=0):
    """Long feature table of a test-retest cohort with known per-feature noise levels."""
    rng = np.random.default_rng(seed)
    rows = []
    for feature, family, aggregation, flt, noise in FEATURES:
        truth = rng.normal(size=n_patients)
        for t in timepoints:
            values = truth + rng.normal(scale=noise, size=n_patients)
            for p in range(n_patients):
                rows.append(
                    {
                        "case_id": f"P{p:03d}_{t}",
                        "roi": "GTV",
                        "filter": flt,
                        "family": family,
                        "feature": feature,
                        "ibsi_code": "",
                        "aggregation": aggregation,
                        "value": values[p],
                        "unit": "",
                        "spec_hash": "abc",
                        "patient": f"P{p:03d}",
                        "timepoint": t,
                    }
                )
    return pd.DataFrame(rows)


def test_synthetic_test_retest_ranks_features_by_noise():
    """Features with more retest noise get lower ICCs, close to the true 1 / (1 + σ²)."""
    table = feature_icc(_cohort(), by="timepoint", form="ICC2")
    by_key = table.set_index("feature")
    assert set(table["feature"]) == set(KEYS)
    iccs = by_key.loc[KEYS, "icc"].to_numpy()
    assert (np.diff(iccs) < 0).all(), dict(zip(KEYS, iccs, strict=True))
    truth = np.array([1 / (1 + f[-1] ** 2) for f in FEATURES])
    assert np.abs(iccs - truth).max() < 0.12
    lows, highs = by_key.loc[KEYS, "ci_low"].to_numpy(), by_key.loc[KEYS, "ci_high"].to_numpy()
    assert ((lows <= truth) & (truth <= highs)).all()
    assert by_key.loc[KEYS, "passes"].tolist() == [True, True, False, False, False]
    assert (table["n_subjects"] == 80).all()
    assert (table["n_raters"] == 2).all()
    assert (table["form"] == "ICC2").all()
    row = by_key.loc["cm_joint_max_3d_avg__log_1mm"]
    assert (row["name"], row["family"], row["aggregation"], row["filter"]) == (
        "cm_joint_max",
        "cm",
        "3d_avg",
        "log_1mm",
    )


@pytest.mark.parametrize("form", ["ICC1", "ICC3k"])
def test_each_row_equals_icc_of_that_feature(form):
    long = _cohort(n_patients=12, timepoints=("a", "b", "c"), seed=3)
    table = feature_icc(long, by="timepoint", form=form).set_index("feature")
    one = long[(long["feature"] == "szm_sze")]
    ref = icc(one, subject="patient", rater="timepoint", value="value").set_index("form").loc[form]
    got = table.loc["szm_sze_3d"]
    for col in ("icc", "ci_low", "ci_high", "f", "p_value"):
        assert got[col] == pytest.approx(ref[col], rel=1e-12), col
    assert got["n_raters"] == 3


def test_missing_value_raises_naming_feature_and_patient():
    long = _cohort(n_patients=10)
    gone = (long["patient"] == "P004") & (long["timepoint"] == "t1") & (long["family"] == "szm")
    with pytest.raises(ReliabilityError, match=r"'szm_sze_3d' lacks .*\['P004'\].*missing='drop'"):
        feature_icc(long[~gone], by="timepoint")


def test_missing_policy_drop_counts_subjects_per_feature():
    long = _cohort(n_patients=10)
    long.loc[(long["patient"] == "P004") & (long["family"] == "szm"), "value"] = np.nan
    table = feature_icc(long, by="timepoint", missing="drop").set_index("feature")
    assert table.loc["szm_sze_3d", "n_subjects"] == 9
    assert table.loc["stat_mean", "n_subjects"] == 10


def test_constant_feature_is_undefined_warns_and_does_not_pass():
    long = _cohort(n_patients=10)
    long.loc[long["family"] == "morph", "value"] = 3.0
    with pytest.warns(ReliabilityWarning, match=r"undefined \(NaN\) for 1 feature.*morph_volume"):
        table = feature_icc(long, by="timepoint")
    row = table.set_index("feature").loc["morph_volume"]
    assert np.isnan(row["icc"])
    assert not row["passes"]


def test_two_rois_per_patient_are_a_duplicates_error():
    long = _cohort(n_patients=5)
    with pytest.raises(ReliabilityError, match=r"duplicated \(patient, timepoint, feature\)"):
        feature_icc(pd.concat([long, long.assign(roi="node")]), by="timepoint")


def test_bad_arguments_are_all_named():
    with pytest.raises(ReliabilityError, match=r"missing column\(s\) \['rater'\].*form.*ICC4"):
        feature_icc(_cohort(n_patients=5), form="ICC4")


def test_stable_features_threshold_the_lower_bound_or_the_point():
    table = pd.DataFrame(
        {
            "feature": ["a", "b", "c", "d"],
            "icc": [0.95, 0.80, 0.70, np.nan],
            "ci_low": [0.90, 0.60, 0.50, np.nan],
            "ci_high": [0.98, 0.90, 0.80, np.nan],
        }
    )
    assert stable_features(table) == ["a"]
    assert stable_features(table, ci="point") == ["a", "b"]
    assert stable_features(table, min_icc=0.5, ci="lower") == ["a", "b", "c"]
    with pytest.raises(ReliabilityError, match="ci must be 'lower' or 'point'"):
        stable_features(table, ci="upper")
    with pytest.raises(ReliabilityError, match=r"missing column\(s\) \['ci_low'\]"):
        stable_features(table.drop(columns="ci_low"))


def test_stable_features_are_the_passing_rows_of_feature_icc():
    table = feature_icc(_cohort(), by="timepoint")
    assert stable_features(table, min_icc=0.75) == table.loc[table["passes"], "feature"].tolist()
