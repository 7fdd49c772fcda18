"""Grey level size zone features (9SAK) and the shared zone machinery of ``features._zones``.

Provenance: the digital phantom's zone matrices are the tables of the IBSI 1 manual,
06_Digital_phantom_texture_matrices.rst ("Grey level size zone matrix (2D)/(3D)"); the small
cases are worked out by hand from the definitions in 03_Image_features.rst. The slow twin of
the numba zone labelling is scipy.ndimage.label, one grey level at a time, with the 26- (8-)
connected structuring element; the twin of the sparse count-matrix features evaluates the
manual's formulas on the dense matrix.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy import ndimage

from radiome.errors import FeatureError
from radiome.features._zones import (
    CountMatrix,
    count_features,
    dimensions_of,
    label_zones,
    zones_of,
)
from radiome.features.glszm import FAMILY, FEATURES, glszm_features
from radiome.preprocess.roi import RoiData
from radiome.spec import load_spec

SPACING = (1.0, 1.0, 1.0)


def _labels_twin(levels: np.ndarray, mask: np.ndarray, planar: bool) -> tuple[np.ndarray, int]:
    """Zone ids by scipy.ndimage.label per grey level, renumbered by first voxel in C order."""
    structure = np.ones((3, 3, 3), dtype=bool)
    if planar:
        structure[0] = structure[2] = False
    ids = np.full(levels.shape, -1, dtype=np.int64)
    offset = 0
    for level in np.unique(levels[mask]):
        labelled, n = ndimage.label(mask & (levels == level), structure=structure)
        ids[labelled > 0] = labelled[labelled > 0] - 1 + offset
        offset += n
    _, first = np.unique(ids[mask], return_index=True)
    rank = np.empty(offset, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(offset)
    out = np.full(levels.shape, -1, dtype=np.int64)
    out[mask] = rank[ids[mask]]
    return out, offset


def _random_roi(seed: int, n_levels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(3, 9, size=3))
    mask = rng.random(shape) < 0.8
    levels = np.where(mask, rng.integers(1, n_levels + 1, size=shape), 0).astype(np.int64)
    return levels, mask


@pytest.mark.parametrize("planar", [True, False])
@pytest.mark.parametrize("seed", range(12))
def test_labelling_agrees_with_scipy_twin(seed, planar):
    levels, mask = _random_roi(seed)
    labels, n_zones = label_zones(levels, mask, planar)
    expected, n_expected = _labels_twin(levels, mask, planar)
    assert n_zones == n_expected
    np.testing.assert_array_equal(labels, expected)


def _matrix(levels: np.ndarray, mask: np.ndarray, planar: bool) -> list[Counter]:
    """Zone counts {(grey level, size): n}, per slice if planar."""
    zones = zones_of(levels, mask, planar)
    rows = levels.shape[0] if planar else 1
    return [Counter(zip(zones.level[zones.slice == z].tolist(),
                        zones.size[zones.slice == z].tolist(), strict=True))
            for z in range(rows)]


def test_digital_phantom_matrices_of_the_manual(digital_phantom):
    levels, mask = digital_phantom
    assert _matrix(levels, mask, planar=True) == [
        {(1, 3): 1, (1, 6): 1, (4, 2): 1, (4, 6): 1, (6, 3): 1},
        {(1, 4): 1, (1, 8): 1, (3, 1): 1, (4, 2): 2, (6, 1): 2},
        {(1, 14): 1, (4, 2): 1, (6, 1): 1},
        {(1, 15): 1, (4, 2): 1, (6, 1): 1},
    ]
    assert _matrix(levels, mask, planar=False) == [
        {(1, 50): 1, (3, 1): 1, (4, 2): 1, (4, 14): 1, (6, 7): 1}
    ]


def test_links_diagonally_in_plane_and_across_slices():
    # 8-connected in the plane: the diagonal pairs are one zone each
    levels = np.array([[[1, 2], [2, 1]]])
    assert _matrix(levels, levels > 0, planar=True) == [{(1, 2): 1, (2, 2): 1}]
    # 26-connected in 3D, never across slices in 2D
    levels = np.array([[[1, 2]], [[2, 1]]])
    assert _matrix(levels, levels > 0, planar=False) == [{(1, 2): 1, (2, 2): 1}]
    assert _matrix(levels, levels > 0, planar=True) == [{(1, 1): 1, (2, 1): 1}] * 2


def test_one_slice_zones_and_features_equal_hand_computed_values():
    levels = np.array([[[1, 1, 2], [2, 1, 2], [3, 3, 2]]])
    mask = levels > 0
    # zones: (i=1, 3 voxels), (2, 3), (2, 1), (3, 2); N_s = 4, N_v = 9
    assert _matrix(levels, mask, planar=True) == [{(1, 3): 1, (2, 3): 1, (2, 1): 1, (3, 2): 1}]
    got = glszm_features(levels, mask, SPACING, n_levels=3, aggregation="2d")
    assert set(got) == {f.name for f in FEATURES}
    assert got["szm_sze"] == pytest.approx((1 / 9 + 1 / 9 + 1 + 1 / 4) / 4)
    assert got["szm_lze"] == pytest.approx((9 + 9 + 1 + 4) / 4)
    assert got["szm_lgze"] == pytest.approx((1 + 2 / 4 + 1 / 9) / 4)
    assert got["szm_hgze"] == pytest.approx((1 + 2 * 4 + 9) / 4)
    assert got["szm_szlge"] == pytest.approx((1 / 9 + 1 / 36 + 1 / 4 + 1 / 36) / 4)
    assert got["szm_szhge"] == pytest.approx((1 / 9 + 4 / 9 + 4 + 9 / 4) / 4)
    assert got["szm_lzlge"] == pytest.approx((9 + 9 / 4 + 1 / 4 + 4 / 9) / 4)
    assert got["szm_lzhge"] == pytest.approx((9 + 36 + 4 + 36) / 4)
    assert got["szm_glnu"] == pytest.approx((1 + 4 + 1) / 4)
    assert got["szm_glnu_norm"] == pytest.approx(6 / 16)
    assert got["szm_zsnu"] == pytest.approx((4 + 1 + 1) / 4)
    assert got["szm_zsnu_norm"] == pytest.approx(6 / 16)
    assert got["szm_z_perc"] == pytest.approx(4 / 9)
    assert got["szm_gl_var"] == pytest.approx(0.5)
    assert got["szm_zs_var"] == pytest.approx(((3 / 4) ** 2 * 2 + (5 / 4) ** 2 + (1 / 4) ** 2) / 4)
    assert got["szm_zs_entr"] == pytest.approx(2.0)


def _dense_twin(dense: np.ndarray, n_voxels: int) -> dict[str, float]:
    """The manual's formulas, literally, on a dense matrix c[i - 1, j - 1]."""
    i = np.arange(1, dense.shape[0] + 1, dtype=float)[:, None]
    j = np.arange(1, dense.shape[1] + 1, dtype=float)[None, :]
    n_s = dense.sum()
    p = dense / n_s
    ci, cj = dense.sum(axis=1), dense.sum(axis=0)
    nz = p[p > 0]
    return {
        "low_j": np.sum(cj / j[0] ** 2) / n_s,
        "high_j": np.sum(cj * j[0] ** 2) / n_s,
        "low_i": np.sum(ci / i[:, 0] ** 2) / n_s,
        "high_i": np.sum(ci * i[:, 0] ** 2) / n_s,
        "low_i_low_j": np.sum(dense / (i**2 * j**2)) / n_s,
        "high_i_low_j": np.sum(dense * i**2 / j**2) / n_s,
        "low_i_high_j": np.sum(dense * j**2 / i**2) / n_s,
        "high_i_high_j": np.sum(dense * i**2 * j**2) / n_s,
        "i_nu": np.sum(ci**2) / n_s,
        "i_nu_norm": np.sum(ci**2) / n_s**2,
        "j_nu": np.sum(cj**2) / n_s,
        "j_nu_norm": np.sum(cj**2) / n_s**2,
        "percentage": n_s / n_voxels,
        "i_var": np.sum((i - np.sum(i * p)) ** 2 * p),
        "j_var": np.sum((j - np.sum(j * p)) ** 2 * p),
        "entropy": -np.sum(nz * np.log2(nz)),
        "energy": np.sum(p**2),
    }


