"""Neighbourhood grey tone difference features (IBSI 1 family IPET).

For a voxel k of the intensity mask with grey level X_k, its neighbourhood holds the voxels of
the intensity mask at Chebyshev distance 1..δ (within the slice in 2D and 2.5D); W_k is their
number and X̄_k the mean of their grey levels. Voxels outside the mask take no part, and voxels
with W_k = 0 are left out (IBSI 1 deviates so from Amadasun and King, who demand complete
neighbourhoods). n_i is the number of voxels of grey level i with W_k > 0, s_i = Σ |i - X̄_k|
over them, N_vc = Σ n_i, p_i = n_i / N_vc, and N_gp the number of grey levels with p_i > 0;
sums over pairs (i1, i2) run over grey levels with p > 0. Aggregation (``2d`` 8QNN, ``2_5d``
62GR: n_i and s_i summed over slices, ``3d`` KOBO) as in :mod:`radiome.features._zones`.
"""

from __future__ import annotations

import numpy as np

from radiome._kernels import kernel
from radiome.errors import FeatureError
from radiome.features._zones import (
    by_dimension,
    check_inputs,
    flat_steps,
    mean_over_slices,
    neighbour_offsets,
    padded_levels,
)
from radiome.features.registry import FamilyDef, FeatureDef, FeatureValues
from radiome.preprocess.roi import RoiData
from radiome.spec import Spec

__all__ = ["FAMILY", "FEATURES", "ngtdm_features"]

FEATURES = (
    FeatureDef("ngt_coarseness", "QCDE", "ngt"),
    FeatureDef("ngt_contrast", "65HE", "ngt"),
    FeatureDef("ngt_busyness", "NQ30", "ngt"),
    FeatureDef("ngt_complexity", "HDEZ", "ngt"),
    FeatureDef("ngt_strength", "1X9X", "ngt"),
)

#: Coarseness when Σ p_i s_i = 0 (IBSI 1: an explicit, arbitrary maximum).
_MAX_COARSENESS = 1.0e6


@kernel("none(i8[::1], i8[::1], i8[::1], i8, i8, b1, i8[:, ::1], f8[:, ::1])")
def _ngtdm_kernel(flat, voxels, steps, plane, width, planar, counts, diffs):
    """Add n_i to ``counts`` and s_i to ``diffs`` ((slices or 1, N_g + 1)), voxels in C order;
    ``flat``, ``voxels`` as from :func:`padded_levels`, ``plane`` its voxels per slice."""
    for v in range(voxels.size):
        c = voxels[v]
        total = 0
        size = 0
        for k in range(steps.size):
            level = flat[c + steps[k]]
            if level > 0:
                total += level
                size += 1
        if size > 0:
            level = flat[c]
            row = c // plane - width if planar else 0
            counts[row, level] += 1
            diffs[row, level] += abs(level - total / size)


def _ngtdm(
    levels: np.ndarray, mask: np.ndarray, n_levels: int, distance: int, planar: bool
) -> tuple[np.ndarray, np.ndarray]:
    """n_i (int64) and s_i (float64) per slice (planar) or of the volume, shape (rows, N_g + 1)."""
    rows = levels.shape[0] if planar else 1
    counts = np.zeros((rows, n_levels + 1), dtype=np.int64)
    diffs = np.zeros((rows, n_levels + 1), dtype=np.float64)
    flat, voxels, shape = padded_levels(levels, mask, distance)
    _ngtdm_kernel(flat, voxels, flat_steps(neighbour_offsets(distance, planar), shape),
                  shape[1] * shape[2], distance, planar, counts, diffs)
    return counts, diffs


@kernel("UniTuple(f8, 4)(f8[::1], f8[::1], f8[::1])")
def _pair_sums(i, p, s):
    """Σ p1 p2 (i1-i2)², Σ |i1 p1 - i2 p2|, Σ |i1-i2| (p1 s1 + p2 s2)/(p1 + p2) and
    Σ (p1 + p2)(i1-i2)² over all ordered pairs of present grey levels.

    Three of the four in closed form around the means (2 S0 Σ p (i - μ)²; from the sorted
    values x = i p, 2 Σ_k x_(k) (2k - n + 1); 2 [n Σ p (i - ī)² + S0 Σ (i - ī)²]), the
    complexity sum pair by pair.
    """
    n = i.size
    total_p = 0.0
    weighted = 0.0
    plain = 0.0
    for a in range(n):
        total_p += p[a]
        weighted += p[a] * i[a]
        plain += i[a]
    mu = weighted / total_p
    centre = plain / n
    spread_p = spread_plain = spread_mixed = 0.0
    for a in range(n):
        spread_p += p[a] * (i[a] - mu) ** 2
        spread_plain += (i[a] - centre) ** 2
        spread_mixed += p[a] * (i[a] - centre) ** 2
    contrast = 2.0 * total_p * spread_p
    strength = 2.0 * (n * spread_mixed + total_p * spread_plain)
    ordered = np.sort(i * p)
    busy = 0.0
    for k in range(n):
        busy += ordered[k] * (2 * k - n + 1)
    complexity = 0.0
    for a in range(n):
        for b in range(a + 1, n):
            complexity += abs(i[a] - i[b]) * (p[a] * s[a] + p[b] * s[b]) / (p[a] + p[b])
    return contrast, 2.0 * busy, 2.0 * complexity, strength


