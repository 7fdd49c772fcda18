"""Delta-radiomics on long feature tables: each kind by hand, RC flags, dates, slopes, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radiome.analysis import delta_features, delta_repeatability, delta_waterfall, delta_wide
from radiome.analysis.delta import DELTA_COLUMNS
from radiome.cli import main
from radiome.cohort import CaseRecord, FeatureStore
from radiome.errors import AnalysisError, AnalysisWarning
from radiome.reliability import repeatability_coefficient
from radiome.reliability.repeatability import RC_FACTOR


def _row(case, patient, timepoint, feature, value, **extra):
    return {"case_id": case, "roi": "1", "filter": "", "family": feature.split("_")[0],
            "feature": feature, "ibsi_code": "XXXX", "aggregation": "", "value": value,
            "unit": "", "spec_hash": "h", "patient": patient, "timepoint": timepoint, **extra}


def _table(cases: list[tuple[str, str, str, dict]], **extra) -> pd.DataFrame:
    """Long table from (case_id, patient, timepoint, {feature: value}) tuples."""
    return pd.DataFrame([_row(c, p, t, f, v, **extra) for c, p, t, values in cases
                         for f, v in values.items()])


def _value(deltas, patient, feature, kind, column="value"):
    row = deltas[(deltas["patient"] == patient) & (deltas["feature"] == feature)
                 & (deltas["delta_kind"] == kind)]
    assert len(row) == 1, (patient, feature, kind, len(row))
    return row[column].iloc[0]


# Two patients, baseline scanned twice (same-day rescan), one follow-up 50 / 40 days later.
CASES = [
    ("a0", "A", "T0", {"morph_volume": 1000.0, "stat_skewness": -0.5}),
    ("a0r", "A", "T0", {"morph_volume": 1010.0, "stat_skewness": -0.4}),
    ("a1", "A", "T1", {"morph_volume": 600.0, "stat_skewness": 0.3}),
    ("b0", "B", "T0", {"morph_volume": 2000.0, "stat_skewness": 0.2}),
    ("b0r", "B", "T0", {"morph_volume": 1990.0, "stat_skewness": 0.1}),
    ("b1", "B", "T1", {"morph_volume": 2002.0, "stat_skewness": 0.2}),
]
DATES = {"a0": "2024-01-01", "a0r": "2024-01-01", "a1": "2024-02-20", "b0": "20240301",
         "b0r": "20240301", "b1": "20240410"}


@pytest.fixture
def table() -> pd.DataFrame:
    frame = _table(CASES)
    frame["date"] = frame["case_id"].map(DATES)
    return frame


def test_every_kind_by_hand_with_averaged_repeat_scans(table):
    deltas = delta_features(table, baseline="T0", followup="T1")
    assert list(deltas.columns) == list(DELTA_COLUMNS)
    # A's baseline is the mean of its two scans: 1005
    assert _value(deltas, "A", "morph_volume", "absolute") == pytest.approx(-405.0)
    assert _value(deltas, "A", "morph_volume", "relative") == pytest.approx(-405.0 / 1005.0)
    assert _value(deltas, "A", "morph_volume", "log_ratio") == pytest.approx(np.log(600 / 1005))
    assert _value(deltas, "A", "morph_volume", "per_day") == pytest.approx(-405.0 / 50)
    assert _value(deltas, "B", "morph_volume", "per_day") == pytest.approx(7.0 / 40)
    # relative change of a negative baseline: divided by |x0|, so a rise is positive
    assert _value(deltas, "A", "stat_skewness", "relative") == pytest.approx(0.75 / 0.45)
    # stat_skewness has negative values: no log ratio at all
    skew_logs = (deltas["feature"] == "stat_skewness") & (deltas["delta_kind"] == "log_ratio")
    assert not skew_logs.any()
    assert "slope" not in set(deltas["delta_kind"])  # two time points only


def test_rc_of_each_kind_comes_from_the_repeat_scans(table):
    deltas = delta_features(table, baseline="T0", followup="T1")
    volume = repeatability_coefficient([[1000.0, 1010.0], [2000.0, 1990.0]])
    assert volume["rc"] == pytest.approx(RC_FACTOR * np.sqrt(50.0))
    assert _value(deltas, "A", "morph_volume", "absolute", "rc") == pytest.approx(volume["rc"])
    assert _value(deltas, "A", "morph_volume", "relative", "rc") == pytest.approx(
        volume["rc_relative"])
    assert _value(deltas, "A", "morph_volume", "log_ratio", "rc") == pytest.approx(
        volume["rc_log"])
    assert _value(deltas, "A", "morph_volume", "per_day", "rc") == pytest.approx(
        volume["rc"] / 50)
    # no log scale for stat_skewness: its relative rc is the absolute RC over |x0|
    skew = repeatability_coefficient([[-0.5, -0.4], [0.2, 0.1]])
    assert _value(deltas, "A", "stat_skewness", "relative", "rc") == pytest.approx(
        skew["rc"] / 0.45)


def test_exceeds_rc_flags_only_changes_beyond_the_rc(table):
    deltas = delta_features(table, baseline="T0", followup="T1")
    assert _value(deltas, "A", "morph_volume", "absolute", "exceeds_rc")  # -405 vs 19.6
    assert not _value(deltas, "B", "morph_volume", "absolute", "exceeds_rc")  # +7 vs 19.6
    assert not _value(deltas, "B", "morph_volume", "relative", "exceeds_rc")
    flags = deltas["exceeds_rc"]
    assert str(flags.dtype) == "boolean"
    computed = (deltas["value"].abs() > deltas["rc"]).where(deltas["rc"].notna())
    assert (flags.dropna() == computed.dropna().astype(bool)).all()


def test_retest_label_scans_count_as_repeats_of_the_baseline(table):
    relabelled = table.assign(timepoint=np.where(table["case_id"].str.endswith("r"), "T0R",
                                                 table["timepoint"]))
    with pytest.warns(AnalysisWarning, match="no repeat scans"):
        plain = delta_features(relabelled, baseline="T0", followup="T1")
    assert plain["rc"].isna().all()
    assert plain["exceeds_rc"].isna().all()
    assert _value(plain, "A", "morph_volume", "absolute") == pytest.approx(-400.0)
    pd.testing.assert_frame_equal(
        delta_features(relabelled, baseline="T0", followup="T1", retest=["T0R"]),
        delta_features(table, baseline="T0", followup="T1"))


def test_repeatability_table_of_a_separate_study_is_used_as_given(table):
    given = pd.DataFrame({"feature": ["morph_volume"], "wsd": [100.0], "rc": [277.0],
                          "rc_log": [0.5], "rc_relative": [0.6]})
    with pytest.warns(AnalysisWarning, match="no RC for 1 feature"):
        deltas = delta_features(table, baseline="T0", followup="T1", repeatability=given)
    assert _value(deltas, "A", "morph_volume", "absolute", "rc") == 277.0
    assert _value(deltas, "A", "morph_volume", "absolute", "exceeds_rc")
    assert pd.isna(_value(deltas, "A", "stat_skewness", "absolute", "exceeds_rc"))
    with pytest.raises(AnalysisError, match=r"lacks column\(s\) \['wsd'"):
        delta_features(table, baseline="T0", repeatability=given.drop(columns="wsd"))


def test_delta_repeatability_is_none_without_repeat_scans(table):
    assert delta_repeatability(table.loc[~table["case_id"].str.endswith("r")]) is None
    rc = delta_repeatability(table).set_index("feature")
    assert rc.at["morph_volume", "n_subjects"] == 2


def test_relative_change_of_a_zero_baseline_is_nan_and_warned():
    frame = _table([("a0", "A", "T0", {"stat_min": 0.0}), ("a1", "A", "T1", {"stat_min": 5.0}),
                    ("b0", "B", "T0", {"stat_min": 2.0}), ("b1", "B", "T1", {"stat_min": 3.0})])
    with pytest.warns(AnalysisWarning) as caught:
        deltas = delta_features(frame, baseline="T0", repeatability=None,
                                kinds=["absolute", "relative", "log_ratio"])
    messages = " | ".join(str(w.message) for w in caught)
    assert "relative change undefined (NaN) for 1 delta(s) of 1 feature(s)" in messages
    assert "no repeat scans and no repeatability table" in messages
    assert np.isnan(_value(deltas, "A", "stat_min", "relative"))
    assert _value(deltas, "B", "stat_min", "relative") == pytest.approx(0.5)
    assert np.isnan(_value(deltas, "A", "stat_min", "log_ratio"))  # never negative, but 0


def test_per_day_without_dates_is_omitted_with_a_warning(table):
    with pytest.warns(AnalysisWarning, match="per_day rates need scan dates"):
        deltas = delta_features(table.drop(columns="date"), baseline="T0")
    assert "per_day" not in set(deltas["delta_kind"])


@pytest.mark.parametrize("keys", [["case_id"], ["patient", "timepoint"]])
def test_dates_table_by_case_or_by_patient_and_timepoint(table, keys):
    dates = table[["case_id", "patient", "timepoint", "date"]].drop_duplicates("case_id")
    if keys != ["case_id"]:
        dates = dates.drop(columns="case_id").drop_duplicates(keys)
    deltas = delta_features(table.drop(columns="date"), baseline="T0", dates=dates)
    assert _value(deltas, "A", "morph_volume", "per_day") == pytest.approx(-405.0 / 50)


def test_days_column_works_like_dates(table):
    days = table["case_id"].map({"a0": 0, "a0r": 0, "a1": 50, "b0": 3, "b0r": 3, "b1": 43})
    deltas = delta_features(table.drop(columns="date").assign(days=days), baseline="T0")
    assert _value(deltas, "B", "morph_volume", "per_day") == pytest.approx(7.0 / 40)


def test_unreadable_date_is_an_error_naming_it(table):
    with pytest.raises(AnalysisError, match="unreadable date value.*'2024-13-45'"):
        delta_features(table.assign(date="2024-13-45"), baseline="T0")


def test_followup_defaults_to_each_patients_last_time_point_in_natural_order():
    frame = _table([("a0", "A", "T0", {"stat_mean": 1.0}), ("a2", "A", "T2", {"stat_mean": 2.0}),
                    ("a10", "A", "T10", {"stat_mean": 10.0}),
                    ("b0", "B", "T0", {"stat_mean": 1.0}), ("b2", "B", "T2", {"stat_mean": 3.0})])
    with pytest.warns(AnalysisWarning, match="no repeat scans"):
        deltas = delta_features(frame, baseline="T0", repeatability=None, kinds=["absolute"])
    assert _value(deltas, "A", "stat_mean", "absolute") == 9.0  # T10 after T2
    assert _value(deltas, "B", "stat_mean", "absolute") == 2.0


def test_dates_order_time_points_before_their_labels():
    frame = _table([("a0", "A", "pre", {"stat_mean": 1.0}),
                    ("a1", "A", "post", {"stat_mean": 4.0})])
    frame["date"] = frame["case_id"].map({"a0": "2024-01-01", "a1": "2024-03-01"})
    with pytest.warns(AnalysisWarning, match="no repeat scans"):
        deltas = delta_features(frame, baseline="pre", repeatability=None, kinds=["absolute"])
    assert _value(deltas, "A", "stat_mean", "absolute") == 3.0  # "post" sorts first by name


def test_patients_without_a_followup_are_left_out_with_a_warning(table):
    extra = _table([("c0", "C", "T0", {"morph_volume": 5.0, "stat_skewness": 0.0})])
    with pytest.warns(AnalysisWarning, match=r"1 without a 'T1' scan \(e\.g\. C/1\)"):
        deltas = delta_features(pd.concat([table, extra]), baseline="T0", followup="T1")
    assert set(deltas["patient"]) == {"A", "B"}


def test_unknown_baseline_or_followup_is_an_error_listing_the_time_points(table):
    with pytest.raises(AnalysisError, match="no case at baseline time point 'T9'.*T0, T1"):
        delta_features(table, baseline="T9")
    with pytest.raises(AnalysisError, match="no case at follow-up time point 'T5'.*T0, T1"):
        delta_features(table, baseline="T0", followup="T5")
    with pytest.raises(AnalysisError, match="follow-up time point is the baseline"):
        delta_features(table, baseline="T0", followup="T0")


def test_missing_columns_and_unknown_kinds_are_errors(table):
    with pytest.raises(AnalysisError, match=r"lacks column\(s\) \['timepoint'\]"):
        delta_features(table.drop(columns="timepoint"), baseline="T0")
    with pytest.raises(AnalysisError, match="kinds must be among.*'growth'"):
        delta_features(table, baseline="T0", kinds=["absolute", "growth"])


def test_unlabelled_cases_are_left_out_with_a_warning(table):
    unlabelled = _table([("x", "", "T0", {"morph_volume": 1.0, "stat_skewness": 1.0})])
    with pytest.warns(AnalysisWarning, match="1 case.*without a patient or timepoint.*x"):
        deltas = delta_features(pd.concat([table, unlabelled]), baseline="T0")
    assert set(deltas["patient"]) == {"A", "B"}


def _trajectories(n_patients=10, times=(0, 30, 60, 90), noise=0.5, seed=0):
    """Linear trajectories value = a_i + b_i t (+ noise), and a same-day rescan at t = 0."""
    rng = np.random.default_rng(seed)
    slopes = rng.normal(-1.0, 0.5, size=n_patients)
    cases = []
    for i, b in enumerate(slopes):
        a = rng.normal(500, 50)
        for k, t in enumerate(times):
            for repeat in range(2 if k == 0 else 1):
                cases.append((f"p{i}_{k}_{repeat}", f"p{i:02d}", f"T{k}",
                              {"morph_volume": a + b * t + rng.normal(0, noise)}, t))
    frame = pd.DataFrame([_row(c, p, tp, f, v, days=t) for c, p, tp, values, t in cases
                          for f, v in values.items()])
    return frame, slopes


def test_mixed_model_slopes_recover_linear_trajectories():
    frame, slopes = _trajectories()
    deltas = delta_features(frame, baseline="T0", kinds=["slope"])
    got = deltas.set_index("patient")["value"].sort_index().to_numpy()
    assert got == pytest.approx(slopes, abs=0.02)
    # noise limit of a slope: 1.96 s_w / sqrt(Sxx) over the patient's days
    rc = delta_repeatability(frame, baseline="T0").set_index("feature")
    sxx = float(((np.array([0, 30, 60, 90]) - 45.0) ** 2).sum())
    limit = 1.959964 * rc.at["morph_volume", "wsd"] / np.sqrt(sxx)
    assert deltas["rc"].to_numpy() == pytest.approx(limit, rel=1e-5)
    assert deltas["exceeds_rc"].all()


def test_slopes_only_for_patients_with_three_time_points_and_up_to_the_followup():
    frame, slopes = _trajectories(noise=0.0)
    short = frame.loc[~((frame["patient"] == "p00") & frame["timepoint"].isin(["T2", "T3"]))]
    with pytest.warns(AnalysisWarning, match=r"1 without a 'T2' scan \(e\.g\. p00/1\)"):
        deltas = delta_features(short, baseline="T0", followup="T2", kinds=["slope"])
    assert "p00" not in set(deltas["patient"])
    assert deltas.set_index("patient").loc["p01", "value"] == pytest.approx(slopes[1], abs=1e-6)
    assert deltas.set_index("patient").loc["p01", "rc"] == 0.0  # noiseless rescans: RC 0


def test_constant_feature_has_zero_slopes():
    frame, _ = _trajectories()
    deltas = delta_features(frame.assign(value=7.0), baseline="T0", kinds=["slope"])
    assert (deltas["value"] == 0.0).all()
    assert not deltas["exceeds_rc"].any()


def test_wide_table_has_one_row_per_patient_and_a_column_per_kind_and_feature(table):
    wide = delta_wide(delta_features(table, baseline="T0"))
    assert wide["patient"].tolist() == ["A", "B"]
    assert list(wide.columns[:2]) == ["patient", "roi"]
    assert "delta_log_ratio__morph_volume" in wide.columns
    assert "delta_relative__stat_skewness" in wide.columns
    assert wide.set_index("patient").at["A", "delta_absolute__morph_volume"] == -405.0
    only = delta_wide(delta_features(table, baseline="T0"), kinds=["absolute"])
    assert list(only.columns) == ["patient", "roi", "delta_absolute__morph_volume",
                                  "delta_absolute__stat_skewness"]


def test_waterfall_plot_is_a_png_and_names_a_missing_feature(table, tmp_path):
    deltas = delta_features(table, baseline="T0")
    path = delta_waterfall(deltas, tmp_path / "w.png", feature="morph_volume", kind="relative")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000
    with pytest.raises(AnalysisError, match="no finite relative delta of feature 'cm_x'"):
        delta_waterfall(deltas, tmp_path / "x.png", feature="cm_x")


# -- the command on a store --------------------------------------------------------------------

def _store(tmp_path, frame: pd.DataFrame, manifest: str = "") -> str:
    url = f"sqlite:///{tmp_path / 'delta.db'}"
    store = FeatureStore(url, create=True)
    run = store.start_run({}, "h", manifest, {"radiome": "test"})
    for case_id, rows in frame.groupby("case_id", sort=False):
        first = rows.iloc[0]
        store.write_case(run, CaseRecord(
            case_id=case_id, roi="1", spec_hash="h", input_hash=case_id, image_hash="i",
            mask_hash="m", table=rows, labels={"patient": first["patient"],
                                               "timepoint": first["timepoint"]}))
    store.close()
    return url


def test_delta_command_writes_the_contract_columns_from_a_store(table, tmp_path, capsys):
    url = _store(tmp_path, table.drop(columns="date"))
    out = tmp_path / "d.csv"
    assert main(["delta", "--store", url, "--baseline", "T0", "--followup", "T1",
                 "--out", str(out)]) == 0
    written = pd.read_csv(out, keep_default_na=False)
    assert list(written.columns) == list(DELTA_COLUMNS)
    assert set(written["delta_kind"]) == {"absolute", "relative", "log_ratio"}
    row = written[(written["patient"] == "A") & (written["feature"] == "morph_volume")
                  & (written["delta_kind"] == "absolute")].iloc[0]
    assert float(row["value"]) == -405.0
    assert str(row["exceeds_rc"]) == "True"
    printed = capsys.readouterr()
    assert "RC of 2 feature(s) from 2 repeat-scanned subject(s)" in printed.out
    assert "per_day rates need scan dates" in printed.err


def test_delta_command_reads_dates_of_the_runs_manifest_and_writes_wide_rc_and_plot(
        table, tmp_path, capsys):
    manifest = tmp_path / "manifest.csv"
    table.drop_duplicates("case_id")[["case_id", "patient", "timepoint", "date"]].to_csv(
        manifest, index=False)
    url = _store(tmp_path, table.drop(columns="date"), manifest=str(manifest))
    out, rc, plot = tmp_path / "w.csv", tmp_path / "rc.csv", tmp_path / "w.png"
    assert main(["delta", "--store", url, "--baseline", "T0", "--out", str(out), "--wide",
                 "--rc-out", str(rc), "--plot", str(plot)]) == 0
    wide = pd.read_csv(out).set_index("patient")
    assert wide.at["A", "delta_per_day__morph_volume"] == pytest.approx(-405.0 / 50)
    assert set(wide["spec_hash"]) == {"h"}
    assert pd.read_csv(rc).set_index("feature").at["morph_volume", "rc"] == pytest.approx(
        RC_FACTOR * np.sqrt(50.0))
    assert plot.stat().st_size > 10_000
    assert f"scan dates from {manifest}" in capsys.readouterr().err


def test_delta_command_takes_the_rc_of_a_separate_test_retest_store(table, tmp_path):
    url = _store(tmp_path, table.loc[~table["case_id"].str.endswith("r")].drop(columns="date"))
    study = tmp_path / "retest"
    study.mkdir()
    retest = _table([(f"r{i}{j}", f"R{i}", str(j), {"morph_volume": 100.0 * i + 5.0 * j,
                                                     "stat_skewness": 0.1 * j})
                     for i in range(3) for j in (1, 2)])
    other = _store(study, retest)
    out = tmp_path / "d.csv"
    assert main(["delta", "--store", url, "--baseline", "T0", "--retest-store", other,
                 "--out", str(out), "--kinds", "absolute"]) == 0
    written = pd.read_csv(out)
    assert np.allclose(written.loc[written["feature"] == "morph_volume", "rc"],
                       RC_FACTOR * np.sqrt(12.5))


def test_delta_command_retest_option_takes_labelled_rescans_as_baseline_repeats(table, tmp_path):
    relabelled = table.assign(timepoint=np.where(table["case_id"].str.endswith("r"), "T0R",
                                                 table["timepoint"]))
    url = _store(tmp_path, relabelled.drop(columns="date"))
    out = tmp_path / "d.csv"
    assert main(["delta", "--store", url, "--baseline", "T0", "--retest", "T0R",
                 "--kinds", "absolute", "--out", str(out)]) == 0
    written = pd.read_csv(out).set_index(["patient", "feature"])
    assert written.at[("A", "morph_volume"), "value"] == -405.0
    assert written.at[("A", "morph_volume"), "rc"] == pytest.approx(RC_FACTOR * np.sqrt(50.0))


def test_delta_command_errors_are_one_line(table, tmp_path, capsys):
    url = _store(tmp_path, table)
    assert main(["delta", "--store", url, "--baseline", "T9", "--out",
                 str(tmp_path / "d.csv")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("radiome: error: delta: no case at baseline time point 'T9'")
    assert main(["delta", "--store", url, "--baseline", "T0", "--out",
                 str(tmp_path / "d.txt")]) == 1
    assert "must end in .csv, .parquet" in capsys.readouterr().err
    assert main(["delta", "--store", url, "--baseline", "T0", "--dates",
                 str(tmp_path / "none.csv"), "--out", str(tmp_path / "d.csv")]) == 1
    assert "none.csv: dates table does not exist" in capsys.readouterr().err
