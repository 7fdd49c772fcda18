"""GLRLM (IBSI 1 family TP0I): matrices, kernel twin, features and aggregation.

Provenance: the digital-phantom matrices are those printed in the IBSI 1 manual,
06_Digital_phantom_texture_matrices.rst ("Grey level run length matrix (2D, merged)",
slices 1-4 = z 0-3, and "(3D, merged)"); the small examples are counted by hand.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from radiome.errors import FeatureError
from radiome.features._directions import AGGREGATIONS, direction_vectors
from radiome.features.glrlm import FAMILY, FEATURES, glrlm_features, run_length_counts
from radiome.preprocess.roi import RoiData
from radiome.spec import Spec

SPACING = (1.0, 1.0, 1.0)

#: Manual: merged 2D GLRLMs of the digital phantom per slice, {(grey level, run length): n}.
PHANTOM_2D_MERGED = [
    {(1, 1): 16, (1, 2): 8, (1, 4): 1, (4, 1): 17, (4, 2): 6, (4, 3): 1, (6, 1): 9, (6, 3): 1},
    {(1, 1): 10, (1, 2): 15, (1, 4): 2, (3, 1): 4, (4, 1): 12, (4, 2): 2, (6, 1): 8},
    {(1, 1): 10, (1, 2): 11, (1, 3): 5, (1, 4): 1, (1, 5): 1, (4, 1): 6, (4, 2): 1, (6, 1): 4},
    {(1, 1): 6, (1, 2): 9, (1, 3): 6, (1, 4): 2, (1, 5): 2, (4, 1): 6, (4, 2): 1, (6, 1): 4},
]
#: Manual: merged 3D GLRLM of the digital phantom.
PHANTOM_3D_MERGED = {
    (1, 1): 190, (1, 2): 140, (1, 3): 31, (1, 4): 18, (1, 5): 3, (3, 1): 13, (4, 1): 149,
    (4, 2): 24, (4, 3): 1, (4, 4): 2, (6, 1): 78, (6, 2): 3, (6, 3): 1, (6, 4): 1,
}


def _cells(matrix: np.ndarray) -> dict[tuple[int, int], int]:
    """Non-zero cells of a run-length matrix keyed by (grey level, run length)."""
    i, j = np.nonzero(matrix)
    return {(int(a) + 1, int(b) + 1): int(matrix[a, b]) for a, b in zip(i, j, strict=True)}


def _twin_counts(levels, mask, n_levels, planar):
    """Slow twin of the run kernel: order the grid along each line, group equal neighbours.

    Every voxel gets the line through it (its origin: the last grid voxel going back along
    -m) and its position t on that line; sorted by (line, t), a run is a maximal group of
    consecutive voxels of one line with one grey level inside the mask.
    """
    offsets = direction_vectors(planar)
    shape = np.array(levels.shape)
    out = np.zeros((shape[0] if planar else 1, len(offsets), n_levels, shape.max()),
                   dtype=np.int64)
    voxels = np.indices(levels.shape).reshape(3, -1).T
    values = np.where(mask, levels, 0).ravel()
    for k, m in enumerate(offsets):
        back = [voxels[:, a] if m[a] > 0 else shape[a] - 1 - voxels[:, a]
                for a in range(3) if m[a] != 0]
        t = np.min(back, axis=0)
        line = np.ravel_multi_index((voxels - t[:, None] * m).T, levels.shape)
        order = np.lexsort((t, line))
        for (_, value), group in itertools.groupby(order, key=lambda v: (line[v], values[v])):
            run = list(group)
            if value > 0:
                s = voxels[run[0], 0] if planar else 0
                out[s, k, value - 1, len(run) - 1] += 1
    return out


def _random_roi(rng, shape, n_levels):
    mask = rng.random(shape) < 0.8
    levels = np.where(mask, rng.integers(1, n_levels + 1, size=shape), 0).astype(np.int64)
    return levels, mask


def test_phantom_2d_matrices_per_slice_equal_the_manuals(digital_phantom):
    levels, mask = digital_phantom
    per_slice = run_length_counts(levels, mask, n_levels=6, planar=True).sum(axis=1)
    for z, cells in enumerate(PHANTOM_2D_MERGED):
        assert _cells(per_slice[z]) == cells, f"slice {z}"


def test_phantom_3d_merged_matrix_equals_the_manuals(digital_phantom):
    levels, mask = digital_phantom
    counts = run_length_counts(levels, mask, n_levels=6, planar=False)
    assert counts.shape[:2] == (1, 13)
    assert _cells(counts.sum(axis=(0, 1))) == PHANTOM_3D_MERGED


@pytest.mark.parametrize(("shape", "n_levels"),
                         [((3, 5, 6), 2), ((4, 4, 7), 3), ((2, 9, 3), 2), ((5, 5, 5), 4)])
@pytest.mark.parametrize("planar", [True, False])
def test_kernel_matches_numpy_twin(shape, n_levels, planar):
    rng = np.random.default_rng(sum(shape) * 17 + n_levels)
    levels, mask = _random_roi(rng, shape, n_levels)
    got = run_length_counts(levels, mask, n_levels=n_levels, planar=planar)
    np.testing.assert_array_equal(got, _twin_counts(levels, mask, n_levels, planar))


@pytest.mark.parametrize("planar", [True, False])
def test_every_voxel_lies_in_one_run_per_direction(planar):
    """Σ_j j r_ij of every slice and direction is the number of voxels of grey level i."""
    rng = np.random.default_rng(11)
    levels, mask = _random_roi(rng, (4, 6, 5), 3)
    counts = run_length_counts(levels, mask, n_levels=3, planar=planar)
    covered = counts @ np.arange(1, counts.shape[-1] + 1)
    planes = levels if planar else levels.reshape(1, -1)
    for s, plane in enumerate(planes):
        voxels = np.bincount(plane[plane > 0], minlength=4)[1:]
        np.testing.assert_array_equal(covered[s], np.broadcast_to(voxels, covered[s].shape))


def test_one_row_runs_and_features_equal_hand_computed_values():
    """One row 1 1 2 2 2: along x runs (1, 2) and (2, 3); along y and diagonals 5 runs of 1."""
    levels = np.array([[[1, 1, 2, 2, 2]]], dtype=np.int64)
    mask = levels > 0
    counts = run_length_counts(levels, mask, n_levels=2, planar=True)
    k = [tuple(v) for v in direction_vectors(planar=True)].index((0, 0, 1))
    assert _cells(counts[0, k]) == {(1, 2): 1, (2, 3): 1}
    assert _cells(counts.sum(axis=(0, 1))) == {(1, 1): 6, (1, 2): 1, (2, 1): 9, (2, 3): 1}
    merged = glrlm_features(levels, mask, SPACING, n_levels=2, aggregation="2_5d_vmrg")
    assert merged["rlm_sre"] == pytest.approx((15 + 1 / 4 + 1 / 9) / 17)
    assert merged["rlm_lre"] == pytest.approx((15 + 4 + 9) / 17)
    assert merged["rlm_glnu"] == pytest.approx((7**2 + 10**2) / 17)
    assert merged["rlm_r_perc"] == pytest.approx(17 / 20)  # N_v summed over 4 directions
    per_direction = glrlm_features(levels, mask, SPACING, n_levels=2, aggregation="2_5d_dmrg")
    assert per_direction["rlm_lre"] == pytest.approx(((4 + 9) / 2 + 3 * 1) / 4)
    assert per_direction["rlm_r_perc"] == pytest.approx((2 / 5 + 3 * 1) / 4)


def test_merged_run_percentage_divides_by_voxels_of_every_matrix(digital_phantom):
    """Run percentage of merged matrices divides by N_v summed over the merged matrices."""
    levels, mask = digital_phantom
    n_runs = sum(PHANTOM_3D_MERGED.values())
    f = glrlm_features(levels, mask, SPACING, n_levels=6, aggregation="3d_vmrg")
    assert f["rlm_r_perc"] == pytest.approx(n_runs / (13 * mask.sum()))
    n_runs_2d = sum(sum(c.values()) for c in PHANTOM_2D_MERGED)
    f = glrlm_features(levels, mask, SPACING, n_levels=6, aggregation="2_5d_vmrg")
    assert f["rlm_r_perc"] == pytest.approx(n_runs_2d / (4 * mask.sum()))


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_every_feature_returned_and_finite(aggregation):
    rng = np.random.default_rng(5)
    levels, mask = _random_roi(rng, (3, 7, 6), 4)
    f = glrlm_features(levels, mask, SPACING, n_levels=4, aggregation=aggregation)
    assert set(f) == {d.name for d in FEATURES}
    assert all(np.isfinite(v) for v in f.values())
    assert 0 < f["rlm_r_perc"] <= 1
    assert f["rlm_glnu_norm"] <= 1


def test_empty_slices_do_not_count():
    """Slices without voxels add nothing to the 2D averages."""
    levels = np.zeros((3, 4, 4), dtype=np.int64)
    levels[1, 1:3, :] = [[1, 2, 2, 1], [1, 1, 2, 2]]
    for aggregation in ("2d_avg", "2d_smrg"):
        full = glrlm_features(levels, levels > 0, SPACING, n_levels=2, aggregation=aggregation)
        alone = glrlm_features(levels[1:2], levels[1:2] > 0, SPACING, n_levels=2,
                               aggregation=aggregation)
        assert full == alone


def test_errors_name_the_culprit():
    levels = np.ones((2, 2, 2), dtype=np.int64)
    mask = np.ones((2, 2, 2), dtype=bool)
    with pytest.raises(FeatureError, match="GLRLM: the mask has no voxel"):
        glrlm_features(levels, ~mask, SPACING, n_levels=1, aggregation="2d_avg")
    with pytest.raises(FeatureError, match="GLRLM: aggregation must be one of .*got '2_5d'"):
        glrlm_features(levels, mask, SPACING, n_levels=1, aggregation="2_5d")
    with pytest.raises(FeatureError, match=r"GLRLM: grey levels .* 1..n_levels=1, got 0..1"):
        glrlm_features(levels - np.eye(2, dtype=np.int64), mask, SPACING, n_levels=1)


def test_family_adapter_equals_public_function(digital_phantom):
    """The spec adapter (matrices counted once for all aggregations) gives the same values."""
    levels, mask = digital_phantom
    spec = Spec.model_validate({
        "preprocessing": {"discretisation": {"method": "fixed_bin_size", "bin_width": 1}},
        "features": {"aggregations": list(AGGREGATIONS)},
    })
    roi = RoiData(image=levels.astype(np.float64), morph_mask=mask, int_mask=mask,
                  spacing=(2.0, 2.0, 2.0), levels=levels, n_levels=6, unit="a.u.")
    values = FAMILY.compute(roi, spec)
    expected = {
        (name, aggregation): value
        for aggregation in AGGREGATIONS
        for name, value in glrlm_features(
            levels, mask, SPACING, n_levels=6, aggregation=aggregation
        ).items()
    }
    np.testing.assert_equal(values, expected)


@pytest.mark.parametrize("aggregation", ["2d_avg", "2d_smrg", "2_5d_dmrg", "2_5d_vmrg",
                                         "3d_avg", "3d_vmrg"])
def test_sparse_runs_equal_dense_runs(aggregation, monkeypatch):
    """Many grey levels are counted as sparse run entries; the features must not change."""
    from radiome.features import glrlm

    rng = np.random.default_rng(5)
    levels = rng.integers(1, 6, size=(6, 10, 9)) * rng.integers(1, 60, size=(6, 10, 9))
    mask = rng.random(levels.shape) < 0.85
    mask[3] = False
    monkeypatch.setattr(glrlm, "_SPARSE_ABOVE", 10**9)
    dense = glrlm.glrlm_features(levels, mask, (1.0, 1.0, 1.0), n_levels=300,
                                 aggregation=aggregation)
    monkeypatch.setattr(glrlm, "_SPARSE_ABOVE", 0)
    sparse = glrlm.glrlm_features(levels, mask, (1.0, 1.0, 1.0), n_levels=300,
                                  aggregation=aggregation)
    for name in dense:
        assert sparse[name] == pytest.approx(dense[name], rel=1e-12), name
