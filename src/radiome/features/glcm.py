"""Grey level co-occurrence features (IBSI 1 family LFYI).

M_m is the N_g x N_g co-occurrence matrix of direction m: element (i, j) counts the voxel
pairs (v, v + δm) of the intensity mask with grey levels i and j, plus the pairs along -m, so
that M_m = M_m+ + M_m+^T is symmetric. p_ij = M_ij / Σ M is the joint probability,
p_i. = Σ_j p_ij the marginal probability (equal to p_.j by symmetry), μ = Σ_i i p_i. and
σ² = Σ_i (i - μ)² p_i.; p_{i-j,k} = Σ_ij p_ij [|i - j| = k] (k = 0..N_g-1) and
p_{i+j,k} = Σ_ij p_ij [i + j = k] (k = 2..2N_g) are the diagonal and cross-diagonal
probabilities. HXY = -Σ_ij p_ij log2 p_ij, HX = -Σ_i p_i. log2 p_i.,
HXY1 = -Σ_ij p_ij log2(p_i. p_.j) and HXY2 = -Σ_ij p_i. p_.j log2(p_i. p_.j).

Directions, distances and the six aggregation methods are described in
:mod:`radiome.features._directions`. N_g is the number of grey levels of the discretisation.
"""

from __future__ import annotations

import numpy as np

from radiome._kernels import kernel
from radiome.features._directions import (
    SparseStack,
    compact_levels,
    direction_vectors,
    features_by_aggregation,
    merged_entries,
    present_matrices,
)
from radiome.features._zones import check_inputs, flat_steps, padded_levels
from radiome.features.registry import FamilyDef, FeatureDef, FeatureValues
from radiome.preprocess.roi import RoiData
from radiome.spec import Spec

__all__ = ["FAMILY", "FEATURES", "cooccurrence_counts", "glcm_features"]

#: Matrices are counted sparsely when G² exceeds this many times the number of voxels.
_SPARSE_ABOVE = 4

FEATURES = (
    FeatureDef("cm_joint_max", "GYBY", "cm"),
    FeatureDef("cm_joint_avg", "60VM", "cm"),
    FeatureDef("cm_joint_var", "UR99", "cm"),
    FeatureDef("cm_joint_entr", "TU9B", "cm"),
    FeatureDef("cm_diff_avg", "TF7R", "cm"),
    FeatureDef("cm_diff_var", "D3YU", "cm"),
    FeatureDef("cm_diff_entr", "NTRS", "cm"),
    FeatureDef("cm_sum_avg", "ZGXS", "cm"),
    FeatureDef("cm_sum_var", "OEEB", "cm"),
    FeatureDef("cm_sum_entr", "P6QZ", "cm"),
    FeatureDef("cm_energy", "8ZQL", "cm"),
    FeatureDef("cm_contrast", "ACUI", "cm"),
    FeatureDef("cm_dissimilarity", "8S9J", "cm"),
    FeatureDef("cm_inv_diff", "IB1Z", "cm"),
    FeatureDef("cm_inv_diff_norm", "NDRX", "cm"),
    FeatureDef("cm_inv_diff_mom", "WF0Z", "cm"),
    FeatureDef("cm_inv_diff_mom_norm", "1QCO", "cm"),
    FeatureDef("cm_inv_var", "E8JP", "cm"),
    FeatureDef("cm_corr", "NI2N", "cm"),
    FeatureDef("cm_auto_corr", "QWB0", "cm"),
    FeatureDef("cm_clust_tend", "DG8W", "cm"),
    FeatureDef("cm_clust_shade", "7NFM", "cm"),
    FeatureDef("cm_clust_prom", "AE86", "cm"),
    FeatureDef("cm_info_corr1", "R8DG", "cm"),
    FeatureDef("cm_info_corr2", "JN9H", "cm"),
)


