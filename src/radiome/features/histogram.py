"""Intensity histogram features (IBSI 1 family ZVCW), computed in 3D (DHQ4).

Symbols: X_d are the discretised grey levels of the N_v voxels in the intensity mask;
H = {n_1, ..., n_Ng} their histogram over every level i = 1..N_g (empty bins kept), p_i = n_i / N_v;
μ = sum_i i p_i the mean, σ the standard deviation (no bias correction), P_q the q-th percentile
of X_d (NumPy's default linear interpolation between order statistics), M the median.

N_g is the number of grey levels of the discretisation: the bin count for fixed bin number and,
for fixed bin size, the highest level present in the ROI (the pipeline's ``n_levels``). That is
what the manual means: it states F_ih.max = max(X_d) = N_g "by definition". Configuration A
(25 HU bins from -500 HU, range [-500, 400] HU, highest intensity 377 HU) agrees: F_ih.max = 36,
not the 37 of the bin that holds the range's upper bound 400 HU; its gradient extremes lie at
levels 21 and 24, away from the edges, so no reference value depends on N_g otherwise. The
histogram starts at level 1 (the bin at the discretisation's lower bound), present or not.

The histogram gradient H' is the one of the manual (12CE): the one-sided differences
n_2 - n_1 and n_Ng - n_(Ng-1) at the first and last bin, (n_(i+1) - n_(i-1)) / 2 in between,
as :func:`numpy.gradient` computes it; a single bin has H' = 0.
"""

from __future__ import annotations

import numpy as np

from radiome._kernels import kernel
from radiome.errors import FeatureError
from radiome.features.registry import FamilyDef, FeatureDef, FeatureValues
from radiome.preprocess.roi import RoiData
from radiome.features.stats import linear_percentiles
from radiome.spec import Spec

__all__ = ["FAMILY", "FEATURES", "intensity_histogram_features"]

FEATURES = (
    FeatureDef("ih_mean", "X6K6", "ih"),
    FeatureDef("ih_var", "CH89", "ih"),
    FeatureDef("ih_skew", "88K1", "ih"),
    FeatureDef("ih_kurt", "C3I7", "ih"),
    FeatureDef("ih_median", "WIFQ", "ih"),
    FeatureDef("ih_min", "1PR8", "ih"),
    FeatureDef("ih_p10", "GPMT", "ih"),
    FeatureDef("ih_p90", "OZ0C", "ih"),
    FeatureDef("ih_max", "3NCY", "ih"),
    FeatureDef("ih_mode", "AMMC", "ih"),
    FeatureDef("ih_iqr", "WR0O", "ih"),
    FeatureDef("ih_range", "5Z3W", "ih"),
    FeatureDef("ih_mad", "D2ZX", "ih"),
    FeatureDef("ih_rmad", "WRZB", "ih"),
    FeatureDef("ih_medad", "4RNL", "ih"),
    FeatureDef("ih_cov", "CWYJ", "ih"),
    FeatureDef("ih_qcod", "SLWD", "ih"),
    FeatureDef("ih_entropy", "TLU2", "ih"),
    FeatureDef("ih_uniformity", "BJ5W", "ih"),
    FeatureDef("ih_max_grad", "12CE", "ih"),
    FeatureDef("ih_max_grad_g", "8E6O", "ih"),
    FeatureDef("ih_min_grad", "VQB3", "ih"),
    FeatureDef("ih_min_grad_g", "RHQZ", "ih"),
)


