"""Segmentation agreement: analytic shapes, a brute-force twin, and DeepMind's surface-distance."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from tests.conftest import require_module

from radiome.errors import EmptyROIError, GeometryError
from radiome.reliability import agreement
from radiome.volume import Grid, Mask

ANISOTROPIC = (2.0, 0.7, 0.9)  # (z, y, x) mm


def _sphere(shape, spacing, centre_mm, radius_mm):
    """Voxels whose centre lies in the ball (centre in mm, (z, y, x), from voxel [0, 0, 0])."""
    zyx = np.indices(shape).astype(float)
    dist2 = sum((zyx[i] * spacing[i] - centre_mm[i]) ** 2 for i in range(3))
    return dist2 <= radius_mm**2


def _sphere_surface_distances(radius, offset, n=2_000_001):
    """Distances from a sphere's surface to the same sphere moved by ``offset``, area-uniform.

    A point at polar angle θ from the offset axis is at sqrt(R² + d² - 2Rd cos θ) from the other
    centre; cos θ is uniform over the sphere's area.
    """
    u = np.linspace(-1.0, 1.0, n)
    return np.abs(np.sqrt(radius**2 + offset**2 - 2 * radius * offset * u) - radius)


def test_boxes_shifted_by_whole_voxels_are_exact():
    """Two 7 x 12 x 16 boxes, the second 3 slices further in z: every value by hand."""
    a = np.zeros((20, 30, 30), bool)
    b = a.copy()
    a[5:12, 8:20, 6:22] = True
    b[8:15, 8:20, 6:22] = True
    got = agreement(a, b, spacing=(2.5, 0.8, 1.1))
    assert got["dice"] == pytest.approx(2 * 4 / 14)
    assert got["jaccard"] == pytest.approx(4 / 10)
    assert got["volume_diff_mm3"] == 0.0
    assert got["volume_diff_rel"] == 0.0
    assert got["hd_mm"] == pytest.approx(3 * 2.5)  # the far faces are 3 slices apart
    assert got["hd95_mm"] <= got["hd_mm"]


def test_concentric_spheres_match_geometry_within_one_voxel():
    """Radii 9 and 14 mm, same centre: every surface distance is 5 mm, Dice = 2 r³/(r³ + R³)."""
    shape, centre = (24, 60, 50), (22.0, 21.0, 22.5)
    a = Mask.from_array(_sphere(shape, ANISOTROPIC, centre, 9.0), spacing=ANISOTROPIC)
    b = Mask.from_array(_sphere(shape, ANISOTROPIC, centre, 14.0), spacing=ANISOTROPIC)
    got = agreement(a, b, tolerance_mm=3.0)
    voxel = max(ANISOTROPIC)
    for key in ("hd_mm", "hd95_mm", "assd_mm"):
        assert abs(got[key] - 5.0) <= voxel, key
    assert got["surface_dice"] == 0.0  # no surface point within 3 mm of the other surface
    assert got["dice"] == pytest.approx(2 * 9**3 / (9**3 + 14**3), abs=0.03)
    v_a, v_b = 4 / 3 * np.pi * 9**3, 4 / 3 * np.pi * 14**3
    assert got["volume_diff_mm3"] == pytest.approx(v_b - v_a, rel=0.03)
    assert got["volume_diff_rel"] == pytest.approx((v_b - v_a) / v_a, rel=0.05)


@pytest.mark.parametrize("direction", [(1.0, 0.0, 0.0), (0.0, 0.6, 0.8), (0.6, 0.0, 0.8)])
def test_offset_spheres_match_geometry_within_one_voxel(direction):
    """Two R = 15 mm spheres 6 mm apart on a (2, 0.7, 0.9) mm grid.

    Geometry: Dice = V(lens) / V(sphere) with V(lens) = π (4R + d)(2R - d)² / 12; the
    Hausdorff distance is d; HD95, ASSD and the surface Dice follow from the area-uniform
    distribution of the surface distances (_sphere_surface_distances).
    """
    radius, offset, tolerance = 15.0, 6.0, 2.0
    shape, centre = (32, 96, 80), np.array([30.0, 31.0, 35.0])
    moved = centre + offset * np.asarray(direction)
    a = _sphere(shape, ANISOTROPIC, centre, radius)
    b = _sphere(shape, ANISOTROPIC, moved, radius)
    got = agreement(a, b, spacing=ANISOTROPIC, tolerance_mm=tolerance)
    d = _sphere_surface_distances(radius, offset)
    voxel = max(ANISOTROPIC)
    assert abs(got["hd_mm"] - offset) <= voxel
    assert abs(got["hd95_mm"] - np.quantile(d, 0.95)) <= voxel
    assert abs(got["assd_mm"] - d.mean()) <= voxel
    lens = np.pi * (4 * radius + offset) * (2 * radius - offset) ** 2 / 12
    assert got["dice"] == pytest.approx(lens / (4 / 3 * np.pi * radius**3), abs=0.02)
    # each surface distance is off by less than a voxel, so the fraction within tolerance lies
    # between the geometric fractions within tolerance -/+ one voxel
    assert np.mean(d <= tolerance - voxel) <= got["surface_dice"] <= np.mean(d <= tolerance + voxel)


def _brute_force(a, b, spacing, tolerance):
    """All metrics from explicit border voxels (face neighbours) and all pairwise distances."""
    pa, pb = np.pad(a, 1), np.pad(b, 1)

    def border(p):
        inner = np.ones_like(p)
        for axis in range(3):
            for step in (1, -1):
                inner &= np.roll(p, step, axis=axis)
        return (p & ~inner)[1:-1, 1:-1, 1:-1]

    xa = np.argwhere(border(pa)) * np.asarray(spacing)
    xb = np.argwhere(border(pb)) * np.asarray(spacing)
    dist = cdist(xa, xb)
    pooled = np.concatenate([dist.min(axis=1), dist.min(axis=0)])
    both = np.count_nonzero(a & b)
    na, nb = np.count_nonzero(a), np.count_nonzero(b)
    return {
        "dice": 2 * both / (na + nb),
        "jaccard": both / (na + nb - both),
        "volume_diff_mm3": (nb - na) * float(np.prod(spacing)),
        "volume_diff_rel": (nb - na) / na,
        "hd_mm": pooled.max(),
        "hd95_mm": np.percentile(pooled, 95),
        "assd_mm": pooled.mean(),
        "surface_dice": np.mean(pooled <= tolerance),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_brute_force_twin_on_random_blobs(seed):
    """Distance transform + cropping agree with all-pairs distances between border voxels."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    spacing = (1.7, 0.6, 1.1)
    noise = ndimage.gaussian_filter(rng.normal(size=(14, 22, 20)), 2.0)
    a = noise > 0.05
    b = ndimage.shift(noise, (0.5, 1.5, -1.0), order=1) > 0.0
    a[0, 3:8, 4:9] = True  # touches the array edge: counts as border
    got = agreement(a, b, spacing=spacing, tolerance_mm=1.5)
    expected = _brute_force(a, b, spacing, 1.5)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key