def cooccurrence_counts(
    levels: np.ndarray, mask: np.ndarray, *, n_levels: int, distance: int, planar: bool
) -> np.ndarray:
    """Symmetric co-occurrence counts per slice and direction, from one pass over the voxels.

    Parameters
    ----------
    levels : (Z, Y, X) int64 C-contiguous ndarray
        Discretised grey levels, 1..``n_levels`` inside ``mask``.
    mask : (Z, Y, X) bool C-contiguous ndarray
        Intensity mask.
    n_levels : int
        Number of grey levels N_g.
    distance : int
        Chebyshev distance δ >= 1.
    planar : bool
        True: the 4 in-slice directions, one matrix per slice; False: the 13 volumetric
        directions, all slices in one matrix.

    Returns
    -------
    (S, D, N_g, N_g) int64 ndarray
        M_m of each slice (S = Z if ``planar`` else 1) and direction (order of
        :func:`radiome.features._directions.direction_vectors`).
    """
    levels, mask = check_inputs(levels, mask, n_levels, "2d" if planar else "3d", "GLCM")
    upper = _upper_counts(levels, mask, n_levels=n_levels, distance=distance, planar=planar)
    return upper + upper.transpose(0, 1, 3, 2)  # the diagonal doubles, as each pair counts twice


@kernel()
def _entry_sums(matrix, row, col, count, n_matrices, grey, n_levels):
    """The sums over matrix cells that GLCM features need, from the upper triangles.

    Entry e holds the ``count[e]`` unordered neighbour pairs of levels (``row[e]``,
    ``col[e]``), row <= col, of matrix ``matrix[e]`` (0..K-1, none empty) over the G grey
    levels ``grey`` (float, 1..N_g): the symmetric matrix has that count at (row, col) and
    (col, row), and twice it on the diagonal. Returns p_i (K, G), p_{i-j} (K, N_g), p_{i+j}
    (K, 2 N_g + 1) and (K, 7) sums over all cells: max p, Σ p², Σ p log2 p, Σ i j p,
    Σ (i+j-2μ)^2 p, ^3 p and ^4 p.
    """
    g = grey.size
    totals = np.zeros(n_matrices)
    p_i = np.zeros((n_matrices, g))
    for e in range(matrix.size):
        k = matrix[e]
        totals[k] += 2.0 * count[e]
        if row[e] == col[e]:
            p_i[k, row[e]] += 2.0 * count[e]
        else:
            p_i[k, row[e]] += count[e]
            p_i[k, col[e]] += count[e]
    mu = np.zeros(n_matrices)
    for k in range(n_matrices):
        for a in range(g):
            p_i[k, a] /= totals[k]
            mu[k] += grey[a] * p_i[k, a]
    p_minus = np.zeros((n_matrices, n_levels))
    p_plus = np.zeros((n_matrices, 2 * n_levels + 1))
    sums = np.zeros((n_matrices, 7))
    for e in range(matrix.size):
        k, a, b = matrix[e], row[e], col[e]
        if a == b:
            p = 2.0 * count[e] / totals[k]
            cells = 1.0
        else:
            p = count[e] / totals[k]
            cells = 2.0  # (a, b) and (b, a)
        gi, gj = grey[a], grey[b]
        centred = gi + gj - 2.0 * mu[k]
        centred2 = centred * centred
        weight = cells * p
        sums[k, 0] = max(sums[k, 0], p)
        sums[k, 1] += weight * p
        sums[k, 2] += weight * np.log2(p)
        sums[k, 3] += gi * gj * weight
        sums[k, 4] += centred2 * weight
        sums[k, 5] += centred2 * centred * weight
        sums[k, 6] += centred2 * centred2 * weight
        p_minus[k, int(abs(gi - gj))] += weight
        p_plus[k, int(gi + gj)] += weight
    return p_i, p_minus, p_plus, sums


@kernel("i8(i8[::1], i8[::1], i8[::1], i8, i8, b1, i8, i8[::1])")
def _pair_keys_kernel(flat, voxels, steps, plane, width, slice_wise, n_levels, out):
    """Write the key ((s D + m) G + a) G + b, a <= b, of every neighbour pair to ``out``;
    ``flat``, ``voxels`` as from :func:`padded_levels`, ``plane`` its voxels per slice."""
    n_dirs = steps.size
    n = 0
    for v in range(voxels.size):
        c = voxels[v]
        s = c // plane - width if slice_wise else 0
        level = flat[c]
        for k in range(n_dirs):
            other = flat[c + steps[k]]
            if other == 0:
                continue
            low, high = (level, other) if level <= other else (other, level)
            out[n] = (((s * n_dirs + k) * n_levels) + low - 1) * n_levels + high - 1
            n += 1
    return n


