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


def _raw(ds: pydicom.Dataset, tag: int, vr: str, value: bytes) -> None:
    """Put a raw, unchecked value into ``ds`` (pydicom would refuse to convert it)."""
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import Tag

    ds._dict[Tag(tag)] = RawDataElement(Tag(tag), vr, len(value), value, 0, False, True)


def _malformed(root: Path, slice_file: Path, rtstruct: Path) -> dict[str, str]:
    """Malformed DICOM files next to good ones; the reason discovery must give for each."""
    bad = root / "bad"
    bad.mkdir()
    ds = pydicom.dcmread(slice_file)
    ds.SeriesInstanceUID = pydicom.uid.generate_uid()
    _raw(ds, 0x00280008, "IS", b"1A")  # NumberOfFrames that is not a number
    ds.save_as(bad / "frames.dcm")
    (bad / "header.dcm").write_bytes(b"\0" * 128 + b"DICM" + bytes(range(256)) * 3)
    (bad / "truncated.dcm").write_bytes(slice_file.read_bytes()[:200])
    rs = pydicom.dcmread(rtstruct)
    _raw(rs.StructureSetROISequence[0], 0x30060022, "IS", b"x ")  # ROINumber
    rs.save_as(bad / "roi_number.dcm")
    (bad / "empty.dcm").write_bytes(b"")  # no DICOM preamble: not a DICOM file, ignored
    return {
        "frames.dcm": "unreadable DICOM header (ValueError: NumberOfFrames '1A' is not a "
                      "whole number)",
        "header.dcm": "DICOM object without SeriesInstanceUID",
        "truncated.dcm": "DICOM object without SeriesInstanceUID",  # pydicom reads what is there
        "roi_number.dcm": "unreadable DICOM header (ValueError: invalid literal for int()",
    }


def test_malformed_files_are_skipped_with_their_reason_and_the_rest_found(tree):
    files = sorted((tree / "b" / "x").iterdir())
    expected = _malformed(tree, files[0], next((tree / "b" / "x_rs").iterdir()))
    found = discover(tree, KEY)
    assert len(found.manifest) == 4
    reasons = {Path(p).name: r for p, r in found.skipped.itertuples(index=False)}
    for name, reason in expected.items():
        assert reasons[name].startswith(reason), (name, reasons[name])
    assert "empty.dcm" not in reasons


def test_discover_cli_without_any_dicom_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RADIOME_PSEUDONYM_KEY", KEY.decode())
    root = tmp_path / "nothing" / "deep"
    root.mkdir(parents=True)
    (root / "notes.txt").write_text("no DICOM here")
    assert main(["discover", str(tmp_path / "nothing"), "--out", str(tmp_path / "m.csv")]) == 1
    err = capsys.readouterr().err
    assert err == (f"radiome: error: {tmp_path / 'nothing'}: no DICOM file (Part 10, 'DICM' at "
                   "byte 128) found at any depth\n")
    assert not (tmp_path / "m.csv").exists()


def test_two_rtstructs_with_one_roi_name_on_one_series_are_two_raters(tmp_path):
    volume, mask = synthetic_case(7, shape=(8, 32, 32), spacing=(2.5, 1.0, 1.0))
    root = tmp_path / "dicom"
    files = write_dicom_series(volume, root / "ct", patient_id="P7")
    first = write_rtstruct(mask, files, root / "rs_a.dcm", roi_name="GTV")
    second = write_rtstruct(mask, files, root / "rs_b.dcm", roi_name="GTV")
    manifest = discover(root, KEY).manifest
    assert len(manifest) == 2
    assert sorted(manifest["rater"]) == ["rater1", "rater2"]  # both labelled "radiome"
    assert manifest["case_id"].nunique() == 2
    assert manifest["patient"].nunique() == 1
    assert set(manifest["timepoint"]) == {"1"}
    for path, label in ((first, "reader A"), (second, "reader B")):
        ds = pydicom.dcmread(path)
        ds.StructureSetLabel = label
        ds.save_as(path)
    manifest = discover(root, KEY).manifest
    assert dict(zip(manifest["mask"].map(lambda p: Path(p).name), manifest["rater"],
                    strict=True)) == {"rs_a.dcm": "reader A", "rs_b.dcm": "reader B"}
    manifest_path = tmp_path / "m.csv"
    manifest.to_csv(manifest_path, index=False)
    assert len(read_manifest(manifest_path)) == 2  # no repeated (case_id, roi)


def test_discover_writes_paths_relative_to_the_manifest_folder(tree, tmp_path, monkeypatch):
    monkeypatch.setenv("RADIOME_PSEUDONYM_KEY", KEY.decode())
    assert main(["discover", str(tree), "--out", str(tmp_path / "m.csv")]) == 0
    written = pd.read_csv(tmp_path / "m.csv", dtype=str)
    assert written["image"].str.startswith("dicom/").all()
    assert written["mask"].str.startswith("dicom/").all()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    table = read_manifest(tmp_path / "m.csv")
    assert all(Path(p).exists() for p in (*table["image"], *table["mask"]))
    assert main(["discover", str(tree), "--out", str(elsewhere / "m.csv")]) == 0
    outside = pd.read_csv(elsewhere / "m.csv", dtype=str)
    assert outside["image"].map(lambda p: Path(p).is_absolute()).all()


def _pydicom_test_files() -> Path:
    data = Path(pydicom.data.__file__).parent / "test_files"
    if not (data / "badVR.dcm").is_file():
        pytest.skip(f"pydicom's test files are not installed ({data})")
    return data


def test_discover_survives_pydicom_test_files(tmp_path, capsys, monkeypatch):
    """pydicom's own odd files: deflated, big endian, JPEG, truncated, bad VRs, RTSTRUCT, SEG."""
    root = tmp_path / "pydicom_test_files"
    shutil.copytree(_pydicom_test_files(), root)
    found = discover(root, KEY)
    assert found.manifest.empty
    reasons = {str(Path(p).relative_to(root)): r for p, r in found.skipped.itertuples(index=False)}
    assert reasons["badVR.dcm"] == ("unreadable DICOM header (ValueError: NumberOfFrames '1A' "
                                    "is not a whole number)")
    assert reasons["liver_1frame.dcm"].startswith("orphan SEG: no image series")
    assert reasons["liver_expb_1frame.dcm"].startswith("copy of ")
    assert reasons["rtplan.dcm"] == "RTPLAN object without image geometry"
    assert reasons["rtplan_truncated.dcm"] == "RTPLAN object without image geometry"
    assert reasons["waveform_ecg.dcm"] == "ECG object without image geometry"
    assert reasons["dicomdirtests/DICOMDIR"].startswith("DICOMDIR (an index of the files")
    assert "rtstruct.dcm" not in reasons  # no Part 10 preamble: not taken for DICOM
    monkeypatch.setenv("RADIOME_PSEUDONYM_KEY", KEY.decode())
    assert main(["discover", str(root), "--out", str(tmp_path / "m.csv")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"0 case(s) written to {tmp_path / 'm.csv'}")
    assert "skipped 1: unreadable DICOM header\n" in out
