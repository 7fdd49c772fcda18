"""PyRadiomics features and their IBSI (radiome) counterparts: names, kinds and conventions.

Standard library only, shared by the benchmark's agreement (``agreement.py``) and the
regression test against PyRadiomics' own baseline values (``tests/test_pyradiomics_baseline.py``).

Every PyRadiomics feature is mapped in :data:`PAIRS` to its IBSI counterpart, with a kind:

- ``same``: the definitions coincide;
- ``converted``: a documented closed-form difference (e.g. PyRadiomics' kurtosis is IBSI's
  excess kurtosis + 3); compare after :func:`converted`;
- ``differs``: the definitions differ (reason in ``note``).

PyRadiomics features without an IBSI counterpart are listed in :data:`UNMATCHED`, the
definition and implementation differences in :data:`DIFFERENCES`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["DIFFERENCES", "PAIRS", "RELATIVE_TOLERANCE", "UNMATCHED", "Pair", "converted",
           "relative"]

#: Agreement threshold: |a - b| <= 1e-6 max(|a|, |b|).
RELATIVE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Pair:
    """A PyRadiomics feature (``class_Name``) and its radiome counterpart."""

    pyradiomics: str
    radiome: str
    aggregation: str = ""
    kind: str = "same"  # "same", "converted" or "differs"
    note: str = ""


_AXIS_NOTE = ("PyRadiomics' covariance of voxel positions divides by N, radiome's by N - 1 "
              "(np.cov): PyRadiomics = radiome * sqrt((N - 1) / N)")
_MESH_NOTE = ("the meshes differ: PyRadiomics triangulates the mask with its own "
              "marching-cubes table, radiome (like MIRP) with scikit-image's Lewiner marching "
              "cubes, which resolves ambiguous cube configurations differently; equal on ROIs "
              "without such configurations")


def _pairs(family: str, aggregation: str, names: str) -> list[Pair]:
    """Pairs from 'PyName=ibsi_name' words, one family and aggregation."""
    out = []
    for word in names.split():
        py, ours = word.split("=")
        out.append(Pair(f"{family}_{py}", ours, aggregation))
    return out


PAIRS: tuple[Pair, ...] = (
    Pair("shape_MeshVolume", "morph_volume", kind="differs", note=_MESH_NOTE),
    Pair("shape_VoxelVolume", "morph_vol_approx"),
    Pair("shape_Maximum3DDiameter", "morph_diam"),
    Pair("shape_Elongation", "morph_pca_elongation"),
    Pair("shape_Flatness", "morph_pca_flatness"),
    Pair("shape_MajorAxisLength", "morph_pca_maj_axis", kind="converted", note=_AXIS_NOTE),
    Pair("shape_MinorAxisLength", "morph_pca_min_axis", kind="converted", note=_AXIS_NOTE),
    Pair("shape_LeastAxisLength", "morph_pca_least_axis", kind="converted", note=_AXIS_NOTE),
    Pair("shape_SurfaceArea", "morph_area_mesh", kind="differs", note=_MESH_NOTE),
    Pair("shape_SurfaceVolumeRatio", "morph_av", kind="differs", note=_MESH_NOTE),
    Pair("shape_Sphericity", "morph_sphericity", kind="differs", note=_MESH_NOTE),
    Pair("firstorder_Kurtosis", "stat_kurt", kind="converted",
         note="PyRadiomics reports kurtosis, IBSI excess kurtosis: PyRadiomics = radiome + 3"),
    *_pairs("firstorder", "",
            "Mean=stat_mean Variance=stat_var Skewness=stat_skew Median=stat_median "
            "Minimum=stat_min 10Percentile=stat_p10 90Percentile=stat_p90 Maximum=stat_max "
            "InterquartileRange=stat_iqr Range=stat_range MeanAbsoluteDeviation=stat_mad "
            "RobustMeanAbsoluteDeviation=stat_rmad Energy=stat_energy "
            "RootMeanSquared=stat_rms Entropy=ih_entropy Uniformity=ih_uniformity"),
    *_pairs("glcm", "3d_avg",
            "MaximumProbability=cm_joint_max JointAverage=cm_joint_avg SumSquares=cm_joint_var "
            "JointEntropy=cm_joint_entr DifferenceAverage=cm_diff_avg "
            "DifferenceVariance=cm_diff_var DifferenceEntropy=cm_diff_entr "
            "SumAverage=cm_sum_avg SumEntropy=cm_sum_entr JointEnergy=cm_energy "
            "Contrast=cm_contrast Id=cm_inv_diff Idn=cm_inv_diff_norm Idm=cm_inv_diff_mom "
            "Idmn=cm_inv_diff_mom_norm InverseVariance=cm_inv_var Correlation=cm_corr "
            "Autocorrelation=cm_auto_corr ClusterTendency=cm_clust_tend "
            "ClusterShade=cm_clust_shade ClusterProminence=cm_clust_prom "
            "Imc1=cm_info_corr1 Imc2=cm_info_corr2"),
    *_pairs("glrlm", "3d_avg",
            "ShortRunEmphasis=rlm_sre LongRunEmphasis=rlm_lre "
            "LowGrayLevelRunEmphasis=rlm_lgre HighGrayLevelRunEmphasis=rlm_hgre "
            "ShortRunLowGrayLevelEmphasis=rlm_srlge ShortRunHighGrayLevelEmphasis=rlm_srhge "
            "LongRunLowGrayLevelEmphasis=rlm_lrlge LongRunHighGrayLevelEmphasis=rlm_lrhge "
            "GrayLevelNonUniformity=rlm_glnu GrayLevelNonUniformityNormalized=rlm_glnu_norm "
            "RunLengthNonUniformity=rlm_rlnu RunLengthNonUniformityNormalized=rlm_rlnu_norm "
            "RunPercentage=rlm_r_perc GrayLevelVariance=rlm_gl_var RunVariance=rlm_rl_var "
            "RunEntropy=rlm_rl_entr"),
    *_pairs("glszm", "3d",
            "SmallAreaEmphasis=szm_sze LargeAreaEmphasis=szm_lze "
            "LowGrayLevelZoneEmphasis=szm_lgze HighGrayLevelZoneEmphasis=szm_hgze "
            "SmallAreaLowGrayLevelEmphasis=szm_szlge SmallAreaHighGrayLevelEmphasis=szm_szhge "
            "LargeAreaLowGrayLevelEmphasis=szm_lzlge LargeAreaHighGrayLevelEmphasis=szm_lzhge "
            "GrayLevelNonUniformity=szm_glnu GrayLevelNonUniformityNormalized=szm_glnu_norm "
            "SizeZoneNonUniformity=szm_zsnu SizeZoneNonUniformityNormalized=szm_zsnu_norm "
            "ZonePercentage=szm_z_perc GrayLevelVariance=szm_gl_var ZoneVariance=szm_zs_var "
            "ZoneEntropy=szm_zs_entr"),
    *_pairs("ngtdm", "3d",
            "Coarseness=ngt_coarseness Contrast=ngt_contrast Busyness=ngt_busyness "
            "Complexity=ngt_complexity Strength=ngt_strength"),
    *_pairs("gldm", "3d",
            "SmallDependenceEmphasis=ngl_lde LargeDependenceEmphasis=ngl_hde "
            "LowGrayLevelEmphasis=ngl_lgce HighGrayLevelEmphasis=ngl_hgce "
            "SmallDependenceLowGrayLevelEmphasis=ngl_ldlge "
            "SmallDependenceHighGrayLevelEmphasis=ngl_ldhge "
            "LargeDependenceLowGrayLevelEmphasis=ngl_hdlge "
            "LargeDependenceHighGrayLevelEmphasis=ngl_hdhge "
            "GrayLevelNonUniformity=ngl_glnu DependenceNonUniformity=ngl_dcnu "
            "DependenceNonUniformityNormalized=ngl_dcnu_norm GrayLevelVariance=ngl_gl_var "
            "DependenceVariance=ngl_dc_var DependenceEntropy=ngl_dc_entr"),
)

#: PyRadiomics features with no IBSI 1 counterpart, and why.
UNMATCHED: dict[str, str] = {
    "shape_Maximum2DDiameterSlice": "largest in-plane diameter: not an IBSI feature",
    "shape_Maximum2DDiameterColumn": "largest coronal diameter: not an IBSI feature",
    "shape_Maximum2DDiameterRow": "largest sagittal diameter: not an IBSI feature",
    "firstorder_TotalEnergy": "energy times voxel volume: not an IBSI feature",
    "glcm_MCC": "maximal correlation coefficient: not an IBSI feature",
    **{f"shape2D_{name}": "PyRadiomics' 2D shape class (force2D): not an IBSI feature"
       for name in ("MeshSurface", "PixelSurface", "Perimeter", "PerimeterSurfaceRatio",
                    "Sphericity", "MaximumDiameter", "MajorAxisLength", "MinorAxisLength",
                    "Elongation")},
}


#: Known definition and implementation differences between IBSI (radiome) and PyRadiomics.
DIFFERENCES: tuple[str, ...] = (
    "Bin edges of a fixed bin width: PyRadiomics starts them at floor(min / w) · w "
    "(`getBinEdges`), IBSI at the re-segmentation range's minimum, else the ROI's minimum. "
    "The timed runs use each tool's own rule (the number of grey levels differs by at most "
    "one); the agreement gives radiome a re-segmentation minimum of floor(min / w) · w, "
    "which reproduces PyRadiomics' levels and removes no voxel.",
    "Kurtosis: PyRadiomics reports the kurtosis, IBSI the excess kurtosis (kurtosis − 3).",
    "PCA axis lengths (major, minor, least): PyRadiomics divides the covariance of voxel "
    "positions by N, radiome (and MIRP) by N − 1, so the lengths differ by a factor "
    "sqrt((N − 1) / N); elongation and flatness (square roots of eigenvalue ratios in both) "
    "are the same.",
    "Mesh: PyRadiomics builds its surface with its own marching-cubes table, radiome and MIRP "
    "with scikit-image's Lewiner marching cubes, which triangulates ambiguous cube "
    "configurations differently; mesh volume, surface area, surface-to-volume ratio and "
    "sphericity agree on ROIs without such configurations and differ by up to a few tenths of "
    "a per cent otherwise. On the prostate phantom's label 1 (168 voxels in 55 separate "
    "pieces) PyRadiomics reports a negative mesh volume.",
    "Energy and RMS: PyRadiomics adds `voxelArrayShift` first (0 in the extractor's "
    "defaults used here, 2000 in PyRadiomics' own baseline files); with 0 they are IBSI's. "
    "TotalEnergy (energy times voxel volume) has no IBSI counterpart.",
    "GLCM and GLRLM: PyRadiomics computes features on each of the 13 direction matrices "
    "(symmetric GLCM, distance 1) and averages them, which is IBSI's 3D averaged aggregation "
    "(ITBB); the original spec computes exactly that. IBSI's merged aggregation (IAZD) has no "
    "PyRadiomics counterpart. PyRadiomics drops grey levels absent from the ROI from its "
    "matrices but keeps their values, so features are unchanged. IBSI's sum variance is not "
    "in PyRadiomics (equal to ClusterTendency); MCC is not IBSI.",
    "GLDM vs NGLDM: PyRadiomics' GLDM (distance 1, alpha 0) is IBSI's NGLDM (3D, Chebyshev "
    "distance 1, coarseness 0) under other names (small/large dependence emphasis = low/high "
    "dependence emphasis); PyRadiomics lacks the dependence count percentage, the normalised "
    "grey level non-uniformity and the dependence count energy.",
    "NGTDM: PyRadiomics lets voxels that have no neighbour in the ROI into the grey-level "
    "probabilities p_i; IBSI (radiome, MIRP) counts only voxels with a valid neighbourhood. "
    "Adding one isolated voxel to a 3 x 3 x 3 ROI changes PyRadiomics' contrast and "
    "coarseness and leaves radiome's unchanged. Only ROIs with isolated voxels are affected.",
    "GLRLM on line-like or scattered ROIs: PyRadiomics leaves out runs in directions where "
    "every voxel is a run of its own. For a 6-voxel diagonal line in a constant image it gives "
    "a run percentage of 1/6 (only the direction along the line), IBSI's definition 0.936 "
    "(all 13 directions; radiome and MIRP). Compact ROIs are not affected.",
    "The prostate phantom's label 1 (168 voxels in 55 separate 26-connected pieces, many of "
    "them single voxels or lines) meets all three of the above (mesh, NGTDM, GLRLM): there "
    "PyRadiomics differs from radiome and MIRP, which agree with each other.",
    "Filters (speed only, values not compared): PyRadiomics' LoG is SimpleITK's "
    "LaplacianRecursiveGaussian (recursive approximation, normalised across scale) and its "
    "wavelet is `pywt.swtn` after wrapping odd axes to even length; with no resampling and "
    "`preCrop` off (its defaults) it filters the whole image. IBSI 2 and radiome convolve "
    "with the sampled kernel (LoG cut at 4 sigma, undecimated coif1) with mirror boundaries, "
    "on a crop around the ROI wide enough for the kernel.",
    "MIRP holds images as float32, so statistics such as skewness agree with radiome only to "
    "about 1e-6 relative.",
)


def converted(pair: Pair, value: float, n_voxels: int) -> float:
    """radiome's value in PyRadiomics' convention for a ``converted`` pair."""
    if pair.radiome == "stat_kurt":
        return value + 3.0
    if pair.radiome.startswith("morph_pca_") and pair.radiome.endswith("_axis"):
        return value * math.sqrt((n_voxels - 1) / n_voxels)
    msg = f"no conversion for {pair.radiome}"
    raise ValueError(msg)


def relative(a: float, b: float) -> float:
    """|a - b| / max(|a|, |b|); 0 when equal (NaN == NaN), inf when only one is NaN."""
    if math.isnan(a) or math.isnan(b):
        return 0.0 if math.isnan(a) and math.isnan(b) else math.inf
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0.0 else abs(a - b) / scale
