"""Shared machinery of the directional texture families GLCM and GLRLM (IBSI 1, LFYI/TP0I).

Directions are (z, y, x) voxel offsets m. Volumetric (3D) texture uses the 13 directions of
the 26-connected neighbourhood; planar (2D and 2.5D) texture the 4 in-slice directions of the
8-connected neighbourhood, one of each pair ±m. For a Chebyshev distance δ > 1 the
direction vectors are multiplied by δ (IBSI 1, "Distances and distance weighting").

Counting kernels fill one matrix per slice and direction, a stack of shape (S, D, ...): S is
the number of slices for planar directions (slice z holds the pairs or runs of slice z) and 1
for volumetric ones. The six aggregation methods then read that stack:

- ``2d_avg`` (BTW3): one matrix per slice and direction, features averaged;
- ``2d_smrg`` (SUJT): the directions of each slice merged, features averaged over slices;
- ``2_5d_dmrg`` (JJUI): the slices of each direction merged, features averaged over
  directions;
- ``2_5d_vmrg`` (ZW7Z): every matrix merged into one;
- ``3d_avg`` (ITBB): one matrix per 3D direction, features averaged;
- ``3d_vmrg`` (IAZD): every 3D direction merged into one.

Merging sums the counts (and, for run lengths, N_v). Empty matrices (a slice without voxels,
or a direction without any pair of voxels) hold no information and are left out of the
averages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from radiome._kernels import kernel
from radiome.errors import FeatureError
from radiome.features._zones import check_inputs, neighbour_offsets
from radiome.features.registry import FeatureValues

__all__ = [
    "AGGREGATIONS",
    "MERGED_AXES",
    "SparseStack",
    "compact_levels",
    "direction_vectors",
    "features_by_aggregation",
    "is_planar",
    "merged",
    "merged_entries",
    "present_matrices",
]

#: The GLCM/GLRLM aggregation methods in IBSI order: BTW3, SUJT, JJUI, ZW7Z, ITBB, IAZD.
AGGREGATIONS: tuple[str, ...] = ("2d_avg", "2d_smrg", "2_5d_dmrg", "2_5d_vmrg", "3d_avg",
                                 "3d_vmrg")

#: Axes of the (slice, direction) stack that each aggregation sums over.
MERGED_AXES: dict[str, tuple[int, ...]] = {
    "2d_avg": (),
    "2d_smrg": (1,),
    "2_5d_dmrg": (0,),
    "2_5d_vmrg": (0, 1),
    "3d_avg": (),
    "3d_vmrg": (0, 1),
}


def is_planar(aggregation: str) -> bool:
    """True for the 2D and 2.5D aggregations, which count within slices."""
    return not aggregation.startswith("3d")


def direction_vectors(planar: bool, distance: int = 1) -> np.ndarray:
    """(D, 3) int64 (z, y, x) direction vectors: 4 in-slice or 13 volumetric, times ``distance``.

    One vector of each pair ±m, the one that follows the centre voxel in C order.
    """
    return np.ascontiguousarray(-neighbour_offsets(1, planar, backward=True)[::-1] * distance)


def features_by_aggregation(
    levels: np.ndarray,
    mask: np.ndarray,
    n_levels: int,
    aggregations: Sequence[str],
    family: str,
    count: Callable[[np.ndarray, np.ndarray, bool], np.ndarray],
    features: Callable[[np.ndarray, str, np.ndarray], dict[str, float]],
) -> FeatureValues:
    """``{(feature name, aggregation): value}``, counting once per kind (planar, volumetric).

    ``count(levels, mask, planar)`` returns the (S, D, ...) stack of matrices and
    ``features(stack, aggregation, mask)`` the family's features of one aggregation; inputs
    are checked first (FeatureError naming ``family`` and the problem).
    """
    unknown = [a for a in aggregations if a not in AGGREGATIONS]
    if unknown:
        msg = (f"{family}: aggregation must be one of {', '.join(AGGREGATIONS)}, "
               f"got {', '.join(map(repr, unknown))}")
        raise FeatureError(msg)
    if not aggregations:
        return {}
    levels, mask = check_inputs(levels, mask, n_levels, aggregations[0].rsplit("_", 1)[0], family)
    stacks: dict[bool, np.ndarray] = {}
    values: FeatureValues = {}
    for aggregation in aggregations:
        planar = is_planar(aggregation)
        if planar not in stacks:
            stacks[planar] = count(levels, mask, planar)
        for name, value in features(stacks[planar], aggregation, mask).items():
            values[(name, aggregation)] = value
    return values


def compact_levels(
    levels: np.ndarray, mask: np.ndarray, n_levels: int
) -> tuple[np.ndarray, np.ndarray]:
    """The grey levels that occur in ``mask`` (G,), and ``levels`` renumbered 1..G (0 outside).

    Texture matrices over the occurring levels only hold the same counts without the empty
    rows and columns of absent levels.
    """
    return _compact(np.ascontiguousarray(levels, dtype=np.int64),
                    np.ascontiguousarray(mask, dtype=np.bool_), int(n_levels))


@kernel("Tuple((i8[::1], i8[:, :, ::1]))(i8[:, :, ::1], b1[:, :, ::1], i8)")
def _compact(levels, mask, n_levels):
    """:func:`compact_levels` of C-contiguous int64 levels (1..n_levels in the mask)."""
    flat = levels.ravel()
    inside = mask.ravel()
    lookup = np.zeros(n_levels + 1, dtype=np.int64)
    for v in range(flat.size):
        if inside[v]:
            lookup[flat[v]] = 1
    grey = np.empty(lookup[1:].sum(), dtype=np.int64)
    g = 0
    for level in range(1, n_levels + 1):
        if lookup[level]:
            grey[g] = level
            g += 1
            lookup[level] = g
    compact = np.zeros(levels.shape, dtype=np.int64)
    out = compact.ravel()
    for v in range(flat.size):
        if inside[v]:
            out[v] = lookup[flat[v]]
    return grey, compact


class SparseStack:
    """An (S, D, R, C) stack of count matrices as sorted unique flat keys and their counts.

    Used instead of the dense array when few of its cells are not zero (many grey levels).
    """

    def __init__(self, keys: np.ndarray, counts: np.ndarray,
                 shape: tuple[int, int, int, int]) -> None:
        self.keys, self.counts, self.shape = keys, counts, shape

    @classmethod
    def from_keys(cls, keys: np.ndarray, shape: tuple[int, int, int, int]) -> SparseStack:
        """The stack counting every occurrence of each flat key ((s D + d) R + r) C + c.

        ``np.unique(keys, return_counts=True)``, sorting 32-bit keys when they fit (twice as
        fast) and counting the runs of equal keys in one pass.
        """
        narrow = np.int32 if int(np.prod(shape)) <= np.iinfo(np.int32).max else np.int64
        unique, counts = _runs(np.sort(keys.astype(narrow)))
        return cls(unique, counts, shape)


@kernel("UniTuple(i8[::1], 2)(i4[::1])")
def _runs(ordered):
    """The distinct values of a sorted array (int64) and how often each occurs."""
    unique = np.empty(ordered.size, dtype=np.int64)
    counts = np.empty(ordered.size, dtype=np.int64)
    n = -1
    for v in range(ordered.size):
        if n < 0 or ordered[v] != unique[n]:
            n += 1
            unique[n] = ordered[v]
            counts[n] = 0
        counts[n] += 1
    return unique[:n + 1], counts[:n + 1]


def merged_entries(stack: np.ndarray | SparseStack,
                   aggregation: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """(matrix, row, col, count) of the non-zero cells, and K, of the (K, R, C) matrices that an
    aggregation averages (see :func:`merged`), from a dense or sparse stack."""
    axes = MERGED_AXES[aggregation]
    if isinstance(stack, np.ndarray):
        matrices = np.ascontiguousarray(merged(stack, aggregation))
        n_matrices, n_rows, n_cols = matrices.shape
        return (*_dense_entries(matrices), n_matrices)
    if not axes:  # nothing merged: the stack's own sorted unique keys
        combined, counts = stack.keys, stack.counts
        n_slices, n_dirs, n_rows, n_cols = stack.shape
        n_matrices = n_slices * n_dirs
    else:
        n_slices, n_dirs, n_rows, n_cols = stack.shape
        cell, col = np.divmod(stack.keys, n_cols)
        cell, row = np.divmod(cell, n_rows)
        slice_index, direction = np.divmod(cell, n_dirs)
        slices = 1 if 0 in axes else n_slices
        dirs = 1 if 1 in axes else n_dirs
        matrix = (0 if 0 in axes else slice_index) * dirs + (0 if 1 in axes else direction)
        combined, inverse = np.unique((matrix * n_rows + row) * n_cols + col,
                                      return_inverse=True)
        counts = np.bincount(inverse, weights=stack.counts).astype(np.int64)
        n_matrices = slices * dirs
    cell, col = np.divmod(combined, n_cols)
    matrix, row = np.divmod(cell, n_rows)
    return matrix, row, col, counts, n_matrices


@kernel("UniTuple(i8[::1], 4)(i8[:, :, ::1])")
def _dense_entries(matrices):
    """(matrix, row, col, count) of the non-zero cells of a (K, R, C) array, in C order."""
    n_matrices, n_rows, n_cols = matrices.shape
    flat = matrices.ravel()
    n = 0
    for v in range(flat.size):
        if flat[v] != 0:
            n += 1
    matrix = np.empty(n, dtype=np.int64)
    row = np.empty(n, dtype=np.int64)
    col = np.empty(n, dtype=np.int64)
    count = np.empty(n, dtype=flat.dtype)
    n = 0
    for v in range(flat.size):
        if flat[v] != 0:
            matrix[n] = v // (n_rows * n_cols)
            row[n] = (v // n_cols) % n_rows
            col[n] = v % n_cols
            count[n] = flat[v]
            n += 1
    return matrix, row, col, count


def present_matrices(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The matrices that hold entries, and ``matrix`` renumbered 0..P-1 over them.

    ``np.unique(matrix, return_inverse=True)`` for the sorted matrix indices of
    :func:`merged_entries`, without sorting them again.
    """
    starts = np.empty(matrix.size, dtype=bool)
    starts[:1] = True
    np.not_equal(matrix[1:], matrix[:-1], out=starts[1:])
    return matrix[starts], np.cumsum(starts) - 1


def merged(stack: np.ndarray, aggregation: str) -> np.ndarray:
    """The (K, ...) matrices whose features an aggregation averages, from an (S, D, ...) stack."""
    axes = MERGED_AXES[aggregation]
    summed = stack.sum(axis=axes, keepdims=True) if axes else stack
    return summed.reshape((-1, *stack.shape[2:]))
