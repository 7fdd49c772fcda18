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

from radiome.errors import FeatureError
from radiome.features.registry import FamilyDef, FeatureDef, FeatureValues
from radiome.features.roi import RoiData
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
        are 0 when the variance is 0, as the manual defines them.

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
    i = np.arange(1, n_levels + 1, dtype=np.int64)
    p = counts / n_v
    mu = float(np.sum(i * p))
    dev = i - mu
    var = float(np.sum(dev**2 * p))
    cumulative = np.cumsum(counts)
    p10, p25, median, p75, p90 = linear_percentiles(
        lambda rank: np.searchsorted(cumulative, rank, side="right") + 1, n_v)
    robust = counts * ((i >= p10) & (i <= p90))  # histogram of P10 <= X_d <= P90
    robust_n = int(robust.sum())
    robust_mu = int(robust @ i) / robust_n  # the integer sum, exact, over N
    gradient = np.gradient(counts.astype(np.float64)) if n_levels > 1 else np.zeros(1)
    nonzero = p[p > 0]
    return {
        "ih_mean": mu,  # X6K6: sum_i i p_i
        "ih_var": var,  # CH89: sum_i (i - mu)^2 p_i
        # 88K1: sum_i (i - mu)^3 p_i / var^(3/2), 0 when var = 0
        "ih_skew": float(np.sum(dev**3 * p) / var**1.5) if var > 0 else 0.0,
        # C3I7: sum_i (i - mu)^4 p_i / var^2 - 3, 0 when var = 0
        "ih_kurt": float(np.sum(dev**4 * p) / var**2 - 3.0) if var > 0 else 0.0,
        "ih_median": float(median),  # WIFQ
        "ih_min": float(low),  # 1PR8
        "ih_p10": float(p10),  # GPMT
        "ih_p90": float(p90),  # OZ0C
        "ih_max": float(high),  # 3NCY
        "ih_mode": float(_mode(counts, int(counts @ i))),  # AMMC
        "ih_iqr": float(p75 - p25),  # WR0O: P75 - P25
        "ih_range": float(high - low),  # 5Z3W: max - min
        "ih_mad": float(np.sum(np.abs(dev) * p)),  # D2ZX: sum_i |i - mu| p_i
        # WRZB: mean absolute deviation of the voxels with P10 <= X_d <= P90 from their mean
        "ih_rmad": float(robust @ np.abs(i - robust_mu) / robust_n),
        "ih_medad": float(np.sum(np.abs(i - median) * p)),  # 4RNL: sum_i |i - M| p_i
        "ih_cov": float(np.sqrt(var) / mu),  # CWYJ: sigma / mu (mu >= 1)
        "ih_qcod": float((p75 - p25) / (p75 + p25)),  # SLWD: (P75 - P25) / (P75 + P25)
        "ih_entropy": float(-np.sum(nonzero * np.log2(nonzero))),  # TLU2: -sum_i p_i log2 p_i
        "ih_uniformity": float(np.sum(p**2)),  # BJ5W: sum_i p_i^2
        "ih_max_grad": float(gradient.max()),  # 12CE: max H'
        "ih_max_grad_g": float(np.argmax(gradient) + 1),  # 8E6O: i where H' is maximal
        "ih_min_grad": float(gradient.min()),  # VQB3: min H'
        "ih_min_grad_g": float(np.argmin(gradient) + 1),  # RHQZ: i where H' is minimal
    }


def _mode(counts: np.ndarray, level_sum: int) -> int:
    """Most frequent level; ties go to the level closest to the mean, then to the lower one."""
    n_v = int(counts.sum())
    candidates = np.flatnonzero(counts == counts.max()) + 1
    distance = np.abs(candidates * n_v - level_sum)  # |i - mu| * N_v, exact in integers
    return int(candidates[np.argmin(distance)])


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
