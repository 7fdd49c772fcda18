"""Neighbouring grey level dependence features (IBSI 1 family REK0).

For a voxel k of the intensity mask, its dependence count is j_k = 1 + the number of voxels of
the intensity mask at Chebyshev distance 1..δ (within the slice in 2D and 2.5D) whose grey level
differs from X_k by at most the coarseness α; voxels outside the mask do not count, and every
voxel of the mask has a neighbourhood (N_s = N_v). s_ij is the number of voxels of grey level i
with dependence count j, p_ij = s_ij / N_s, s_i. and s_.j the marginal sums. Aggregation
(``2d`` 8QNN, ``2_5d`` 62GR, ``3d`` KOBO) as in :mod:`radiome.features._zones`.
"""

from __future__ import annotations

import numpy as np

from radiome._kernels import kernel
from radiome.errors import FeatureError
from radiome.features._zones import (
    by_dimension,
    check_inputs,
    flat_steps,
    neighbour_offsets,
    padded_levels,
    slice_count_features,
)
from radiome.features.registry import FamilyDef, FeatureDef, FeatureValues
from radiome.preprocess.roi import RoiData
from radiome.spec import Spec

__all__ = ["FAMILY", "FEATURES", "ngldm_features"]

FEATURES = (
    FeatureDef("ngl_lde", "SODN", "ngl"),
    FeatureDef("ngl_hde", "IMOQ", "ngl"),
    FeatureDef("ngl_lgce", "TL9H", "ngl"),
    FeatureDef("ngl_hgce", "OAE7", "ngl"),
    FeatureDef("ngl_ldlge", "EQ3F", "ngl"),
    FeatureDef("ngl_ldhge", "JA6D", "ngl"),
    FeatureDef("ngl_hdlge", "NBZI", "ngl"),
    FeatureDef("ngl_hdhge", "9QMG", "ngl"),
    FeatureDef("ngl_glnu", "FP8K", "ngl"),
    FeatureDef("ngl_glnu_norm", "5SPA", "ngl"),
    FeatureDef("ngl_dcnu", "Z87G", "ngl"),
    FeatureDef("ngl_dcnu_norm", "OKJI", "ngl"),
    FeatureDef("ngl_dc_perc", "6XV8", "ngl"),
    FeatureDef("ngl_gl_var", "1PFV", "ngl"),
    FeatureDef("ngl_dc_var", "DNX2", "ngl"),
    FeatureDef("ngl_dc_entr", "FCBV", "ngl"),
    FeatureDef("ngl_dc_energy", "CAS9", "ngl"),
)

#: Each feature as a generic count-matrix feature (see ``_zones.count_features``).
_GENERIC = {
    "ngl_lde": "low_j",  # SODN: 1/N_s Σ_j s_.j / j²
    "ngl_hde": "high_j",  # IMOQ: 1/N_s Σ_j j² s_.j
    "ngl_lgce": "low_i",  # TL9H: 1/N_s Σ_i s_i. / i²
    "ngl_hgce": "high_i",  # OAE7: 1/N_s Σ_i i² s_i.
    "ngl_ldlge": "low_i_low_j",  # EQ3F: 1/N_s Σ_ij s_ij / (i² j²)
    "ngl_ldhge": "high_i_low_j",  # JA6D: 1/N_s Σ_ij i² s_ij / j²
    "ngl_hdlge": "low_i_high_j",  # NBZI: 1/N_s Σ_ij j² s_ij / i²
    "ngl_hdhge": "high_i_high_j",  # 9QMG: 1/N_s Σ_ij i² j² s_ij
    "ngl_glnu": "i_nu",  # FP8K: 1/N_s Σ_i s_i.²
    "ngl_glnu_norm": "i_nu_norm",  # 5SPA: 1/N_s² Σ_i s_i.²
    "ngl_dcnu": "j_nu",  # Z87G: 1/N_s Σ_j s_.j²
    "ngl_dcnu_norm": "j_nu_norm",  # OKJI: 1/N_s² Σ_j s_.j²
    "ngl_dc_perc": "percentage",  # 6XV8: N_s / N_v
    "ngl_gl_var": "i_var",  # 1PFV: Σ_ij (i - μ)² p_ij, μ = Σ_ij i p_ij
    "ngl_dc_var": "j_var",  # DNX2: Σ_ij (j - μ)² p_ij, μ = Σ_ij j p_ij
    "ngl_dc_entr": "entropy",  # FCBV: -Σ_ij p_ij log2 p_ij
    "ngl_dc_energy": "energy",  # CAS9: Σ_ij p_ij²
}