@pytest.mark.parametrize("seed", range(5))
def test_sparse_features_agree_with_dense_formulas(seed):
    rng = np.random.default_rng(seed)
    dense = rng.integers(0, 4, size=(6, 9)) * (rng.random((6, 9)) < 0.4)
    dense[2, 3] += 1
    level, column = np.nonzero(dense)
    got = count_features(CountMatrix(level + 1, column + 1, dense[level, column] * 1.0), 500)
    expected = _dense_twin(dense.astype(float), 500)
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-15), name


@pytest.mark.parametrize("seed", range(3))
def test_one_slice_gives_equal_2d_and_2_5d_features(seed):
    levels, mask = _random_roi(seed)
    levels, mask = levels[:1], mask[:1]
    results = [glszm_features(levels, mask, SPACING, n_levels=3, aggregation=a)
               for a in ("2d", "2_5d")]
    assert results[0] == pytest.approx(results[1], rel=1e-12)


def test_2d_averages_slices_and_2_5d_merges_them():
    levels = np.array([[[1, 1, 2]], [[3, 3, 3]]])
    mask = levels > 0
    first = glszm_features(levels[:1], mask[:1], SPACING, n_levels=3, aggregation="2d")
    second = glszm_features(levels[1:], mask[1:], SPACING, n_levels=3, aggregation="2d")
    got = glszm_features(levels, mask, SPACING, n_levels=3, aggregation="2d")
    for name in got:
        assert got[name] == pytest.approx((first[name] + second[name]) / 2), name
    merged = glszm_features(levels, mask, SPACING, n_levels=3, aggregation="2_5d")
    # merged zones (1, 2), (2, 1), (3, 3) over N_v = 6 voxels
    assert merged["szm_z_perc"] == pytest.approx(3 / 6)
    assert merged["szm_lze"] == pytest.approx((4 + 1 + 9) / 3)


