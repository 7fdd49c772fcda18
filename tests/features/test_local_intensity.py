"""Local intensity features (9ST6) on hand-computable grids and against a voxel-by-voxel twin.

Provenance: the definitions of the IBSI 1 manual (03_Image_features.rst, "Local intensity
features"): the 1 cm³ sphere of radius (3/(4π))^(1/3) cm ≈ 6.2035 mm holds the voxels whose
centres lie within that radius of the centre voxel; at 2 mm isotropic spacing these are the
offsets d with |d|² <= 9 (6.2035² / 4 = 9.62), 123 voxels (1 + 6 + 12 + 8 + 6 + 24 + 24 + 12
+ 30 for |d|² = 0, 1, 2, 3, 4, 5, 6, 8, 9); at 5 mm the centre and its 6 face neighbours;
at 7 mm the centre alone.
The twin evaluates the definitions literally, one centre voxel at a time. The IBSI reference
values are checked row by row in test_ibsi1_reference.py.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from radiome.errors import EmptyROIError, FeatureError
from radiome.features.local_intensity import (
    FAMILY,
    FEATURES,
    PEAK_RADIUS_MM,
    local_intensity_features,
    sphere_offsets,
)
from radiome.preprocess.roi import RoiData
from radiome.spec import default_spec


def test_peak_radius_is_that_of_a_one_cubic_centimetre_sphere():
    assert 4 / 3 * math.pi * PEAK_RADIUS_MM**3 == pytest.approx(1000.0, rel=1e-14)
    assert PEAK_RADIUS_MM == pytest.approx(6.2035, abs=5e-5)


@pytest.mark.parametrize(("spacing", "count"), [((2.0, 2.0, 2.0), 123), ((5.0, 5.0, 5.0), 7),
                                                ((7.0, 7.0, 7.0), 1)])
def test_sphere_voxel_counts_equal_hand_counts(spacing, count):
    offsets = sphere_offsets(spacing)
    assert len(offsets) == count
    assert [0, 0, 0] in offsets.tolist()


def test_sphere_of_an_anisotropic_grid_holds_every_centre_within_the_radius():
    spacing = (3.0, 0.977, 0.977)
    want = {
        d for d in itertools.product(range(-8, 9), repeat=3)
        if math.dist((0, 0, 0), np.multiply(d, spacing)) <= PEAK_RADIUS_MM
    }
    assert {tuple(d) for d in sphere_offsets(spacing).tolist()} == want


def test_peaks_of_a_cross_shaped_sphere_equal_hand_computed_means():
    # 5 mm voxels: the sphere is a voxel and its 6 face neighbours (those that exist)
    image = np.zeros((3, 3, 3))
    image[1, 1, 1] = 10.0  # the hottest voxel, in the middle of the ROI
    image[1, 1, 0] = 4.0  # a neighbour outside the ROI still counts
    image[0, 0, 0] = 9.0  # a corner voxel: 3 neighbours exist, all 0
    mask = np.zeros((3, 3, 3), dtype=bool)
    mask[1, 1, 1] = mask[0, 0, 0] = mask[1, 1, 2] = True
    got = local_intensity_features(image, mask, (5.0, 5.0, 5.0))
    assert got["loc_peak_loc"] == (10.0 + 4.0) / 7
    # sphere means: centre 14/7 = 2, corner 9/4 = 2.25, (1, 1, 2): 10/6 (5 neighbours exist)
    assert got["loc_peak_glob"] == 9.0 / 4


def test_ties_for_the_maximum_take_the_highest_sphere_mean():
    image = np.zeros((1, 1, 7))
    image[0, 0, [1, 5]] = 8.0  # two voxels share the maximum
    image[0, 0, 6] = 3.0  # next to the second one, outside the ROI
    mask = np.zeros_like(image, dtype=bool)
    mask[0, 0, 1:6] = True
    got = local_intensity_features(image, mask, (5.0, 5.0, 5.0))
    assert got["loc_peak_loc"] == (8.0 + 3.0) / 3


def _peaks_twin(image, mask, spacing):
    """Both peaks by the definitions, one centre voxel and one sphere voxel at a time."""
    reach = [math.floor(PEAK_RADIUS_MM / s) for s in spacing]
    means = {}
    for centre in map(tuple, np.argwhere(mask)):
        total, count = 0.0, 0
        for d in itertools.product(*(range(-k, k + 1) for k in reach)):
            v = tuple(c + o for c, o in zip(centre, d, strict=True))
            inside_grid = all(0 <= i < n for i, n in zip(v, image.shape, strict=True))
            if inside_grid and math.dist((0, 0, 0), np.multiply(d, spacing)) <= PEAK_RADIUS_MM:
                total += image[v]
                count += 1
        means[centre] = total / count
    top = image[mask].max()
    return (max(m for c, m in means.items() if image[c] == top), max(means.values()))


@pytest.mark.parametrize("seed", range(4))
def test_peaks_equal_the_voxel_by_voxel_twin(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(3, 10, size=3))
    image = np.round(rng.normal(0.0, 50.0, shape), 1)
    mask = rng.random(shape) < 0.3
    mask.flat[rng.integers(mask.size)] = True
    spacing = tuple(rng.uniform(1.5, 4.0, size=3))
    got = local_intensity_features(image, mask, spacing)
    local, glob = _peaks_twin(image, mask, spacing)
    assert got["loc_peak_loc"] == pytest.approx(local, rel=1e-12, abs=1e-12)
    assert got["loc_peak_glob"] == pytest.approx(glob, rel=1e-12, abs=1e-12)
    assert got["loc_peak_glob"] >= got["loc_peak_loc"]


def test_bad_inputs_name_the_culprit():
    image = np.ones((2, 2, 2))
    with pytest.raises(FeatureError, match="one shape"):
        local_intensity_features(image, np.ones((2, 2, 3), dtype=bool), (1, 1, 1))
    with pytest.raises(FeatureError, match="spacing"):
        local_intensity_features(image, image > 0, (1, 0, 1))
    with pytest.raises(EmptyROIError, match="no voxel"):
        local_intensity_features(image, image < 0, (1, 1, 1))


def test_family_adapter_uses_the_intensity_mask():
    image = np.zeros((1, 1, 5))
    image[0, 0, 0] = 100.0  # in the morphological mask only
    image[0, 0, 3] = 5.0
    morph = np.ones_like(image, dtype=bool)
    intensity = morph.copy()
    intensity[0, 0, 0] = False
    roi = RoiData(image=image, morph_mask=morph, int_mask=intensity, spacing=(7.0, 7.0, 7.0),
                  levels=intensity.astype(np.int32), n_levels=1, unit="HU")
    got = FAMILY.compute(roi, default_spec("CT"))
    assert got == {("loc_peak_loc", ""): 5.0, ("loc_peak_glob", ""): 5.0}
    assert [f.unit for f in FEATURES] == ["{u}", "{u}"]


def test_direct_sums_equal_the_fft_path(monkeypatch):
    """Small ROIs sum every sphere directly; large ones go through FFT: the same peaks."""
    from radiome.features import local_intensity

    rng = np.random.default_rng(4)
    image = rng.normal(size=(12, 30, 28)) * 50.0
    mask = np.zeros(image.shape, dtype=bool)
    mask[3:9, 8:22, 6:20] = rng.random((6, 14, 14)) < 0.7
    spacing = (2.0, 0.9, 0.8)
    monkeypatch.setattr(local_intensity, "_DIRECT_SUMS_PER_VOXEL", 10**9)
    direct = local_intensity.local_intensity_features(image, mask, spacing)
    monkeypatch.setattr(local_intensity, "_DIRECT_SUMS_PER_VOXEL", 0)
    by_fft = local_intensity.local_intensity_features(image, mask, spacing)
    assert direct == pytest.approx(by_fft, rel=1e-12)
