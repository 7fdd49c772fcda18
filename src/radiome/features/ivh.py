"""Intensity-volume histogram features (IBSI 1 family P88C), computed in 3D (DHQ4).

The IVH has its own discretisation (``preprocessing.ivh`` of the spec), one per kind of
intensity the manual distinguishes:

``none`` (discrete calibrated intensities, e.g. CT)
    X_d,gl = X_gl rounded to whole units; interval w_d = 1; total range G = the
    re-segmentation range, an open bound replaced by min(X_gl) or max(X_gl).
``fixed_bin_size`` (continuous calibrated intensities, e.g. PET)
    X_d = floor((X_gl - X_min) / w_b) + 1 and X_d,gl = X_min + (X_d - 0.5) w_b, the bin centre,
    with X_min, X_max the re-segmentation range's bounds (each open bound: the ROI's
    minimum or maximum); w_d = w_b; G = [X_min + w_b / 2, X_max - w_b / 2].
``fixed_bin_number`` (arbitrary units, e.g. MR)
    X_d,gl = X_d in 1..N_g by fixed bin number over the ROI's own minimum and maximum (the
    re-segmentation range is ignored); w_d = 1; G = [1, N_g].

The IVH is evaluated at the intensities i_k = min(G) + k w_d, k = 0, 1, ...: fractional volume
ν_k = 1 - (1/N_v) sum_v [X_d,gl,v < i_k] (the fraction of voxels with at least i_k) and, within
G, intensity fraction γ_k = (i_k - min G) / (max G - min G). Comparisons are made on the
integer grid index, never on rounded bin-centre intensities.

V_x (BC2M) is the largest ν with γ >= x, i.e. ν at the first grid point with γ_k >= x; I_x
(GBPN) is the lowest grid intensity i_k with ν_k <= x. The area under the IVH curve (9CMM,
van Velden et al. 2011; not standardised by IBSI) is the trapezoidal sum of ν over γ at the
grid points of G.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from radiome.errors import FeatureError
from radiome.features.registry import FamilyDef, FeatureDef, FeatureValues
from radiome.preprocess.roi import RoiData
from radiome.preprocess.discretise import discretise_fixed_bin_number, discretise_fixed_bin_size
from radiome.spec import Spec

__all__ = ["FAMILY", "FEATURES", "intensity_volume_histogram_features"]

FEATURES = (
    FeatureDef("ivh_v10", "BC2M", "ivh"),
    FeatureDef("ivh_v90", "BC2M", "ivh"),
    FeatureDef("ivh_i10", "GBPN", "ivh", "{u}"),
    FeatureDef("ivh_i90", "GBPN", "ivh", "{u}"),
    FeatureDef("ivh_diff_v10_v90", "DDTU", "ivh"),
    FeatureDef("ivh_diff_i10_i90", "CNV2", "ivh", "{u}"),
    FeatureDef("ivh_auc", "9CMM", "ivh"),
)

IvhMethod = Literal["none", "fixed_bin_size", "fixed_bin_number"]


def intensity_volume_histogram_features(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    method: IvhMethod = "none",
    bin_width: float | None = None,
    bin_count: int | None = None,
    intensity_range: tuple[float | None, float | None] = (None, None),
) -> dict[str, float]:
    """The intensity-volume histogram features of the intensities in a mask.

    Parameters
    ----------
    image : (Z, Y, X) float ndarray
        Processed intensities.
    mask : (Z, Y, X) bool ndarray
        The ROI intensity mask (after re-segmentation); at least one voxel.
    method : {"none", "fixed_bin_size", "fixed_bin_number"}
        The IVH discretisation (see the module docstring).
    bin_width : float, optional
        w_b of ``fixed_bin_size``, in the intensity unit.
    bin_count : int, optional
        N_g of ``fixed_bin_number``.
    intensity_range : (2,) float or None
        The re-segmentation range [min, max] (None for an open bound); it sets the total range
        G for ``none`` and ``fixed_bin_size``.

    Returns
    -------
    dict
        ``{feature name: value}`` for every name in :data:`FEATURES`: V10 and V90 as volume
        fractions, I10 and I90 in the image's intensity unit (bin numbers 1..N_g for
        ``fixed_bin_number``), their differences, and the area under the IVH curve.

    Raises
    ------
    FeatureError
        Unknown method, missing or non-positive bin width / bin count, or an empty mask.

    Notes
    -----
    Where the manual is silent, radiome decides:

    - The grid continues past max(G) (there γ > 1) to the first intensity above every voxel
      (ν = 0) and to γ >= 1. So I_x exists even when more than x of the volume sits at or
      above max(G) (with fixed bin size the top bin's centre lies above max(G)), and V_x
      exists when G is not a whole number of intervals (fixed bin size without a range).
      The area under the curve uses the grid points of G only.
    - When max(G) <= min(G) the intensity fraction is undefined, and V10, V90, their difference
      and the area under the curve are NaN.
    - The area is 0 when the ROI holds a single discretised intensity, as the manual defines.
    """
    positions, origin, step, span = _ivh_grid_positions(
        image, mask, method, bin_width, bin_count, intensity_range
    )
    q = np.sort(positions)
    n_v = q.size
    intervals = round(span / step, 9)  # max G - min G in steps w_d
    n_in_g = math.floor(intervals) + 1 if span >= 0 else 0
    n_grid = max(math.ceil(intervals) + 1, math.floor(q[-1]) + 2)
    k = np.arange(n_grid)
    nu = (n_v - np.searchsorted(q, k, side="left")) / n_v

    def intensity_at(x: float) -> float:
        return float(origin + step * np.flatnonzero(nu <= x)[0])

    i10, i90 = intensity_at(0.10), intensity_at(0.90)
    if span > 0:
        gamma = k * step / span
        v10, v90 = (float(nu[np.flatnonzero(gamma >= x)[0]]) for x in (0.10, 0.90))
        auc = float(np.trapezoid(nu[:n_in_g], gamma[:n_in_g]))
    else:
        v10 = v90 = auc = math.nan
    if q[0] == q[-1]:
        auc = 0.0
    return {
        "ivh_v10": v10,  # BC2M: largest nu with gamma >= 0.10
        "ivh_v90": v90,  # BC2M: largest nu with gamma >= 0.90
        "ivh_i10": i10,  # GBPN: lowest i with nu <= 0.10
        "ivh_i90": i90,  # GBPN: lowest i with nu <= 0.90
        "ivh_diff_v10_v90": v10 - v90,  # DDTU: V10 - V90
        "ivh_diff_i10_i90": i10 - i90,  # CNV2: I10 - I90
        "ivh_auc": auc,  # 9CMM: trapezoidal area under nu(gamma)
    }


def _ivh_grid_positions(
    image: np.ndarray,
    mask: np.ndarray,
    method: str,
    bin_width: float | None,
    bin_count: int | None,
    intensity_range: tuple[float | None, float | None],
) -> tuple[np.ndarray, float, float, float]:
    """Voxel positions (X_d,gl - min G) / w_d on the IVH grid, min G, w_d and max G - min G."""
    mask = np.asarray(mask, dtype=bool)
    values = np.asarray(image, dtype=np.float64)[mask]
    if values.size == 0:
        msg = "intensity-volume histogram: the intensity mask has no voxel"
        raise FeatureError(msg)
    lo, hi = intensity_range
    if method == "none":
        x = np.rint(values)
        g_min = float(x.min()) if lo is None else float(lo)
        g_max = float(x.max()) if hi is None else float(hi)
        return x - g_min, g_min, 1.0, g_max - g_min
    if method == "fixed_bin_size":
        if bin_width is None or not bin_width > 0:
            msg = f"preprocessing.ivh.bin_width must be > 0 for fixed_bin_size, got {bin_width!r}"
            raise FeatureError(msg)
        x_min = float(values.min()) if lo is None else float(lo)
        x_max = float(values.max()) if hi is None else float(hi)
        levels, _ = discretise_fixed_bin_size(image, mask, bin_width, x_min)
        positions = (levels[mask] - 1).astype(np.float64)
        return positions, x_min + 0.5 * bin_width, float(bin_width), x_max - x_min - bin_width
    if method == "fixed_bin_number":
        if bin_count is None or bin_count < 1:
            msg = (
                "preprocessing.ivh.bin_count must be >= 1 for fixed_bin_number, "
                f"got {bin_count!r}"
            )
            raise FeatureError(msg)
        levels, n_levels = discretise_fixed_bin_number(image, mask, bin_count)
        return (levels[mask] - 1).astype(np.float64), 1.0, 1.0, float(n_levels - 1)
    msg = (
        "preprocessing.ivh.method must be none, fixed_bin_size or fixed_bin_number, "
        f"got {method!r}"
    )
    raise FeatureError(msg)


def _compute(roi: RoiData, spec: Spec) -> FeatureValues:
    ivh = spec.preprocessing.ivh
    values = intensity_volume_histogram_features(
        roi.image,
        roi.int_mask,
        method=ivh.method,
        bin_width=ivh.bin_width,
        bin_count=ivh.bin_count,
        intensity_range=roi.resegmentation_range,
    )
    return {(name, ""): value for name, value in values.items()}


FAMILY = FamilyDef(
    name="ivh",
    ibsi="P88C",
    title="intensity-volume histogram",
    features=FEATURES,
    compute=_compute,
    uses_filters=False,
)