@kernel("none(i8[::1], i8[::1], i8[::1], i8, i8, i8, b1, i8[:, :, ::1])")
def _ngldm_kernel(flat, voxels, steps, plane, width, coarseness, planar, out):
    """Add s_ij to ``out`` ((slices or 1, N_g + 1, len(steps) + 2) int64), voxels in C order;
    ``flat``, ``voxels`` as from :func:`padded_levels`, ``plane`` its voxels per slice."""
    for v in range(voxels.size):
        c = voxels[v]
        level = flat[c]
        dependence = 1
        for k in range(steps.size):
            other = flat[c + steps[k]]
            if other > 0 and abs(other - level) <= coarseness:
                dependence += 1
        out[c // plane - width if planar else 0, level, dependence] += 1


def _ngldm(
    levels: np.ndarray, mask: np.ndarray, n_levels: int, distance: int, coarseness: int,
    planar: bool,
) -> np.ndarray:
    """Dense s_ij per slice (planar) or of the volume: (rows, N_g + 1, max j + 1) int64."""
    offsets = neighbour_offsets(distance, planar)
    rows = levels.shape[0] if planar else 1
    out = np.zeros((rows, n_levels + 1, offsets.shape[0] + 2), dtype=np.int64)
    flat, voxels, shape = padded_levels(levels, mask, distance)
    _ngldm_kernel(flat, voxels, flat_steps(offsets, shape), shape[1] * shape[2], distance,
                  coarseness, planar, out)
    return out


def ngldm_features(
    levels: np.ndarray,
    mask: np.ndarray,
    spacing: tuple[float, float, float],
    *,
    n_levels: int,
    distance: int = 1,
    coarseness: int = 0,
    aggregation: str = "3d",
) -> dict[str, float]:
    """Neighbouring grey level dependence features of one ROI for one aggregation method.

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
    coarseness : int
        Coarseness α >= 0: neighbours within α grey levels are dependent.
    aggregation : {"2d", "2_5d", "3d"}
        Per-slice averaged (8QNN), slice-merged (62GR) or volumetric (KOBO).

    Returns
    -------
    dict
        ``{feature name: value}`` for every name in :data:`FEATURES`.

    Raises
    ------
    FeatureError
        Unknown aggregation, distance < 1, coarseness < 0, arrays of different shapes, or
        levels outside 1..``n_levels``.
    """
    levels, mask = check_inputs(levels, mask, n_levels, aggregation, "NGLDM")
    if distance < 1 or coarseness < 0:
        msg = (
            "NGLDM: distance must be an integer >= 1 and coarseness >= 0, "
            f"got distance={distance!r}, coarseness={coarseness!r}"
        )
        raise FeatureError(msg)
    matrix = _ngldm(levels, mask, n_levels, int(distance), int(coarseness),
                    planar=aggregation != "3d")
    slice_of, level, column = np.nonzero(matrix)
    return slice_count_features(
        level, column, matrix[slice_of, level, column], slice_of,
        np.count_nonzero(mask, axis=(1, 2)), aggregation, _GENERIC,
    )


def _compute(roi: RoiData, spec: Spec) -> FeatureValues:
    return by_dimension(spec.aggregations, lambda dimension: ngldm_features(
        roi.levels, roi.int_mask, roi.spacing, n_levels=roi.n_levels,
        distance=spec.features.ngldm_distance, coarseness=spec.features.ngldm_coarseness,
        aggregation=dimension))


FAMILY = FamilyDef(
    name="ngl",
    ibsi="REK0",
    title="neighbouring grey level dependence matrix",
    features=FEATURES,
    compute=_compute,
    texture=True,
)
