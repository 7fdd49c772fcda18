"""The command line: results on real files, and one-line errors with a non-zero exit."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import yaml

from radiome.cli import main

SPECS = Path(__file__).resolve().parents[1] / "specs" / "ibsi1"
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


def test_extract_writes_long_table_columns_and_voxel_volume(capsys, tmp_path, phantom, spec_file):
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


def test_extract_writes_parquet_by_extension_and_csv_to_stdout(
    capsys, tmp_path, phantom, spec_file
):
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


def test_missing_image_is_a_one_line_error(capsys, tmp_path, phantom):
    _one_line_error(capsys, "extract", tmp_path / "nope.nii.gz", phantom[1],
                    expect=f"{tmp_path / 'nope.nii.gz'}: image does not exist")


def test_unreadable_image_is_a_one_line_error(capsys, tmp_path, phantom):
    junk = tmp_path / "junk.nii.gz"
    junk.write_bytes(b"this is not an image")
    _one_line_error(capsys, "extract", junk, phantom[1], "--modality", "CT",
                    expect=f"{junk}: not a readable image file")


def test_rtstruct_given_as_image_is_a_one_line_error(capsys, shared_data, phantom):
    rtstruct = shared_data / "ibsi1" / "ct_phantom" / "dicom" / "rtstruct" / "DCM_RS_00060.dcm"
    _one_line_error(capsys, "extract", rtstruct, phantom[1],
                    expect="is a RTSTRUCT (a mask), not an image")


def test_mask_on_another_grid_is_a_one_line_error(capsys, shared_data, phantom, spec_file):
    other = shared_data / "pyradiomics_cases" / "lung1_label.nrrd"
    _one_line_error(capsys, "extract", phantom[0], other, "--spec", spec_file, "--roi", "1",
                    expect="mask grid differs from image")


def test_empty_mask_or_absent_label_is_a_one_line_error(capsys, tmp_path, phantom, spec_file):
    reference = sitk.ReadImage(str(phantom[1]))
    empty = sitk.GetImageFromArray(np.zeros(sitk.GetArrayFromImage(reference).shape, np.uint8))
    empty.CopyInformation(reference)
    path = tmp_path / "empty.nii.gz"
    sitk.WriteImage(empty, str(path))
    _one_line_error(capsys, "extract", phantom[0], path, "--spec", spec_file,
                    expect=f"{path}: mask is empty")
    _one_line_error(capsys, "extract", phantom[0], path, "--spec", spec_file, "--roi", "1",
                    expect="label 1 is not in the mask; labels present: none")


def test_unknown_structure_is_an_error_listing_the_structures(capsys, shared_data, spec_file):
    base = shared_data / "ibsi1" / "ct_phantom" / "dicom"
    _one_line_error(capsys, "extract", base / "image", base / "rtstruct" / "DCM_RS_00060.dcm",
                    "--spec", spec_file, "--roi", "GTV-2",
                    expect="structure 'GTV-2' not found; the RTSTRUCT has: 'GTV-1' (#1)")


def test_invalid_spec_value_is_an_error_naming_the_key(capsys, tmp_path, phantom):
    spec = tmp_path / "bad.yaml"
    spec.write_text("preprocessing:\n  discretisation: {method: fixed_bin_size, bin_width: 0}\n")
    _one_line_error(capsys, "extract", *phantom, "--spec", spec,
                    expect=f"{spec}: invalid spec: preprocessing.discretisation.bin_width")


def test_no_spec_and_no_modality_is_a_one_line_error(capsys, phantom):
    _one_line_error(capsys, "extract", *phantom, expect="no default spec for modality 'OT'")


def test_missing_argument_is_a_usage_error_exiting_2(capsys):
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


def test_module_entry_point_exits_1_with_a_one_line_error(tmp_path, phantom, spec_file):
    """The installed entry point, as a user calls it: exit code and one-line error."""
    done = subprocess.run(
        [sys.executable, "-m", "radiome.cli", "extract", str(tmp_path / "x.nii"), str(phantom[1])],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"radiome: error: {tmp_path / 'x.nii'}: image does not exist"


# ibsi-check: radiome against an IBSI reference table --------------------------------------

_FAMILY_ROW = re.compile(r"│ ([a-z][a-z -]+?) +│ +(\d+) │ +(\d+) │")


def _ibsi_check(capsys, shared_data: Path, spec: Path) -> tuple[int, dict, str]:
    """Exit code, matched/total per family, and the summary line of ``radiome ibsi-check``."""
    base = shared_data / "ibsi1"
    code, out, _ = _run(capsys, "ibsi-check", base / "digital_phantom" / "phantom.nii.gz",
                        base / "digital_phantom" / "mask.nii.gz", "--spec", spec, "--reference",
                        base / "reference_values" / "ibsi1_digital_phantom.csv")
    families = {m[1]: (int(m[2]), int(m[3])) for m in _FAMILY_ROW.finditer(out)}
    return code, families, out.strip().splitlines()[-1]


def test_ibsi_check_matches_all_482_digital_phantom_values_and_exits_0(capsys, shared_data):
    code, families, last = _ibsi_check(capsys, shared_data, SPECS / "digital_phantom.yaml")
    assert last == "482/482 reference values matched"
    assert code == 0
    assert len(families) == 11
    assert all(matched == total for matched, total in families.values()), families
    assert sum(total for _, total in families.values()) == 482


def test_ibsi_check_with_a_wrong_spec_reports_the_mismatches_and_exits_1(
    capsys, tmp_path, shared_data
):
    """GLCM at distance 2 instead of 1: only the GLCM family mismatches, and the exit is 1."""
    spec = yaml.safe_load((SPECS / "digital_phantom.yaml").read_text())
    spec["features"]["glcm_distance"] = 2
    wrong = tmp_path / "distance2.yaml"
    wrong.write_text(yaml.safe_dump(spec))
    code, families, last = _ibsi_check(capsys, shared_data, wrong)
    assert code == 1
    glcm = families.pop("grey level co-occurrence matrix")
    assert glcm[1] == 150
    assert glcm[0] < 150
    assert all(matched == total for matched, total in families.values()), families
    assert last == f"{482 - 150 + glcm[0]}/482 reference values matched"


# demo: a synthetic cohort and its features -------------------------------------------------

def _said_paths(text: str, folder: Path) -> list[Path]:
    """Paths under ``folder`` that the output names."""
    return [Path(p.rstrip(".,;")) for p in re.findall(re.escape(str(folder)) + r"/\S+", text)]


def test_demo_writes_the_files_it_names_and_a_table_of_true_values(capsys, tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    code, out, err = _run(capsys, "demo", "--cases", "2", "--out", folder)
    assert code == 0, err
    text = " ".join(out.split()).split(" next: ")[0]  # rich wraps lines; "next:" suggests
    said = _said_paths(text, folder)
    for name in ("features.csv", "images", "masks", "manifest.csv"):
        assert folder / name in said, f"{name} not named in: {text}"
    assert all(path.exists() for path in said), [p for p in said if not p.exists()]
    match = re.search(r"(\d+) feature values \((\d+) per case, 2 cases\)", text)
    assert match, text

    from radiome.cohort import read_manifest
    from radiome.spec import load_spec

    manifest = read_manifest(folder / "manifest.csv")
    table = pd.read_csv(folder / "features.csv", keep_default_na=False)
    assert len(manifest) == 2
    assert len(table) == int(match[1]) == 2 * int(match[2])
    assert set(table["case_id"]) == set(manifest["case_id"])
    assert set(table["spec_hash"]) == {load_spec(None, modality="CT").hash}
    assert np.isfinite(table["value"].astype(float)).all()
    values = table.set_index(["case_id", "feature", "aggregation"])["value"].astype(float)
    for case in manifest.itertuples(index=False):
        image = sitk.ReadImage(case.image)
        hu = sitk.GetArrayFromImage(image)
        roi = sitk.GetArrayFromImage(sitk.ReadImage(case.mask)) == int(case.roi)
        kept = roi & (hu >= -1000)  # the default CT spec re-segments to [-1000, +inf) HU
        assert values[case.case_id, "morph_vol_approx", ""] == pytest.approx(
            roi.sum() * np.prod(image.GetSpacing()), rel=1e-9)
        assert values[case.case_id, "stat_mean", ""] == pytest.approx(hu[kept].mean(), rel=1e-9)
        assert values[case.case_id, "stat_max", ""] == hu[kept].max()


# filter: response maps as files -------------------------------------------------------------

FILTER_SPEC = {
    "preprocessing": {"resampling": {"spacing": [3.0, 3.0, 3.0], "image_interpolator": "linear",
                                     "mask_interpolator": "linear", "mask_threshold": 0.5}},
    "features": {"families": ["stat"]},
    "filters": [{"kind": "mean", "support": 3}, {"kind": "log", "sigma_mm": 3.0}],
}


def _filter_spec(tmp_path: Path, n_filters: int) -> Path:
    spec = dict(FILTER_SPEC, filters=FILTER_SPEC["filters"][:n_filters])
    path = tmp_path / f"filters{n_filters}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize("n_filters", [1, 2])
def test_filter_writes_response_maps_equal_to_filter_responses(
    capsys, tmp_path, shared_data, n_filters
):
    """One file (``--out`` itself) for one filter, one per filter named after it otherwise."""
    import radiome

    image = shared_data / "ibsi2" / "phantoms" / "checkerboard" / "image.nii.gz"
    spec = _filter_spec(tmp_path, n_filters)
    out = tmp_path / "response.nii.gz"
    code, stdout, err = _run(capsys, "filter", image, "--spec", spec, "--out", out)
    assert code == 0, err
    expected = radiome.filter_responses(image, spec)
    written = dict(line.split(": ", 1) for line in stdout.strip().splitlines())
    assert set(written) == set(expected)
    if n_filters == 1:
        assert list(written.values()) == [str(out)]
    else:
        assert set(written.values()) == {str(tmp_path / f"response_{n}.nii.gz") for n in expected}
    assert sorted(p.name for p in tmp_path.glob("response*")) == sorted(
        Path(p).name for p in written.values())
    for name, response in expected.items():
        got = radiome.load_volume(written[name])
        assert got.grid.shape == response.grid.shape == (43, 43, 43)  # 64 x 2 mm at 3 mm
        np.testing.assert_allclose(got.grid.spacing, response.grid.spacing, rtol=1e-12)
        np.testing.assert_allclose(got.grid.origin, response.grid.origin, atol=1e-9)
        np.testing.assert_array_equal(got.array, response.array)
        assert np.ptp(response.array) > 0


def test_filter_with_a_spec_without_filters_is_a_one_line_error(capsys, tmp_path, shared_data):
    image = shared_data / "ibsi2" / "phantoms" / "checkerboard" / "image.nii.gz"
    spec = tmp_path / "none.yaml"
    spec.write_text(yaml.safe_dump({"preprocessing": {"round_intensities": True},
                                    "features": {"families": ["stat"]}}))
    _one_line_error(capsys, "filter", image, "--spec", spec, "--out", tmp_path / "r.nii.gz",
                    expect="the spec lists no filters")
    assert not list(tmp_path.glob("r*"))
