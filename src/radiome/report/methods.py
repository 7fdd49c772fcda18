"""The methods section of a study report: the spec in words, software, IBSI compliance.

The IBSI reporting items (IBSI 1 manual, "Reporting guidelines") are written from the stored
spec of the run, never from defaults of this radiome: what is reported is what computed the
features. IBSI compliance is the comparison of this radiome with the IBSI 1 digital phantom
reference values, computed when the report is made (the phantom is small) and cached per
software version and value code (:func:`radiome.provenance.software_key`), so a cached result is
only reused by the very same code.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd

__all__ = ["PHANTOM_SPEC", "default_cache", "ibsi_compliance", "methods_items"]

#: The spec reproducing the IBSI 1 digital phantom setting (``specs/`` of the source tree).
PHANTOM_SPEC = Path(__file__).resolve().parents[3] / "specs" / "ibsi1" / "digital_phantom.yaml"

_AGGREGATION_TEXT = {
    "2d_avg": "2D, averaged over slices and directions (BTW3)",
    "2d_smrg": "2D, merged over directions, averaged over slices (SUJT)",
    "2_5d_dmrg": "2.5D, merged per direction (JJUI)",
    "2_5d_vmrg": "2.5D, fully merged (ZW7Z)",
    "3d_avg": "3D, averaged over directions (ITBB)",
    "3d_vmrg": "3D, merged over directions (IAZD)",
}
_FAMILY_TEXT = {
    "morph": "morphology", "loc": "local intensity", "stat": "intensity statistics",
    "ih": "intensity histogram", "ivh": "intensity-volume histogram", "cm": "GLCM",
    "rlm": "GLRLM", "szm": "GLSZM", "dzm": "GLDZM", "ngt": "NGTDM", "ngl": "NGLDM",
}


def _range(bounds: dict | None) -> str:
    """``[a, b]`` with open ends as ±inf."""
    if not bounds:
        return "none"
    low = "-inf" if bounds.get("min") is None else f"{bounds['min']:g}"
    high = "+inf" if bounds.get("max") is None else f"{bounds['max']:g}"
    return f"[{low}, {high}]"


def _discretisation(d: dict | None) -> str:
    """A discretisation setting in words."""
    if not d or d.get("method") in (None, "none"):
        return "none (intensities used as they are)"
    if d["method"] == "fixed_bin_size":
        return f"fixed bin size (Q3RU) of {d['bin_width']:g}"
    return f"fixed bin number (K15C) of {d['bin_count']}"


def _filter(f: dict) -> str:
    """One IBSI 2 filter with its parameters."""
    params = ", ".join(f"{k} {v}" for k, v in f.items() if k != "kind" and v is not None)
    return f"{f['kind']} ({params})"


def methods_items(spec: dict) -> list[tuple[str, str]]:
    """The IBSI reporting items of a stored spec (``Spec.model_dump(mode="json")``) in words.

    Returns
    -------
    list of (item, text)
        Dimensions, interpolation, intensity rounding, normalisation, re-segmentation,
        discretisation (texture and IVH), families, aggregation, distances, filters.
    """
    pre, feats = spec["preprocessing"], spec["features"]
    resampling = pre.get("resampling")
    if resampling:
        spacing = " x ".join("kept" if s is None else f"{s:g}" for s in resampling["spacing"])
        interpolation = (f"to {spacing} mm (z, y, x), grid centres aligned (IBSI); image "
                         f"{resampling['image_interpolator']}, mask "
                         f"{resampling['mask_interpolator']} with partial-volume threshold "
                         f"{resampling['mask_threshold']:g}")
    else:
        interpolation = "none: features computed on the native grid"
    reseg = pre.get("resegmentation") or {}
    outliers = reseg.get("outlier_sigma")
    dims = pre.get("dimensions", "3d")
    aggregations = feats.get("aggregations") or (
        ["3d_avg", "3d_vmrg"] if dims == "3d" else ["2d_avg", "2d_smrg", "2_5d_dmrg", "2_5d_vmrg"])
    families = ", ".join(_FAMILY_TEXT.get(f, f) for f in feats["families"])
    excluded = ", ".join(feats.get("exclude") or []) or "none"
    filters = spec.get("filters") or []
    return [
        ("Processing dimensions", "2D (slice by slice)" if dims == "2d" else "3D (volumetric)"),
        ("Interpolation", interpolation),
        ("Intensity rounding", "to integers" if pre.get("round_intensities") else "none"),
        ("Normalisation", (pre.get("normalisation") or {}).get("method", "none")),
        ("Re-segmentation", f"range {_range(reseg.get('range'))}; outliers "
         + (f"outside mean ± {outliers:g} SD removed" if outliers else "kept")),
        ("Discretisation (histogram, texture)", _discretisation(pre.get("discretisation"))),
        ("Discretisation of filter responses",
         _discretisation(pre.get("filtered_discretisation") or pre.get("discretisation"))),
        ("Discretisation (intensity-volume histogram)", _discretisation(pre.get("ivh"))),
        ("Feature families", families + f"; excluded features: {excluded}"),
        ("Texture aggregation", "; ".join(_AGGREGATION_TEXT.get(a, a) for a in aggregations)),
        ("Neighbourhood distances", f"GLCM {feats['glcm_distance']}, NGTDM "
         f"{feats['ngtdm_distance']}, NGLDM {feats['ngldm_distance']} (Chebyshev), NGLDM "
         f"coarseness {feats['ngldm_coarseness']}"),
        ("Convolutional filters (IBSI 2)",
         "; ".join(_filter(f) for f in filters) if filters else "none (original image only)"),
    ]


def default_cache() -> Path:
    """Where IBSI compliance results are cached: ``$XDG_CACHE_HOME/radiome`` or ``~/.cache``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "radiome"


