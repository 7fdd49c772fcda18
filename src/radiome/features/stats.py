"""Intensity-based statistical features (IBSI 1 family UHIW), computed in 3D (DHQ4).

Symbols: X_gl are the N_v intensities of the voxels in the intensity mask; μ their mean,
σ their standard deviation (no bias correction), P_q their q-th percentile (NumPy's default
linear interpolation between order statistics), M the median.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from radiome._kernels import kernel
from radiome.errors import FeatureError
from radiome.features.registry import FamilyDef, FeatureDef, FeatureValues
from radiome.preprocess.roi import RoiData
from radiome.spec import Spec

__all__ = ["FAMILY", "FEATURES", "intensity_statistics", "linear_percentiles", "pairwise_total"]

#: The percentiles every statistic needs: P10, P25, P50 (the median), P75, P90.
_QUANTILES = np.true_divide([10, 25, 50, 75, 90], 100)

#: Values summed one after another before partial sums are added pairwise.
_BLOCK = 128

FEATURES = (
    FeatureDef("stat_mean", "Q4LE", "stat", "{u}"),
    FeatureDef("stat_var", "ECT3", "stat", "{u}^2"),
    FeatureDef("stat_skew", "KE2A", "stat"),
    FeatureDef("stat_kurt", "IPH6", "stat"),
    FeatureDef("stat_median", "Y12H", "stat", "{u}"),
    FeatureDef("stat_min", "1GSF", "stat", "{u}"),
    FeatureDef("stat_p10", "QG58", "stat", "{u}"),
    FeatureDef("stat_p90", "8DWT", "stat", "{u}"),
    FeatureDef("stat_max", "84IY", "stat", "{u}"),
    FeatureDef("stat_iqr", "SALO", "stat", "{u}"),
    FeatureDef("stat_range", "2OJQ", "stat", "{u}"),
    FeatureDef("stat_mad", "4FUA", "stat", "{u}"),
    FeatureDef("stat_rmad", "1128", "stat", "{u}"),
    FeatureDef("stat_medad", "N72L", "stat", "{u}"),
    FeatureDef("stat_cov", "7TET", "stat"),
    FeatureDef("stat_qcod", "9S40", "stat"),
    FeatureDef("stat_energy", "N8CA", "stat", "{u}^2"),
    FeatureDef("stat_rms", "5ZWQ", "stat", "{u}"),
)


def linear_percentiles(order_statistic: Callable[[np.ndarray], np.ndarray],
                       n: int) -> np.ndarray:
    """P10, P25, P50, P75, P90 of n values from their order statistics (0-based ranks).

    NumPy's default ("linear") percentile, with its own arithmetic: rank (n - 1) q, and
    a + (b - a) γ, or b - (b - a)(1 - γ) when γ >= 0.5, between the order statistics a, b
    around it; ``np.percentile`` of the values gives the same numbers.
    """
    virtual = (n - 1) * _QUANTILES
    floor = np.floor(virtual)
    gamma = virtual - floor
    previous = np.minimum(floor.astype(np.intp), n - 1)
    following = np.minimum(previous + 1, n - 1)
    a = np.asarray(order_statistic(previous), dtype=np.float64)
    b = np.asarray(order_statistic(following), dtype=np.float64)
    diff = b - a
    return np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)


@kernel("f8[::1](f8[:, ::1])")
def pairwise_total(partial):
    """Σ over the rows of (B, Q) partial sums, adding neighbours pairwise (error O(log B))."""
    work = partial.copy()
    n = work.shape[0]
    while n > 1:
        half = n // 2
        for b in range(half):
            work[b] = work[2 * b] + work[2 * b + 1]
        if n % 2:
            work[half] = work[n - 1]
        n = half + n % 2
    return work[0]


@kernel("Tuple((f8, f8, f8, f8[::1]))(f8[::1], f8, f8, f8)")
def _sums(x, low, high, median):
    """Σ X, Σ X², N and Σ X of the values in [low, high], then Σ (X - μ)^2,3,4, Σ |X - μ|,
    Σ |X - M| and Σ |X - μ_r| over [low, high] (μ_r their mean), summed in blocks."""
    n_blocks = (x.size + _BLOCK - 1) // _BLOCK
    first = np.zeros((max(n_blocks, 1), 4))
    for k in range(x.size):
        v = x[k]
        row = first[k // _BLOCK]
        row[0] += v
        row[1] += v * v
        if low <= v <= high:
            row[2] += 1.0
            row[3] += v
    total, squares, n_robust, robust = pairwise_total(first)
    mu = total / x.size
    robust_mu = robust / n_robust if n_robust > 0 else 0.0  # none in [low, high]: two voxels
    second = np.zeros((max(n_blocks, 1), 6))
    for k in range(x.size):
        v = x[k]
        d = v - mu
        d2 = d * d
        row = second[k // _BLOCK]
        row[0] += d2
        row[1] += d2 * d
        row[2] += d2 * d2
        row[3] += abs(d)
        row[4] += abs(v - median)
        if low <= v <= high:
            row[5] += abs(v - robust_mu)
    central = pairwise_total(second)
    return mu, squares, n_robust, central


def intensity_statistics(values: np.ndarray) -> dict[str, float]:
    """The 18 intensity-based statistics of a set of intensities.

    Parameters
    ----------
    values : (N_v,) float ndarray
        Intensities of the voxels in the ROI intensity mask.

    Returns
    -------
    dict
        ``{feature name: value}`` for every name in :data:`FEATURES`. Skewness and kurtosis
        are NaN when σ = 0 (IBSI leaves them undefined); the coefficient of variation is NaN
        when μ = 0, the quartile coefficient of dispersion when P75 + P25 = 0 and the robust
        mean absolute deviation when no value lies in [P10, P90] (two distinct values).

    Raises
    ------
    FeatureError
        No intensity at all.

    Notes
    -----
    Sums run in blocks of 128 values whose partial sums are added pairwise, as NumPy sums.
    """
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if x.size == 0:
        msg = "intensity statistics: the intensity mask has no voxel"
        raise FeatureError(msg)
    n_v = x.size
    p10, p25, median, p75, p90 = linear_percentiles(x.__getitem__, n_v)
    mu, squares, n_robust, central = _sums(x, p10, p90, median)
    with np.errstate(divide="ignore", invalid="ignore"):
        m2, m3, m4, mad, medad, rmad = central / np.array([n_v, n_v, n_v, n_v, n_v, n_robust])
        return {
            # Q4LE: mean = 1/N_v sum_k X_k
            "stat_mean": float(mu),
            # ECT3: variance = 1/N_v sum_k (X_k - mu)^2
            "stat_var": float(m2),
            # KE2A: skewness = m3 / m2^(3/2)
            "stat_skew": float(m3 / m2**1.5) if m2 > 0 else np.nan,
            # IPH6: excess kurtosis = m4 / m2^2 - 3
            "stat_kurt": float(m4 / m2**2 - 3.0) if m2 > 0 else np.nan,
            "stat_median": float(median),  # Y12H
            "stat_min": float(x[0]),  # 1GSF
            "stat_p10": float(p10),  # QG58
            "stat_p90": float(p90),  # 8DWT
            "stat_max": float(x[-1]),  # 84IY
            "stat_iqr": float(p75 - p25),  # SALO
            "stat_range": float(x[-1] - x[0]),  # 2OJQ
            "stat_mad": float(mad),  # 4FUA: 1/N_v sum_k |X_k - mu|
            # 1128: mean absolute deviation of the voxels with P10 <= X <= P90
            "stat_rmad": float(rmad),
            "stat_medad": float(medad),  # N72L: 1/N_v sum_k |X_k - M|
            "stat_cov": float(np.sqrt(m2) / mu) if mu != 0 else np.nan,  # 7TET: sigma / mu
            # 9S40: (P75 - P25) / (P75 + P25)
            "stat_qcod": float((p75 - p25) / (p75 + p25)) if (p75 + p25) != 0 else np.nan,
            "stat_energy": float(squares),  # N8CA: sum_k X_k^2
            "stat_rms": float(np.sqrt(squares / n_v)),  # 5ZWQ: sqrt(1/N_v sum_k X_k^2)
        }


def _compute(roi: RoiData, spec: Spec) -> FeatureValues:
    return {(name, ""): value for name, value in intensity_statistics(roi.values).items()}


FAMILY = FamilyDef(
    name="stat",
    ibsi="UHIW",
    title="intensity-based statistics",
    features=FEATURES,
    compute=_compute,
)
