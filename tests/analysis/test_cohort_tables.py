"""Reading cohorts (wide CSV, long radiome tables, clinical CSV) and saved models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiome.analysis import fit_model, load_cohort, load_model, predict, save_model
from radiome.errors import AnalysisError, AnalysisWarning, UnreadableFileError


def _wide(tmp_path: Path, **columns) -> Path:
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "pid": [f"p{i}" for i in range(40)],
            "f1": rng.normal(size=40),
            "f2": rng.normal(size=40),
            "label": np.arange(40) % 2,
            **columns,
        }
    )
    path = tmp_path / "wide.csv"
    table.to_csv(path, index=False)
    return path


def test_wide_table_with_true_false_outcome(tmp_path: Path):
    path = _wide(tmp_path, flag=np.where(np.arange(40) % 3 == 0, "True", "False"))
    cohort = load_cohort(path, id_col="pid", outcome="flag")
    assert cohort.task == "binary"
    assert cohort.y.tolist() == (np.arange(40) % 3 == 0).astype(int).tolist()
    assert list(cohort.X.columns) == ["f1", "f2", "label"]
    assert cohort.spec_hash is None


def test_long_table_is_pivoted_and_keeps_its_spec_hash(tmp_path: Path):
    rows = [
        {
            "case_id": f"c{i}",
            "roi": "GTV",
            "filter": flt,
            "family": "stat",
            "feature": "stat_mean",
            "ibsi_code": "Q4LE",
            "aggregation": "",
            "value": float(i + k),
            "unit": "HU",
            "spec_hash": "h1",
        }
        for i in range(6)
        for k, flt in enumerate(("", "log_s1"))
    ]
    long = tmp_path / "long.csv"
    pd.DataFrame(rows).to_csv(long, index=False)
    clinical = tmp_path / "clin.csv"
    pd.DataFrame({"case_id": [f"c{i}" for i in range(6)], "y": [0, 1] * 3}).to_csv(
        clinical, index=False
    )
    cohort = load_cohort(long, id_col="case_id", outcome="y", clinical=clinical)
    assert cohort.spec_hash == "h1"
    assert list(cohort.X.columns) == ["stat_mean", "stat_mean__log_s1"]
    assert cohort.X.loc["c3"].tolist() == [3.0, 4.0]
    pd.DataFrame(rows).assign(spec_hash=["h1", "h2"] * 6).to_csv(long, index=False)
    with pytest.raises(AnalysisError, match=r"spec hashes \['h1', 'h2'\]"):
        load_cohort(long, id_col="case_id", outcome="y", clinical=clinical)


@pytest.mark.parametrize(
    ("columns", "kwargs", "match"),
    [
        ({"site": ["a"] * 39 + [None]}, {"site": "site"}, r"\['site'\] have missing values"),
        ({"note": ["x"] * 40}, {}, r"non-numeric feature column\(s\) \['note'\]"),
        ({"f1": [np.nan] * 40, "f2": [np.inf] * 40}, {}, r"every feature column is missing"),
        ({"grade": [0, 1, 2, 3] * 10}, {"outcome": "grade"}, r"expected 0/1 or True/False"),
    ],
    ids=["missing-site", "text-feature", "all-features-missing", "not-binary"],
)
def test_bad_tables_name_the_column(tmp_path: Path, columns, kwargs, match):
    path = _wide(tmp_path, **columns)
    with pytest.raises(AnalysisError, match=match):
        load_cohort(path, id_col="pid", **{"outcome": "label", **kwargs})


def test_duplicate_ids_are_refused(tmp_path: Path):
    path = _wide(tmp_path)
    table = pd.read_csv(path)
    table.loc[1, "pid"] = "p0"
    table.to_csv(path, index=False)
    with pytest.raises(AnalysisError, match="duplicates"):
        load_cohort(path, id_col="pid", outcome="label")


def test_saved_model_round_trip_and_checks(tmp_path: Path):
    rng = np.random.default_rng(3)
    y = np.arange(60) % 2
    site = np.repeat(["s1", "s2"], 30)
    table = pd.DataFrame(
        {
            "pid": [f"p{i}" for i in range(60)],
            "f1": rng.normal(size=60) + y,
            "f2": rng.normal(size=60),
            "label": y,
            "site": site,
        }
    )
    table.to_csv(tmp_path / "t.csv", index=False)
    cohort = load_cohort(tmp_path / "t.csv", id_col="pid", outcome="label", site="site")
    path = save_model(fit_model(cohort), tmp_path / "m.joblib", spec_hash="h9")
    saved = load_model(path)
    assert (saved.features, saved.spec_hash, saved.task) == (["f1", "f2"], "h9", "binary")
    out = predict(saved, cohort.X, spec_hash="h9", batch=cohort.batch)
    np.testing.assert_allclose(out["risk"], saved.pipeline.risk_score(cohort.X, batch=cohort.batch))
    with pytest.warns(AnalysisWarning, match="cannot be checked"):
        predict(saved, cohort.X, batch=cohort.batch)
    with pytest.raises(AnalysisError, match=r"missing \(e.g. \['f2'\]\)"):
        predict(saved, cohort.X[["f1"]], spec_hash="h9", batch=cohort.batch)
    with pytest.raises(AnalysisError, match=r"\['s3'\] not seen in fit"):
        predict(saved, cohort.X, spec_hash="h9", batch=np.repeat(["s1", "s3"], 30))
    (tmp_path / "junk.joblib").write_bytes(b"not a model")
    with pytest.raises(UnreadableFileError, match="not a radiome model file"):
        load_model(tmp_path / "junk.joblib")


def _export_wide(tmp_path: Path, n: int = 30) -> Path:
    """A table shaped like `radiome export --wide` with the store's provenance columns."""
    rng = np.random.default_rng(5)
    software = '{"numpy":"2.1.0","radiome":"0.1.0","radiome_code":"abc"}'
    table = pd.DataFrame(
        {
            "case_id": [f"c{i}" for i in range(n)],
            "roi": "GTV",
            "spec_hash": "h1",
            "run_id": 3,
            "input_hash": [f"{i:064x}" for i in range(n)],
            "image_hash": "f" * 64,
            "mask_hash": "e" * 64,
            "radiome_version": "0.1.0",
            "software": software,
            "stat_mean": rng.normal(size=n),
            "stat_var__log_s1": rng.normal(size=n),
        }
    )
    path = tmp_path / "features_wide.csv"
    table.to_csv(path, index=False)
    return path


