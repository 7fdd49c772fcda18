"""DICOM discovery, pseudonymised ids, conformance and privacy of what reaches the store."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest

from radiome.cli import main
from radiome.cohort import (
    FeatureStore,
    check_conformance,
    discover,
    load_key,
    read_manifest,
    run_batch,
)
from radiome.cohort.privacy import PseudonymKeyError
from radiome.io.dicom_write import write_dicom_series, write_rtstruct
from radiome.spec import AcquisitionProfile, Range, load_spec
from radiome.synthetic import synthetic_case
from radiome.volume import AcquisitionMetadata

KEY = b"0123456789abcdef-test-key"


def _case(root: Path, seed: int, patient: str, *, structures=("GTV",), folder="ct"):
    volume, mask = synthetic_case(seed, shape=(8, 32, 32), spacing=(2.5, 1.0, 1.0))
    files = write_dicom_series(volume, root / folder, patient_id=patient)
    for path in files:  # the identifiers a real scan carries
        ds = pydicom.dcmread(path)
        ds.PatientName = "DOE^JANE"
        ds.PatientBirthDate = "19510203"
        ds.save_as(path)
    rtstruct = write_rtstruct(mask, files, root / f"{folder}_rs" / "x.dcm", roi_name=structures[0])
    if len(structures) > 1:  # a second structure: add its ROI to the same file
        ds = pydicom.dcmread(rtstruct)
        roi = ds.StructureSetROISequence[0].__class__()
        roi.ROINumber, roi.ROIName = 2, structures[1]
        roi.ReferencedFrameOfReferenceUID = ds.StructureSetROISequence[0].ReferencedFrameOfReferenceUID
        ds.StructureSetROISequence.append(roi)
        contour = pydicom.dataset.Dataset()
        contour.ReferencedROINumber = 2
        contour.ContourSequence = ds.ROIContourSequence[0].ContourSequence
        ds.ROIContourSequence.append(contour)
        ds.save_as(rtstruct)
    return files, rtstruct


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Two patients, follow-up study, two structures, and every kind of thing to skip."""
    root = tmp_path / "dicom"
    _case(root / "a" / "2019" / "deep" / "er", 1, "PAT-A", structures=("GTV", "CTV"))
    _case(root / "a" / "2020", 2, "PAT-A")
    files, _ = _case(root / "b", 3, "PAT-B", folder="x")
    scout = root / "b" / "scout"
    scout.mkdir()
    ds = pydicom.dcmread(files[0])
    ds.SeriesInstanceUID = pydicom.uid.generate_uid()
    ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    ds.save_as(scout / "1.dcm")
    single = root / "single"
    single.mkdir()
    ds.SeriesInstanceUID = pydicom.uid.generate_uid()
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.save_as(single / "1.dcm")
    orphan = pydicom.dcmread(next((root / "b" / "x_rs").iterdir()))
    orphan.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID = "1.2.3.4"
    orphan.StructureSetROISequence[0].ReferencedFrameOfReferenceUID = "1.2.3.4"
    orphan.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0] \
        .RTReferencedSeriesSequence[0].SeriesInstanceUID = "1.2.3.4.5"
    orphan.save_as(root / "orphan.dcm")
    (root / "notes.txt").write_text("not DICOM")
    return root


def test_discovery_pairs_masks_and_reports_skips(tree):
    found = discover(tree, KEY)
    manifest = found.manifest
    assert len(manifest) == 4  # patient A: 2 structures + follow-up; patient B: 1
    assert sorted(manifest["roi"]) == ["CTV", "GTV", "GTV", "GTV"]
    assert manifest["case_id"].str.match(r"^c[0-9a-f]{16}$").all()
    per_patient = manifest.groupby("patient")["case_id"].nunique().sort_values()
    assert per_patient.tolist() == [1, 2]
    a = manifest[manifest["patient"] == per_patient.index[1]]
    assert sorted(a["timepoint"].unique()) == ["1", "2"]
    reasons = " | ".join(found.skipped["reason"])
    assert "localizer series" in reasons
    assert "single slice, not a volume" in reasons
    assert "orphan RTSTRUCT" in reasons
    text = manifest.to_csv()
    assert "DOE" not in text
    assert "PAT-A" not in text
    assert "19510203" not in text
    again = discover(tree, KEY).manifest
    pd.testing.assert_frame_equal(manifest, again)  # stable for the same key
    other = discover(tree, b"another-key-of-16-bytes").manifest
    assert set(other["case_id"]).isdisjoint(manifest["case_id"])


def test_discovery_of_real_dicom_matched_by_frame_of_reference(shared_data, tmp_path):
    shutil.copytree(shared_data / "dicom_rt_case" / "STS_001", tmp_path / "sts")
    shutil.copytree(shared_data / "ibsi1" / "ct_phantom" / "dicom", tmp_path / "ibsi")
    manifest = discover(tmp_path, KEY).manifest
    assert sorted(manifest["roi"]) == ["GTV-1", "GTV_Mass_CT"]
    assert (manifest["modality"] == "CT").all()


