"""Every failure of a command is one line on stderr with the right exit code, and no output
file is left half-written; warnings are one line each; progress stays out of pipes."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from radiome.cli import main
from radiome.reliability import icc

FILTER_SPEC = {
    "preprocessing": {"discretisation": {"method": "fixed_bin_size", "bin_width": 25}},
    "features": {"families": ["stat"]},
    "filters": [{"kind": "mean", "support": 3}, {"kind": "log", "sigma_mm": 1.0}],
}


@pytest.fixture
def phantom(shared_data: Path) -> Path:
    return shared_data / "ibsi1" / "digital_phantom" / "phantom.nii.gz"


@pytest.fixture
def filter_spec(tmp_path: Path) -> Path:
    path = tmp_path / "filters.yaml"
    path.write_text(yaml.safe_dump(FILTER_SPEC))
    return path


def _run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _error_line(capsys, *args) -> str:
    """The one stderr line of a command that fails with exit code 1."""
    code, _, err = _run(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 1, err
    assert len(lines) == 1, err
    assert lines[0].startswith("radiome: error: "), err
    return lines[0]


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def test_filter_unsupported_extension_names_it_and_leaves_no_file(capsys, tmp_path, phantom,
                                                                  filter_spec):
    out = tmp_path / "out" / "response.xyz"
    line = _error_line(capsys, "filter", phantom, "--spec", filter_spec, "--out", out,
                       "--modality", "CT")
    assert line == (f"radiome: error: {out}: the response map must end in .nii.gz, .nii, "
                    ".nrrd, .mha, got '.xyz'")
    assert not (tmp_path / "out").exists() or _files(tmp_path / "out") == []


def test_filter_out_under_a_file_is_one_line_and_writes_nothing(capsys, tmp_path, phantom,
                                                                filter_spec):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    out = blocker / "response.nii.gz"
    line = _error_line(capsys, "filter", phantom, "--spec", filter_spec, "--out", out,
                       "--modality", "CT")
    assert line.endswith(f"cannot create the folder of the response map ({blocker} is a file, "
                         "not a folder)")
    assert _files(tmp_path) == ["filters.yaml", "not_a_folder"]


def test_filter_out_on_a_virtual_file_system_is_one_line(capsys, phantom, filter_spec):
    out = Path("/proc/radiome-test/response.nii.gz")
    line = _error_line(capsys, "filter", phantom, "--spec", filter_spec, "--out", out,
                       "--modality", "CT")
    assert line.startswith(f"radiome: error: {out}: cannot create the folder of the response map")


def test_filter_write_failing_midway_leaves_neither_file_nor_partial(capsys, tmp_path, phantom,
                                                                    filter_spec, monkeypatch):
    def half_then_fail(volume, path):
        Path(path).write_bytes(b"half a volume")
        raise RuntimeError("sitk::ERROR: disk quota exceeded\nmore ITK detail")

    monkeypatch.setattr("radiome.io.write_volume", half_then_fail)
    out = tmp_path / "out" / "response.nii.gz"
    line = _error_line(capsys, "filter", phantom, "--spec", filter_spec, "--out", out,
                       "--modality", "CT")
    target = tmp_path / "out" / "response_mean_m3.nii.gz"
    assert line == (f"radiome: error: {target}: cannot write the response map "
                    "(disk quota exceeded)")
    assert _files(tmp_path / "out") == []


def test_filter_in_a_pipe_prints_only_the_written_files(capsys, tmp_path, phantom, filter_spec):
    out = tmp_path / "response.nrrd"
    code, stdout, stderr = _run(capsys, "filter", phantom, "--spec", filter_spec, "--out", out,
                                "--modality", "CT")
    assert code == 0, stderr
    assert stderr == ""
    assert stdout.splitlines() == [f"mean_m3: {tmp_path / 'response_mean_m3.nrrd'}",
                                   f"log_s1mm: {tmp_path / 'response_log_s1mm.nrrd'}"]
    assert _files(tmp_path) == ["filters.yaml", "response_log_s1mm.nrrd", "response_mean_m3.nrrd"]


def test_extract_bad_out_fails_before_extracting(capsys, tmp_path, phantom, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("extract ran although --out was unusable")

    monkeypatch.setattr("radiome.extract", never)
    mask = phantom.with_name("mask.nii.gz")
    line = _error_line(capsys, "extract", phantom, mask, "--modality", "CT", "--out",
                       tmp_path / "features.txt")
    assert line.endswith("features.txt: the feature table must end in .csv, .parquet, got '.txt'")
    line = _error_line(capsys, "extract", phantom, mask, "--modality", "CT", "--out", tmp_path)
    assert line == f"radiome: error: {tmp_path}: the feature table must end in .csv, .parquet, " \
                   "got no extension"


@pytest.mark.parametrize("command", ["conformance", "batch", "perturb"])
def test_manifest_without_rows_is_a_one_line_error(capsys, tmp_path, filter_spec, command):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("case_id,image,mask,roi\n")
    store = ["--store", f"sqlite:///{tmp_path / 's.db'}"] if command != "conformance" else []
    line = _error_line(capsys, command, manifest, "--spec", filter_spec, *store)
    assert line == (f"radiome: error: {manifest}: manifest has no rows, only a header; add one "
                    "row per case and ROI")


def _conformance_manifest(tmp_path: Path, images: list[Path]) -> Path:
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame({"case_id": [f"c{i}" for i in range(len(images))], "image": images,
                  "mask": "mask.nii.gz", "roi": "1"}).to_csv(manifest, index=False)
    return manifest


def test_conformance_with_every_case_in_error_exits_1(capsys, tmp_path, filter_spec):
    manifest = _conformance_manifest(tmp_path, [tmp_path / "a.nii.gz", tmp_path / "b.nii.gz"])
    code, out, err = _run(capsys, "conformance", manifest, "--spec", filter_spec, "--out",
                          tmp_path / "conformance.csv")
    assert code == 1
    assert "0 pass, 0 warn, 0 fail, 2 error" in out
    assert err.strip() == (f"radiome: error: {manifest}: no case could be checked; all 2 are in "
                           f"error (e.g. {tmp_path / 'a.nii.gz'}: image does not exist)")
    assert list(pd.read_csv(tmp_path / "conformance.csv")["status"]) == ["error", "error"]


def test_conformance_with_some_cases_readable_exits_0(capsys, tmp_path, phantom, filter_spec):
    manifest = _conformance_manifest(tmp_path, [phantom, tmp_path / "b.nii.gz"])
    code, out, err = _run(capsys, "conformance", manifest, "--spec", filter_spec)
    assert code == 0, err
    assert "1 pass, 0 warn, 0 fail, 1 error" in out
    assert err == ""


def _ratings(path: Path, values) -> Path:
    rows = [(f"s{i}", f"r{j}", v) for i, row in enumerate(values) for j, v in enumerate(row)]
    pd.DataFrame(rows, columns=["subject", "rater", "value"]).to_csv(path, index=False)
    return path


def test_radiome_warning_is_one_line_without_category(capsys, tmp_path):
    path = _ratings(tmp_path / "constant.csv", [[3.0, 3.0], [3.0, 3.0]])
    before = warnings.showwarning
    code, _, err = _run(capsys, "icc", path)
    assert code == 0
    assert err.splitlines() == [
        "radiome: warning: ICC: all 4 ratings are equal, so every ICC form is undefined (NaN)"]
    assert warnings.showwarning is before  # restored after the run


def test_third_party_warning_is_one_line_with_its_category(capsys, tmp_path, monkeypatch):
    def noisy_icc(*args, **kwargs):
        warnings.warn("invalid value\n  encountered in divide", RuntimeWarning, stacklevel=2)
        return icc(*args, **kwargs)

    monkeypatch.setattr("radiome.reliability.icc", noisy_icc)
    path = _ratings(tmp_path / "r.csv", [[1.0, 2.0], [3.0, 5.0], [6.0, 6.5]])
    code, _, err = _run(capsys, "icc", path)
    assert code == 0
    assert err.splitlines() == [
        "radiome: warning: RuntimeWarning: invalid value encountered in divide"]


def test_icc_json_keeps_the_p_value_precision(capsys, tmp_path):
    rng = np.random.default_rng(3)
    truth = rng.normal(0, 10, size=60)
    values = truth[:, None] + rng.normal(0, 0.5, size=(60, 3))
    path = _ratings(tmp_path / "r.csv", values)
    code, out, _ = _run(capsys, "icc", path, "--json")
    assert code == 0
    got = {row["form"]: row for row in json.loads(out)}
    expected = icc(pd.read_csv(path), subject="subject", rater="rater", value="value")
    for row in expected.itertuples():
        assert 0 < got[row.form]["p_value"] < 1e-100
        assert got[row.form]["p_value"] == row.p_value  # every digit, not rounded to 0
        assert got[row.form]["icc"] == row.icc


def test_icc_json_writes_undefined_values_as_null(capsys, tmp_path):
    path = _ratings(tmp_path / "constant.csv", [[3.0, 3.0], [3.0, 3.0]])
    code, out, _ = _run(capsys, "icc", path, "--json")
    assert code == 0
    assert {row["icc"] for row in json.loads(out)} == {None}


def test_icc_errors_name_the_file(capsys, tmp_path):
    line = _error_line(capsys, "icc", tmp_path)
    assert line.startswith(f"radiome: error: {tmp_path}: cannot read the ratings CSV (")
    path = tmp_path / "dup.csv"
    path.write_text("subject,rater,value\na,1,1\na,1,2\nb,1,1\nb,2,1\n")
    line = _error_line(capsys, "icc", path)
    assert line == (f"radiome: error: {path}: ICC: 1 duplicated (subject, rater) pair(s), e.g. "
                    "('a', 1); each subject needs one rating per rater")


def test_reliability_bad_out_fails_before_reading_the_store(capsys, tmp_path):
    store = tmp_path / "absent.db"
    line = _error_line(capsys, "reliability", "--store", f"sqlite:///{store}", "--by", "rater",
                       "--plot", tmp_path / "icc.pdf")
    assert line == (f"radiome: error: {tmp_path / 'icc.pdf'}: the ICC plot must end in .png, "
                    "got '.pdf'")
    assert not store.exists()


def test_tiny_roi_warns_once_in_one_line(capsys, tmp_path, phantom):
    import SimpleITK as sitk

    reference = sitk.ReadImage(str(phantom))
    labels = np.zeros(sitk.GetArrayFromImage(reference).shape, np.uint8)
    labels[2, 2, 2] = 1
    mask = sitk.GetImageFromArray(labels)
    mask.CopyInformation(reference)
    path = tmp_path / "one_voxel.nii.gz"
    sitk.WriteImage(mask, str(path))
    code, _, err = _run(capsys, "extract", phantom, path, "--modality", "CT", "--out",
                        tmp_path / "f.csv")
    assert code == 0, err
    warned = [line for line in err.splitlines() if line.startswith("radiome: warning: ")]
    assert len(warned) == 1, err
    assert warned[0].startswith(f"radiome: warning: {path}: ROI 1 has 1 voxel(s) in a "
                                "1 x 1 x 1 box")
    assert "stat_skew" in warned[0]
    assert "morph_moran_i" in warned[0]
