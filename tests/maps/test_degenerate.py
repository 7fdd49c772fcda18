"""Degenerate kernels: NaN where IBSI leaves a value undefined, with the reason counted, and
never a fill value that spills onto other voxels (PyRadiomics' voxel mode issue #937)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import radiome
from radiome.errors import FeatureError

SPEC = {
    "preprocessing": {"resegmentation": {"range": {"min": 0}},
                      "discretisation": {"method": "fixed_bin_size", "bin_width": 10}},
    "features": {"families": ["stat", "ih", "cm", "rlm", "szm", "dzm", "ngt", "ngl"],
                 "aggregations": ["3d_avg"]},
}


@pytest.fixture(scope="module")
def scene():
    """A textured 5 x 5 x 5 block, a lone voxel, a flat 3 x 3 x 3 block and two voxels two
    apart (of different grey levels) in a 12 x 12 x 24 image."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 200, size=(12, 12, 24)).astype(float)
    roi = np.zeros(image.shape, dtype=bool)
    roi[1:6, 1:6, 1:6] = True
    roi[8, 8, 8] = True  # lone voxel
    roi[2:5, 2:5, 12:15] = True  # flat block
    image[2:5, 2:5, 12:15] = 55.0
    roi[8, 8, 18] = roi[8, 8, 20] = True  # two voxels, not neighbours
    image[8, 8, 18], image[8, 8, 20] = 15.0, 95.0
    volume = radiome.Volume.from_array(image)
    return volume, radiome.Mask.from_array(roi)


def _at(maps, voxel, name):
    row = np.flatnonzero((maps.index == np.asarray(voxel)).all(axis=1))[0]
    return maps.voxel_values[row, maps.names.index(name)]


def test_lone_voxel_maps_are_nan_for_a_single_voxel_and_counted(scene):
    maps = radiome.feature_maps(*scene, spec=SPEC, radius_voxels=1)
    assert np.isnan(_at(maps, (8, 8, 8), "cm_joint_max"))
    assert np.isnan(_at(maps, (8, 8, 8), "stat_skew"))
    assert _at(maps, (8, 8, 8), "stat_mean") == scene[0].array[8, 8, 8]
    # the lone voxel and the two far voxels each see a single voxel with r = 1
    assert maps.undefined["cm_joint_max"] == {"single-voxel kernel": 3}


def test_flat_block_leaves_correlation_undefined_for_a_single_grey_level(scene):
    maps = radiome.feature_maps(*scene, spec=SPEC, radius_voxels=1)
    assert np.isnan(_at(maps, (3, 3, 13), "cm_corr"))
    assert _at(maps, (3, 3, 13), "cm_joint_max") == 1.0
    assert np.isnan(_at(maps, (3, 3, 13), "stat_skew"))
    assert maps.undefined["cm_corr"]["single grey level"] == 27
    assert maps.undefined["stat_skew"]["equal intensities"] == 27


def test_kernel_without_neighbouring_voxels_has_no_glcm_and_says_why(scene):
    maps = radiome.feature_maps(*scene, spec=SPEC, radius_voxels=2)
    assert np.isnan(_at(maps, (8, 8, 18), "cm_contrast"))
    assert np.isnan(_at(maps, (8, 8, 18), "ngt_coarseness"))
    assert _at(maps, (8, 8, 18), "stat_range") == 80.0
    assert maps.undefined["cm_contrast"]["no neighbouring voxels in the kernel"] == 2
    assert maps.undefined["ngt_coarseness"]["no neighbouring voxels in the kernel"] == 2


def test_degenerate_kernels_leave_every_other_voxel_as_extract_gives_it(scene):
    volume, mask = scene
    maps = radiome.feature_maps(volume, mask, spec=SPEC, radius_voxels=1)
    block = np.zeros(mask.array.shape, dtype=bool)
    block[1:6, 1:6, 1:6] = True
    rows = np.flatnonzero(block[tuple(maps.index.T)])
    column = maps.names.index("cm_contrast")
    assert np.isfinite(maps.voxel_values[rows, column]).all()
    kernel = np.zeros_like(block)
    kernel[2:5, 2:5, 2:5] = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", radiome.RadiomeWarning)
        table = radiome.extract(volume, radiome.Mask.from_array(kernel), spec=SPEC)
    expected = table.set_index("feature")["value"]["cm_contrast"]
    assert _at(maps, (3, 3, 3), "cm_contrast") == pytest.approx(expected, rel=1e-12)


def test_undefined_counts_match_the_nan_values_of_every_map(scene):
    maps = radiome.feature_maps(*scene, spec=SPEC, radius_voxels=2, kernel="sphere")
    for k, name in enumerate(maps.names):
        n_nan = int(np.isnan(maps.voxel_values[:, k]).sum())
        assert sum(maps.undefined.get(name, {}).values()) == n_nan, name


def test_maps_are_nan_outside_the_roi_and_on_its_voxels_defined(scene):
    volume, mask = scene
    maps = radiome.feature_maps(volume, mask, spec=SPEC, radius_voxels=1, features=["stat_mean"])
    array = maps["stat_mean"].array
    assert maps["stat_mean"].grid == volume.grid
    assert np.isnan(array[~mask.array]).all()
    assert np.isfinite(array[mask.array]).all()


@pytest.mark.parametrize(("arguments", "match"), [
    ({}, "radius once"),
    ({"radius_voxels": 1, "radius_mm": 2.0}, "radius once"),
    ({"radius_voxels": 0}, "radius_voxels must be an integer >= 1"),
    ({"radius_voxels": 1.5}, "radius_voxels must be an integer >= 1"),
    ({"radius_mm": 0.4}, "below the voxel size"),
    ({"radius_voxels": 1, "kernel": "ball"}, "kernel must be 'cube' or 'sphere'"),
    ({"radius_voxels": 1, "features": ["morph"]}, "'morph' has no voxel-wise maps"),
    ({"radius_voxels": 1, "features": ["cm_nonsense"]}, "neither a feature family"),
])
def test_bad_map_settings_are_one_line_errors_naming_the_setting(scene, arguments, match):
    with pytest.raises(FeatureError, match=match):
        radiome.feature_maps(*scene, spec=SPEC, **arguments)