def _features(counts: np.ndarray, diffs: np.ndarray) -> dict[str, float]:
    """The five NGTDM features from n_i and s_i (index i = grey level); NaN if N_vc = 0."""
    present = np.flatnonzero(counts)
    if present.size == 0:
        return {f.name: np.nan for f in FEATURES}
    n_vc = counts.sum()
    i = present.astype(np.float64)
    p = counts[present] / n_vc
    s = diffs[present]
    n_gp = present.size
    ps = np.sum(p * s)
    sum_s = np.sum(s)
    contrast_sum, busy_denominator, complexity_sum, strength_sum = _pair_sums(i, p, s)
    return {
        # QCDE: 1 / Σ_i p_i s_i, at most 10^6
        "ngt_coarseness": float(1.0 / ps) if ps > 0 else _MAX_COARSENESS,
        # 65HE: [Σ p_i1 p_i2 (i1 - i2)² / (N_gp (N_gp - 1))] [Σ_i s_i / N_vc]; 0 if N_gp = 1
        "ngt_contrast": float(contrast_sum / (n_gp * (n_gp - 1)) * sum_s / n_vc)
        if n_gp > 1 else 0.0,
        # NQ30: Σ_i p_i s_i / Σ |i1 p_i1 - i2 p_i2|; 0 if N_gp = 1
        "ngt_busyness": (float(ps / busy_denominator) if busy_denominator > 0 else np.nan)
        if n_gp > 1 else 0.0,
        # HDEZ: 1/N_vc Σ |i1 - i2| (p_i1 s_i1 + p_i2 s_i2) / (p_i1 + p_i2)
        "ngt_complexity": float(complexity_sum / n_vc),
        # 1X9X: Σ (p_i1 + p_i2)(i1 - i2)² / Σ_i s_i; 0 if Σ_i s_i = 0
        "ngt_strength": float(strength_sum / sum_s) if sum_s > 0 else 0.0,
    }


def ngtdm_features(
    levels: np.ndarray,
    mask: np.ndarray,
    spacing: tuple[float, float, float],
    *,
    n_levels: int,
    distance: int = 1,
    aggregation: str = "3d",
) -> dict[str, float]:
    """Neighbourhood grey tone difference features of one ROI for one aggregation method.

    Parameters
    ----------
    levels : (Z, Y, X) int ndarray
        Discretised grey levels, 1..``n_levels`` inside ``mask``.
    mask : (Z, Y, X) bool ndarray
        Intensity mask (not empty).
    spacing : (3,) float, mm, (z, y, x)
        Voxel size; unused (the neighbourhood is on the voxel grid) but part of the family
        signature.
    n_levels : int
        Number of grey levels N_g.
    distance : int
        Chebyshev distance δ >= 1 of the neighbourhood, in voxels.
    aggregation : {"2d", "2_5d", "3d"}
        Per-slice averaged (8QNN), slice-merged (62GR) or volumetric (KOBO).

    Returns
    -------
    dict
        ``{feature name: value}`` for every name in :data:`FEATURES`. Coarseness is 10^6 when
        Σ p_i s_i = 0; contrast and busyness are 0 when N_gp = 1 and strength when Σ s_i = 0.
        Busyness is NaN when its denominator is 0 with N_gp > 1, and every feature is NaN when
        no voxel has a neighbour (IBSI 1 leaves these undefined). In 2D, slices where no voxel
        has a neighbour are left out of the average.

    Raises
    ------
    FeatureError
        Unknown aggregation, distance < 1, arrays of different shapes, or levels outside
        1..``n_levels``.
    """
    levels, mask = check_inputs(levels, mask, n_levels, aggregation, "NGTDM")
    if distance < 1:
        msg = f"NGTDM: distance must be an integer >= 1, got {distance!r}"
        raise FeatureError(msg)
    counts, diffs = _ngtdm(levels, mask, n_levels, int(distance), planar=aggregation != "3d")
    if aggregation == "2d":
        per_slice = [_features(c, d) for c, d in zip(counts, diffs, strict=True) if c.any()]
        if per_slice:
            return mean_over_slices(per_slice)
    return _features(counts.sum(axis=0), diffs.sum(axis=0))


def _compute(roi: RoiData, spec: Spec) -> FeatureValues:
    return by_dimension(spec.aggregations, lambda dimension: ngtdm_features(
        roi.levels, roi.int_mask, roi.spacing, n_levels=roi.n_levels,
        distance=spec.features.ngtdm_distance, aggregation=dimension))


FAMILY = FamilyDef(
    name="ngt",
    ibsi="IPET",
    title="neighbourhood grey tone difference matrix",
    features=FEATURES,
    compute=_compute,
    texture=True,
)
