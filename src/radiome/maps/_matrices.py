"""Maps of the matrix families GLRLM, GLSZM, GLDZM, NGLDM (IBSI TP0I, 9SAK, VMDZ, REK0) and
NGTDM (IPET).

Runs, zones and dependences change wholesale when a kernel moves, so each kernel is copied
into a small box of its own (:func:`radiome.maps._window.gather`) and its matrices are counted
there by the families' own kernels (``_run_keys_kernel``, ``_label_zones_kernel``,
``_ngtdm_kernel``). GLRLM, GLSZM, GLDZM and NGLDM matrices leave as their sorted distinct cells
(one key per cell, with its count); :func:`count_feature_means` turns the cells of many
kernels into their features at once with :func:`radiome.features._zones.count_features_batch`,
the function every ROI's features come from. NGTDM features are computed kernel by kernel.
"""

from __future__ import annotations

import numpy as np

from radiome._kernels import kernel
from radiome.features._directions import present_matrices
from radiome.features._zones import (
    CountMatrix,
    _label_zones_kernel,
    count_features_batch,
)
from radiome.features.glrlm import _run_keys_kernel
from radiome.features.ngtdm import _MAX_COARSENESS, _ngtdm_kernel, _pair_sums
from radiome.maps._window import clear, gather

__all__ = ["count_feature_means", "dependence_entries", "distance_entries", "neighbourhood_maps",
           "run_entries", "zone_entries"]


