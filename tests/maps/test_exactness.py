"""Map exactness: the map value at a voxel is radiome.extract of a mask that is that kernel.

Real cases (PyRadiomics' test images), every family with maps and every aggregation, random
interior voxels and voxels on the ROI's border, cube and sphere kernels, masked and unmasked.
The specs bin with a fixed bin size from a re-segmentation minimum below every intensity
(floor(min / 25) * 25), so a kernel's grey levels do not depend on the region they are
binned over and extract on the kernel mask sees the map's grey levels; fixed bin number,
whose levels depend on the region, is compared with the family functions on the whole ROI's
levels instead (the documented choice).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import radiome
from radiome.features import FAMILIES
from radiome.preprocess import RoiData, discretised, process
from radiome.spec import load_spec

MAP_FAMILIES = ["stat", "ih", "cm", "rlm", "szm", "dzm", "ngt", "ngl"]
ALL_AGGREGATIONS = ["2d_avg", "2d_smrg", "2_5d_dmrg", "2_5d_vmrg", "3d_avg", "3d_vmrg"]
#: Map and extract sum in other orders: agreement to the last few bits, not bit for bit.
RTOL, ATOL = 1e-9, 1e-9


def _case(shared_data, name):
    base = shared_data / "pyradiomics_cases"
    volume = radiome.load_volume(base / f"{name}_image.nrrd")
    mask = radiome.load_mask(base / f"{name}_label.nrrd", roi=1, reference=volume)
    return volume, mask


def _fbs_spec(volume, mask, families=MAP_FAMILIES, **features):
    low = math.floor(volume.array[mask.array].min() / 25) * 25
    return {
        "preprocessing": {"resegmentation": {"range": {"min": low}},
                          "discretisation": {"method": "fixed_bin_size", "bin_width": 25}},
        "features": {"families": families, "aggregations": ALL_AGGREGATIONS, **features},
    }


def _kernel(shape, radius):
    grid = np.mgrid[-radius:radius + 1, -radius:radius + 1, -radius:radius + 1].reshape(3, -1).T
    return grid[(grid**2).sum(axis=1) <= radius**2] if shape == "sphere" else grid


def _kernel_mask(mask_array, voxel, offsets, masked):
    out = np.zeros(mask_array.shape, dtype=bool)
    points = offsets + np.asarray(voxel)
    inside = np.all((points >= 0) & (points < mask_array.shape), axis=1)
    out[tuple(points[inside].T)] = True
    return out & mask_array if masked else out


def _voxels(mask_array, n_interior, n_border, seed):
    """Random ROI voxels: some with all 26 neighbours in the ROI, some on its border."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    interior = ndimage.binary_erosion(mask_array, np.ones((3, 3, 3)))
    border = mask_array & ~interior
    picks = []
    for region, n in ((interior, n_interior), (border, n_border)):
        where = np.argwhere(region)
        picks += [tuple(v) for v in where[rng.choice(len(where), min(n, len(where)),
                                                      replace=False)]]
    return picks


def _map_values(maps, voxel):
    """{(feature, aggregation): map value} at one voxel."""
    row = np.flatnonzero((maps.index == np.asarray(voxel)).all(axis=1))
    assert row.size == 1, f"voxel {voxel} is not a map voxel"
    return {(f, a): maps.voxel_values[row[0], k]
            for k, (f, a) in enumerate(zip(maps.features, maps.aggregations, strict=True))}


def _extracted(volume, kernel_mask, spec):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", radiome.RadiomeWarning)
        table = radiome.extract(volume, radiome.Mask(kernel_mask, volume.grid), spec=spec)
    return {(r.feature, r.aggregation): r.value for r in table.itertuples()}


def _assert_same(got, expected, where):
    assert set(expected) <= set(got), f"{where}: maps lack {sorted(set(expected) - set(got))}"
    wrong = [f"{key}: map {got[key]!r} vs extract {value!r}" for key, value in expected.items()
             if not (np.isnan(value) and np.isnan(got[key]))
             and not np.isclose(got[key], value, rtol=RTOL, atol=ATOL)]
    assert not wrong, f"{where}: {len(wrong)} map value(s) differ: " + "; ".join(wrong[:6])


@pytest.mark.parametrize(("case", "shape", "radius", "seed"), [
    ("lung1", "cube", 1, 1), ("brain2", "cube", 1, 2), ("breast1", "sphere", 2, 3),
    ("lung1", "sphere", 2, 4), ("brain2", "cube", 2, 5),
])
def test_every_family_map_equals_extract_on_the_kernel_mask(shared_data, case, shape, radius,
                                                            seed):
    volume, mask = _case(shared_data, case)
    spec = _fbs_spec(volume, mask)
    maps = radiome.feature_maps(volume, mask, spec=spec, radius_voxels=radius, kernel=shape)
    offsets = _kernel(shape, radius)
    for voxel in _voxels(mask.array, 4, 4, seed):
        expected = _extracted(volume, _kernel_mask(mask.array, voxel, offsets, True), spec)
        _assert_same(_map_values(maps, voxel), expected, f"{case} {shape} r={radius} {voxel}")


