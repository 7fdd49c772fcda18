"""Shared machinery of the GLSZM, GLDZM, NGTDM and NGLDM families (IBSI 1, 9SAK/VMDZ/IPET/REK0).

Grid distances are in voxels, not mm. A neighbourhood at Chebyshev distance δ holds the
offsets m ≠ 0 with max(|m_z|, |m_y|, |m_x|) ≤ δ; "planar" neighbourhoods (2D and 2.5D) keep
m_z = 0, so nothing links or averages across slices.

The four families aggregate alike (IBSI 1: 8QNN, 62GR, KOBO):

- ``2d``: one matrix per slice, features computed per slice and averaged over the slices
  that hold voxels of the intensity mask;
- ``2_5d``: the per-slice matrices summed into one (with N_v summed), then features;
- ``3d``: one matrix from volumetric (26-connected) neighbourhoods.

GLSZM, GLDZM and NGLDM share one kind of matrix, a count c_ij of grey level i against a
positive integer j (zone size, zone distance, dependence count). It is kept sparse, as the
(i, j, c_ij) of its non-zero cells, and its 17 generic features are computed here once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np

from radiome._kernels import kernel
from radiome.errors import FeatureError

__all__ = [
    "DIMENSIONS",
    "CountMatrix",
    "batch_means",
    "Zones",
    "by_dimension",
    "check_inputs",
    "count_features",
    "count_features_batch",
    "count_matrix",
    "dimensions_of",
    "flat_steps",
    "label_zones",
    "mean_over_slices",
    "neighbour_offsets",
    "padded_levels",
    "slice_count_features",
    "zones_of",
]

#: The GLSZM/GLDZM/NGTDM/NGLDM aggregations in IBSI order: 8QNN, 62GR, KOBO.
DIMENSIONS: tuple[str, ...] = ("2d", "2_5d", "3d")


def dimensions_of(aggregations: Iterable[str]) -> list[str]:
    """The dimensions (2d, 2_5d, 3d) present among GLCM-style aggregation methods, in IBSI order."""
    present = {a.rsplit("_", 1)[0] for a in aggregations}  # 2d_avg -> 2d, 2_5d_vmrg -> 2_5d
    return [d for d in DIMENSIONS if d in present]


def by_dimension(
    aggregations: Iterable[str], features_of: Callable[[str], dict[str, float]]
) -> dict[tuple[str, str], float]:
    """``{(feature name, dimension): value}`` of ``features_of(dimension)`` for every 2D, 2.5D
    and 3D dimension among the aggregation methods."""
    return {
        (name, dimension): value
        for dimension in dimensions_of(aggregations)
        for name, value in features_of(dimension).items()
    }


def check_inputs(
    levels: np.ndarray, mask: np.ndarray, n_levels: int, dimension: str, family: str
) -> tuple[np.ndarray, np.ndarray]:
    """C-contiguous int64 levels and bool mask of one grid, else a FeatureError naming the fault."""
    problems = []
    if dimension not in DIMENSIONS:
        problems.append(f"aggregation must be one of {', '.join(DIMENSIONS)}, got {dimension!r}")
    levels = np.asarray(levels)
    mask = np.asarray(mask)
    if levels.ndim != 3 or levels.shape != mask.shape:
        problems.append(
            f"levels and mask must be 3-D arrays of one shape, got {levels.shape} and {mask.shape}"
        )
    else:
        levels = np.ascontiguousarray(levels, dtype=np.int64)
        mask = np.ascontiguousarray(mask, dtype=np.bool_)
        inside, low, high = _range_in_mask(levels.reshape(-1), mask.reshape(-1))
        if not inside:
            problems.append("the mask has no voxel")
        elif low < 1 or high > n_levels:
            problems.append(
                f"grey levels inside the mask must lie in 1..n_levels={n_levels}, "
                f"got {low}..{high}"
            )
    if problems:
        msg = f"{family}: " + "; ".join(problems)
        raise FeatureError(msg)
    return levels, mask


@kernel("UniTuple(i8, 3)(i8[::1], b1[::1])")
def _range_in_mask(levels, mask):
    """(number, lowest, highest) of the levels inside the mask (flat arrays)."""
    count = 0
    low = high = 0
    for v in range(levels.size):
        if mask[v]:
            level = levels[v]
            if count == 0 or level < low:
                low = level
            if count == 0 or level > high:
                high = level
            count += 1
    return count, low, high


def neighbour_offsets(distance: int, planar: bool, *, backward: bool = False) -> np.ndarray:
    """(k, 3) int64 (z, y, x) offsets m ≠ 0 within Chebyshev ``distance``, in C order.

    ``backward`` keeps the offsets that precede the centre in C order (half the neighbourhood),
    as a one-pass zone labelling needs.
    """
    return _offsets(distance, planar, backward).copy()


@functools.lru_cache(maxsize=64)
def _offsets(distance: int, planar: bool, backward: bool) -> np.ndarray:
    """The offsets of :func:`neighbour_offsets`, computed once per argument set."""
    dz = 0 if planar else distance
    grid = np.mgrid[-dz:dz + 1, -distance:distance + 1, -distance:distance + 1]
    offsets = grid.reshape(3, -1).T
    keys = (offsets[:, 0] * (2 * distance + 1) + offsets[:, 1]) * (2 * distance + 1) + offsets[:, 2]
    keep = keys < 0 if backward else keys != 0
    return np.ascontiguousarray(offsets[keep], dtype=np.int64)


@kernel()
def _find(parent, i):
    """Root of voxel ``i`` in the union-find forest, halving the path on the way."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def padded_levels(levels: np.ndarray, mask: np.ndarray,
                  width: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
    """Grey levels as kernels walk them: 0 outside the mask, ``width`` such voxels added on
    every side, flattened; the flat indices of the mask voxels (C order) and the padded shape.

    Inputs as from :func:`check_inputs` (levels >= 1 in the mask), so a neighbour belongs to
    the mask exactly when its level is not 0, and no offset within ``width`` leaves the array.
    """
    shape = tuple(n + 2 * width for n in levels.shape)
    flat = np.zeros(int(np.prod(shape)), dtype=np.int64)
    voxels = np.empty(levels.size, dtype=np.int64)
    used = _pad_flat(levels, mask, width, shape[1], shape[2], flat, voxels)
    return flat, voxels[:used], shape  # type: ignore[return-value]


