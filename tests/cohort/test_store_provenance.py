"""Provenance in the store: the software of every case, resume across software, warnings."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pydicom
import pytest
import yaml

from radiome import provenance
from radiome.cli import main
from radiome.cohort import (
    PROVENANCE_COLUMNS,
    CaseRecord,
    CaseWarning,
    FeatureStore,
    read_manifest,
    run_batch,
    run_case,
)
from radiome.spec import load_spec
from radiome.synthetic import write_cohort
from radiome.table import COLUMNS

SPEC = {
    "preprocessing": {"discretisation": {"method": "fixed_bin_size", "bin_width": 25}},
    "features": {"families": ["morph", "stat"]},
}
_SHAPE = {"shape": (10, 32, 32), "spacing": (2.5, 1.0, 1.0)}


def _rename_referenced_series(rtstruct: str | Path) -> None:
    """Make an RTSTRUCT name another series than its image's (matched by frame of reference)."""
    ds = pydicom.dcmread(rtstruct)
    for frame in ds.ReferencedFrameOfReferenceSequence:
        for study in frame.RTReferencedStudySequence:
            for series in study.RTReferencedSeriesSequence:
                series.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.save_as(rtstruct)


@pytest.fixture(scope="module")
def warned(tmp_path_factory) -> tuple[str, object, pd.DataFrame]:
    """A batch of one DICOM case whose RTSTRUCT names another series, and two NIfTI cases."""
    folder = tmp_path_factory.mktemp("warned")
    manifest = write_cohort(folder, n_cases=3, n_dicom=1, **_SHAPE)
    _rename_referenced_series(manifest.loc[0, "mask"])
    url = f"sqlite:///{folder / 'store.db'}"
    store = FeatureStore(url, create=True)
    summary = run_batch(read_manifest(folder / "manifest.csv"), load_spec(SPEC), store, workers=1)
    store.close()
    return url, summary, manifest


def test_software_difference_names_the_stored_side_of_what_differs():
    now = {"radiome": "0.2.0", "radiome_code": "b" * 16, "numpy": "2.1.0", "scipy": "1.14.0"}
    stored = provenance.software_key({**now, "radiome": "0.1.0", "numpy": "1.26.4"})
    assert provenance.software_difference(stored, now) == "radiome 0.1.0, numpy 1.26.4"
    assert provenance.software_difference(None, now) == "unrecorded software"
    assert provenance.software_difference(provenance.software_key(now), now) == (
        "the same software")


def test_every_stored_case_records_the_software_that_computed_it(warned):
    url, summary, _ = warned
    store = FeatureStore(url)
    cases = store.cases()
    assert summary.done == 3
    assert (cases["software"] == provenance.software_key()).all()
    run = store.runs().set_index("id").loc[summary.run_id]
    assert run["software"] == provenance.software_versions()
    assert run["radiome_version"] == provenance.software_versions()["radiome"]
    assert run["status"] == "finished"


def test_cases_stored_by_other_software_are_recomputed_unless_kept(tmp_path, store_url,
                                                                    monkeypatch, capsys):
    write_cohort(tmp_path, n_cases=2, **_SHAPE)
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(SPEC))
    spec = load_spec(spec_path)
    table = read_manifest(tmp_path / "manifest.csv")
    store = FeatureStore(store_url, create=True)
    first = run_batch(table, spec, store, workers=1)
    assert first.done == 2
    real = provenance.software_versions()
    old = f"radiome {real['radiome']}"
    monkeypatch.setattr(provenance, "software_versions",
                        lambda: {**real, "radiome": "9.9.9"})

    args = ["batch", str(tmp_path / "manifest.csv"), "--spec", str(spec_path),
            "--store", store_url, "--workers", "1"]
    assert main([*args, "--keep-other-versions"]) == 0
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "0 extracted, 0 already stored, 0 non-conformant skipped, 0 failed; " in line
    assert f"; 2 kept as stored by other software (2 by [{old}])" in line
    assert store.cases(spec.hash)["run_id"].tolist() == [first.run_id] * 2

    again = run_batch(table, spec, store, workers=1)
    assert (again.done, again.unchanged, again.kept) == (2, 0, {})
    assert again.recomputed == {old: 2}
    assert store.cases(spec.hash)["run_id"].tolist() == [again.run_id] * 2
    runs = store.runs().set_index("id")
    assert runs.loc[again.run_id, "radiome_version"] == "9.9.9"
    assert runs.loc[again.run_id, "summary"]["recomputed"] == {old: 2}
    store.close()