_DEEPMIND_SCIPY_NAMESPACES = pytest.mark.filterwarnings(
    "ignore:Please import `(correlate|distance_transform_edt)`:DeprecationWarning"
)


@_DEEPMIND_SCIPY_NAMESPACES
def test_cross_check_with_deepmind_surface_distance():
    """Against DeepMind's surface-distance (surfels at voxel corners, weighted by area).

    Dice is the same definition and must be equal. Distances come from different surface
    elements (corners of straddling 2x2x2 neighbourhoods vs centres of border voxels), so they
    agree within one voxel; its HD95 is the larger directed percentile, ours the pooled one.
    """
    sd = require_module("surface_distance")
    shape, centre = (32, 96, 80), np.array([30.0, 31.0, 35.0])
    a = _sphere(shape, ANISOTROPIC, centre, 15.0)
    b = _sphere(shape, ANISOTROPIC, centre + np.array([3.6, 2.4, 3.2]), 13.0)
    got = agreement(a, b, spacing=ANISOTROPIC, tolerance_mm=2.0)
    ref = sd.compute_surface_distances(a, b, ANISOTROPIC)
    voxel = max(ANISOTROPIC)
    assert got["dice"] == pytest.approx(sd.compute_dice_coefficient(a, b), rel=1e-12)
    assert abs(got["hd_mm"] - sd.compute_robust_hausdorff(ref, 100)) <= voxel
    assert abs(got["hd95_mm"] - sd.compute_robust_hausdorff(ref, 95)) <= voxel
    d_ab, d_ba = sd.compute_average_surface_distance(ref)
    area_a, area_b = ref["surfel_areas_gt"].sum(), ref["surfel_areas_pred"].sum()
    ref_assd = (d_ab * area_a + d_ba * area_b) / (area_a + area_b)
    assert abs(got["assd_mm"] - ref_assd) <= voxel / 2
    assert abs(got["surface_dice"] - sd.compute_surface_dice_at_tolerance(ref, 2.0)) <= 0.15


