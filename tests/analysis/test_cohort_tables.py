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
        ({"f3": [np.nan] + [1.0] * 39}, {}, r"1 feature column\(s\) have missing values"),
        ({"grade": [0, 1, 2, 3] * 10}, {"outcome": "grade"}, r"expected 0/1 or True/False"),
    ],
    ids=["missing-site", "text-feature", "missing-feature", "not-binary"],
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
