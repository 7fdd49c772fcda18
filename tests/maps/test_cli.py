"""``radiome maps``: one NIfTI per map on the image (or resampled) grid, the summary table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

import radiome
from radiome.cli import main
from radiome.maps import SUMMARY_COLUMNS
from tests.conftest import require_module


def _nifti(path):
    """A NIfTI file's (z, y, x) array read with nibabel (SimpleITK reads NaN as 0)."""
    nibabel = require_module("nibabel")
    return np.asarray(nibabel.load(path).dataobj).transpose(2, 1, 0)


def _run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def case(shared_data):
    base = shared_data / "pyradiomics_cases"
    return base / "breast1_image.nrrd", base / "breast1_label.nrrd"


def _spec_file(tmp_path, **sections):
    spec = {"preprocessing": {"discretisation": {"method": "fixed_bin_size", "bin_width": 25}},
            "features": {"families": ["stat", "cm"], "aggregations": ["3d_avg"]}}
    spec["preprocessing"] |= sections
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_maps_writes_one_file_per_feature_on_the_image_grid_nan_outside_the_roi(
        capsys, tmp_path, case):
    out = tmp_path / "maps"
    code, _, err = _run(capsys, "maps", *case, "--modality", "MR", "--spec",
                        _spec_file(tmp_path), "--radius", "1", "--families", "cm", "--out", out)
    assert code == 0, err
    volume = radiome.load_volume(case[0])
    mask = radiome.load_mask(case[1], reference=volume)
    written = radiome.load_volume(out / "cm_joint_max.nii.gz")
    assert written.grid.differences(volume.grid) == []
    array = _nifti(out / "cm_joint_max.nii.gz")
    assert np.isnan(array[~mask.array]).all()
    assert np.isfinite(array[mask.array]).all()
    assert {p.name for p in out.glob("*.nii.gz")} == {
        f"{f.name}.nii.gz" for f in radiome.features.FAMILIES["cm"].features}
    assert "on the image grid" in err


def test_maps_summary_has_one_row_per_map_with_its_distribution(capsys, tmp_path, case):
    out = tmp_path / "maps"
    code, _, err = _run(capsys, "maps", *case, "--spec", _spec_file(tmp_path), "--radius", "1",
                        "--families", "stat_mean,cm_contrast", "--out", out)
    assert code == 0, err
    summary = pd.read_csv(out / "maps_summary.csv", keep_default_na=False)
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    assert list(summary["feature"]) == ["stat_mean", "cm_contrast"]
    mean = _nifti(out / "stat_mean.nii.gz")
    row = summary.set_index("feature").loc["stat_mean"]
    inside = mean[np.isfinite(mean)]
    assert row["n_voxels"] == 143
    assert row["n_nan"] == 0
    assert row["median"] == pytest.approx(np.median(inside))
    assert row["max"] == pytest.approx(inside.max())
    assert summary.set_index("feature").loc["cm_contrast", "aggregation"] == "3d_avg"


def test_several_texture_aggregations_get_one_file_each(capsys, tmp_path, case):
    spec = tmp_path / "two.yaml"
    spec.write_text(yaml.safe_dump({
        "preprocessing": {"discretisation": {"method": "fixed_bin_size", "bin_width": 25}},
        "features": {"families": ["cm"], "aggregations": ["3d_avg", "3d_vmrg"]}}))
    out = tmp_path / "maps"
    code, _, err = _run(capsys, "maps", *case, "--spec", spec, "--radius", "1", "--families",
                        "cm_energy,stat_var", "--out", out)
    assert code == 0, err
    assert {p.name for p in out.glob("*.nii.gz")} == {
        "cm_energy__3d_avg.nii.gz", "cm_energy__3d_vmrg.nii.gz", "stat_var.nii.gz"}


def test_resampled_maps_lie_on_the_specs_grid_and_say_so(capsys, tmp_path, case):
    spec = _spec_file(tmp_path, resampling={"spacing": [2.0, 1.0, 1.0]})
    out = tmp_path / "maps"
    code, _, err = _run(capsys, "maps", *case, "--spec", spec, "--radius", "2", "--radius-mm",
                        "--families", "stat_mean", "--out", out)
    assert code == 0, err
    written = radiome.load_volume(out / "stat_mean.nii.gz")
    assert written.spacing == pytest.approx((2.0, 1.0, 1.0))
    provenance = json.loads((out / "maps_provenance.json").read_text())
    assert provenance["grid"]["kind"].startswith("resampled")
    assert provenance["kernel"]["radius_voxels_zyx"] == [1, 2, 2]
    assert "resampled grid" in err
    header = require_module("nibabel").load(out / "stat_mean.nii.gz").header
    assert b"resampled grid" in header["descrip"].tobytes()


@pytest.mark.parametrize(("args", "message"), [
    (["--radius", "1.5"], "must be a whole number of voxels"),
    (["--radius", "1", "--families", "morph"], "has no voxel-wise maps"),
    (["--radius", "1", "--kernel", "hexagon"], "kernel must be 'cube' or 'sphere'"),
])
def test_maps_bad_options_fail_in_one_line(capsys, tmp_path, case, args, message):
    code, _, err = _run(capsys, "maps", *case, "--spec", _spec_file(tmp_path), "--out",
                        tmp_path / "maps", *args)
    assert code == 1
    assert message in err
    assert len(err.strip().splitlines()) == 1
