"""Neighbourhood grey tone difference features (IPET).

Provenance: the digital phantom's NGTDMs are the tables of the IBSI 1 manual,
06_Digital_phantom_texture_matrices.rst ("Neighbourhood grey tone difference matrix (2D)/(3D)",
printed to 6 decimals); the small cases are worked out by hand from 03_Image_features.rst
(IPET). The slow twin of the numba kernel sums shifted copies of the ROI, one neighbour offset
at a time, and must agree bit for bit; the twin of the features evaluates the manual's double
sums literally over pairs of grey levels.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from radiome.errors import FeatureError
from radiome.features.ngtdm import FAMILY, FEATURES, _features, _ngtdm, ngtdm_features
from radiome.preprocess.roi import RoiData
from radiome.spec import load_spec

SPACING = (1.0, 1.0, 1.0)


def _neighbour_sums(levels: np.ndarray, mask: np.ndarray, distance: int, planar: bool):
    """Sum of grey levels and number of ROI voxels at Chebyshev distance 1..δ of every voxel."""
    d = distance
    padded_levels, padded_mask = np.pad(levels, d), np.pad(mask, d)
    total = np.zeros(levels.shape, dtype=np.int64)
    size = np.zeros(levels.shape, dtype=np.int64)
    for dz, dy, dx in itertools.product(range(-d, d + 1), repeat=3):
        if (dz, dy, dx) == (0, 0, 0) or (planar and dz != 0):
            continue
        window = tuple(slice(d + o, d + o + n)
                       for o, n in zip((dz, dy, dx), levels.shape, strict=True))
        inside = padded_mask[window]
        total += np.where(inside, padded_levels[window], 0)
        size += inside
    return total, size


def _ngtdm_twin(levels, mask, n_levels, distance, planar):
    """n_i and s_i per slice (planar) or of the volume, voxels added in C order."""
    total, size = _neighbour_sums(levels, mask, distance, planar)
    valid = mask & (size > 0)
    level = levels[valid]
    diff = np.abs(level - total[valid] / size[valid])
    rows = np.nonzero(valid)[0] if planar else np.zeros(level.size, dtype=np.int64)
    counts = np.zeros((levels.shape[0] if planar else 1, n_levels + 1), dtype=np.int64)
    diffs = np.zeros(counts.shape)
    np.add.at(counts, (rows, level), 1)
    np.add.at(diffs, (rows, level), diff)
    return counts, diffs


def _random_roi(seed: int, n_levels: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(3, 9, size=3))
    mask = rng.random(shape) < 0.7
    levels = np.where(mask, rng.integers(1, n_levels + 1, size=shape), 0).astype(np.int64)
    return levels, mask


@pytest.mark.parametrize("distance", [1, 2])
@pytest.mark.parametrize("planar", [True, False])
@pytest.mark.parametrize("seed", range(8))
def test_kernel_agrees_exactly_with_numpy_twin(seed, planar, distance):
    levels, mask = _random_roi(seed, n_levels=5)
    counts, diffs = _ngtdm(levels, mask, 5, distance, planar)
    twin_counts, twin_diffs = _ngtdm_twin(levels, mask, 5, distance, planar)
    np.testing.assert_array_equal(counts, twin_counts)
    np.testing.assert_array_equal(diffs, twin_diffs)


def test_digital_phantom_matrices_of_the_manual(digital_phantom):
    levels, mask = digital_phantom
    counts, diffs = _ngtdm(levels, mask, 6, 1, planar=True)
    expected = [
        ({1: 9, 4: 8, 6: 3}, {1: 14.575, 4: 5.775, 6: 7.325}),
        ({1: 12, 3: 1, 4: 4, 6: 2}, {1: 11.928571, 3: 0.375, 4: 4.8, 6: 8.0}),
        ({1: 14, 4: 2, 6: 1}, {1: 7.985714, 4: 4.65, 6: 5.0}),
        ({1: 15, 4: 2, 6: 1}, {1: 7.582143, 4: 4.65, 6: 5.0}),
    ]
    for z, (n, s) in enumerate(expected):
        assert {i: int(c) for i, c in enumerate(counts[z]) if c} == n
        assert {i: d for i, d in enumerate(diffs[z]) if d} == pytest.approx(s, abs=5e-7)
    counts, diffs = _ngtdm(levels, mask, 6, 1, planar=False)
    assert {i: int(c) for i, c in enumerate(counts[0]) if c} == {1: 50, 3: 1, 4: 16, 6: 7}
    assert {i: d for i, d in enumerate(diffs[0]) if d} == pytest.approx(
        {1: 39.946954, 3: 0.2, 4: 20.825401, 6: 24.127005}, abs=5e-7)


def _features_twin(counts: np.ndarray, diffs: np.ndarray) -> dict[str, float]:
    """The manual's NGTDM features, double sums written out over pairs of present levels."""
    n_vc = counts.sum()
    present = [i for i in range(counts.size) if counts[i] > 0]
    p = {i: counts[i] / n_vc for i in present}
    s = {i: diffs[i] for i in present}
    n_gp = len(present)
    pairs = list(itertools.product(present, repeat=2))
    ps = sum(p[i] * s[i] for i in present)
    sum_s = sum(s.values())
    contrast = (sum(p[a] * p[b] * (a - b) ** 2 for a, b in pairs) / (n_gp * (n_gp - 1))
                * sum_s / n_vc) if n_gp > 1 else 0.0
    busy = sum(abs(a * p[a] - b * p[b]) for a, b in pairs)
    return {
        "ngt_coarseness": 1 / ps if ps > 0 else 1e6,
        "ngt_contrast": contrast,
        "ngt_busyness": (ps / busy if busy > 0 else math.nan) if n_gp > 1 else 0.0,
        "ngt_complexity": sum(abs(a - b) * (p[a] * s[a] + p[b] * s[b]) / (p[a] + p[b])
                              for a, b in pairs) / n_vc,
        "ngt_strength": (sum((p[a] + p[b]) * (a - b) ** 2 for a, b in pairs) / sum_s
                         if sum_s > 0 else 0.0),
    }


