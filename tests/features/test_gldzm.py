"""Grey level distance zone features (VMDZ).

Provenance: the digital phantom's distance zone matrices are the tables of the IBSI 1 manual,
06_Digital_phantom_texture_matrices.rst ("Grey level distance zone matrix (2D)/(3D)"); the
slow twin of the distance map is the manual's own algorithm (03_Image_features.rst, GLDZM:
erode the ROI with the 4- or 6-connected element, add 1 to the surviving voxels, repeat until
empty); the small cases are worked out by hand from the same section.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy import ndimage

from radiome.errors import FeatureError
from radiome.features.gldzm import (
    FAMILY,
    FEATURES,
    _zone_distances,
    distance_to_edge,
    gldzm_features,
)
from radiome.preprocess.roi import RoiData
from radiome.spec import load_spec

SPACING = (1.0, 1.0, 1.0)


def _erosion_twin(mask: np.ndarray, planar: bool) -> np.ndarray:
    """The manual's distance map: count the erosions each voxel survives, plus one."""
    structure = ndimage.generate_binary_structure(3, 1)
    if planar:
        structure[0] = structure[2] = False
    distance = np.zeros(mask.shape, dtype=np.int64)
    current = mask.copy()
    while current.any():
        distance += current
        current = ndimage.binary_erosion(current, structure, border_value=0)
    return distance


@pytest.mark.parametrize("planar", [True, False])
@pytest.mark.parametrize("seed", range(10))
def test_distance_map_agrees_with_iterative_erosion(seed, planar):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(4, 12, size=3))
    mask = ndimage.binary_opening(rng.random(shape) < 0.85)
    np.testing.assert_array_equal(distance_to_edge(mask, planar), _erosion_twin(mask, planar))


def test_distance_map_equals_hand_computed_map():
    square = np.ones((1, 5, 5), dtype=bool)
    expected = np.array([[1, 1, 1, 1, 1],
                         [1, 2, 2, 2, 1],
                         [1, 2, 3, 2, 1],
                         [1, 2, 2, 2, 1],
                         [1, 1, 1, 1, 1]])
    np.testing.assert_array_equal(distance_to_edge(square, planar=True)[0], expected)
    block = np.ones((3, 5, 5), dtype=bool)
    three_d = distance_to_edge(block, planar=False)
    np.testing.assert_array_equal(three_d[0], np.ones((5, 5)))  # the top face is an edge
    np.testing.assert_array_equal(three_d[1], np.minimum(expected, 2))
    np.testing.assert_array_equal(distance_to_edge(block, planar=True)[1], expected)


@pytest.mark.parametrize("planar", [True, False])
@pytest.mark.parametrize("seed", range(5))
def test_zone_distance_is_the_least_of_its_voxels(seed, planar):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(3, 8, size=3))
    morph = rng.random(shape) < 0.9
    mask = morph & (rng.random(shape) < 0.9)
    levels = np.where(mask, rng.integers(1, 3, size=shape), 0).astype(np.int64)
    zones, distance = _zone_distances(levels, mask, morph, planar)
    voxel_distance = distance_to_edge(morph, planar)[mask]
    expected = [voxel_distance[zones.voxel_zone == z].min() for z in range(zones.size.size)]
    np.testing.assert_array_equal(distance, expected)


def _matrix(levels: np.ndarray, mask: np.ndarray, morph: np.ndarray, planar: bool) -> list:
    """Zone counts {(grey level, distance): n}, per slice if planar."""
    zones, distance = _zone_distances(levels, mask, morph, planar)
    rows = levels.shape[0] if planar else 1
    return [Counter(zip(zones.level[zones.slice == z].tolist(),
                        distance[zones.slice == z].tolist(), strict=True))
            for z in range(rows)]


def test_digital_phantom_matrices_of_the_manual(digital_phantom):
    levels, mask = digital_phantom
    assert _matrix(levels, mask, mask, planar=True) == [
        {(1, 1): 2, (4, 1): 2, (6, 1): 1},
        {(1, 1): 2, (3, 2): 1, (4, 1): 2, (6, 1): 1, (6, 2): 1},
        {(1, 1): 1, (4, 1): 1, (6, 1): 1},
        {(1, 1): 1, (4, 1): 1, (6, 1): 1},
    ]
    assert _matrix(levels, mask, mask, planar=False) == [{(1, 1): 1, (3, 1): 1, (4, 1): 2,
                                                          (6, 1): 1}]


def test_voxels_removed_by_resegmentation_are_no_edge():
    # a 5 x 5 ROI; level 2 rings the centre, which re-segmentation took out of the mask
    levels = np.ones((1, 5, 5), dtype=np.int64)
    levels[0, 1:4, 1:4] = 2
    morph = np.ones(levels.shape, dtype=bool)
    mask = morph.copy()
    mask[0, 2, 2] = False
    levels[~mask] = 0
    assert _matrix(levels, mask, morph, planar=True) == [{(1, 1): 1, (2, 2): 1}]
    got = gldzm_features(levels, mask, morph, SPACING, n_levels=2, aggregation="2d")
    assert set(got) == {f.name for f in FEATURES}
    assert got["dzm_sde"] == pytest.approx((1 + 1 / 4) / 2)
    assert got["dzm_lde"] == pytest.approx((1 + 4) / 2)
    assert got["dzm_sdhge"] == pytest.approx((1 + 4 / 4) / 2)
    assert got["dzm_ldlge"] == pytest.approx((1 + 4 / 4) / 2)
    assert got["dzm_ldhge"] == pytest.approx((1 + 16) / 2)
    assert got["dzm_zdnu"] == pytest.approx(1.0)
    assert got["dzm_z_perc"] == pytest.approx(2 / 24)
    assert got["dzm_zd_var"] == pytest.approx(0.25)
    assert got["dzm_zd_entr"] == pytest.approx(1.0)
    # measured on the intensity mask instead, the ring would touch the edge
    assert _matrix(levels, mask, mask, planar=True) == [{(1, 1): 1, (2, 1): 1}]


def test_rejects_intensity_voxels_outside_the_morphological_mask():
    levels = np.array([[[1, 2]]])
    mask = levels > 0
    with pytest.raises(FeatureError, match="morph_mask"):
        gldzm_features(levels, mask, np.array([[[True, False]]]), SPACING, n_levels=2)
    with pytest.raises(FeatureError, match="shape"):
        gldzm_features(levels, mask, np.ones((1, 1, 3), dtype=bool), SPACING, n_levels=2)


def test_family_uses_the_morphological_mask():
    levels = np.ones((1, 5, 5), dtype=np.int32)
    levels[0, 1:4, 1:4] = 2
    morph = np.ones(levels.shape, dtype=bool)
    mask = morph.copy()
    mask[0, 2, 2] = False
    levels[~mask] = 0
    roi = RoiData(image=levels.astype(float), morph_mask=morph, int_mask=mask, spacing=SPACING,
                  levels=levels, n_levels=2, unit="HU")
    spec = load_spec({
        "preprocessing": {"discretisation": {"method": "fixed_bin_number", "bin_count": 2}},
        "features": {"aggregations": ["2_5d_vmrg"]},
    })
    values = FAMILY.compute(roi, spec)
    assert set(values) == {(f.name, "2_5d") for f in FEATURES}
    assert values[("dzm_lde", "2_5d")] == pytest.approx((1 + 4) / 2)