def test_discovered_manifest_runs_and_keeps_identifiers_out_of_the_store(tree, tmp_path):
    manifest_path = tmp_path / "manifest.csv"
    discover(tree, KEY).manifest.to_csv(manifest_path, index=False)
    spec = load_spec({"preprocessing": {"discretisation": {"method": "fixed_bin_size",
                                                           "bin_width": 25}},
                      "features": {"families": ["stat"]}})
    store = FeatureStore(f"sqlite:///{tmp_path / 's.db'}", create=True)
    summary = run_batch(read_manifest(manifest_path), spec, store, workers=1)
    assert (summary.done, summary.failed) == (4, 0)
    dump = store.dump_text()
    for identifier in ("DOE", "JANE", "19510203", "PAT-A", "PAT-B"):
        assert identifier not in dump
    acquisition = store.cases()["acquisition"].iloc[0]
    assert acquisition["series_year"] == 2026
    assert "series_date" not in acquisition


def test_discover_cli_needs_a_key(tree, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RADIOME_PSEUDONYM_KEY", raising=False)
    code = main(["discover", str(tree), "--out", str(tmp_path / "m.csv")])
    assert code == 1
    assert "pseudonymisation key of at least 16 bytes" in capsys.readouterr().err
    key = tmp_path / "key"
    key.write_bytes(KEY)
    assert main(["discover", str(tree), "--out", str(tmp_path / "m.csv"),
                 "--key-file", str(key)]) == 0
    out = capsys.readouterr().out
    assert "4 case(s) written" in out
    assert "skipped 1: localizer series" in out
    assert (tmp_path / "m_skipped.csv").exists()
    monkeypatch.setenv("RADIOME_PSEUDONYM_KEY", KEY.decode())
    assert load_key() == KEY
    with pytest.raises(PseudonymKeyError):
        load_key(tmp_path / "missing-key")


def test_conformance_rules():
    profile = AcquisitionProfile(modality=["CT"], kvp=Range(min=100, max=130),
                                 convolution_kernel=["B30f", "STANDARD"],
                                 slice_thickness_mm=Range(max=3.0), contrast=False)
    good = AcquisitionMetadata(modality="CT", kvp=120.0, convolution_kernel="standard",
                               slice_thickness=2.5)
    assert check_conformance(profile, good).status == "pass"
    bad = AcquisitionMetadata(modality="CT", kvp=140.0, convolution_kernel="BONE",
                              slice_thickness=5.0, contrast_agent="Omnipaque")
    result = check_conformance(profile, bad)
    assert result.status == "fail"
    assert result.reasons == (
        "kVp 140 kV outside [100.0, 130.0] kV",
        "convolution kernel 'BONE' not in B30f, STANDARD",
        "slice thickness 5 mm outside [-inf, 3.0] mm",
        "contrast given (Omnipaque), profile wants no contrast",
    )
    missing = AcquisitionMetadata(modality="CT")
    result = check_conformance(profile, missing)
    assert result.status == "warn"
    assert "kVp not recorded" in result.text()


def test_conformance_cli_and_strict_batch(tmp_path, capsys):
    root = tmp_path / "d"
    _case(root, 4, "P1")
    manifest_path = tmp_path / "m.csv"
    discover(root, KEY).manifest.to_csv(manifest_path, index=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text("acquisition: {kvp: {min: 130}}\n"
                    "preprocessing: {discretisation: {method: fixed_bin_number, bin_count: 8}}\n"
                    "features: {families: [stat]}\n")
    assert main(["conformance", str(manifest_path), "--spec", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "kVp 120 kV outside [130.0, inf] kV" in out
    assert "0 pass, 0 warn, 1 fail" in out
    store = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["batch", str(manifest_path), "--spec", str(spec), "--store", store,
                 "--workers", "1", "--strict"]) == 0
    assert "1 non-conformant skipped" in capsys.readouterr().err
    errors = FeatureStore(store).errors()
    assert errors["stage"].tolist() == ["conformance"]


def test_export_long_and_wide(tmp_path, capsys):
    root = tmp_path / "d"
    _case(root, 5, "P1")
    _case(root / "second", 6, "P2")
    manifest_path = tmp_path / "m.csv"
    discover(root, KEY).manifest.to_csv(manifest_path, index=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text("preprocessing: {discretisation: {method: fixed_bin_number, bin_count: 8}}\n"
                    "features: {families: [stat]}\n")
    store = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["batch", str(manifest_path), "--spec", str(spec), "--store", store,
                 "--workers", "1"]) == 0
    assert main(["export", "--store", store, "--out", str(tmp_path / "long.parquet")]) == 0
    long = pd.read_parquet(tmp_path / "long.parquet")
    assert len(long) == 2 * 18
    assert long["feature"].str.startswith("stat_").all()
    assert main(["export", "--store", store, "--out", str(tmp_path / "wide.csv"), "--wide"]) == 0
    wide = pd.read_csv(tmp_path / "wide.csv")
    assert wide.shape == (2, 3 + 18)
    assert np.allclose(np.sort(wide["stat_mean"]),
                       np.sort(long.loc[long["feature"] == "stat_mean", "value"]))
