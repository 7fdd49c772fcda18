"""GLCM (IBSI 1 family LFYI): matrices, kernel twin, features and aggregation.

Provenance: the digital-phantom matrices are those printed in the IBSI 1 manual,
06_Digital_phantom_texture_matrices.rst ("Grey level co-occurrence matrix (2D, merged)",
slices 1-4 = z 0-3, and "(3D, merged)"); the 2D matrices and features are also checked
against scikit-image's ``graycomatrix``/``graycoprops`` (an implementation no one here wrote).
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage.feature import graycomatrix, graycoprops

from radiome.errors import FeatureError
from radiome.features._directions import AGGREGATIONS, direction_vectors
from radiome.features.glcm import FAMILY, FEATURES, cooccurrence_counts, glcm_features
from radiome.preprocess.roi import RoiData
from radiome.spec import Spec

SPACING = (1.0, 1.0, 1.0)

#: Manual: merged 2D GLCMs of the digital phantom per slice, {(i, j): n} with i <= j.
PHANTOM_2D_MERGED = [
    {(1, 1): 22, (1, 4): 17, (1, 6): 6, (4, 4): 16, (4, 6): 11, (6, 6): 4},
    {(1, 1): 42, (1, 3): 5, (1, 4): 8, (1, 6): 8, (3, 4): 1, (3, 6): 2, (4, 4): 4, (4, 6): 3},
    {(1, 1): 56, (1, 4): 7, (1, 6): 4, (4, 4): 2},
    {(1, 1): 70, (1, 4): 7, (1, 6): 5, (4, 4): 2},
]
#: Manual: merged 3D GLCM of the digital phantom.
PHANTOM_3D_MERGED = {(1, 1): 536, (1, 3): 14, (1, 4): 105, (1, 6): 61, (3, 4): 5, (3, 6): 6,
                     (4, 4): 64, (4, 6): 28, (6, 6): 16}


def _dense(cells: dict[tuple[int, int], int], n_levels: int) -> np.ndarray:
    """Symmetric dense matrix from upper-triangle cells (1-based levels)."""
    m = np.zeros((n_levels, n_levels), dtype=np.int64)
    for (i, j), n in cells.items():
        m[i - 1, j - 1] = m[j - 1, i - 1] = n
    return m


def _twin_counts(levels, mask, n_levels, distance, planar):
    """Slow NumPy twin of the counting kernel: shifted copies and np.add.at per offset."""
    offsets = direction_vectors(planar, distance)
    nz, ny, nx = levels.shape
    out = np.zeros((nz if planar else 1, len(offsets), n_levels, n_levels), dtype=np.int64)
    z, y, x = np.indices(levels.shape)
    for k, (dz, dy, dx) in enumerate(offsets):
        zz, yy, xx = z + dz, y + dy, x + dx
        inside = (zz >= 0) & (zz < nz) & (yy >= 0) & (yy < ny) & (xx >= 0) & (xx < nx)
        src = inside & mask
        src[src] = mask[zz[src], yy[src], xx[src]]
        a = levels[src] - 1
        b = levels[zz[src], yy[src], xx[src]] - 1
        s = z[src] if planar else np.zeros_like(a)
        np.add.at(out, (s, k, a, b), 1)
        np.add.at(out, (s, k, b, a), 1)
    return out


def _random_roi(rng, shape, n_levels):
    mask = rng.random(shape) < 0.7
    levels = np.where(mask, rng.integers(1, n_levels + 1, size=shape), 0).astype(np.int64)
    return levels, mask


def test_direction_vectors_follow_ibsi():
    """13 volumetric and 4 planar directions, one per ±m pair; δ multiplies them (IBSI 1)."""
    d3 = direction_vectors(planar=False)
    assert d3.shape == (13, 3)
    steps = (-1, 0, 1)
    neighbours = {(z, y, x) for z in steps for y in steps for x in steps} - {(0, 0, 0)}
    assert {tuple(v) for v in d3} | {tuple(-v) for v in d3} == neighbours
    d2 = direction_vectors(planar=True)
    assert {tuple(v) for v in d2} == {(0, 0, 1), (0, 1, -1), (0, 1, 0), (0, 1, 1)}
    np.testing.assert_array_equal(direction_vectors(planar=False, distance=3), 3 * d3)


def test_phantom_2d_matrices_per_slice_equal_the_manuals(digital_phantom):
    levels, mask = digital_phantom
    counts = cooccurrence_counts(levels, mask, n_levels=6, distance=1, planar=True)
    per_slice = counts.sum(axis=1)
    for z, cells in enumerate(PHANTOM_2D_MERGED):
        np.testing.assert_array_equal(per_slice[z], _dense(cells, 6), err_msg=f"slice {z}")


def test_phantom_3d_merged_matrix_equals_the_manuals(digital_phantom):
    levels, mask = digital_phantom
    counts = cooccurrence_counts(levels, mask, n_levels=6, distance=1, planar=False)
    assert counts.shape == (1, 13, 6, 6)
    np.testing.assert_array_equal(counts.sum(axis=(0, 1)), _dense(PHANTOM_3D_MERGED, 6))


def test_one_row_matrix_and_features_equal_hand_computed_values():
    """One row 1 1 2 along x: pairs (1,1) and (1,2) along (0,0,1), nothing along y."""
    levels = np.array([[[1, 1, 2]]], dtype=np.int64)
    counts = cooccurrence_counts(levels, levels > 0, n_levels=2, distance=1, planar=True)
    k = [tuple(v) for v in direction_vectors(planar=True)].index((0, 0, 1))
    np.testing.assert_array_equal(counts[0, k], [[2, 1], [1, 0]])
    assert counts.sum() == counts[0, k].sum()
    f = glcm_features(levels, levels > 0, SPACING, n_levels=2, aggregation="2d_avg")
    # p = [[1/2, 1/4], [1/4, 0]]: p_1. = 3/4, p_2. = 1/4
    assert f["cm_joint_max"] == 0.5
    assert f["cm_joint_avg"] == pytest.approx(1.25)
    assert f["cm_joint_var"] == pytest.approx(0.1875)
    assert f["cm_contrast"] == pytest.approx(0.5)
    assert f["cm_joint_entr"] == pytest.approx(1.5)
    assert f["cm_inv_var"] == pytest.approx(0.5)
    assert f["cm_corr"] == pytest.approx((1 * 0.5 + 2 * 0.5 - 1.25**2) / 0.1875)


@pytest.mark.parametrize(
    ("shape", "n_levels", "distance"),
    [((3, 5, 6), 4, 1), ((4, 4, 7), 6, 2), ((2, 9, 3), 3, 1), ((5, 5, 5), 5, 3)],
)
@pytest.mark.parametrize("planar", [True, False])
def test_kernel_matches_numpy_twin(shape, n_levels, distance, planar):
    rng = np.random.default_rng(sum(shape) * 31 + distance)
    levels, mask = _random_roi(rng, shape, n_levels)
    got = cooccurrence_counts(levels, mask, n_levels=n_levels, distance=distance, planar=planar)
    np.testing.assert_array_equal(got, _twin_counts(levels, mask, n_levels, distance, planar))


def test_matrices_and_features_match_scikit_image():
    """One full-mask slice: our four 2D matrices and 2d_avg features equal scikit-image's."""
    rng = np.random.default_rng(7)
    image = rng.integers(0, 5, size=(12, 10))
    levels = image[None].astype(np.int64) + 1
    mask = np.ones_like(levels, dtype=bool)
    # skimage angle a pairs (row, col) with (row + sin a, col + cos a), rounded.
    angles = {(0, 0, 1): 0.0, (0, 1, 1): np.pi / 4, (0, 1, 0): np.pi / 2,
              (0, 1, -1): 3 * np.pi / 4}
    sk = graycomatrix(image.astype(np.uint8), [1], list(angles.values()), levels=5, symmetric=True)
    counts = cooccurrence_counts(levels, mask, n_levels=5, distance=1, planar=True)
    for k, v in enumerate(direction_vectors(planar=True)):
        np.testing.assert_array_equal(counts[0, k], sk[:, :, 0, list(angles).index(tuple(v))])
    f = glcm_features(levels, mask, SPACING, n_levels=5, aggregation="2d_avg")
    skn = graycomatrix(image.astype(np.uint8), [1], list(angles.values()), levels=5,
                       symmetric=True, normed=True)
    for ours, theirs in [("cm_contrast", "contrast"), ("cm_dissimilarity", "dissimilarity"),
                         ("cm_inv_diff_mom", "homogeneity"), ("cm_energy", "ASM"),
                         ("cm_corr", "correlation")]:
        assert f[ours] == pytest.approx(graycoprops(skn, theirs).mean(), rel=1e-12), ours


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_manual_identities_hold_and_every_feature_is_returned(aggregation):
    """Identities the manual states: sum avg = 2 joint avg, dissimilarity = diff avg,
    cluster tendency = sum variance; every declared feature is returned."""
    rng = np.random.default_rng(3)
    levels, mask = _random_roi(rng, (4, 8, 8), 6)
    f = glcm_features(levels, mask, SPACING, n_levels=6, aggregation=aggregation)
    assert set(f) == {d.name for d in FEATURES}
    assert f["cm_sum_avg"] == pytest.approx(2 * f["cm_joint_avg"])
    assert f["cm_dissimilarity"] == pytest.approx(f["cm_diff_avg"])
    assert f["cm_clust_tend"] == pytest.approx(f["cm_sum_var"])
    assert 0 < f["cm_joint_max"] <= 1
    assert all(np.isfinite(v) for v in f.values())


