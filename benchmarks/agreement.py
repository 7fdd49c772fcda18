"""Same numbers, not just same speed: radiome against PyRadiomics, feature by feature.

An untimed comparison per case on the original image. PyRadiomics runs with the benchmark's
settings; radiome runs the original mode's spec with a re-segmentation minimum of
``floor(min / 25) * 25`` (see ``tool_radiome.pyradiomics_bins_spec``), which reproduces
PyRadiomics' bin edges and removes no voxel, so both tools see identical grey levels.

Every PyRadiomics feature is mapped in :data:`PAIRS` to its IBSI counterpart, with a kind:

- ``same``: the definitions coincide; counted as agreeing when within 1e-6 relative;
- ``converted``: a documented closed-form difference (e.g. PyRadiomics' kurtosis is IBSI's
  excess kurtosis + 3); compared after converting radiome's value;
- ``differs``: the definitions differ (reason in ``note``); compared and shown, never counted.

PyRadiomics features without an IBSI counterpart are listed in :data:`UNMATCHED`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench_config import BENCH_DIR, BIN_WIDTH, MODES, Case
from speed import case_request, mode_request
from workers import Worker, WorkerError

__all__ = ["DIFFERENCES", "PAIRS", "RELATIVE_TOLERANCE", "UNMATCHED", "Pair", "agreement_case",
           "compare", "mirp_name"]

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


def _converted(pair: Pair, value: float, n_voxels: int) -> float:
    """radiome's value in PyRadiomics' convention for a ``converted`` pair."""
    if pair.radiome == "stat_kurt":
        return value + 3.0
    if pair.radiome.startswith("morph_pca_") and pair.radiome.endswith("_axis"):
        return value * math.sqrt((n_voxels - 1) / n_voxels)
    msg = f"no conversion for {pair.radiome}"
    raise ValueError(msg)


def _relative(a: float, b: float) -> float:
    """|a - b| / max(|a|, |b|); 0 when equal (NaN == NaN), inf when only one is NaN."""
    if math.isnan(a) or math.isnan(b):
        return 0.0 if math.isnan(a) and math.isnan(b) else math.inf
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0.0 else abs(a - b) / scale


_MIRP_SUFFIXES = {"ih": "_fbs_w{w}", "cm": "_d1_{agg}_fbs_w{w}", "rlm": "_{agg}_fbs_w{w}",
                  "szm": "_3d_fbs_w{w}", "ngt": "_3d_fbs_w{w}", "ngl": "_d1_a0.0_3d_fbs_w{w}"}


def mirp_name(feature: str, aggregation: str) -> str:
    """MIRP's column name of an original-image feature of the benchmark's settings."""
    family = feature.split("_", 1)[0]
    if family not in _MIRP_SUFFIXES:
        return feature
    agg = {"3d_vmrg": "3d_v_mrg"}.get(aggregation, aggregation)
    return feature + _MIRP_SUFFIXES[family].format(agg=agg, w=BIN_WIDTH)


def compare(pyradiomics: dict[str, float], ours: dict[str, float], n_voxels: int,
            mirp: dict[str, float] | None = None) -> list[dict]:
    """One row per pair: values, relative differences and agreement (radiome's converted).

    ``mirp`` (MIRP's values with the same grey levels) adds a cross-check of radiome's
    unconverted value against MIRP, another IBSI implementation.
    """
    rows = []
    for pair in PAIRS:
        theirs = pyradiomics.get("original_" + pair.pyradiomics)
        mine = ours.get(f"|{pair.radiome}|{pair.aggregation}")
        row = {"pyradiomics": pair.pyradiomics, "radiome": pair.radiome,
               "aggregation": pair.aggregation, "kind": pair.kind, "pyradiomics_value": theirs,
               "radiome_value": mine, "mirp_value": None, "relative_mirp": None,
               "agree_mirp": None}
        other = (mirp or {}).get(mirp_name(pair.radiome, pair.aggregation))
        if other is not None and mine is not None:
            rel = _relative(other, mine)
            row.update(mirp_value=other, relative_mirp=rel, agree_mirp=rel <= RELATIVE_TOLERANCE)
        if theirs is None or mine is None:
            row.update(relative=None, agree=False, missing=True)
        else:
            if pair.kind == "converted":
                mine = _converted(pair, mine, n_voxels)
                row["radiome_value"] = mine
            rel = _relative(theirs, mine)
            row.update(relative=rel, agree=rel <= RELATIVE_TOLERANCE, missing=False)
        rows.append(row)
    return rows


def _values(tool: str, case: Case, match_bins: bool, timeout: float) -> dict[str, float]:
    """Feature values of one original-mode run of a tool on a case, in a fresh worker."""
    log = BENCH_DIR / "logs" / f"{case.name}_agreement_{tool}.log"
    with Worker(tool, log) as worker:
        worker.call({"cmd": "load", "case": case_request(case)}, timeout)
        worker.call({"cmd": "prepare", "mode": mode_request(MODES["original"]),
                     "match_pyradiomics_bins": match_bins}, timeout)
        worker.call({"cmd": "run"}, timeout)
        return worker.call({"cmd": "values"}, timeout)["values"]


def _n_voxels(case: Case) -> int:
    """Voxels in the case's ROI."""
    import numpy as np

    import radiome

    volume = radiome.load_volume(case.image_path, modality=case.modality)
    mask = radiome.load_mask(case.mask_path, roi=case.label, reference=volume)
    return int(np.count_nonzero(mask.array))


def agreement_case(case: Case, *, timeout: float, with_mirp: bool = True) -> dict:
    """Compare PyRadiomics, radiome (and MIRP) on one case; counts per kind and every row."""
    try:
        theirs = _values("pyradiomics", case, False, timeout)
        ours = _values("radiome", case, True, timeout)
    except WorkerError as exc:
        return {"case": case.name, "status": "failed", "error": str(exc)}
    mirp, mirp_error = {}, ""
    if with_mirp:
        try:
            mirp = _values("mirp", case, True, timeout)
        except WorkerError as exc:
            mirp_error = str(exc)
    rows = compare(theirs, ours, _n_voxels(case), mirp)
    counts = {}
    for kind in ("same", "converted", "differs"):
        of_kind = [r for r in rows if r["kind"] == kind]
        counts[kind] = {"compared": sum(not r["missing"] for r in of_kind),
                        "agree": sum(r["agree"] for r in of_kind), "total": len(of_kind)}
    checked = [r for r in rows if r["agree_mirp"] is not None]
    counts["mirp"] = {"compared": len(checked), "agree": sum(r["agree_mirp"] for r in checked),
                      "error": mirp_error}
    unmapped = sorted(k.removeprefix("original_") for k in theirs
                      if k.startswith("original_")
                      and k.removeprefix("original_") not in {p.pyradiomics for p in PAIRS}
                      and k.removeprefix("original_") not in UNMATCHED)
    return {"case": case.name, "status": "ok", "counts": counts, "rows": rows,
            "unmapped": unmapped, "n_pyradiomics": len(theirs), "n_radiome": len(ours)}
