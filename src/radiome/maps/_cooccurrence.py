"""Grey level co-occurrence maps (IBSI LFYI): counts updated as the kernel slides.

The kernel's co-occurrence matrices are kept as counts of neighbour pairs, each pair once in
the upper triangle (i <= j) of its matrix, as :func:`radiome.features.glcm.cooccurrence_counts`
counts them. When the kernel moves one voxel along x, each voxel of the leaving slab takes its
pairs with the voxels still in the kernel out of the counts, and each voxel of the entering
slab adds its pairs with the voxels already in; nothing is counted again from scratch.

Every aggregation the spec asks for keeps its own matrices (ids ``0..M-1``): ``3d_avg`` one per
volumetric direction, ``3d_vmrg`` one, ``2d_avg`` one per slice of the kernel and in-slice
direction, ``2d_smrg`` one per slice, ``2_5d_dmrg`` one per in-slice direction, ``2_5d_vmrg``
one. A pair of direction k in kernel slice s adds to the matrices ``matrix_of[s, k]``. Each
matrix lists its non-zero cells (swap-remove on the way out), so a kernel's features read only
those; they are :func:`radiome.features.glcm` 's own sums (``_feature_means``), averaged over
the aggregation's non-empty matrices.
"""

from __future__ import annotations

import numpy as np

from radiome._kernels import kernel
from radiome.features.glcm import _feature_means

__all__ = ["cooccurrence_maps", "matrix_layout"]

#: Matrices of each aggregation: (per kernel slice, per direction, volumetric directions).
_LAYOUT = {
    "2d_avg": (True, True, False),
    "2d_smrg": (True, False, False),
    "2_5d_dmrg": (False, True, False),
    "2_5d_vmrg": (False, False, False),
    "3d_avg": (False, True, True),
    "3d_vmrg": (False, False, True),
}


def matrix_layout(aggregations: list[str], planar_direction: np.ndarray,
                  n_slices: int) -> tuple[np.ndarray, np.ndarray]:
    """Which matrices a pair adds to, and where each aggregation's matrices start.

    Parameters
    ----------
    aggregations : list of str
        GLCM aggregation methods.
    planar_direction : (D,) bool ndarray
        True for the in-slice directions among the D volumetric ones.
    n_slices : int
        Slices of the kernel (2 r_z + 1).

    Returns
    -------
    matrix_of : (n_slices, D, A) int64 ndarray
        Matrix id of a pair of direction k in kernel slice s, per aggregation (-1: none).
    starts : (A + 1,) int64 ndarray
        The matrices of aggregation a are ``starts[a]:starts[a + 1]``.
    """
    n_dirs = planar_direction.size
    planar_index = np.cumsum(planar_direction) - 1
    matrix_of = np.full((n_slices, n_dirs, len(aggregations)), -1, dtype=np.int64)
    starts = [0]
    for a, aggregation in enumerate(aggregations):
        per_slice, per_direction, volumetric = _LAYOUT[aggregation]
        directions = n_dirs if volumetric else int(planar_direction.sum())
        for s in range(n_slices):
            for k in range(n_dirs):
                if not volumetric and not planar_direction[k]:
                    continue
                d = k if volumetric else planar_index[k]
                local = (s if per_slice else 0) * (directions if per_direction else 1) + (
                    d if per_direction else 0)
                matrix_of[s, k, a] = starts[-1] + local
        starts.append(starts[-1] + (n_slices if per_slice else 1) * (
            directions if per_direction else 1))
    return matrix_of, np.asarray(starts, dtype=np.int64)


@kernel()
def _count(matrices, low, high, sign, counts, position, cells, n_cells):
    """Add (sign 1) or remove (sign -1) one pair of cell (low, high) in each of ``matrices``."""
    for t in range(matrices.size):
        m = matrices[t]
        if m < 0:
            continue
        c = counts[m, low, high]
        if sign > 0:
            if c == 0:
                n = n_cells[m]
                position[m, low, high] = n
                cells[m, n, 0] = low
                cells[m, n, 1] = high
                n_cells[m] = n + 1
            counts[m, low, high] = c + 1
        else:
            counts[m, low, high] = c - 1
            if c == 1:
                at = position[m, low, high]
                last = n_cells[m] - 1
                a = cells[m, last, 0]
                b = cells[m, last, 1]
                cells[m, at, 0] = a
                cells[m, at, 1] = b
                position[m, a, b] = at
                n_cells[m] = last