def test_rejects_bad_aggregation_and_levels():
    levels = np.array([[[1, 2]]])
    with pytest.raises(FeatureError, match="aggregation"):
        glszm_features(levels, levels > 0, SPACING, n_levels=2, aggregation="2d_avg")
    with pytest.raises(FeatureError, match="n_levels=1"):
        glszm_features(levels, levels > 0, SPACING, n_levels=1)
    with pytest.raises(FeatureError, match="no voxel"):
        glszm_features(levels, levels < 0, SPACING, n_levels=2)


def test_dimensions_of_lists_each_dimension_once():
    assert dimensions_of(["3d_vmrg", "2d_avg", "2d_smrg"]) == ["2d", "3d"]
    assert dimensions_of(["2_5d_dmrg", "2_5d_vmrg"]) == ["2_5d"]


def test_family_computes_each_dimension_of_the_spec():
    levels = np.array([[[1, 1, 2], [2, 1, 2]], [[3, 3, 2], [1, 1, 1]]])
    mask = levels > 0
    roi = RoiData(image=levels.astype(float), morph_mask=mask, int_mask=mask, spacing=SPACING,
                  levels=levels.astype(np.int32), n_levels=3, unit="HU")
    spec = load_spec({
        "preprocessing": {"discretisation": {"method": "fixed_bin_number", "bin_count": 3}},
        "features": {"aggregations": ["2d_avg", "3d_vmrg"]},
    })
    values = FAMILY.compute(roi, spec)
    assert set(values) == {(f.name, a) for f in FEATURES for a in ("2d", "3d")}
    assert values[("szm_z_perc", "3d")] == pytest.approx(4 / 12)