def _pair_keys(levels: np.ndarray, mask: np.ndarray, n_levels: int, distance: int,
               planar: bool) -> tuple[np.ndarray, int]:
    """Flat keys ((s D + d) N_g + i - 1) N_g + j - 1, i <= j, of every neighbour pair, and D.

    Each pair is counted once, in the upper triangle of its (symmetric) matrix.
    """
    offsets = direction_vectors(planar, distance)
    flat, voxels, shape = padded_levels(levels, mask, distance)
    keys = np.empty(offsets.shape[0] * voxels.size, dtype=np.int64)
    used = _pair_keys_kernel(flat, voxels, flat_steps(offsets, shape), shape[1] * shape[2],
                             distance, planar, n_levels, keys)
    return keys[:used], offsets.shape[0]


def _sparse_counts(levels: np.ndarray, mask: np.ndarray, *, n_levels: int, distance: int,
                   planar: bool) -> SparseStack:
    """The upper triangles of :func:`_upper_counts` without its (S, D, G, G) array."""
    keys, n_dirs = _pair_keys(levels, mask, n_levels, distance, planar)
    return SparseStack.from_keys(
        keys, (levels.shape[0] if planar else 1, n_dirs, n_levels, n_levels))


def _upper_counts(levels: np.ndarray, mask: np.ndarray, *, n_levels: int, distance: int,
                  planar: bool) -> np.ndarray:
    """Neighbour pairs counted once each, in the upper triangle: (S, D, N_g, N_g) int64."""
    n_slices = levels.shape[0] if planar else 1
    keys, n_dirs = _pair_keys(levels, mask, n_levels, distance, planar)
    counts = np.bincount(keys, minlength=n_slices * n_dirs * n_levels * n_levels)
    return counts.reshape(n_slices, n_dirs, n_levels, n_levels)


@kernel()
def _plogp_sum(p):
    """Σ p log2 p over the non-zero entries of a 1D array."""
    total = 0.0
    for v in p:
        if v > 0.0:
            total += v * np.log2(v)
    return total


