"""Grey level run length features (IBSI 1 family TP0I).

A run is a maximal sequence of consecutive voxels of the intensity mask with one grey level
along direction m. r_ij is the number of runs of grey level i and length j (N_g x N_r), N_s =
Σ r_ij the number of runs, N_v the number of voxels in the intensity mask (summed over the
matrices when matrices are merged), p_ij = r_ij / N_s, r_i. and r_.j the marginal sums.
Directions and the six aggregation methods are described in
:mod:`radiome.features._directions`; runs always step to the adjacent voxel (distance 1).
"""

from __future__ import annotations

import numpy as np

from radiome._kernels import kernel
from radiome.features._directions import (
    SparseStack,
    compact_levels,
    direction_vectors,
    features_by_aggregation,
    is_planar,
    merged,
    merged_entries,
    present_matrices,
)
from radiome.features._zones import (
    CountMatrix,
    batch_means,
    count_features_batch,
    flat_steps,
    padded_levels,
)
from radiome.features.registry import FamilyDef, FeatureDef, FeatureValues
from radiome.preprocess.roi import RoiData
from radiome.spec import Spec

__all__ = ["FAMILY", "FEATURES", "glrlm_features", "run_length_counts"]

#: Runs are counted sparsely when a dense matrix would have this many cells per voxel.
_SPARSE_ABOVE = 4

FEATURES = (
    FeatureDef("rlm_sre", "22OV", "rlm"),
    FeatureDef("rlm_lre", "W4KF", "rlm"),
    FeatureDef("rlm_lgre", "V3SW", "rlm"),
    FeatureDef("rlm_hgre", "G3QZ", "rlm"),
    FeatureDef("rlm_srlge", "HTZT", "rlm"),
    FeatureDef("rlm_srhge", "GD3A", "rlm"),
    FeatureDef("rlm_lrlge", "IVPO", "rlm"),
    FeatureDef("rlm_lrhge", "3KUM", "rlm"),
    FeatureDef("rlm_glnu", "R5YN", "rlm"),
    FeatureDef("rlm_glnu_norm", "OVBL", "rlm"),
    FeatureDef("rlm_rlnu", "W92Y", "rlm"),
    FeatureDef("rlm_rlnu_norm", "IC23", "rlm"),
    FeatureDef("rlm_r_perc", "9ZK5", "rlm"),
    FeatureDef("rlm_gl_var", "8CE5", "rlm"),
    FeatureDef("rlm_rl_var", "SXLW", "rlm"),
    FeatureDef("rlm_rl_entr", "HJ9O", "rlm"),
)

#: Each feature as a generic count-matrix feature (see ``_zones.count_features``).
_GENERIC = {
    "rlm_sre": "low_j",  # 22OV: 1/N_s Σ_j r_.j / j²
    "rlm_lre": "high_j",  # W4KF: 1/N_s Σ_j j² r_.j
    "rlm_lgre": "low_i",  # V3SW: 1/N_s Σ_i r_i. / i²
    "rlm_hgre": "high_i",  # G3QZ: 1/N_s Σ_i i² r_i.
    "rlm_srlge": "low_i_low_j",  # HTZT: 1/N_s Σ_ij r_ij / (i² j²)
    "rlm_srhge": "high_i_low_j",  # GD3A: 1/N_s Σ_ij i² r_ij / j²
    "rlm_lrlge": "low_i_high_j",  # IVPO: 1/N_s Σ_ij j² r_ij / i²
    "rlm_lrhge": "high_i_high_j",  # 3KUM: 1/N_s Σ_ij i² j² r_ij
    "rlm_glnu": "i_nu",  # R5YN: 1/N_s Σ_i r_i.²
    "rlm_glnu_norm": "i_nu_norm",  # OVBL: 1/N_s² Σ_i r_i.²
    "rlm_rlnu": "j_nu",  # W92Y: 1/N_s Σ_j r_.j²
    "rlm_rlnu_norm": "j_nu_norm",  # IC23: 1/N_s² Σ_j r_.j²
    "rlm_r_perc": "percentage",  # 9ZK5: N_s / N_v
    "rlm_gl_var": "i_var",  # 8CE5: Σ_ij (i - μ)² p_ij, μ = Σ_ij i p_ij
    "rlm_rl_var": "j_var",  # SXLW: Σ_ij (j - μ)² p_ij, μ = Σ_ij j p_ij
    "rlm_rl_entr": "entropy",  # HJ9O: -Σ_ij p_ij log2 p_ij
}