@pytest.mark.parametrize("seed", range(6))
def test_features_agree_with_literal_double_sums(seed):
    levels, mask = _random_roi(seed, n_levels=6)
    counts, diffs = _ngtdm(levels, mask, 6, 1, planar=False)
    got = _features(counts[0], diffs[0])
    expected = _features_twin(counts[0], diffs[0])
    assert got == pytest.approx(expected, rel=1e-12)


def test_two_voxel_features_equal_hand_computed_values():
    # each voxel's only neighbour has the other level: n = s = 1 for levels 1 and 2, p = 1/2
    levels = np.array([[[1, 2]]])
    got = ngtdm_features(levels, levels > 0, SPACING, n_levels=2)
    assert set(got) == {f.name for f in FEATURES}
    assert got == pytest.approx({
        "ngt_coarseness": 1.0,
        "ngt_contrast": 0.25,  # (2 · 1/4 · 1) / (2 · 1) · 2 / 2
        "ngt_busyness": 1.0,  # 1 / (2 · |1/2 - 1|)
        "ngt_complexity": 1.0,  # 1/2 · 2 · 1 · (1/2 + 1/2) / 1
        "ngt_strength": 1.0,  # 2 · 1 · 1 / 2
    })


def test_neighbours_outside_the_mask_take_no_part():
    levels = np.array([[[1, 3, 2]]])
    mask = np.array([[[True, False, True]]])
    levels[~mask] = 0
    # neither voxel has a neighbour in the mask: nothing is defined
    assert all(math.isnan(v) for v in ngtdm_features(levels, mask, SPACING, n_levels=3).values())
    # at distance 2 they see each other
    got = ngtdm_features(levels, mask, SPACING, n_levels=3, distance=2)
    assert got["ngt_strength"] == pytest.approx(1.0)


def test_uniform_roi_gets_the_manual_limits():
    levels = np.ones((3, 3, 3), dtype=np.int64)
    got = ngtdm_features(levels, levels > 0, SPACING, n_levels=1)
    assert got == {"ngt_coarseness": 1e6, "ngt_contrast": 0.0, "ngt_busyness": 0.0,
                   "ngt_complexity": 0.0, "ngt_strength": 0.0}


def test_busyness_is_undefined_when_its_denominator_vanishes():
    # n = {1: 2, 2: 1}: 1 · 2/3 = 2 · 1/3
    levels = np.array([[[1, 1, 2]]])
    assert math.isnan(ngtdm_features(levels, levels > 0, SPACING, n_levels=2)["ngt_busyness"])


def test_2d_leaves_out_slices_without_neighbourhoods():
    levels = np.zeros((2, 2, 3), dtype=np.int64)
    levels[0, 0, 0] = 2
    levels[1, :, :2] = [[1, 2], [2, 2]]
    mask = levels > 0
    got = ngtdm_features(levels, mask, SPACING, n_levels=2, aggregation="2d")
    assert got == ngtdm_features(levels[1:], mask[1:], SPACING, n_levels=2, aggregation="2d")


def test_2_5d_merges_slice_matrices():
    levels = np.array([[[1, 2, 2]], [[2, 1, 1]]])
    mask = levels > 0
    counts, diffs = _ngtdm(levels, mask, 2, 1, planar=True)
    got = ngtdm_features(levels, mask, SPACING, n_levels=2, aggregation="2_5d")
    assert got == _features(counts.sum(axis=0), diffs.sum(axis=0))
    assert got != ngtdm_features(levels, mask, SPACING, n_levels=2, aggregation="3d")


def test_rejects_bad_settings():
    levels = np.array([[[1, 2]]])
    with pytest.raises(FeatureError, match="distance"):
        ngtdm_features(levels, levels > 0, SPACING, n_levels=2, distance=0)
    with pytest.raises(FeatureError, match="aggregation"):
        ngtdm_features(levels, levels > 0, SPACING, n_levels=2, aggregation="3d_avg")


def test_family_reads_the_distance_from_the_spec():
    levels = np.array([[[1, 0, 2]]], dtype=np.int32)
    mask = levels > 0
    roi = RoiData(image=levels.astype(float), morph_mask=mask, int_mask=mask, spacing=SPACING,
                  levels=levels, n_levels=2, unit="HU")
    spec = load_spec({
        "preprocessing": {"discretisation": {"method": "fixed_bin_number", "bin_count": 2}},
        "features": {"aggregations": ["3d_avg"], "ngtdm_distance": 2},
    })
    values = FAMILY.compute(roi, spec)
    assert set(values) == {(f.name, "3d") for f in FEATURES}
    assert values[("ngt_coarseness", "3d")] == 1.0
