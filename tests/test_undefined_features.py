"""Features an ROI leaves undefined (NaN): one warning per extraction that names them."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import radiome
from radiome.errors import FeatureWarning
from radiome.volume import Mask

SPEC = {
    "preprocessing": {"discretisation": {"method": "fixed_bin_size", "bin_width": 25}},
    "features": {"families": ["morph", "stat", "cm", "ngt"]},
}


@pytest.fixture(scope="module")
def volume(shared_data: Path):
    base = shared_data / "pyradiomics_cases"
    return radiome.load_volume(base / "lung1_image.nrrd", modality="CT")


def _extract(volume, where) -> tuple:
    array = np.zeros(volume.array.shape, bool)
    array[where] = True
    mask = Mask(array=array, grid=volume.grid, roi="1", source="tiny.nrrd")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = radiome.extract(volume, mask, spec=SPEC)
    return table, [w for w in caught if issubclass(w.category, FeatureWarning)], caught


def test_one_voxel_roi_warns_once_listing_every_nan_feature(volume):
    table, warned, caught = _extract(volume, (20, 250, 250))
    assert len(caught) == 1
    assert len(warned) == 1
    message = str(warned[0].message)
    nan = list(dict.fromkeys(table.loc[table["value"].isna(), "feature"]))
    assert {"stat_skew", "stat_kurt", "morph_moran_i", "cm_joint_max", "ngt_coarseness"} <= set(nan)
    assert message.startswith("tiny.nrrd: ROI 1 has 1 voxel(s) in a 1 x 1 x 1 box (z, y, x)")
    assert f"{len(nan)} feature(s) are undefined (NaN)" in message
    assert "that is a single voxel" in message
    assert message.endswith(": " + ", ".join(nan))


def test_two_voxel_roi_gives_nan_robust_deviation_instead_of_failing(volume):
    table, warned, _ = _extract(volume, (20, 250, slice(250, 252)))
    values = table.set_index("feature")["value"]
    assert np.isnan(values["stat_rmad"])  # no value lies between P10 and P90 of two
    assert np.isfinite(values["stat_mad"])
    assert len(warned) == 1
    assert "2 voxel(s) in a 1 x 1 x 2 box" in str(warned[0].message)
    assert "one voxel thick" in str(warned[0].message)


def test_single_slice_roi_warns_about_its_shape_features(volume):
    table, warned, _ = _extract(volume, (20, slice(240, 250), slice(240, 250)))
    assert len(warned) == 1
    assert "morph_vol_dens_aee, morph_area_dens_aee" in str(warned[0].message)


def test_roi_of_two_voxels_per_axis_with_varied_intensities_does_not_warn(volume):
    table, warned, _ = _extract(volume, (slice(20, 22), slice(250, 252), slice(250, 252)))
    assert not table["value"].isna().any()
    assert warned == []
