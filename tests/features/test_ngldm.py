"""Neighbouring grey level dependence features (REK0).

Provenance: the digital phantom's NGLDMs are the tables of the IBSI 1 manual,
06_Digital_phantom_texture_matrices.rst ("Neighbouring grey level dependence matrix (2D)/(3D)");
the small cases are worked out by hand from 03_Image_features.rst (REK0). The slow twin of the
numba kernel compares shifted copies of the ROI, one neighbour offset at a time, and must agree
exactly.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from radiome.errors import FeatureError
from radiome.features.ngldm import FAMILY, FEATURES, _ngldm, ngldm_features
from radiome.preprocess.roi import RoiData
from radiome.spec import load_spec

SPACING = (1.0, 1.0, 1.0)
HAND = np.array([[[1, 1, 2], [1, 1, 2], [3, 2, 2]]])


def _ngldm_twin(levels, mask, n_levels, distance, coarseness, planar):
    """Dense s_ij per slice (planar) or of the volume, as the kernel lays it out."""
    d = distance
    padded_levels, padded_mask = np.pad(levels, d), np.pad(mask, d)
    dependence = np.ones(levels.shape, dtype=np.int64)
    nz = levels.shape[0]
    n_offsets = 0
    for dz, dy, dx in itertools.product(range(-d, d + 1), repeat=3):
        if (dz, dy, dx) == (0, 0, 0) or (planar and dz != 0):
            continue
        n_offsets += 1
        window = tuple(slice(d + o, d + o + n)
                       for o, n in zip((dz, dy, dx), levels.shape, strict=True))
        close = np.abs(padded_levels[window] - levels) <= coarseness
        dependence += padded_mask[window] & close
    rows = np.nonzero(mask)[0] if planar else np.zeros(np.count_nonzero(mask), dtype=np.int64)
    out = np.zeros((nz if planar else 1, n_levels + 1, n_offsets + 2), dtype=np.int64)
    np.add.at(out, (rows, levels[mask], dependence[mask]), 1)
    return out


@pytest.mark.parametrize(("distance", "coarseness"), [(1, 0), (1, 1), (2, 0), (2, 2)])
@pytest.mark.parametrize("planar", [True, False])
@pytest.mark.parametrize("seed", range(6))
def test_kernel_agrees_exactly_with_numpy_twin(seed, planar, distance, coarseness):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(3, 9, size=3))
    mask = rng.random(shape) < 0.75
    levels = np.where(mask, rng.integers(1, 6, size=shape), 0).astype(np.int64)
    np.testing.assert_array_equal(
        _ngldm(levels, mask, 5, distance, coarseness, planar),
        _ngldm_twin(levels, mask, 5, distance, coarseness, planar),
    )


def _cells(matrix: np.ndarray) -> dict[tuple[int, int], int]:
    return {(int(i), int(j)): int(matrix[i, j]) for i, j in zip(*np.nonzero(matrix), strict=True)}


def test_digital_phantom_matrices_of_the_manual(digital_phantom):
    levels, mask = digital_phantom
    per_slice = _ngldm(levels, mask, 6, 1, 0, planar=True)
    assert [_cells(m) for m in per_slice] == [
        {(1, 2): 3, (1, 3): 1, (1, 4): 3, (1, 5): 2, (4, 2): 2, (4, 3): 4, (4, 4): 2, (6, 2): 2,
         (6, 3): 1},
        {(1, 3): 2, (1, 4): 6, (1, 6): 4, (3, 1): 1, (4, 2): 4, (6, 1): 2},
        {(1, 3): 1, (1, 4): 5, (1, 5): 3, (1, 6): 3, (1, 7): 2, (4, 2): 2, (6, 1): 1},
        {(1, 3): 1, (1, 4): 3, (1, 5): 3, (1, 6): 4, (1, 7): 1, (1, 8): 3, (4, 2): 2, (6, 1): 1},
    ]
    volume = _ngldm(levels, mask, 6, 1, 0, planar=False)
    assert _cells(volume[0]) == {
        (1, 5): 2, (1, 6): 2, (1, 7): 1, (1, 8): 6, (1, 9): 4, (1, 10): 6, (1, 11): 5,
        (1, 12): 5, (1, 13): 3, (1, 14): 2, (1, 15): 5, (1, 16): 3, (1, 17): 3, (1, 18): 2,
        (1, 21): 1, (3, 1): 1, (4, 2): 2, (4, 4): 2, (4, 5): 6, (4, 6): 4, (4, 7): 2, (6, 2): 1,
        (6, 3): 4, (6, 4): 1, (6, 5): 1,
    }


def test_dependences_and_features_equal_hand_computed_values():
    mask = HAND > 0
    assert _cells(_ngldm(HAND, mask, 3, 1, 0, planar=True)[0]) == {
        (1, 4): 4, (2, 2): 1, (2, 3): 2, (2, 4): 1, (3, 1): 1}
    assert _cells(_ngldm(HAND, mask, 3, 1, 1, planar=True)[0]) == {
        (1, 4): 1, (1, 5): 1, (1, 6): 1, (1, 8): 1, (2, 4): 2, (2, 6): 2, (3, 2): 1}
    got = ngldm_features(HAND, mask, SPACING, n_levels=3, aggregation="2d")
    assert set(got) == {f.name for f in FEATURES}
    # s_.j = {1: 1, 2: 1, 3: 2, 4: 5}, s_i. = {1: 4, 2: 4, 3: 1}, N_s = N_v = 9
    assert got["ngl_lde"] == pytest.approx((1 + 1 / 4 + 2 / 9 + 5 / 16) / 9)
    assert got["ngl_hde"] == pytest.approx((1 + 4 + 2 * 9 + 5 * 16) / 9)
    assert got["ngl_lgce"] == pytest.approx((4 + 4 / 4 + 1 / 9) / 9)
    assert got["ngl_hdlge"] == pytest.approx((4 * 16 + (4 + 2 * 9 + 16) / 4 + 1 / 9) / 9)
    assert got["ngl_glnu"] == pytest.approx((16 + 16 + 1) / 9)
    assert got["ngl_dcnu_norm"] == pytest.approx((1 + 1 + 4 + 25) / 81)
    assert got["ngl_dc_perc"] == 1.0
    assert got["ngl_dc_energy"] == pytest.approx((16 + 1 + 4 + 1 + 1) / 81)


def test_neighbours_outside_the_mask_do_not_count():
    levels = HAND.copy()
    mask = levels > 0
    mask[0, 1, 1] = False
    levels[~mask] = 0
    matrix = _ngldm(levels, mask, 3, 1, 0, planar=True)[0]
    assert matrix.sum() == 8  # every voxel of the mask, and only those
    assert _cells(matrix)[(1, 3)] == 3  # the three other 1s lost the centre


def test_rejects_bad_settings():
    with pytest.raises(FeatureError, match="coarseness"):
        ngldm_features(HAND, HAND > 0, SPACING, n_levels=3, coarseness=-1)
    with pytest.raises(FeatureError, match="distance"):
        ngldm_features(HAND, HAND > 0, SPACING, n_levels=3, distance=0)


def test_family_reads_distance_and_coarseness_from_the_spec():
    mask = HAND > 0
    roi = RoiData(image=HAND.astype(float), morph_mask=mask, int_mask=mask, spacing=SPACING,
                  levels=HAND.astype(np.int32), n_levels=3, unit="HU")
    spec = load_spec({
        "preprocessing": {"dimensions": "2d",
                          "discretisation": {"method": "fixed_bin_number", "bin_count": 3}},
        "features": {"ngldm_coarseness": 1},
    })
    values = FAMILY.compute(roi, spec)
    assert set(values) == {(f.name, a) for f in FEATURES for a in ("2d", "2_5d")}
    # alpha = 1: j = 4, 5, 6, 8 (level 1), 4, 4, 6, 6 (level 2), 2 (level 3)
    assert values[("ngl_hde", "2_5d")] == pytest.approx(
        (16 + 25 + 36 + 64 + 2 * 16 + 2 * 36 + 4) / 9)