@kernel()
def _toggle(u, sign, levels, inside, steps, plane, first_slice, matrix_of, counts, position,
            cells, n_cells):
    """Put voxel ``u`` into the kernel (sign 1) or take it out (sign -1) with all its pairs."""
    g = levels[u]
    if g == 0:
        return
    if sign < 0:
        inside[u] = False
    s = u // plane - first_slice
    for k in range(steps.size):
        w = u + steps[k]
        if inside[w]:
            h = levels[w]
            _count(matrix_of[s, k], min(g, h) - 1, max(g, h) - 1, sign, counts, position,
                   cells, n_cells)
        w = u - steps[k]
        if inside[w]:
            h = levels[w]
            _count(matrix_of[s, k], min(g, h) - 1, max(g, h) - 1, sign, counts, position,
                   cells, n_cells)
    if sign > 0:
        inside[u] = True


@kernel("none(i8[::1], i8[::1], i8[::1], i8[::1], i8[::1], i8[::1], i8[::1], i8, i8, i8[::1], "
        "i8[:, :, ::1], i8[::1], i8[::1], i8, i8, i4[:, :, ::1], i4[:, :, ::1], i8[:, :, ::1], "
        "i8[::1], b1[::1], f8[:, :, ::1], b1[:, ::1])", error_model="numpy")
def cooccurrence_maps(levels, grey, centres, row_starts, row_base, row_lo, row_hi, plane,
                      radius_z, steps, matrix_of, starts, n_levels, first_row, last_row,
                      counts, position, cells, n_cells, inside, out, paired):
    """GLCM features (order of ``glcm.FEATURES``) of every aggregation for the centres of rows
    ``first_row:last_row``: ``out[i, a]``, NaN where the kernel holds no neighbour pair;
    ``paired[i, a]`` is 1 where it holds one. ``n_levels[i]`` is N_g of centre i's kernel.

    The state (``counts``, ``position`` (M, G, G) int32, ``cells`` (M, C, 2), ``n_cells`` (M,),
    ``inside`` (P,) bool) is zero before and after: every row ends with an empty kernel.
    """
    grey_values = grey.astype(np.float64)
    max_cells = cells.shape[1]
    capacity = 0
    for a in range(starts.size - 1):
        capacity = max(capacity, (starts[a + 1] - starts[a]) * max_cells)
    entry_matrix = np.empty(capacity, dtype=np.int64)
    entry_row = np.empty(capacity, dtype=np.int64)
    entry_col = np.empty(capacity, dtype=np.int64)
    entry_count = np.empty(capacity)
    width = 0
    for r in range(row_lo.size):
        width = max(width, row_hi[r] - row_lo[r] + 1)
    for q in range(first_row, last_row):
        current = -1
        first_slice = centres[row_starts[q]] // plane - radius_z
        for i in range(row_starts[q], row_starts[q + 1]):
            centre = centres[i]
            if current < 0 or centre - current > width:
                if current >= 0:
                    for r in range(row_base.size):
                        for dx in range(row_lo[r], row_hi[r] + 1):
                            _toggle(current + row_base[r] + dx, -1, levels, inside, steps, plane,
                                    first_slice, matrix_of, counts, position, cells, n_cells)
                for r in range(row_base.size):
                    for dx in range(row_lo[r], row_hi[r] + 1):
                        _toggle(centre + row_base[r] + dx, 1, levels, inside, steps, plane,
                                first_slice, matrix_of, counts, position, cells, n_cells)
            else:
                while current < centre:
                    for r in range(row_base.size):
                        _toggle(current + row_base[r] + row_lo[r], -1, levels, inside, steps,
                                plane, first_slice, matrix_of, counts, position, cells, n_cells)
                        _toggle(current + 1 + row_base[r] + row_hi[r], 1, levels, inside,
                                steps, plane, first_slice, matrix_of, counts, position, cells,
                                n_cells)
                    current += 1
            current = centre
            for a in range(starts.size - 1):
                n = 0
                present = 0
                for m in range(starts[a], starts[a + 1]):
                    if n_cells[m] == 0:
                        continue
                    for e in range(n_cells[m]):
                        low = cells[m, e, 0]
                        high = cells[m, e, 1]
                        entry_matrix[n] = present
                        entry_row[n] = low
                        entry_col[n] = high
                        entry_count[n] = counts[m, low, high]
                        n += 1
                    present += 1
                paired[i, a] = present > 0
                if present == 0:
                    out[i, a, :] = np.nan
                    continue
                out[i, a, :] = _feature_means(entry_matrix[:n], entry_row[:n], entry_col[:n],
                                              entry_count[:n], present, grey_values,
                                              n_levels[i])
        if current >= 0:
            for r in range(row_base.size):
                for dx in range(row_lo[r], row_hi[r] + 1):
                    _toggle(current + row_base[r] + dx, -1, levels, inside, steps, plane,
                            first_slice, matrix_of, counts, position, cells, n_cells)
