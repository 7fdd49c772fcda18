"""The command line: results on real files, and one-line errors with a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import yaml

from radiome.cli import main

SPEC = {
    "preprocessing": {"round_intensities": True,
                      "discretisation": {"method": "fixed_bin_size", "bin_width": 25}},
    "features": {"families": ["morph", "stat"]},
}


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(SPEC))
    return path


@pytest.fixture
def phantom(shared_data: Path) -> tuple[Path, Path]:
    base = shared_data / "ibsi1" / "ct_phantom" / "nifti"
    return base / "phantom.nii.gz", base / "mask.nii.gz"


def _run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_extract_writes_the_long_table(capsys, tmp_path, phantom, spec_file):
    out = tmp_path / "features.csv"
    code, _, err = _run(capsys, "extract", *phantom, "--spec", spec_file, "--out", out,
                        "--case-id", "PAT1")
    assert code == 0, err
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table.columns) == ["case_id", "roi", "filter", "family", "feature", "ibsi_code",
                                   "aggregation", "value", "unit", "spec_hash"]
    row = table.set_index("feature").loc["morph_vol_approx"]
    assert row["ibsi_code"] == "YEKZ"
    assert row["unit"] == "mm^3"
    assert row["value"] == pytest.approx(125_256 * 0.977**2 * 3.0, rel=1e-6)
    assert set(table["case_id"]) == {"PAT1"}


def test_extract_parquet_and_stdout(capsys, tmp_path, phantom, spec_file):
    out = tmp_path / "features.parquet"
    assert _run(capsys, "extract", *phantom, "--spec", spec_file, "-o", out)[0] == 0
    assert len(pd.read_parquet(out)) == 29 + 18  # morphology + intensity statistics
    code, stdout, _ = _run(capsys, "extract", *phantom, "--spec", spec_file)
    assert code == 0
    assert stdout.startswith("case_id,roi,filter,family,feature")


def _one_line_error(capsys, *args, expect: str) -> None:
    code, _, err = _run(capsys, *args)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("radiome: error: ")
    assert expect in lines[0], lines[0]
    assert "Traceback" not in err


def test_missing_file(capsys, tmp_path, phantom):
    _one_line_error(capsys, "extract", tmp_path / "nope.nii.gz", phantom[1],
                    expect=f"{tmp_path / 'nope.nii.gz'}: image does not exist")


def test_unreadable_file(capsys, tmp_path, phantom):
    junk = tmp_path / "junk.nii.gz"
    junk.write_bytes(b"this is not an image")
    _one_line_error(capsys, "extract", junk, phantom[1], "--modality", "CT",
                    expect=f"{junk}: not a readable image file")


def test_not_an_image(capsys, shared_data, phantom):
    rtstruct = shared_data / "ibsi1" / "ct_phantom" / "dicom" / "rtstruct" / "DCM_RS_00060.dcm"
    _one_line_error(capsys, "extract", rtstruct, phantom[1],
                    expect="is a RTSTRUCT (a mask), not an image")


def test_mask_image_mismatch(capsys, shared_data, phantom, spec_file):
    other = shared_data / "pyradiomics_cases" / "lung1_label.nrrd"
    _one_line_error(capsys, "extract", phantom[0], other, "--spec", spec_file, "--roi", "1",
                    expect="mask grid differs from image")


def test_empty_roi(capsys, tmp_path, phantom, spec_file):
    reference = sitk.ReadImage(str(phantom[1]))
    empty = sitk.GetImageFromArray(np.zeros(sitk.GetArrayFromImage(reference).shape, np.uint8))
    empty.CopyInformation(reference)
    path = tmp_path / "empty.nii.gz"
    sitk.WriteImage(empty, str(path))
    _one_line_error(capsys, "extract", phantom[0], path, "--spec", spec_file,
                    expect=f"{path}: mask is empty")
    _one_line_error(capsys, "extract", phantom[0], path, "--spec", spec_file, "--roi", "1",
                    expect="label 1 is not in the mask; labels present: none")


def test_unknown_roi_name(capsys, shared_data, spec_file):
    base = shared_data / "ibsi1" / "ct_phantom" / "dicom"
    _one_line_error(capsys, "extract", base / "image", base / "rtstruct" / "DCM_RS_00060.dcm",
                    "--spec", spec_file, "--roi", "GTV-2",
                    expect="structure 'GTV-2' not found; the RTSTRUCT has: 'GTV-1' (#1)")


def test_bad_spec(capsys, tmp_path, phantom):
    spec = tmp_path / "bad.yaml"
    spec.write_text("preprocessing:\n  discretisation: {method: fixed_bin_size, bin_width: 0}\n")
    _one_line_error(capsys, "extract", *phantom, "--spec", spec,
                    expect=f"{spec}: invalid spec: preprocessing.discretisation.bin_width")


def test_no_spec_and_no_modality(capsys, phantom):
    _one_line_error(capsys, "extract", *phantom, expect="no default spec for modality 'OT'")


def test_usage_error_exits_2(capsys):
    code, _, err = _run(capsys, "extract")
    assert code == 2
    assert "Missing argument" in err


def test_spec_show_prints_the_resolved_default(capsys):
    code, out, _ = _run(capsys, "spec", "show", "--modality", "MR")
    assert code == 0
    header, body = out.split("\n", 1)
    assert header.startswith("# spec_hash: ")
    resolved = yaml.safe_load(body)
    assert resolved["preprocessing"]["normalisation"]["method"] == "zscore"
    assert resolved["preprocessing"]["resampling"] is None


def test_console_script_runs_as_a_process(tmp_path, phantom, spec_file):
    """The installed entry point, as a user calls it: exit code and one-line error."""
    done = subprocess.run(
        [sys.executable, "-m", "radiome.cli", "extract", str(tmp_path / "x.nii"), str(phantom[1])],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"radiome: error: {tmp_path / 'x.nii'}: image does not exist"