def test_merged_aggregations_equal_merged_matrix_features(digital_phantom):
    """3d_vmrg and 2_5d_vmrg are the features of the summed matrices; 3d_avg averages 13."""
    levels, mask = digital_phantom
    vmrg = glcm_features(levels, mask, SPACING, n_levels=6, aggregation="3d_vmrg")
    p = _dense(PHANTOM_3D_MERGED, 6) / _dense(PHANTOM_3D_MERGED, 6).sum()
    assert vmrg["cm_joint_max"] == pytest.approx(p.max())
    assert vmrg["cm_energy"] == pytest.approx((p**2).sum())
    total = sum(_dense(c, 6) for c in PHANTOM_2D_MERGED)
    smrg = glcm_features(levels, mask, SPACING, n_levels=6, aggregation="2_5d_vmrg")
    assert smrg["cm_joint_max"] == pytest.approx(total.max() / total.sum())


def test_empty_matrices_do_not_count():
    """A slice with a lone voxel (no pairs) adds nothing to the 2D averages."""
    block = np.zeros((2, 4, 4), dtype=np.int64)
    block[0, :3, :3] = [[1, 2, 1], [2, 1, 2], [1, 1, 2]]
    with_lone = block.copy()
    with_lone[1, 3, 3] = 1
    for aggregation in ("2d_avg", "2d_smrg"):
        a = glcm_features(block, block > 0, SPACING, n_levels=2, aggregation=aggregation)
        b = glcm_features(with_lone, with_lone > 0, SPACING, n_levels=2, aggregation=aggregation)
        assert all(np.isfinite(v) for v in a.values())
        assert a == b