def test_export_wide_identifier_and_provenance_columns_are_not_features(tmp_path: Path):
    path = _export_wide(tmp_path)
    clinical = tmp_path / "clinical.csv"
    pd.DataFrame({"case_id": [f"c{i}" for i in range(30)], "y": np.arange(30) % 2}).to_csv(
        clinical, index=False
    )
    cohort = load_cohort(path, id_col="case_id", outcome="y", clinical=clinical)
    assert list(cohort.X.columns) == ["stat_mean", "stat_var__log_s1"]
    assert cohort.spec_hash == "h1"
    assert cohort.software == {
        "numpy": "2.1.0",
        "radiome": "0.1.0",
        "radiome_code": "abc",
        "radiome_version": "0.1.0",
    }


def test_missing_values_policy_drops_sparse_features_and_leaves_the_rest_to_impute(
    tmp_path: Path,
):
    sparse = [np.nan] * 12 + [1.0] * 28  # 30 % missing: dropped at the default 20 %
    few = [np.nan] * 4 + list(np.linspace(0, 1, 36))  # 10 % missing: kept, imputed later
    infinite = [np.inf] + list(np.linspace(0, 1, 39))
    path = _wide(tmp_path, sparse=sparse, few=few, infinite=infinite)
    with pytest.warns(AnalysisWarning) as caught:
        cohort = load_cohort(path, id_col="pid", outcome="label")
    messages = [str(w.message) for w in caught]
    assert any("1 infinite feature value(s) treated as missing (e.g. column 'infinite', case "
               "'p0')" in m for m in messages)
    assert any("1 feature column(s) missing in more than 20% of the 40 cases dropped "
               "(e.g. ['sparse'])" in m for m in messages)
    assert list(cohort.X.columns) == ["f1", "f2", "few", "infinite"]
    assert cohort.dropped == ("sparse",)
    assert cohort.n_missing == 5
    assert np.isnan(cohort.X.loc["p0", "infinite"])
    kept = load_cohort(path, id_col="pid", outcome="label", max_missing=0.5)
    assert "sparse" in kept.X.columns