@_DEEPMIND_SCIPY_NAMESPACES
def test_whole_voxel_shift_hausdorff_equals_deepmind():
    """For a whole-voxel shift both surface definitions give the same Hausdorff distance."""
    sd = require_module("surface_distance")
    a = np.zeros((20, 30, 30), bool)
    b = a.copy()
    a[5:12, 8:20, 6:22] = True
    b[7:14, 9:21, 6:22] = True
    spacing = (2.5, 0.8, 1.1)
    ref = sd.compute_surface_distances(a, b, spacing)
    got = agreement(a, b, spacing=spacing)
    assert got["hd_mm"] == pytest.approx(sd.compute_robust_hausdorff(ref, 100), rel=1e-12)


def test_masks_on_different_grids_name_every_difference():
    a = Mask(np.ones((4, 5, 6), bool), Grid((4, 5, 6), (2.0, 1.0, 1.0)), source="a.nii.gz")
    b = Mask(
        np.ones((4, 5, 6), bool),
        Grid((4, 5, 6), (2.5, 1.0, 1.0), origin=(0.0, 0.0, 10.0)),
        source="b.nii.gz",
    )
    with pytest.raises(GeometryError, match=r"a\.nii\.gz vs b\.nii\.gz.*spacing.*origin"):
        agreement(a, b)


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "match"),
    [
        (np.ones((3, 3, 3), bool), np.ones((3, 3, 4), bool), {"spacing": (1, 1, 1)}, "shape"),
        (np.ones((3, 3, 3), bool), np.ones((3, 3, 3), bool), {}, "spacing="),
        (np.ones((3, 3, 3), bool), np.ones((3, 3, 3), bool), {"spacing": (1, 0, 1)}, "positive"),
        (
            np.ones((3, 3, 3), bool),
            np.ones((3, 3, 3), bool),
            {"spacing": (1, 1, 1), "tolerance_mm": -1.0},
            "tolerance_mm",
        ),
    ],
)
def test_bad_arrays_or_settings_are_geometry_errors(a, b, kwargs, match):
    with pytest.raises(GeometryError, match=match):
        agreement(a, b, **kwargs)


def test_empty_mask_is_an_error_naming_it():
    a = Mask.from_array(np.ones((3, 3, 3), bool), source="rater1.nrrd")
    b = Mask.from_array(np.zeros((3, 3, 3), bool), source="rater2.nrrd")
    with pytest.raises(EmptyROIError, match=r"rater2\.nrrd: mask B is empty"):
        agreement(a, b)
