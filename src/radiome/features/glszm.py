"""Grey level size zone features (IBSI 1 family 9SAK).

A zone is a set of linked voxels of the intensity mask with one discretised grey level;
voxels link at Chebyshev distance 1: 26-connected in 3D, 8-connected within a slice in 2D and
2.5D. s_ij is the number of zones of grey level i and size j voxels; N_s = Σ s_ij the number
of zones, N_v the number of voxels in the intensity mask, p_ij = s_ij / N_s, s_i. and s_.j the
marginal sums. Aggregation (``2d`` 8QNN, ``2_5d`` 62GR, ``3d`` KOBO) as in
:mod:`radiome.features._zones`.
"""

from __future__ import annotations

import numpy as np

from radiome.features._zones import (
    by_dimension,
    check_inputs,
    slice_count_features,
    zones_of,
)
from radiome.features.registry import FamilyDef, FeatureDef, FeatureValues
from radiome.preprocess.roi import RoiData
from radiome.spec import Spec

__all__ = ["FAMILY", "FEATURES", "glszm_features"]

FEATURES = (
    FeatureDef("szm_sze", "5QRC", "szm"),
    FeatureDef("szm_lze", "48P8", "szm"),
    FeatureDef("szm_lgze", "XMSY", "szm"),
    FeatureDef("szm_hgze", "5GN9", "szm"),
    FeatureDef("szm_szlge", "5RAI", "szm"),
    FeatureDef("szm_szhge", "HW1V", "szm"),
    FeatureDef("szm_lzlge", "YH51", "szm"),
    FeatureDef("szm_lzhge", "J17V", "szm"),
    FeatureDef("szm_glnu", "JNSA", "szm"),
    FeatureDef("szm_glnu_norm", "Y1RO", "szm"),
    FeatureDef("szm_zsnu", "4JP3", "szm"),
    FeatureDef("szm_zsnu_norm", "VB3A", "szm"),
    FeatureDef("szm_z_perc", "P30P", "szm"),
    FeatureDef("szm_gl_var", "BYLV", "szm"),
    FeatureDef("szm_zs_var", "3NSA", "szm"),
    FeatureDef("szm_zs_entr", "GU8N", "szm"),
)

#: Each feature as a generic count-matrix feature (see ``_zones.count_features``).
_GENERIC = {
    "szm_sze": "low_j",  # 5QRC: 1/N_s Σ_j s_.j / j²
    "szm_lze": "high_j",  # 48P8: 1/N_s Σ_j j² s_.j
    "szm_lgze": "low_i",  # XMSY: 1/N_s Σ_i s_i. / i²
    "szm_hgze": "high_i",  # 5GN9: 1/N_s Σ_i i² s_i.
    "szm_szlge": "low_i_low_j",  # 5RAI: 1/N_s Σ_ij s_ij / (i² j²)
    "szm_szhge": "high_i_low_j",  # HW1V: 1/N_s Σ_ij i² s_ij / j²
    "szm_lzlge": "low_i_high_j",  # YH51: 1/N_s Σ_ij j² s_ij / i²
    "szm_lzhge": "high_i_high_j",  # J17V: 1/N_s Σ_ij i² j² s_ij
    "szm_glnu": "i_nu",  # JNSA: 1/N_s Σ_i s_i.²
    "szm_glnu_norm": "i_nu_norm",  # Y1RO: 1/N_s² Σ_i s_i.²
    "szm_zsnu": "j_nu",  # 4JP3: 1/N_s Σ_j s_.j²
    "szm_zsnu_norm": "j_nu_norm",  # VB3A: 1/N_s² Σ_j s_.j²
    "szm_z_perc": "percentage",  # P30P: N_s / N_v
    "szm_gl_var": "i_var",  # BYLV: Σ_ij (i - μ)² p_ij, μ = Σ_ij i p_ij
    "szm_zs_var": "j_var",  # 3NSA: Σ_ij (j - μ)² p_ij, μ = Σ_ij j p_ij
    "szm_zs_entr": "entropy",  # GU8N: -Σ_ij p_ij log2 p_ij
}


def glszm_features(
    levels: np.ndarray,
    mask: np.ndarray,
    spacing: tuple[float, float, float],
    *,
    n_levels: int,
    aggregation: str = "3d",
) -> dict[str, float]:
    """Grey level size zone features of one ROI for one aggregation method.

    Parameters
    ----------
    levels : (Z, Y, X) int ndarray
        Discretised grey levels, 1..``n_levels`` inside ``mask``.
    mask : (Z, Y, X) bool ndarray
        Intensity mask (not empty).
    spacing : (3,) float, mm, (z, y, x)
        Voxel size; unused (zones link on the voxel grid) but part of the family signature.
    n_levels : int
        Number of grey levels N_g.
    aggregation : {"2d", "2_5d", "3d"}
        Per-slice averaged (8QNN), slice-merged (62GR) or volumetric (KOBO).

    Returns
    -------
    dict
        ``{feature name: value}`` for every name in :data:`FEATURES`.

    Raises
    ------
    FeatureError
        Unknown aggregation, arrays of different shapes, or levels outside 1..``n_levels``.
    """
    levels, mask = check_inputs(levels, mask, n_levels, aggregation, "GLSZM")
    zones = zones_of(levels, mask, planar=aggregation != "3d")
    return slice_count_features(
        zones.level, zones.size, np.ones(zones.size.size), zones.slice,
        np.count_nonzero(mask, axis=(1, 2)), aggregation, _GENERIC,
    )


def _compute(roi: RoiData, spec: Spec) -> FeatureValues:
    return by_dimension(spec.aggregations, lambda dimension: glszm_features(
        roi.levels, roi.int_mask, roi.spacing, n_levels=roi.n_levels, aggregation=dimension))


FAMILY = FamilyDef(
    name="szm",
    ibsi="9SAK",
    title="grey level size zone matrix",
    features=FEATURES,
    compute=_compute,
    texture=True,
)