def test_long_table_with_empty_values_and_provenance_reads_as_missing(tmp_path: Path):
    rows = [
        {"case_id": f"c{i}", "roi": "GTV", "filter": "", "family": "stat", "feature": feat,
         "ibsi_code": "", "aggregation": "", "value": "" if (i, feat) == (2, "stat_var") else i,
         "unit": "", "spec_hash": "h1", "run_id": 1, "input_hash": "x" * 64,
         "software": '{"radiome":"0.1.0"}', "site": "A" if i < 5 else "B"}
        for i in range(10)
        for feat in ("stat_mean", "stat_var")
    ]
    long = tmp_path / "long.csv"
    pd.DataFrame(rows).to_csv(long, index=False)
    clinical = tmp_path / "clin.csv"
    pd.DataFrame({"case_id": [f"c{i}" for i in range(10)], "y": [0, 1] * 5}).to_csv(
        clinical, index=False
    )
    cohort = load_cohort(long, id_col="case_id", outcome="y", clinical=clinical, site="site")
    assert list(cohort.X.columns) == ["stat_mean", "stat_var"]
    assert np.isnan(cohort.X.loc["c2", "stat_var"])
    assert cohort.n_missing == 1
    assert cohort.batch.tolist() == ["A"] * 5 + ["B"] * 5
    assert cohort.software == {"radiome": "0.1.0"}


def test_long_table_with_several_rois_per_case_is_refused(tmp_path: Path):
    rows = [
        {"case_id": "c0", "roi": roi, "filter": "", "family": "stat", "feature": "stat_mean",
         "ibsi_code": "", "aggregation": "", "value": 1.0, "unit": "", "spec_hash": "h1"}
        for roi in ("GTV", "CTV")
    ]
    long = tmp_path / "long.csv"
    pd.DataFrame(rows).to_csv(long, index=False)
    with pytest.raises(AnalysisError, match=r"case 'c0' has several ROIs \(CTV, GTV\)"):
        load_cohort(long, id_col="case_id", outcome="y")


def test_clinical_rows_without_features_are_counted_in_one_warning(tmp_path: Path):
    path = _wide(tmp_path)
    clinical = tmp_path / "clin.csv"
    pd.DataFrame({"pid": [f"p{i}" for i in range(2, 45)], "age": range(43)}).to_csv(
        clinical, index=False
    )
    with pytest.warns(AnalysisWarning, match=r"2 ID\(s\) only in .*wide.csv \(e.g. 'p0'\); 5 ID"):
        cohort = load_cohort(path, id_col="pid", outcome="label", clinical=clinical)
    assert len(cohort.X) == 38


def test_predict_imputes_missing_values_and_warns_on_other_software(tmp_path: Path):
    path = _export_wide(tmp_path, n=40)
    table = pd.read_csv(path)
    table["y"] = (table["stat_mean"] > 0).astype(int)
    table.to_csv(path, index=False)
    cohort = load_cohort(path, id_col="case_id", outcome="y")
    saved = load_model(save_model(fit_model(cohort), tmp_path / "m.joblib",
                                  spec_hash=cohort.spec_hash, software=cohort.software))
    assert saved.software["numpy"] == "2.1.0"
    X = cohort.X.copy()
    X.iloc[0, 0] = np.nan
    X.iloc[1, 1] = -np.inf
    with pytest.warns(AnalysisWarning, match="1 infinite feature value"):
        out = predict(saved, X, spec_hash="h1", software=cohort.software)
    assert np.isfinite(out["risk"]).all()
    imputer = saved.pipeline.front_[0][1]
    expected = X.copy()
    expected.iloc[0, 0] = imputer.statistics_[0]
    expected.iloc[1, 1] = imputer.statistics_[1]
    np.testing.assert_allclose(out["risk"], saved.pipeline.risk_score(expected))
    other = {**cohort.software, "numpy": "2.2.0"}
    with pytest.warns(AnalysisWarning, match=r"other software .*\(numpy 2.2.0 vs 2.1.0\)"):
        predict(saved, cohort.X, spec_hash="h1", software=other)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"case_id,stat_mean\nc1,1.0\n", ""),  # pickle reads it as a module import
        (b"", "EOFError"),
        ({"some": "dict"}, "a dict, expected format radiome-model/2"),
        ([1, 2, 3], "a list, expected format"),
        ({"format": "radiome-model/1", "pipeline": None}, "older radiome: refit it"),
    ],
    ids=["csv", "empty", "other-dict", "other-object", "old-format"],
)
def test_load_model_refuses_any_other_file_naming_it(tmp_path: Path, content, match):
    import joblib

    path = tmp_path / "model.joblib"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        joblib.dump(content, path)
    with pytest.raises(UnreadableFileError, match=f"{path}: not a radiome model file .*{match}"):
        load_model(path)