def intensity_histogram_features(
    levels: np.ndarray, mask: np.ndarray, *, n_levels: int
) -> dict[str, float]:
    """The 23 intensity histogram features of the discretised grey levels in a mask.

    Parameters
    ----------
    levels : (Z, Y, X) int ndarray
        Discretised grey levels, 1..``n_levels`` inside ``mask``.
    mask : (Z, Y, X) bool ndarray
        The ROI intensity mask; at least one voxel.
    n_levels : int
        N_g, the number of grey levels: the histogram has the bins 1..N_g.

    Returns
    -------
    dict
        ``{feature name: value}`` for every name in :data:`FEATURES`. Skewness and kurtosis
        are 0 when the variance is 0, as the manual defines them; the robust mean absolute
        deviation is NaN when no level lies in [P10, P90] (two levels far apart).

    Raises
    ------
    FeatureError
        A level in the mask lies outside 1..``n_levels``, or the mask is empty.

    Notes
    -----
    The mode (AMMC) is the level with the highest count; on ties the one closest to μ, and of
    two equally close the lower one. The distances are compared exactly, as integers
    |i N_v - sum_k X_d,k|. The gradient features (12CE, 8E6O, VQB3, RHQZ) report the first
    (lowest) level where the extreme gradient occurs.
    """
    x = np.asarray(levels)[np.asarray(mask, dtype=bool)]
    if x.size == 0:
        msg = "intensity histogram: the intensity mask has no voxel"
        raise FeatureError(msg)
    low, high = int(x.min()), int(x.max())
    if low < 1 or high > n_levels:
        msg = (
            f"intensity histogram: grey levels must lie in 1..n_levels={n_levels}, "
            f"got {low}..{high}"
        )
        raise FeatureError(msg)
    n_v = x.size
    counts = np.bincount(x.astype(np.intp, copy=False), minlength=n_levels + 1)[1:]
    cumulative = np.cumsum(counts)
    p10, p25, median, p75, p90 = linear_percentiles(
        lambda rank: np.searchsorted(cumulative, rank, side="right") + 1, n_v)
    (mu, var, m3, m4, mad, medad, entropy, uniformity, rmad, max_grad, max_grad_g, min_grad,
     min_grad_g, mode) = _histogram_sums(counts, median, p10, p90)
    return {
        "ih_mean": mu,  # X6K6: sum_i i p_i
        "ih_var": var,  # CH89: sum_i (i - mu)^2 p_i
        # 88K1: sum_i (i - mu)^3 p_i / var^(3/2), 0 when var = 0
        "ih_skew": m3 / var**1.5 if var > 0 else 0.0,
        # C3I7: sum_i (i - mu)^4 p_i / var^2 - 3, 0 when var = 0
        "ih_kurt": m4 / var**2 - 3.0 if var > 0 else 0.0,
        "ih_median": float(median),  # WIFQ
        "ih_min": float(low),  # 1PR8
        "ih_p10": float(p10),  # GPMT
        "ih_p90": float(p90),  # OZ0C
        "ih_max": float(high),  # 3NCY
        "ih_mode": mode,  # AMMC
        "ih_iqr": float(p75 - p25),  # WR0O: P75 - P25
        "ih_range": float(high - low),  # 5Z3W: max - min
        "ih_mad": mad,  # D2ZX: sum_i |i - mu| p_i
        "ih_rmad": rmad,  # WRZB: mean |X_d - mean| of the voxels with P10 <= X_d <= P90
        "ih_medad": medad,  # 4RNL: sum_i |i - M| p_i
        "ih_cov": float(np.sqrt(var) / mu),  # CWYJ: sigma / mu (mu >= 1)
        "ih_qcod": float((p75 - p25) / (p75 + p25)),  # SLWD: (P75 - P25) / (P75 + P25)
        "ih_entropy": entropy,  # TLU2: -sum_i p_i log2 p_i
        "ih_uniformity": uniformity,  # BJ5W: sum_i p_i^2
        "ih_max_grad": max_grad,  # 12CE: max H'
        "ih_max_grad_g": max_grad_g,  # 8E6O: i where H' is maximal
        "ih_min_grad": min_grad,  # VQB3: min H'
        "ih_min_grad_g": min_grad_g,  # RHQZ: i where H' is minimal
    }


@kernel("UniTuple(f8, 14)(i8[::1], f8, f8, f8)")
def _histogram_sums(counts, median, p10, p90):
    """μ, σ², Σ (i-μ)³ p_i, Σ (i-μ)⁴ p_i, Σ |i-μ| p_i, Σ |i-M| p_i, -Σ p_i log2 p_i, Σ p_i²,
    the robust mean absolute deviation (P10 <= i <= P90), the extremes of H' and their first
    levels, and the mode, of the histogram ``counts`` of levels 1..N_g.

    H' is NumPy's gradient (one-sided at the ends, 0 for a single bin). The mode is the most
    frequent level, ties going to the level closest to μ (|i N_v - Σ X|, exact in integers),
    then to the lower one.
    """
    n_levels = counts.size
    n_v = 0
    level_sum = 0
    robust_n = 0
    robust_sum = 0
    for k in range(n_levels):
        n_v += counts[k]
        level_sum += (k + 1) * counts[k]
        if p10 <= k + 1 <= p90:
            robust_n += counts[k]
            robust_sum += (k + 1) * counts[k]
    mu = 0.0
    for k in range(n_levels):
        mu += (k + 1) * (counts[k] / n_v)
    robust_mu = robust_sum / robust_n if robust_n > 0 else 0.0  # none in [P10, P90]: 2 levels
    var = m3 = m4 = mad = medad = entropy = uniformity = rmad = 0.0
    for k in range(n_levels):
        p = counts[k] / n_v
        dev = k + 1 - mu
        var += dev * dev * p
        m3 += dev * dev * dev * p
        m4 += dev * dev * dev * dev * p
        mad += abs(dev) * p
        medad += abs(k + 1 - median) * p
        if p > 0.0:
            entropy -= p * np.log2(p)
        uniformity += p * p
        if p10 <= k + 1 <= p90:
            rmad += counts[k] * abs(k + 1 - robust_mu)
    max_grad = min_grad = 0.0
    max_at = min_at = 0
    for k in range(n_levels):
        if n_levels == 1:
            gradient = 0.0
        elif k == 0:
            gradient = float(counts[1] - counts[0])
        elif k == n_levels - 1:
            gradient = float(counts[k] - counts[k - 1])
        else:
            gradient = (counts[k + 1] - counts[k - 1]) / 2.0
        if k == 0 or gradient > max_grad:
            max_grad, max_at = gradient, k
        if k == 0 or gradient < min_grad:
            min_grad, min_at = gradient, k
    mode = 0
    for k in range(n_levels):
        if counts[k] > counts[mode] or (
                counts[k] == counts[mode]
                and abs((k + 1) * n_v - level_sum) < abs((mode + 1) * n_v - level_sum)):
            mode = k
    rmad = rmad / robust_n if robust_n > 0 else np.nan
    return (mu, var, m3, m4, mad, medad, entropy, uniformity, rmad, max_grad,
            float(max_at + 1), min_grad, float(min_at + 1), float(mode + 1))


def _compute(roi: RoiData, spec: Spec) -> FeatureValues:
    values = intensity_histogram_features(roi.levels, roi.int_mask, n_levels=roi.n_levels)
    return {(name, ""): value for name, value in values.items()}


FAMILY = FamilyDef(
    name="ih",
    ibsi="ZVCW",
    title="intensity histogram",
    features=FEATURES,
    compute=_compute,
)