@kernel("f8[::1](i8[::1], i8[::1], i8[::1], f8[::1], i8, f8[::1], i8)", error_model="numpy")
def _feature_means(matrix, row, col, count, n_matrices, grey, n_levels):
    """Every GLCM feature (order of :data:`FEATURES`) averaged over K matrices given by
    sparse entries (see :func:`_entry_sums`); an average leaves out the matrices where the
    feature is undefined (NaN) and is NaN when none defines it."""
    p_i, p_minus, p_plus, sums = _entry_sums(matrix, row, col, count, n_matrices, grey,
                                             n_levels)
    totals = np.zeros(25)
    defined = np.zeros(25)
    values = np.empty(25)
    for k in range(n_matrices):
        mu = 0.0
        for a in range(grey.size):
            mu += grey[a] * p_i[k, a]
        var = 0.0
        for a in range(grey.size):
            var += (grey[a] - mu) ** 2 * p_i[k, a]
        diff_avg = diff_var = contrast = inv_diff = inv_diff_norm = inv_diff_mom = 0.0
        inv_diff_mom_norm = inv_var = 0.0
        for d in range(p_minus.shape[1]):
            p = p_minus[k, d]
            diff_avg += d * p
            contrast += d * d * p
            inv_diff += p / (1.0 + d)
            inv_diff_norm += p / (1.0 + d / n_levels)
            inv_diff_mom += p / (1.0 + d * d)
            inv_diff_mom_norm += p / (1.0 + (d / n_levels) ** 2)
            if d > 0:
                inv_var += p / (d * d)
        for d in range(p_minus.shape[1]):
            diff_var += (d - diff_avg) ** 2 * p_minus[k, d]
        sum_avg = sum_var = 0.0
        for t in range(p_plus.shape[1]):
            sum_avg += t * p_plus[k, t]
        for t in range(p_plus.shape[1]):
            sum_var += (t - sum_avg) ** 2 * p_plus[k, t]
        hxy = -sums[k, 2]
        hx = -_plogp_sum(p_i[k])
        # HXY1 = -Σ_ij p_ij log2(p_i p_j) = HX + HY (Σ_j p_ij = p_i) and HXY2 =
        # -Σ_ij p_i p_j log2(p_i p_j) = HX + HY (marginals sum to 1); HY = HX (symmetric).
        hxy1 = hxy2 = 2.0 * hx
        auto_corr = sums[k, 3]
        values[0] = sums[k, 0]  # GYBY: max p_ij
        values[1] = mu  # 60VM: Σ_ij i p_ij
        values[2] = var  # UR99: Σ_ij (i - μ)² p_ij
        values[3] = hxy  # TU9B: -Σ_ij p_ij log2 p_ij
        values[4] = diff_avg  # TF7R: Σ_k k p_{i-j,k}
        values[5] = diff_var  # D3YU: Σ_k (k - diff_avg)² p_{i-j,k}
        values[6] = -_plogp_sum(p_minus[k])  # NTRS: -Σ_k p_{i-j,k} log2 p_{i-j,k}
        values[7] = sum_avg  # ZGXS: Σ_k k p_{i+j,k}
        values[8] = sum_var  # OEEB: Σ_k (k - sum_avg)² p_{i+j,k}
        values[9] = -_plogp_sum(p_plus[k])  # P6QZ: -Σ_k p_{i+j,k} log2 p_{i+j,k}
        values[10] = sums[k, 1]  # 8ZQL: Σ_ij p_ij²
        values[11] = contrast  # ACUI: Σ_ij (i - j)² p_ij
        values[12] = diff_avg  # 8S9J: Σ_ij |i - j| p_ij
        values[13] = inv_diff  # IB1Z: Σ_k p_{i-j,k} / (1 + k)
        values[14] = inv_diff_norm  # NDRX: Σ_k p_{i-j,k} / (1 + k / N_g)
        values[15] = inv_diff_mom  # WF0Z: Σ_k p_{i-j,k} / (1 + k²)
        values[16] = inv_diff_mom_norm  # 1QCO: Σ_k p_{i-j,k} / (1 + (k / N_g)²)
        values[17] = inv_var  # E8JP: Σ_k>0 p_{i-j,k} / k²
        values[18] = (auto_corr - mu * mu) / var  # NI2N: (Σ_ij i j p_ij - μ²) / σ²
        values[19] = auto_corr  # QWB0: Σ_ij i j p_ij
        values[20] = sums[k, 4]  # DG8W: Σ (i+j-2μ)² p_ij
        values[21] = sums[k, 5]  # 7NFM: Σ (i+j-2μ)³ p_ij
        values[22] = sums[k, 6]  # AE86: Σ (i+j-2μ)⁴ p_ij
        values[23] = (hxy - hxy1) / hx  # R8DG: (HXY - HXY1) / HX
        # JN9H; HXY <= HXY2 (Gibbs), so a negative difference is rounding: 0, not NaN.
        values[24] = np.sqrt(1.0 - np.exp(-2.0 * max(hxy2 - hxy, 0.0)))
        for f in range(25):
            if not np.isnan(values[f]):
                totals[f] += values[f]
                defined[f] += 1.0
    return totals / defined


