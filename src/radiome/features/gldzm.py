"""Grey level distance zone features (IBSI 1 family VMDZ).

Zones are those of the grey level size zone matrix (:mod:`radiome.features.glszm`): linked
voxels of the intensity mask with one grey level, 26-connected in 3D, 8-connected within a slice
in 2D and 2.5D. The distance of a voxel to the ROI edge is the least number of voxel faces to
cross to leave the MORPHOLOGICAL mask: the Manhattan (taxicab) distance to the nearest voxel
outside it, 1 for voxels on the edge; 6-connected in 3D, 4-connected within the slice in 2D and
2.5D. Space beyond the grid counts as outside. Voxels of the morphological mask that
re-segmentation removed from the intensity mask are not an edge. The distance of a zone is the
least distance of its voxels. d_ij is the number of zones of grey level i at distance j;
N_s = Σ d_ij the number of zones, N_v the number of voxels in the intensity mask,
p_ij = d_ij / N_s, d_i. and d_.j the marginal sums. Aggregation (``2d`` 8QNN, ``2_5d`` 62GR,
``3d`` KOBO) as in :mod:`radiome.features._zones`.
"""

from __future__ import annotations

import numpy as np

from radiome.errors import FeatureError
from radiome.features._zones import (
    Zones,
    by_dimension,
    check_inputs,
    slice_count_features,
    zones_of,
)
from radiome.features.registry import FamilyDef, FeatureDef, FeatureValues
from radiome.preprocess.roi import RoiData
from radiome.spec import Spec

__all__ = ["FAMILY", "FEATURES", "distance_to_edge", "gldzm_features"]

FEATURES = (
    FeatureDef("dzm_sde", "0GBI", "dzm"),
    FeatureDef("dzm_lde", "MB4I", "dzm"),
    FeatureDef("dzm_lgze", "S1RA", "dzm"),
    FeatureDef("dzm_hgze", "K26C", "dzm"),
    FeatureDef("dzm_sdlge", "RUVG", "dzm"),
    FeatureDef("dzm_sdhge", "DKNJ", "dzm"),
    FeatureDef("dzm_ldlge", "A7WM", "dzm"),
    FeatureDef("dzm_ldhge", "KLTH", "dzm"),
    FeatureDef("dzm_glnu", "VFT7", "dzm"),
    FeatureDef("dzm_glnu_norm", "7HP3", "dzm"),
    FeatureDef("dzm_zdnu", "V294", "dzm"),
    FeatureDef("dzm_zdnu_norm", "IATH", "dzm"),
    FeatureDef("dzm_z_perc", "VIWW", "dzm"),
    FeatureDef("dzm_gl_var", "QK93", "dzm"),
    FeatureDef("dzm_zd_var", "7WT1", "dzm"),
    FeatureDef("dzm_zd_entr", "GBDU", "dzm"),
)

#: Each feature as a generic count-matrix feature (see ``_zones.count_features``).
_GENERIC = {
    "dzm_sde": "low_j",  # 0GBI: 1/N_s Σ_j d_.j / j²
    "dzm_lde": "high_j",  # MB4I: 1/N_s Σ_j j² d_.j
    "dzm_lgze": "low_i",  # S1RA: 1/N_s Σ_i d_i. / i²
    "dzm_hgze": "high_i",  # K26C: 1/N_s Σ_i i² d_i.
    "dzm_sdlge": "low_i_low_j",  # RUVG: 1/N_s Σ_ij d_ij / (i² j²)
    "dzm_sdhge": "high_i_low_j",  # DKNJ: 1/N_s Σ_ij i² d_ij / j²
    "dzm_ldlge": "low_i_high_j",  # A7WM: 1/N_s Σ_ij j² d_ij / i²
    "dzm_ldhge": "high_i_high_j",  # KLTH: 1/N_s Σ_ij i² j² d_ij
    "dzm_glnu": "i_nu",  # VFT7: 1/N_s Σ_i d_i.²
    "dzm_glnu_norm": "i_nu_norm",  # 7HP3: 1/N_s² Σ_i d_i.²
    "dzm_zdnu": "j_nu",  # V294: 1/N_s Σ_j d_.j²
    "dzm_zdnu_norm": "j_nu_norm",  # IATH: 1/N_s² Σ_j d_.j²
    "dzm_z_perc": "percentage",  # VIWW: N_s / N_v
    "dzm_gl_var": "i_var",  # QK93: Σ_ij (i - μ)² p_ij, μ = Σ_ij i p_ij
    "dzm_zd_var": "j_var",  # 7WT1: Σ_ij (j - μ)² p_ij, μ = Σ_ij j p_ij
    "dzm_zd_entr": "entropy",  # GBDU: -Σ_ij p_ij log2 p_ij
}