def test_undefined_features_are_averaged_where_defined():
    """A uniform slice leaves correlation and information correlation 1 undefined (σ = HX = 0):
    2D averages take them from the other slice only, and every other feature from both."""
    mixed = np.array([[1, 2, 1], [2, 1, 2], [1, 1, 2]], dtype=np.int64)
    levels = np.stack([mixed, np.full((3, 3), 2, dtype=np.int64)])
    uniform = glcm_features(levels[1:], levels[1:] > 0, SPACING, n_levels=2,
                            aggregation="2d_smrg")
    assert np.isnan(uniform["cm_corr"])
    assert np.isnan(uniform["cm_info_corr1"])
    alone = glcm_features(levels[:1], levels[:1] > 0, SPACING, n_levels=2, aggregation="2d_smrg")
    both = glcm_features(levels, levels > 0, SPACING, n_levels=2, aggregation="2d_smrg")
    assert both["cm_corr"] == alone["cm_corr"]
    assert both["cm_info_corr1"] == alone["cm_info_corr1"]
    assert both["cm_joint_avg"] == pytest.approx((alone["cm_joint_avg"] + 2.0) / 2)


def test_no_pairs_gives_nan():
    levels = np.zeros((3, 3, 3), dtype=np.int64)
    levels[1, 1, 1] = 2
    f = glcm_features(levels, levels > 0, SPACING, n_levels=2, aggregation="3d_avg")
    assert all(np.isnan(v) for v in f.values())