@kernel("i8(i8[::1], i8[::1], i8[::1], i8[::1], i8, i8, i8[::1])")
def _run_keys_kernel(voxels, levels, steps, slice_of, n_levels, n_lengths, out):
    """Write the key ((s D + d) N_g + i - 1) N_r + j - 1 of every run to ``out``; return how many.

    ``levels`` and ``voxels`` as from :func:`padded_levels` (width 1), ``steps`` the flat
    offset of each direction (positive: a voxel's predecessor comes first in C order),
    ``slice_of`` the matrix slice of each voxel. One pass per direction in C order carries
    each voxel's position in its run on from its predecessor, and a run is written at its
    last voxel, without branching on the levels.
    """
    n_dirs = steps.size
    position = np.empty(levels.size, dtype=np.int64)
    n = 0
    for k in range(n_dirs):
        step = steps[k]
        for v in range(voxels.size):
            at = voxels[v]
            g = levels[at]
            length = position[at - step] * (levels[at - step] == g) + 1
            position[at] = length
            out[n] = ((slice_of[v] * n_dirs + k) * n_levels + g - 1) * n_lengths + length - 1
            n += levels[at + step] != g
    return n


def _run_keys(levels: np.ndarray, mask: np.ndarray, n_levels: int,
              planar: bool) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Flat keys of every run (see :func:`_run_keys_kernel`) and the stack shape (S, D, N_g, N_r)."""
    offsets = direction_vectors(planar)
    n_lengths = max(levels.shape)
    flat, voxels, shape = padded_levels(levels, mask, 1)
    steps = flat_steps(offsets, shape)
    plane = shape[1] * shape[2]
    slice_of = voxels // plane - 1 if planar else np.zeros(voxels.size, dtype=np.int64)
    keys = np.empty(offsets.shape[0] * voxels.size, dtype=np.int64)
    used = _run_keys_kernel(voxels, flat, steps, slice_of, n_levels, n_lengths, keys)
    n_slices = levels.shape[0] if planar else 1
    return keys[:used], (n_slices, offsets.shape[0], n_levels, n_lengths)


def _sparse_run_counts(levels: np.ndarray, mask: np.ndarray, *, n_levels: int,
                       planar: bool) -> SparseStack:
    """The runs of :func:`run_length_counts` as sparse entries, without its dense array."""
    keys, shape = _run_keys(levels, mask, n_levels, planar)
    return SparseStack.from_keys(keys, shape)


def run_length_counts(
    levels: np.ndarray, mask: np.ndarray, *, n_levels: int, planar: bool
) -> np.ndarray:
    """Run-length counts per slice and direction, in one pass over the voxels.

    Parameters
    ----------
    levels : (Z, Y, X) int64 C-contiguous ndarray
        Discretised grey levels, 1..``n_levels`` inside ``mask``.
    mask : (Z, Y, X) bool C-contiguous ndarray
        Intensity mask.
    n_levels : int
        Number of grey levels N_g.
    planar : bool
        True: the 4 in-slice directions, one matrix per slice; False: the 13 volumetric
        directions, all slices in one matrix.

    Returns
    -------
    (S, D, N_g, N_r) int64 ndarray
        r_ij of each slice (S = Z if ``planar`` else 1) and direction (order of
        :func:`radiome.features._directions.direction_vectors`); column j - 1 holds runs of
        length j, N_r = max(Z, Y, X).
    """
    keys, shape = _run_keys(levels, mask, n_levels, planar)
    return np.bincount(keys, minlength=int(np.prod(shape))).reshape(shape)


def glrlm_features(
    levels: np.ndarray,
    mask: np.ndarray,
    spacing: tuple[float, float, float],
    *,
    n_levels: int,
    aggregation: str = "3d_vmrg",
) -> dict[str, float]:
    """Grey level run length features of one ROI for one aggregation method.

    Parameters
    ----------
    levels : (Z, Y, X) int ndarray
        Discretised grey levels, 1..``n_levels`` inside ``mask``.
    mask : (Z, Y, X) bool ndarray
        Intensity mask (not empty).
    spacing : (3,) float, mm, (z, y, x)
        Voxel size; unused (runs step on the voxel grid, and IBSI recommends no distance
        weighting) but part of the family signature.
    n_levels : int
        Number of grey levels N_g.
    aggregation : {"2d_avg", "2d_smrg", "2_5d_dmrg", "2_5d_vmrg", "3d_avg", "3d_vmrg"}
        Aggregation method (BTW3, SUJT, JJUI, ZW7Z, ITBB, IAZD).

    Returns
    -------
    dict
        ``{feature name: value}`` for every name in :data:`FEATURES`.

    Raises
    ------
    FeatureError
        Unknown aggregation, arrays of different shapes, an empty mask, or levels outside
        1..``n_levels``.

    Notes
    -----
    N_v of a matrix is the number of mask voxels it was counted on: the voxels of its slice
    (2D), of the whole mask (one direction of 2.5D or 3D), summed when matrices merge. Averages
    run over the non-empty matrices, so slices without voxels contribute nothing.
    """
    values = _by_aggregation(levels, mask, n_levels, [aggregation])
    return {name: value for (name, _), value in values.items()}


def _by_aggregation(
    levels: np.ndarray, mask: np.ndarray, n_levels: int, aggregations: list[str]
) -> FeatureValues:
    """GLRLM features of each aggregation, the matrices counted once per kind (2D or 3D).

    Runs are counted over the grey levels that occur in the ROI only (renumbered 1..G) and the
    features read the levels' own values: the same counts without the empty rows.
    """
    occurring: dict[str, np.ndarray] = {}

    def count(levels: np.ndarray, mask: np.ndarray, planar: bool) -> np.ndarray | SparseStack:
        occurring["grey"], compact = compact_levels(levels, mask, n_levels)
        g = occurring["grey"].size
        dense_cells = g * max(levels.shape)
        counting = _sparse_run_counts if dense_cells > _SPARSE_ABOVE * np.count_nonzero(mask) \
            else run_length_counts
        return counting(compact, mask, n_levels=g, planar=planar)

    def features(stack: np.ndarray | SparseStack, aggregation: str,
                 mask: np.ndarray) -> dict[str, float]:
        return _mean_features(stack, aggregation, mask, occurring["grey"])

    return features_by_aggregation(levels, mask, n_levels, aggregations, "GLRLM", count,
                                   features)


def _mean_features(stack: np.ndarray | SparseStack, aggregation: str, mask: np.ndarray,
                   grey: np.ndarray) -> dict[str, float]:
    """Features of one aggregation of an (S, D, G, N_r) stack over the grey levels ``grey``,
    averaged over its non-empty matrices."""
    if is_planar(aggregation):
        per_slice = np.count_nonzero(mask, axis=(1, 2))
    else:
        per_slice = np.array([np.count_nonzero(mask)])
    n_voxels = np.broadcast_to(per_slice[:, None], stack.shape[:2])
    matrix, level, length, counts, _ = merged_entries(stack, aggregation)
    present, matrix = present_matrices(matrix)  # empty matrices left out
    cells = CountMatrix(grey[level], length + 1, counts)
    batch = count_features_batch(matrix, cells, merged(n_voxels, aggregation)[present],
                                 present.size)
    return batch_means(batch, _GENERIC)


def _compute(roi: RoiData, spec: Spec) -> FeatureValues:
    return _by_aggregation(roi.levels, roi.int_mask, roi.n_levels, spec.aggregations)


FAMILY = FamilyDef(
    name="rlm",
    ibsi="TP0I",
    title="grey level run length matrix",
    features=FEATURES,
    compute=_compute,
    texture=True,
)