def distance_to_edge(mask: np.ndarray, planar: bool) -> np.ndarray:
    """Manhattan distance of each voxel of ``mask`` to the nearest voxel outside it (0 outside).

    Parameters
    ----------
    mask : (Z, Y, X) bool ndarray
        The morphological mask; the space beyond the grid counts as outside.
    planar : bool
        True: distances within each slice (4-connected); False: in 3D (6-connected).

    Returns
    -------
    (Z, Y, X) int64 ndarray
        1 on the edge of the mask, one more for each layer inwards: the number of erosions by
        the 4- (6-) connected structuring element that a voxel survives, plus one.
    """
    from scipy import ndimage

    metric = ndimage.generate_binary_structure(3, 1)
    if planar:
        metric[0] = metric[2] = False
    padded = np.pad(np.asarray(mask, dtype=bool), 1)
    distance = ndimage.distance_transform_cdt(padded, metric=metric)
    return distance[1:-1, 1:-1, 1:-1].astype(np.int64)


def _zone_distances(
    levels: np.ndarray, mask: np.ndarray, morph_mask: np.ndarray, planar: bool
) -> tuple[Zones, np.ndarray]:
    """The zones of ``mask`` and the least distance to the edge of ``morph_mask`` of each."""
    zones = zones_of(levels, mask, planar)
    distance = np.full(zones.size.size, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(distance, zones.voxel_zone, distance_to_edge(morph_mask, planar)[mask])
    return zones, distance


def gldzm_features(
    levels: np.ndarray,
    mask: np.ndarray,
    morph_mask: np.ndarray,
    spacing: tuple[float, float, float],
    *,
    n_levels: int,
    aggregation: str = "3d",
) -> dict[str, float]:
    """Grey level distance zone features of one ROI for one aggregation method.

    Parameters
    ----------
    levels : (Z, Y, X) int ndarray
        Discretised grey levels, 1..``n_levels`` inside ``mask``.
    mask : (Z, Y, X) bool ndarray
        Intensity mask (not empty): the voxels that form zones.
    morph_mask : (Z, Y, X) bool ndarray
        Morphological mask, holding ``mask``: the ROI whose edge distances are measured from.
    spacing : (3,) float, mm, (z, y, x)
        Voxel size; unused (distances are counted in voxels) but part of the family signature.
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
        Unknown aggregation, arrays of different shapes, levels outside 1..``n_levels``, or
        intensity-mask voxels outside the morphological mask.
    """
    levels, mask = check_inputs(levels, mask, n_levels, aggregation, "GLDZM")
    morph_mask = np.asarray(morph_mask, dtype=bool)
    if morph_mask.shape != mask.shape:
        msg = f"GLDZM: morph_mask must have the shape of mask {mask.shape}, got {morph_mask.shape}"
        raise FeatureError(msg)
    outside = int(np.count_nonzero(mask & ~morph_mask))
    if outside:
        msg = f"GLDZM: the intensity mask must lie within morph_mask, {outside} voxel(s) do not"
        raise FeatureError(msg)
    zones, distance = _zone_distances(levels, mask, morph_mask, planar=aggregation != "3d")
    return slice_count_features(
        zones.level, distance, np.ones(zones.size.size), zones.slice,
        np.count_nonzero(mask, axis=(1, 2)), aggregation, _GENERIC,
    )


def _compute(roi: RoiData, spec: Spec) -> FeatureValues:
    return by_dimension(spec.aggregations, lambda dimension: gldzm_features(
        roi.levels, roi.int_mask, roi.morph_mask, roi.spacing, n_levels=roi.n_levels,
        aggregation=dimension))


FAMILY = FamilyDef(
    name="dzm",
    ibsi="VMDZ",
    title="grey level distance zone matrix",
    features=FEATURES,
    compute=_compute,
    texture=True,
)