def ibsi_compliance(ibsi_data: str | Path | None, cache: str | Path | None = None) -> dict:
    """IBSI 1 digital-phantom compliance of this radiome: computed, or read from the cache.

    Parameters
    ----------
    ibsi_data : path, optional
        The IBSI 1 folder (``digital_phantom/phantom.nii.gz``, ``mask.nii.gz`` and
        ``reference_values/ibsi1_digital_phantom.csv``). Without it only a cached result of
        this very software can be shown.
    cache : path, optional
        Cache folder (default :func:`default_cache`).

    Returns
    -------
    dict
        ``status`` (``computed``, ``cached`` or ``not run``), ``software``, ``matched``,
        ``total``, ``families`` (matched/total per family), ``mismatches`` and ``note``.
    """
    from radiome.provenance import software_key

    key = software_key()
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    cache_file = Path(cache or default_cache()) / f"ibsi1-digital-phantom-{digest}.json"
    if cache_file.is_file():
        cached = json.loads(cache_file.read_text(encoding="utf-8"))
        if cached.get("software") == key:
            return {**cached, "status": "cached",
                    "note": f"read from the cached run of this software ({cache_file})"}
    if ibsi_data is None:
        return {"status": "not run", "software": key, "note": (
            "not checked: no IBSI 1 data folder was given (radiome report --ibsi-data DIR) and "
            "no cached result of this software exists")}
    result = _run_phantom(Path(ibsi_data))
    result["software"] = key
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache_file.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return {**result, "status": "computed",
            "note": "computed when this report was made (radiome ibsi-check on the IBSI 1 "
                    "digital phantom)"}


def _run_phantom(root: Path) -> dict:
    """Extract the IBSI 1 digital phantom with its reference spec and compare."""
    import radiome
    from radiome.errors import MissingFileError
    from radiome.ibsi import compare, load_reference, summarise

    phantom = root / "digital_phantom"
    reference = root / "reference_values" / "ibsi1_digital_phantom.csv"
    for path in (phantom / "phantom.nii.gz", phantom / "mask.nii.gz", reference, PHANTOM_SPEC):
        if not path.is_file():
            msg = (f"{path}: file missing; --ibsi-data takes the IBSI 1 folder, and the phantom "
                   "spec comes with radiome's source tree")
            raise MissingFileError(msg)
    volume = radiome.load_volume(phantom / "phantom.nii.gz", modality="CT")
    table = radiome.extract(volume, phantom / "mask.nii.gz", spec=PHANTOM_SPEC)
    comparison = compare(table, load_reference(reference))
    scored = comparison[comparison["status"] != "no reference"]
    bad = scored[scored["status"] != "match"]
    families = summarise(comparison)
    return {
        "matched": int((scored["status"] == "match").sum()),
        "total": len(scored),
        "families": families.to_dict("records"),
        "mismatches": pd.DataFrame(bad[["feature", "aggregation", "ibsi_code", "status"]])
        .to_dict("records"),
    }