def glcm_features(
    levels: np.ndarray,
    mask: np.ndarray,
    spacing: tuple[float, float, float],
    *,
    n_levels: int,
    distance: int = 1,
    aggregation: str = "3d_vmrg",
) -> dict[str, float]:
    """Grey level co-occurrence features of one ROI for one aggregation method.

    Parameters
    ----------
    levels : (Z, Y, X) int ndarray
        Discretised grey levels, 1..``n_levels`` inside ``mask``.
    mask : (Z, Y, X) bool ndarray
        Intensity mask (not empty).
    spacing : (3,) float, mm, (z, y, x)
        Voxel size; unused (directions are voxel offsets and IBSI recommends no distance
        weighting) but part of the family signature.
    n_levels : int
        Number of grey levels N_g.
    distance : int
        Chebyshev distance δ >= 1; the direction vectors are multiplied by it.
    aggregation : {"2d_avg", "2d_smrg", "2_5d_dmrg", "2_5d_vmrg", "3d_avg", "3d_vmrg"}
        Aggregation method (BTW3, SUJT, JJUI, ZW7Z, ITBB, IAZD).

    Returns
    -------
    dict
        ``{feature name: value}`` for every name in :data:`FEATURES`; all NaN when the mask
        holds no pair of neighbouring voxels. Correlation (σ = 0) and information correlation
        1 (HX = 0) are undefined for a matrix of a single grey level, as in IBSI; averages
        leave such matrices out and are NaN only when no matrix defines the feature.

    Raises
    ------
    FeatureError
        Unknown aggregation, arrays of different shapes, an empty mask, or levels outside
        1..``n_levels``.

    Notes
    -----
    Averages run over the non-empty matrices only, so slices or directions without any pair
    of voxels contribute nothing; likewise a feature undefined for a matrix (see Returns)
    is averaged over the matrices that define it. PyRadiomics instead sets correlation to 1
    and information correlation 1 to 0 there. IBSI 1 writes information correlation 2 with
    base-2 entropies inside a natural exponential; so does this function.
    """
    values = _by_aggregation(levels, mask, n_levels, distance, [aggregation])
    return {name: value for (name, _), value in values.items()}


def _by_aggregation(
    levels: np.ndarray, mask: np.ndarray, n_levels: int, distance: int, aggregations: list[str]
) -> FeatureValues:
    """GLCM features of each aggregation, the matrices counted once per kind (2D or 3D).

    Matrices are counted over the grey levels that occur in the ROI only (renumbered 1..G);
    features use the levels' own values, so nothing changes but the work, which no longer
    grows with N_g² when few of the N_g levels occur (filter responses). When G² is large
    against the number of voxels, the matrices are kept as sparse entries.
    """
    occurring: dict[str, np.ndarray] = {}

    def count(levels: np.ndarray, mask: np.ndarray, planar: bool) -> np.ndarray | SparseStack:
        occurring["grey"], compact = compact_levels(levels, mask, n_levels)
        g = occurring["grey"].size
        counting = _sparse_counts if g * g > _SPARSE_ABOVE * np.count_nonzero(mask) else (
            _upper_counts)
        return counting(compact, mask, n_levels=g, distance=distance, planar=planar)

    def features(stack: np.ndarray | SparseStack, aggregation: str,
                 mask: np.ndarray) -> dict[str, float]:
        return _mean_features(merged_entries(stack, aggregation), occurring["grey"], n_levels)

    return features_by_aggregation(levels, mask, n_levels, aggregations, "GLCM", count, features)


def _mean_features(entries: tuple[np.ndarray, ...], grey: np.ndarray,
                   n_levels: int) -> dict[str, float]:
    """Features of the matrices of sparse entries (rows: levels ``grey``), averaged over the
    non-empty ones."""
    matrix, row, col, count, _ = entries
    present, renumbered = present_matrices(matrix)  # empty matrices left out
    if present.size == 0:
        return {f.name: float("nan") for f in FEATURES}
    means = _feature_means(renumbered, row, col, count.astype(np.float64), present.size,
                           grey.astype(np.float64), int(n_levels))
    return {f.name: float(v) for f, v in zip(FEATURES, means, strict=True)}


def _compute(roi: RoiData, spec: Spec) -> FeatureValues:
    return _by_aggregation(roi.levels, roi.int_mask, roi.n_levels, spec.features.glcm_distance,
                           spec.aggregations)


FAMILY = FamilyDef(
    name="cm",
    ibsi="LFYI",
    title="grey level co-occurrence matrix",
    features=FEATURES,
    compute=_compute,
    texture=True,
)