@kernel()
def _count_slices(voxels, n, local_plane, pad, row):
    """Count the kernel's voxels (box indices ``voxels[:n]``) of each local slice in ``row``."""
    for v in range(n):
        row[voxels[v] // local_plane - pad] += 1


@kernel()
def _emit(buffer, n, kernel_index, keys, counts, owner, at):
    """Sort ``buffer[:n]``; append its distinct keys to ``keys``, how often each occurs to
    ``counts`` and ``kernel_index`` to ``owner``, from index ``at``; return the new end."""
    ordered = buffer[:n]
    ordered.sort()
    for e in range(n):
        if e == 0 or ordered[e] != ordered[e - 1]:
            keys[at] = ordered[e]
            counts[at] = 0
            owner[at] = kernel_index
            at += 1
        counts[at - 1] += 1
    return at


@kernel("none(i8[::1], i8[::1], i8, i8, i8[::1], i8[::1], i8[::1], i8[::1], i8, i8, i8[::1], "
        "i8, i8, i8[:, :, ::1], i8[::1], i8[:, ::1], i8[:, ::1], i8[:, ::1], i8[::1], "
        "i8[:, ::1])")
def run_entries(levels, centres, first, last, row_base, row_lo, row_hi, local_base,
                local_size, local_plane, steps, n_grey, n_lengths, matrix_of, starts, keys,
                counts, owner, n_entries, slice_counts):
    """The runs of the kernels of centres ``first:last`` as sorted distinct entries per
    aggregation a: ``keys[a]`` holds (m G + g - 1) N_r + length - 1 of each run of compact
    level g and ``length`` in the aggregation's matrix m (``matrix_of[s, k, a] - starts[a]``
    for a run in local slice s and direction k), ``counts[a]`` how many such runs a kernel
    has, ``owner[a]`` the kernel (from 0); ``n_entries[a]`` grows by the entries written.
    ``slice_counts`` gets each kernel's voxels per local slice. Boxes have a margin of one."""
    local = np.zeros(local_size, dtype=np.int64)
    n_kernel = 0
    for r in range(row_lo.size):
        n_kernel += row_hi[r] - row_lo[r] + 1
    voxels = np.empty(n_kernel, dtype=np.int64)
    slice_of = np.empty(n_kernel, dtype=np.int64)
    n_dirs = steps.size
    raw = np.empty(n_dirs * n_kernel, dtype=np.int64)
    mapped = np.empty(n_dirs * n_kernel, dtype=np.int64)
    for i in range(first, last):
        n = gather(centres[i], levels, levels, row_base, row_lo, row_hi, local_base, local,
                   voxels)
        for v in range(n):
            slice_of[v] = voxels[v] // local_plane - 1
        _count_slices(voxels, n, local_plane, 1, slice_counts[i - first])
        used = _run_keys_kernel(voxels[:n], local, steps, slice_of[:n], n_grey, n_lengths, raw)
        for a in range(starts.size - 1):
            n_mapped = 0
            for e in range(used):
                rest, length = divmod(raw[e], n_lengths)
                rest, grey_index = divmod(rest, n_grey)
                s, k = divmod(rest, n_dirs)
                m = matrix_of[s, k, a]
                if m >= 0:
                    mapped[n_mapped] = ((m - starts[a]) * n_grey + grey_index) * n_lengths \
                        + length
                    n_mapped += 1
            n_entries[a] = _emit(mapped, n_mapped, i - first, keys[a], counts[a], owner[a],
                                 n_entries[a])
        clear(local, voxels, n)


@kernel("i8(i8[::1], i8[::1], i8, i8, i8[::1], i8[::1], i8[::1], i8[::1], i8, i8, i8[::1], b1, "
        "i8, i8[::1], i8[::1], i8[::1], i8[:, ::1])")
def zone_entries(levels, centres, first, last, row_base, row_lo, row_hi, local_base,
                 local_size, local_plane, backward_steps, by_slice, n_grey, keys, counts, owner,
                 slice_counts):
    """The zones of the kernels of centres ``first:last`` as sorted distinct entries: key
    (s G + g - 1) K + size - 1 (local slice s when ``by_slice``, else 0; compact level g; K
    the kernel shape's size), how many zones of each, and the kernel; return how many.
    Zones link through ``backward_steps`` (8- or 26-connected); boxes have a margin of one."""
    local = np.zeros(local_size, dtype=np.int64)
    n_kernel = 0
    for r in range(row_lo.size):
        n_kernel += row_hi[r] - row_lo[r] + 1
    voxels = np.empty(n_kernel, dtype=np.int64)
    voxel_zone = np.empty(n_kernel, dtype=np.int64)
    size = np.zeros(n_kernel, dtype=np.int64)
    zone_level = np.zeros(n_kernel, dtype=np.int64)
    zone_slice = np.zeros(n_kernel, dtype=np.int64)
    buffer = np.empty(n_kernel, dtype=np.int64)
    total = 0
    for i in range(first, last):
        n = gather(centres[i], levels, levels, row_base, row_lo, row_hi, local_base, local,
                   voxels)
        _count_slices(voxels, n, local_plane, 1, slice_counts[i - first])
        n_zones = _label_zones_kernel(local, voxels[:n], backward_steps, voxel_zone[:n])
        for z in range(n_zones):
            size[z] = 0
        for v in range(n):
            z = voxel_zone[v]
            size[z] += 1
            zone_level[z] = local[voxels[v]]
            zone_slice[z] = voxels[v] // local_plane - 1 if by_slice else 0
        for z in range(n_zones):
            buffer[z] = (zone_slice[z] * n_grey + zone_level[z] - 1) * n_kernel + size[z] - 1
        total = _emit(buffer, n_zones, i - first, keys, counts, owner, total)
        clear(local, voxels, n)
    return total


@kernel("i8(i8[::1], i8[::1], i8[::1], i8, i8, i8[::1], i8[::1], i8[::1], i8[::1], i8, i8, "
        "i8[::1], i8[::1], b1, i8, i8[::1], i8[::1], i8[::1], i8[:, ::1])")
def distance_entries(levels, morph, centres, first, last, row_base, row_lo, row_hi, local_base,
                     local_size, local_plane, backward_steps, face_steps, by_slice, n_grey, keys,
                     counts, owner, slice_counts):
    """The zones of the kernels of centres ``first:last`` with their distance to the edge of the
    kernel's morphological mask, as sorted distinct entries: key (s G + g - 1) K + d - 1 (local
    slice s when ``by_slice``, else 0; compact level g; K the kernel shape's size), how many
    zones of each, and the kernel; return how many. The distance of a voxel is the least number
    of steps through ``face_steps`` (6- or 4-connected) to a voxel outside ``morph``'s part of
    the kernel, as ``gldzm.distance_to_edge``; a zone's is the least of its voxels'. Zones
    link through ``backward_steps``; boxes have a margin of one."""
    local = np.zeros(local_size, dtype=np.int64)
    inside = np.zeros(local_size, dtype=np.int64)
    distance = np.zeros(local_size, dtype=np.int64)
    n_kernel = 0
    for r in range(row_lo.size):
        n_kernel += row_hi[r] - row_lo[r] + 1
    voxels = np.empty(n_kernel, dtype=np.int64)
    shape_voxels = np.empty(n_kernel, dtype=np.int64)
    queue = np.empty(n_kernel, dtype=np.int64)
    voxel_zone = np.empty(n_kernel, dtype=np.int64)
    zone_level = np.zeros(n_kernel, dtype=np.int64)
    zone_slice = np.zeros(n_kernel, dtype=np.int64)
    zone_distance = np.zeros(n_kernel, dtype=np.int64)
    buffer = np.empty(n_kernel, dtype=np.int64)
    total = 0
    for i in range(first, last):
        n = gather(centres[i], levels, levels, row_base, row_lo, row_hi, local_base, local,
                   voxels)
        n_morph = gather(centres[i], morph, morph, row_base, row_lo, row_hi, local_base, inside,
                         shape_voxels)
        _count_slices(voxels, n, local_plane, 1, slice_counts[i - first])
        tail = 0
        for v in range(n_morph):
            c = shape_voxels[v]
            distance[c] = 0
            for k in range(face_steps.size):
                if inside[c + face_steps[k]] == 0:
                    distance[c] = 1
                    queue[tail] = c
                    tail += 1
                    break
        head = 0
        while head < tail:
            c = queue[head]
            head += 1
            for k in range(face_steps.size):
                w = c + face_steps[k]
                if inside[w] > 0 and distance[w] == 0:
                    distance[w] = distance[c] + 1
                    queue[tail] = w
                    tail += 1
        n_zones = _label_zones_kernel(local, voxels[:n], backward_steps, voxel_zone[:n])
        for z in range(n_zones):
            zone_distance[z] = n_kernel
        for v in range(n):
            z = voxel_zone[v]
            zone_level[z] = local[voxels[v]]
            zone_slice[z] = voxels[v] // local_plane - 1 if by_slice else 0
            zone_distance[z] = min(zone_distance[z], distance[voxels[v]])
        for z in range(n_zones):
            buffer[z] = (zone_slice[z] * n_grey + zone_level[z] - 1) * n_kernel \
                + zone_distance[z] - 1
        total = _emit(buffer, n_zones, i - first, keys, counts, owner, total)
        clear(local, voxels, n)
        clear(inside, shape_voxels, n_morph)
        clear(distance, shape_voxels, n_morph)
    return total


@kernel("i8(i8[::1], i8[::1], i8, i8, i8[::1], i8[::1], i8[::1], i8[::1], i8, i8, i8, i8[::1], "
        "b1, i8, i8, i8[::1], i8[::1], i8[::1], i8[:, ::1])")
def dependence_entries(level_values, centres, first, last, row_base, row_lo, row_hi,
                       local_base, local_size, local_plane, pad, steps, by_slice, coarseness,
                       n_values, keys, counts, owner, slice_counts):
    """The voxels of the kernels of centres ``first:last`` as sorted distinct entries: key
    (s (L + 1) + i) J + j - 1 (local slice s when ``by_slice``, else 0; grey level i <= L =
    ``n_values``; dependence count j <= J = len(steps) + 1: j - 1 neighbours (``steps``) of
    the kernel within ``coarseness`` grey levels, as ``ngldm._ngldm_kernel`` counts them),
    how many voxels of each, and the kernel; return how many. Boxes have a margin of ``pad``
    and hold grey levels."""
    local = np.zeros(local_size, dtype=np.int64)
    n_kernel = 0
    for r in range(row_lo.size):
        n_kernel += row_hi[r] - row_lo[r] + 1
    voxels = np.empty(n_kernel, dtype=np.int64)
    buffer = np.empty(n_kernel, dtype=np.int64)
    n_columns = steps.size + 1
    total = 0
    for i in range(first, last):
        n = gather(centres[i], level_values, level_values, row_base, row_lo, row_hi,
                   local_base, local, voxels)
        _count_slices(voxels, n, local_plane, pad, slice_counts[i - first])
        for v in range(n):
            c = voxels[v]
            level = local[c]
            dependence = 1
            for k in range(steps.size):
                other = local[c + steps[k]]
                if other > 0 and abs(other - level) <= coarseness:
                    dependence += 1
            s = c // local_plane - pad if by_slice else 0
            buffer[v] = (s * (n_values + 1) + level) * n_columns + dependence - 1
        total = _emit(buffer, n, i - first, keys, counts, owner, total)
        clear(local, voxels, n)
    return total


@kernel()
def _ngtdm_features(counts, diffs, out):
    """The five NGTDM features of n_i, s_i (index i: grey level), as ``ngtdm._features``;
    NaN when no voxel has a neighbour."""
    n_present = 0
    n_vc = 0
    for level in range(counts.size):
        if counts[level] > 0:
            n_present += 1
            n_vc += counts[level]
    if n_present == 0:
        out[:] = np.nan
        return
    i = np.empty(n_present)
    p = np.empty(n_present)
    s = np.empty(n_present)
    k = 0
    for level in range(counts.size):
        if counts[level] > 0:
            i[k] = level
            p[k] = counts[level] / n_vc
            s[k] = diffs[level]
            k += 1
    ps = np.sum(p * s)
    sum_s = np.sum(s)
    contrast_sum, busy_denominator, complexity_sum, strength_sum = _pair_sums(i, p, s)
    out[0] = 1.0 / ps if ps > 0 else _MAX_COARSENESS
    out[1] = contrast_sum / (n_present * (n_present - 1)) * sum_s / n_vc if n_present > 1 \
        else 0.0
    if n_present > 1:
        out[2] = ps / busy_denominator if busy_denominator > 0 else np.nan
    else:
        out[2] = 0.0
    out[3] = complexity_sum / n_vc
    out[4] = strength_sum / sum_s if sum_s > 0 else 0.0


@kernel("none(i8[::1], i8[::1], i8, i8, i8[::1], i8[::1], i8[::1], i8[::1], i8, i8, i8, "
        "i8[::1], b1, b1, i8, f8[:, ::1], b1[::1])", error_model="numpy")
def neighbourhood_maps(level_values, centres, first, last, row_base, row_lo, row_hi,
                       local_base, local_size, local_plane, pad, steps, planar, slice_wise,
                       n_values, out, has_neighbours):
    """NGTDM features (order of ``ngtdm.FEATURES``) of the kernels of centres ``first:last``
    into ``out[i]``: from the per-slice n_i, s_i averaged over the slices where some voxel has
    a neighbour (``slice_wise``, 2D), else from their sums (2.5D with planar ``steps``, 3D);
    ``has_neighbours[i]`` is 1 where some voxel of the kernel has a neighbour. Boxes hold grey
    levels (not compact indices) and have a margin of ``pad``."""
    local = np.zeros(local_size, dtype=np.int64)
    n_kernel = 0
    for r in range(row_lo.size):
        n_kernel += row_hi[r] - row_lo[r] + 1
    voxels = np.empty(n_kernel, dtype=np.int64)
    n_rows = local_size // local_plane - 2 * pad if planar else 1
    counts = np.zeros((n_rows, n_values + 1), dtype=np.int64)
    diffs = np.zeros((n_rows, n_values + 1))
    summed_counts = np.zeros(n_values + 1, dtype=np.int64)
    summed_diffs = np.zeros(n_values + 1)
    values = np.zeros(5)
    for i in range(first, last):
        n = gather(centres[i], level_values, level_values, row_base, row_lo, row_hi,
                   local_base, local, voxels)
        counts[:, :] = 0
        diffs[:, :] = 0.0
        _ngtdm_kernel(local, voxels[:n], steps, local_plane, pad, planar, counts, diffs)
        used_slices = 0
        for row in range(n_rows):
            if counts[row].sum() > 0:
                used_slices += 1
        has_neighbours[i] = used_slices > 0
        if slice_wise and used_slices > 0:
            out[i, :] = 0.0
            for row in range(n_rows):
                if counts[row].sum() > 0:
                    _ngtdm_features(counts[row], diffs[row], values)
                    out[i, :] += values
            out[i, :] /= used_slices
        else:
            summed_counts[:] = 0
            summed_diffs[:] = 0.0
            for row in range(n_rows):
                summed_counts += counts[row]
                summed_diffs += diffs[row]
            _ngtdm_features(summed_counts, summed_diffs, out[i])
        clear(local, voxels, n)


def count_feature_means(owner: np.ndarray, matrix: np.ndarray, level: np.ndarray,
                        column: np.ndarray, count: np.ndarray,
                        n_voxels: np.ndarray) -> dict[str, np.ndarray]:
    """The 17 generic count-matrix features of many kernels, each averaged over its matrices.

    Parameters
    ----------
    owner, matrix : (E,) int64 ndarray
        Kernel (0..N-1) and its matrix (0..M-1) of each cell.
    level, column, count : (E,) int64 ndarray
        Grey level i, column j (length, size, dependence count) and count c_ij of each cell;
        cells are distinct and sorted by (owner, matrix, level, column).
    n_voxels : (N, M) ndarray
        N_v of each matrix of each kernel.

    Returns
    -------
    dict
        Generic feature name -> (N,) values: the mean over the kernel's non-empty matrices of
        :func:`radiome.features._zones.count_features_batch`, NaN for a kernel without any.
    """
    n_kernels, n_matrices = n_voxels.shape
    present, renumbered = present_matrices(owner * n_matrices + matrix)
    batch = count_features_batch(renumbered, CountMatrix(level, column, count),
                                 n_voxels.reshape(-1)[present], present.size)
    kernel_of = present // n_matrices
    n_present = np.bincount(kernel_of, minlength=n_kernels)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {name: np.bincount(kernel_of, weights=values, minlength=n_kernels) / n_present
                for name, values in batch.items()}