def test_export_provenance_adds_run_inputs_and_software_after_the_contract_columns(warned,
                                                                                     tmp_path):
    url, summary, _ = warned
    out = tmp_path / "features.csv"
    assert main(["export", "--store", url, "--out", str(out), "--provenance"]) == 0
    table = pd.read_csv(out, keep_default_na=False)
    assert table.columns.tolist() == [*COLUMNS, *PROVENANCE_COLUMNS]
    cases = FeatureStore(url).cases().set_index("case_id")
    per_case = table.groupby("case_id")[list(PROVENANCE_COLUMNS)].nunique()
    assert (per_case == 1).all().all()
    first = table.drop_duplicates("case_id").set_index("case_id")
    assert first["input_hash"].to_dict() == cases["input_hash"].to_dict()
    assert (first["run_id"] == summary.run_id).all()
    assert (first["radiome_version"] == provenance.software_versions()["radiome"]).all()
    assert json.loads(first["software"].iloc[0]) == provenance.software_versions()

    plain = tmp_path / "plain.csv"
    assert main(["export", "--store", url, "--out", str(plain)]) == 0
    assert pd.read_csv(plain).columns.tolist() == list(COLUMNS)
    wide = tmp_path / "wide.csv"
    assert main(["export", "--store", url, "--out", str(wide), "--wide", "--provenance"]) == 0
    assert pd.read_csv(wide).columns[:9].tolist() == ["case_id", "roi", "spec_hash",
                                                      *PROVENANCE_COLUMNS]


def test_radiome_warnings_of_a_case_are_stored_with_it_and_exported(warned, tmp_path):
    url, summary, manifest = warned
    assert summary.warned == 1
    image_series = pydicom.dcmread(next(Path(manifest.loc[0, "image"]).iterdir()))
    stored = FeatureStore(url).warnings()
    assert stored[["case_id", "roi", "stage", "category"]].values.tolist() == [
        ["case_0000", "GTV", "read mask", "DicomWarning"]]
    assert stored["message"].iloc[0] == (
        f"{manifest.loc[0, 'mask']}: RTSTRUCT references series 1.2.826.0.1.3680043.8.498.1, "
        f"not the image series {image_series.SeriesInstanceUID}; "
        "matched by FrameOfReferenceUID and geometry")
    assert (stored["run_id"] == summary.run_id).all()
    out = tmp_path / "warnings.csv"
    assert main(["export", "--store", url, "--warnings", "--out", str(out)]) == 0
    exported = pd.read_csv(out)
    assert exported[["case_id", "category"]].values.tolist() == [["case_0000", "DicomWarning"]]


def test_warnings_of_a_failed_case_are_kept_with_its_error(tmp_path):
    manifest = write_cohort(tmp_path, n_cases=1, n_dicom=1, **_SHAPE)
    _rename_referenced_series(manifest.loc[0, "mask"])
    empty = load_spec({**SPEC, "preprocessing": {
        **SPEC["preprocessing"], "resegmentation": {"range": {"min": 5000, "max": 6000}}}})
    row = read_manifest(tmp_path / "manifest.csv").to_dict("records")[0]
    outcome = run_case(row, empty, None)
    assert (outcome.status, outcome.stage) == ("failed", "extract")
    assert [(w.stage, w.category) for w in outcome.warnings] == [("read mask", "DicomWarning")]


def test_a_new_attempt_at_a_case_replaces_its_stored_warnings(tmp_path):
    store = FeatureStore(f"sqlite:///{tmp_path / 's.db'}", create=True)
    run_id = store.start_run({}, "spec", "", provenance.software_versions())
    warning = CaseWarning("read image", "DicomWarning", "x.dcm: a quirk")
    store.write_error(run_id, case_id="c", roi="1", spec_hash="spec", stage="extract",
                      message="failed", warnings=[warning])
    assert store.warnings()["message"].tolist() == ["x.dcm: a quirk"]
    record = CaseRecord(case_id="c", roi="1", spec_hash="spec", input_hash="i", image_hash="a",
                        mask_hash="b", table=pd.DataFrame(columns=list(COLUMNS)))
    store.write_case(run_id, record)
    assert store.warnings().empty
    assert store.errors().empty
    assert store.cases()["case_id"].tolist() == ["c"]