@kernel("i8(i8[:, :, ::1], b1[:, :, ::1], i8, i8, i8, i8[::1], i8[::1])")
def _pad_flat(levels, mask, width, ny, nx, flat, voxels):
    """Write the mask's levels into ``flat`` (padded, rows ``ny`` x ``nx``) and their flat
    indices into ``voxels``, in C order; return how many."""
    n = 0
    for z in range(levels.shape[0]):
        for y in range(levels.shape[1]):
            at = ((z + width) * ny + y + width) * nx + width
            for x in range(levels.shape[2]):
                if mask[z, y, x]:
                    flat[at + x] = levels[z, y, x]
                    voxels[n] = at + x
                    n += 1
    return n


def flat_steps(offsets: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """(k,) int64 flat index steps of (k, 3) (z, y, x) offsets in a C-ordered array of ``shape``."""
    return np.ascontiguousarray(offsets @ np.array([shape[1] * shape[2], shape[2], 1],
                                                   dtype=np.int64))


@kernel("i8(i8[::1], i8[::1], i8[::1], i8[::1])")
def _label_zones_kernel(flat, voxels, steps, voxel_zone):
    """Fill ``voxel_zone`` with the zone id of each mask voxel (0.. by first voxel in C
    order); return n_zones. ``flat``, ``voxels`` as from :func:`padded_levels`, ``steps``
    the backward neighbour steps."""
    parent = np.arange(flat.size)
    for v in range(voxels.size):
        c = voxels[v]
        g = flat[c]
        for k in range(steps.size):
            w = c + steps[k]
            if flat[w] == g:
                a = _find(parent, c)
                b = _find(parent, w)
                if a < b:
                    parent[b] = a
                elif b < a:
                    parent[a] = b
    labels = np.empty(flat.size, dtype=np.int64)
    n_zones = 0
    for v in range(voxels.size):
        c = voxels[v]
        root = _find(parent, c)
        if root == c:
            labels[c] = n_zones
            n_zones += 1
        else:
            labels[c] = labels[root]  # the root comes first in C order
        voxel_zone[v] = labels[c]
    return n_zones


def _voxel_zones(levels: np.ndarray, mask: np.ndarray,
                 planar: bool) -> tuple[np.ndarray, int]:
    """The zone id of every mask voxel (C order) and the number of zones."""
    flat, voxels, shape = padded_levels(levels, mask, 1)
    voxel_zone = np.empty(voxels.size, dtype=np.int64)
    steps = flat_steps(neighbour_offsets(1, planar, backward=True), shape)
    return voxel_zone, int(_label_zones_kernel(flat, voxels, steps, voxel_zone))


def label_zones(levels: np.ndarray, mask: np.ndarray, planar: bool) -> tuple[np.ndarray, int]:
    """Zones of equal grey level linked at Chebyshev distance 1 (8-connected if planar, else 26).

    Returns the (Z, Y, X) int64 zone id of every voxel (0.. in order of each zone's first voxel
    in C order, -1 outside ``mask``) and the number of zones. Inputs as from :func:`check_inputs`.
    """
    voxel_zone, n_zones = _voxel_zones(levels, mask, planar)
    labels = np.full(levels.shape, -1, dtype=np.int64)
    labels[mask] = voxel_zone
    return labels, n_zones


class Zones(NamedTuple):
    """The zones of an ROI: the zone id of each mask voxel (C order) and each zone's attributes."""

    voxel_zone: np.ndarray
    level: np.ndarray
    size: np.ndarray
    slice: np.ndarray


def zones_of(levels: np.ndarray, mask: np.ndarray, planar: bool) -> Zones:
    """Grey level, size (voxels) and slice (z index; 0 unless ``planar``) of every zone."""
    voxel_zone, n_zones = _voxel_zones(levels, mask, planar)
    level = np.zeros(n_zones, dtype=np.int64)
    level[voxel_zone] = levels[mask]
    zone_slice = np.zeros(n_zones, dtype=np.int64)
    if planar:
        zone_slice[voxel_zone] = np.nonzero(mask)[0]
    return Zones(voxel_zone, level, np.bincount(voxel_zone, minlength=n_zones), zone_slice)


class CountMatrix(NamedTuple):
    """A sparse count matrix: its non-zero cells c_ij at grey level i and column j (j >= 1)."""

    level: np.ndarray
    column: np.ndarray
    count: np.ndarray


def count_matrix(level: np.ndarray, column: np.ndarray, count: np.ndarray) -> CountMatrix:
    """The count matrix: ``count`` summed over equal (level, column) pairs."""
    level = np.asarray(level, dtype=np.int64)
    column = np.asarray(column, dtype=np.int64)
    width = int(column.max()) + 1 if column.size else 1
    cells, inverse = np.unique(level * width + column, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=np.asarray(count, dtype=np.float64),
                         minlength=cells.size)
    return CountMatrix(cells // width, cells % width, counts)


def _marginal_squares(matrix: np.ndarray, index: np.ndarray, count: np.ndarray,
                      n_matrices: int) -> np.ndarray:
    """Σ (marginal sum)² per matrix: the counts summed over equal (matrix, index), squared."""
    width = int(index.max()) + 1 if index.size else 1
    cells, inverse = np.unique(matrix * width + index, return_inverse=True)
    sums = np.bincount(inverse.ravel(), weights=count, minlength=cells.size)
    return np.bincount(cells // width, weights=sums * sums, minlength=n_matrices)


#: Largest (matrices × marginal width) for which the marginals are summed in a dense table.
_DENSE_MARGINALS = 1 << 22


@kernel("f8[:, ::1](i8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], i8, i8[::1], i8[::1], b1)")
def _batch_sums(matrix, i, j, c, p, plogp, n_matrices, level, column, marginals):
    """Per-matrix sums of the generic features, each over the entries in their order.

    Columns: Σ i p, Σ j p, Σ c/j², Σ c j², Σ c/i², Σ c i², Σ c/(i² j²), Σ c i²/j², Σ c j²/i²,
    Σ c i² j², Σ p log2 p, Σ p², Σ (i - μ_i)² p, Σ (j - μ_j)² p, and with ``marginals``
    Σ c_i.² and Σ c_.j² (marginal sums over ``level`` and ``column``). The same additions in
    the same order as ``np.bincount`` over the entries, so the same floating-point result.
    """
    sums = np.zeros((n_matrices, 16))
    for e in range(matrix.size):
        k = matrix[e]
        i2 = i[e] * i[e]
        j2 = j[e] * j[e]
        sums[k, 0] += i[e] * p[e]
        sums[k, 1] += j[e] * p[e]
        sums[k, 2] += c[e] / j2
        sums[k, 3] += c[e] * j2
        sums[k, 4] += c[e] / i2
        sums[k, 5] += c[e] * i2
        sums[k, 6] += c[e] / (i2 * j2)
        sums[k, 7] += c[e] * i2 / j2
        sums[k, 8] += c[e] * j2 / i2
        sums[k, 9] += c[e] * i2 * j2
        sums[k, 10] += plogp[e]
        sums[k, 11] += p[e] * p[e]
    for e in range(matrix.size):
        k = matrix[e]
        di = i[e] - sums[k, 0]
        dj = j[e] - sums[k, 1]
        sums[k, 12] += di * di * p[e]
        sums[k, 13] += dj * dj * p[e]
    if marginals and matrix.size:
        for column_of, index in ((14, level), (15, column)):
            table = np.zeros((n_matrices, index.max() + 1))
            for e in range(matrix.size):
                table[matrix[e], index[e]] += c[e]
            for k in range(n_matrices):
                for v in range(table.shape[1]):
                    sums[k, column_of] += table[k, v] * table[k, v]
    return sums


def count_features_batch(matrix: np.ndarray, m: CountMatrix, n_voxels: np.ndarray,
                         n_matrices: int) -> dict[str, np.ndarray]:
    """The 17 generic features of K count matrices at once, keyed by generic name, (K,) each.

    Cell e of ``m`` belongs to matrix ``matrix[e]`` (0..K-1); ``n_voxels`` (K,) is N_v of
    each matrix. Definitions as in :func:`count_features`; an empty matrix gives NaN.
    """
    matrix = np.asarray(matrix, dtype=np.int64)
    level = np.asarray(m.level, dtype=np.int64)
    column = np.asarray(m.column, dtype=np.int64)
    i = level.astype(np.float64)
    j = column.astype(np.float64)
    c = np.asarray(m.count, dtype=np.float64)
    n_s = np.bincount(matrix, weights=c, minlength=n_matrices)
    widest = max(int(level.max()), int(column.max())) + 1 if c.size else 1
    dense = n_matrices * widest <= _DENSE_MARGINALS
    with np.errstate(divide="ignore", invalid="ignore"):
        p = c / n_s[matrix]
        sums = _batch_sums(matrix, i, j, c, p, p * np.log2(p), n_matrices, level, column,
                           dense).T
        if dense:
            ci2, cj2 = sums[14], sums[15]
        else:
            ci2 = _marginal_squares(matrix, level, c, n_matrices)
            cj2 = _marginal_squares(matrix, column, c, n_matrices)
        return {
            "low_j": sums[2] / n_s,
            "high_j": sums[3] / n_s,
            "low_i": sums[4] / n_s,
            "high_i": sums[5] / n_s,
            "low_i_low_j": sums[6] / n_s,
            "high_i_low_j": sums[7] / n_s,
            "low_i_high_j": sums[8] / n_s,
            "high_i_high_j": sums[9] / n_s,
            "i_nu": ci2 / n_s,
            "i_nu_norm": ci2 / (n_s * n_s),
            "j_nu": cj2 / n_s,
            "j_nu_norm": cj2 / (n_s * n_s),
            "percentage": n_s / np.asarray(n_voxels, dtype=np.float64),
            "i_var": sums[12],
            "j_var": sums[13],
            "entropy": -sums[10],
            "energy": sums[11],
        }


def count_features(m: CountMatrix, n_voxels: int) -> dict[str, float]:
    """The 17 generic features of a count matrix, keyed by generic name.

    With N_s = Σ c_ij, p_ij = c_ij / N_s, c_i. and c_.j the marginal sums:
    ``low_j`` Σ c_.j / j² / N_s; ``high_j`` Σ j² c_.j / N_s; ``low_i`` Σ c_i. / i² / N_s;
    ``high_i`` Σ i² c_i. / N_s; ``low_i_low_j`` Σ c_ij / (i² j²) / N_s; ``high_i_low_j``
    Σ i² c_ij / j² / N_s; ``low_i_high_j`` Σ j² c_ij / i² / N_s; ``high_i_high_j``
    Σ i² j² c_ij / N_s; ``i_nu`` Σ c_i.² / N_s and ``i_nu_norm`` Σ c_i.² / N_s²;
    ``j_nu`` and ``j_nu_norm`` likewise over c_.j; ``percentage`` N_s / N_v; ``i_var``
    Σ (i - μ_i)² p_ij with μ_i = Σ i p_ij; ``j_var`` likewise in j; ``entropy``
    -Σ p_ij log2 p_ij; ``energy`` Σ p_ij².
    """
    batch = count_features_batch(np.zeros(m.count.size, dtype=np.int64), m,
                                 np.array([n_voxels]), 1)
    return {name: float(values[0]) for name, values in batch.items()}


def batch_means(batch: dict[str, np.ndarray], names: dict[str, str]) -> dict[str, float]:
    """``{name: mean of batch[generic]}`` over the matrices of :func:`count_features_batch`,
    for ``names`` mapping each family feature name to its generic name."""
    means = np.array([batch[key] for key in names.values()]).mean(axis=1)
    return dict(zip(names, means.tolist(), strict=True))


def mean_over_slices(per_slice: list[dict[str, float]]) -> dict[str, float]:
    """Feature-wise mean of per-slice feature values (2D aggregation, 8QNN)."""
    return {name: float(np.mean([f[name] for f in per_slice])) for name in per_slice[0]}


def slice_count_features(
    level: np.ndarray,
    column: np.ndarray,
    count: np.ndarray,
    slice_of: np.ndarray,
    voxels_per_slice: np.ndarray,
    dimension: str,
    names: dict[str, str],
) -> dict[str, float]:
    """Count-matrix features of one aggregation from (i, j, count, slice) entries.

    ``2d`` averages the features of each slice's matrix over the slices with voxels; ``2_5d``
    and ``3d`` compute them from one matrix of every entry, with N_v of the whole mask.
    ``names`` maps each family feature name to its generic name in :func:`count_features`.
    """
    if dimension == "2d":
        occupied = np.flatnonzero(voxels_per_slice)
        renumber = np.full(voxels_per_slice.size, -1, dtype=np.int64)
        renumber[occupied] = np.arange(occupied.size)
        matrix = renumber[slice_of]
        # One count matrix per slice: merge equal (slice, level, column) cells.
        cells = count_matrix(matrix * (int(level.max()) + 1) + level, column, count)
        width = int(level.max()) + 1
        batch = count_features_batch(
            cells.level // width, CountMatrix(cells.level % width, cells.column, cells.count),
            voxels_per_slice[occupied], occupied.size)
        return batch_means(batch, names)
    generic = count_features(count_matrix(level, column, count), int(voxels_per_slice.sum()))
    return {name: generic[key] for name, key in names.items()}
