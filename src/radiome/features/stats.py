"""Intensity-based statistical features (IBSI 1 family UHIW), computed in 3D (DHQ4).

Symbols: X_gl are the N_v intensities of the voxels in the intensity mask; μ their mean,
σ their standard deviation (no bias correction), P_q their q-th percentile (NumPy's default
linear interpolation between order statistics), M the median.
"""

from __future__ import annotations

import numpy as np

from radiome.features.registry import FamilyDef, FeatureDef, FeatureValues
from radiome.features.roi import RoiData
from radiome.spec import Spec

__all__ = ["FAMILY", "FEATURES", "intensity_statistics"]

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
        when μ = 0 and the quartile coefficient of dispersion when P75 + P25 = 0.
    """
    x = np.asarray(values, dtype=np.float64)
    mu = x.mean()
    dev = x - mu
    var = np.mean(dev**2)
    sd = np.sqrt(var)
    p10, p25, median, p75, p90 = np.percentile(x, [10, 25, 50, 75, 90])
    robust = x[(x >= p10) & (x <= p90)]
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            # Q4LE: mean = 1/N_v sum_k X_k
            "stat_mean": float(mu),
            # ECT3: variance = 1/N_v sum_k (X_k - mu)^2
            "stat_var": float(var),
            # KE2A: skewness = m3 / m2^(3/2)
            "stat_skew": float(np.mean(dev**3) / var**1.5) if var > 0 else np.nan,
            # IPH6: excess kurtosis = m4 / m2^2 - 3
            "stat_kurt": float(np.mean(dev**4) / var**2 - 3.0) if var > 0 else np.nan,
            "stat_median": float(median),  # Y12H
            "stat_min": float(x.min()),  # 1GSF
            "stat_p10": float(p10),  # QG58
            "stat_p90": float(p90),  # 8DWT
            "stat_max": float(x.max()),  # 84IY
            "stat_iqr": float(p75 - p25),  # SALO
            "stat_range": float(x.max() - x.min()),  # 2OJQ
            "stat_mad": float(np.mean(np.abs(dev))),  # 4FUA
            # 1128: mean absolute deviation of the voxels with P10 <= X <= P90
            "stat_rmad": float(np.mean(np.abs(robust - robust.mean()))),
            "stat_medad": float(np.mean(np.abs(x - median))),  # N72L
            "stat_cov": float(sd / mu) if mu != 0 else np.nan,  # 7TET: sigma / mu
            # 9S40: (P75 - P25) / (P75 + P25)
            "stat_qcod": float((p75 - p25) / (p75 + p25)) if (p75 + p25) != 0 else np.nan,
            "stat_energy": float(np.sum(x**2)),  # N8CA: sum_k X_k^2
            "stat_rms": float(np.sqrt(np.mean(x**2))),  # 5ZWQ: sqrt(1/N_v sum_k X_k^2)
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