def test_errors_name_the_culprit():
    levels = np.ones((2, 2, 2), dtype=np.int64)
    mask = np.ones((2, 2, 2), dtype=bool)
    with pytest.raises(FeatureError, match="aggregation must be one of .*got '3d'"):
        glcm_features(levels, mask, SPACING, n_levels=1, aggregation="3d")
    with pytest.raises(FeatureError, match=r"GLCM: grey levels .* 1..n_levels=1, got 1..3"):
        glcm_features(levels * 3 - 2 * np.eye(2, dtype=np.int64), mask, SPACING, n_levels=1)
    with pytest.raises(FeatureError, match="one shape"):
        glcm_features(levels, mask[:1], SPACING, n_levels=1)
    with pytest.raises(FeatureError, match="GLCM: the mask has no voxel"):
        glcm_features(levels, ~mask, SPACING, n_levels=1)


def test_family_adapter_equals_public_function(digital_phantom):
    """The spec adapter (matrices counted once for all aggregations) gives the same values."""
    levels, mask = digital_phantom
    spec = Spec.model_validate({
        "preprocessing": {"discretisation": {"method": "fixed_bin_size", "bin_width": 1}},
        "features": {"aggregations": list(AGGREGATIONS), "glcm_distance": 2},
    })
    roi = RoiData(image=levels.astype(np.float64), morph_mask=mask, int_mask=mask,
                  spacing=(2.0, 2.0, 2.0), levels=levels, n_levels=6, unit="a.u.")
    values = FAMILY.compute(roi, spec)
    expected = {
        (name, aggregation): value
        for aggregation in AGGREGATIONS
        for name, value in glcm_features(
            levels, mask, SPACING, n_levels=6, distance=2, aggregation=aggregation
        ).items()
    }
    np.testing.assert_equal(values, expected)


@pytest.mark.parametrize("aggregation", ["2d_avg", "2d_smrg", "2_5d_dmrg", "2_5d_vmrg",
                                         "3d_avg", "3d_vmrg"])
def test_sparse_counting_equals_dense_counting(aggregation, monkeypatch):
    """Many grey levels are counted as sparse entries; the features must not change."""
    from radiome.features import glcm

    rng = np.random.default_rng(11)
    levels = rng.integers(1, 300, size=(5, 9, 8))
    mask = rng.random(levels.shape) < 0.8
    mask[2] = False  # an empty slice
    monkeypatch.setattr(glcm, "_SPARSE_ABOVE", 10**9)
    dense = glcm.glcm_features(levels, mask, (1.0, 1.0, 1.0), n_levels=300,
                               aggregation=aggregation)
    monkeypatch.setattr(glcm, "_SPARSE_ABOVE", 0)
    sparse = glcm.glcm_features(levels, mask, (1.0, 1.0, 1.0), n_levels=300,
                                aggregation=aggregation)
    assert dense.keys() == sparse.keys()
    for name in dense:
        assert sparse[name] == pytest.approx(dense[name], rel=1e-12, nan_ok=True), name