def test_glcm_maps_of_the_largest_case_equal_extract_on_the_kernel_mask(shared_data):
    volume, mask = _case(shared_data, "lung2")
    spec = _fbs_spec(volume, mask, families=["cm"])
    maps = radiome.feature_maps(volume, mask, spec=spec, radius_voxels=2)
    offsets = _kernel("cube", 2)
    for voxel in _voxels(mask.array, 3, 3, 6):
        expected = _extracted(volume, _kernel_mask(mask.array, voxel, offsets, True), spec)
        _assert_same(_map_values(maps, voxel), expected, f"lung2 {voxel}")


def test_unmasked_kernel_maps_equal_extract_on_the_whole_kernel(shared_data):
    volume, mask = _case(shared_data, "breast1")
    box = np.ones_like(mask.array)
    spec = _fbs_spec(volume, radiome.Mask(box, volume.grid))
    maps = radiome.feature_maps(volume, mask, spec=spec, radius_voxels=1, masked_kernel=False)
    offsets = _kernel("cube", 1)
    for voxel in _voxels(mask.array, 3, 5, 7):
        expected = _extracted(volume, _kernel_mask(mask.array, voxel, offsets, False), spec)
        _assert_same(_map_values(maps, voxel), expected, f"breast1 unmasked {voxel}")


def test_radius_in_mm_gives_the_kernel_of_whole_voxels_within_it(shared_data):
    volume, mask = _case(shared_data, "lung1")  # 0.57 x 0.57 x 5 mm: 3 voxels in-plane, 0 in z
    spec = _fbs_spec(volume, mask, families=["stat", "cm"])
    maps = radiome.feature_maps(volume, mask, spec=spec, radius_mm=1.8)
    assert maps.radius == (0, 3, 3)
    offsets = np.argwhere(np.ones((1, 7, 7))) - [0, 3, 3]
    for voxel in _voxels(mask.array, 2, 2, 8):
        expected = _extracted(volume, _kernel_mask(mask.array, voxel, offsets, True), spec)
        _assert_same(_map_values(maps, voxel), expected, f"lung1 1.8 mm {voxel}")


def test_fixed_bin_number_maps_use_the_whole_rois_grey_levels(shared_data):
    volume, mask = _case(shared_data, "brain2")
    spec = load_spec({
        "preprocessing": {"discretisation": {"method": "fixed_bin_number", "bin_count": 16}},
        "features": {"families": MAP_FAMILIES, "aggregations": ["3d_avg", "2d_avg"]},
    })
    maps = radiome.feature_maps(volume, mask, spec=spec, radius_voxels=1)
    processed = process(volume, mask, spec)
    roi = discretised(processed, spec.preprocessing.discretisation)
    offset = np.rint(volume.grid.world_to_index(np.asarray([processed.grid.origin]))[0])
    for voxel in _voxels(mask.array, 3, 3, 9):
        local = np.asarray(voxel) - offset.astype(int)
        kernel = _kernel_mask(processed.morph_mask, local, _kernel("cube", 1), True)
        region = RoiData(image=roi.image, morph_mask=kernel, int_mask=kernel & roi.int_mask,
                         spacing=roi.spacing, levels=roi.levels, n_levels=16, unit=roi.unit)
        expected = {}
        for family in MAP_FAMILIES:
            expected |= FAMILIES[family].compute(region, spec)
        _assert_same(_map_values(maps, voxel), expected, f"brain2 FBN {voxel}")


def test_2d_processing_maps_use_in_slice_kernels_equal_to_extract(shared_data):
    volume, mask = _case(shared_data, "lung1")
    spec = _fbs_spec(volume, mask)
    spec["preprocessing"]["dimensions"] = "2d"
    spec["features"]["aggregations"] = ["2d_avg", "2d_smrg", "2_5d_dmrg", "2_5d_vmrg"]
    maps = radiome.feature_maps(volume, mask, spec=spec, radius_voxels=2, kernel="sphere")
    assert maps.radius == (0, 2, 2)
    offsets = _kernel("sphere", 2)
    offsets = offsets[offsets[:, 0] == 0]
    for voxel in _voxels(mask.array, 3, 3, 10):
        expected = _extracted(volume, _kernel_mask(mask.array, voxel, offsets, True), spec)
        _assert_same(_map_values(maps, voxel), expected, f"lung1 2d {voxel}")
