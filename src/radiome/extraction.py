"""One case: image + mask + spec → the long feature table."""

from __future__ import annotations

import functools
import math
import warnings
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from radiome.errors import FeatureError, FeatureWarning
from radiome.features import FAMILIES, REGISTRY, FamilyDef, unit_of
from radiome.features.local_intensity import PEAK_RADIUS_MM
from radiome.filters.spec import canonical_name
from radiome.io import load_mask, load_volume
from radiome.preprocess import (
    Processed,
    RoiData,
    discretised,
    interpolated_image,
    process,
    target_mapping,
)
from radiome.spec import Discretisation, Spec, load_spec
from radiome.table import COLUMNS
from radiome.volume import Mask, Volume

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["extract", "extract_rows", "filter_responses"]


def _margin(spec: Spec, spacing: tuple[float, float, float]) -> tuple[int, int, int] | None:
    """Voxels kept around the ROI so that every feature and filter sees what it needs.

    None means the whole image (a filter whose response inside the ROI depends on all of it).
    Local intensity of a filter response needs that response around the ROI, so there the
    filters' margin comes on top of the peak sphere's.
    """
    margin = [1, 1, 1]
    peak = [math.ceil(PEAK_RADIUS_MM / s) + 1 for s in spacing]
    if "loc" in spec.features.families:
        margin = peak
    filtering = [0, 0, 0]
    if spec.filters:
        from radiome.filters import required_margin_voxels
    for flt in spec.filters:
        needed = required_margin_voxels(flt, spacing)
        if needed is None:
            return None
        filtering = [max(f, n) for f, n in zip(filtering, needed, strict=True)]
    if "loc" in _filtered_families(spec):
        filtering = [f + p for f, p in zip(filtering, peak, strict=True)]
    return tuple(max(m, f) for m, f in zip(margin, filtering, strict=True))  # type: ignore[return-value]


def _filtered_families(spec: Spec) -> list[str]:
    """Families computed on filter responses (explicit, or those that use intensities)."""
    if not spec.filters:
        return []
    if spec.features.filtered_families is not None:
        return list(spec.features.filtered_families)
    return [f for f in spec.features.families if f in FAMILIES and FAMILIES[f].uses_filters]


def _family(name: str) -> FamilyDef:
    try:
        return FAMILIES[name]
    except KeyError:
        msg = f"feature family {name!r} is not implemented (available: {', '.join(FAMILIES)})"
        raise FeatureError(msg) from None


def _check_exclusions(spec: Spec) -> None:
    unknown = sorted(set(spec.features.exclude) - set(REGISTRY))
    if unknown:
        msg = (f"features.exclude names unknown feature(s) {unknown}; feature names are those "
               "of the feature table's feature column (e.g. morph_moran_i)")
        raise FeatureError(msg)


def _rows(
    families: list[FamilyDef], processed: Processed, box: tuple[slice, slice, slice],
    boxed: Processed, discretisation: Discretisation | None, spec: Spec, *,
    image: np.ndarray | None = None, unit: str | None = None, ids: tuple[str, str, str],
    spec_hash: str,
) -> list[tuple]:
    """Feature-table rows of several families of one ROI (or one filter response ``image``).

    Families that look beyond the ROI get the ``processed`` crop with its margin; every other
    one the ROI's ``box`` only (``boxed``, its crop), discretised there (the same grey
    levels, less work).
    A response ``image`` is the crop's, or the box's only when no family looks beyond the ROI.
    """
    in_box = image[box] if image is not None and image.shape == processed.image.shape else image
    tight = discretised(boxed, discretisation, unit=unit, image=in_box)
    full = None
    if any(family.surroundings for family in families):
        full = discretised(processed, discretisation, image=image, unit=unit)
    excluded = set(spec.features.exclude)
    rows = []
    for family in families:
        roi = full if family.surroundings else tight
        rows += _family_rows(family, roi, spec, excluded, ids, spec_hash)
    return rows


def _family_rows(family: FamilyDef, roi: RoiData, spec: Spec, excluded: set[str],
                 ids: tuple[str, str, str], spec_hash: str) -> list[tuple]:
    meta = _feature_meta(family.name, roi.unit)
    return [(*ids, family.name, name, meta[name][0], aggregation, float(value), meta[name][1],
             spec_hash)
            for (name, aggregation), value in family.compute(roi, spec).items()
            if name not in excluded]


@functools.lru_cache(maxsize=256)
def _feature_meta(family: str, intensity_unit: str) -> dict[str, tuple[str, str]]:
    """{feature name: (IBSI code, unit)} of a family's features for images in a unit."""
    return {f.name: (f.ibsi, unit_of(f, intensity_unit)) for f in FAMILIES[family].features}


def extract(
    image: str | Path | Volume,
    mask: str | Path | Mask,
    *,
    spec: str | Path | dict | Spec | None = None,
    roi: str | int | None = None,
    case_id: str | None = None,
) -> pd.DataFrame:
    """Compute the spec's features of one image and ROI as a long feature table.

    Parameters
    ----------
    image : path or Volume
        Volume file (NIfTI, NRRD, MHA), DICOM series folder, or a loaded :class:`Volume`.
    mask : path or Mask
        Label map, RTSTRUCT, DICOM SEG, or a loaded :class:`Mask` on the image's grid.
    spec : path, dict or Spec, optional
        The measurand spec; by default the documented default for the image's modality.
    roi : str or int, optional
        Label value or structure/segment name; overrides the spec's ``roi.name``.
    case_id : str, optional
        Written in the ``case_id`` column; defaults to the image file's name.

    Returns
    -------
    pandas.DataFrame
        One row per feature value with the columns of :data:`radiome.table.COLUMNS`.

    Raises
    ------
    RadiomeError
        Any input problem, with a message naming the file: missing or unreadable files,
        mask/image grid mismatch, empty ROI, unknown ROI, invalid spec.
    """
    import pandas as pd

    rows = extract_rows(image, mask, spec=spec, roi=roi, case_id=case_id)
    table = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
    table["value"] = table["value"].astype(np.float64)
    return table


def extract_rows(
    image: str | Path | Volume,
    mask: str | Path | Mask,
    *,
    spec: str | Path | dict | Spec | None = None,
    roi: str | int | None = None,
    case_id: str | None = None,
) -> list[tuple]:
    """The rows of :func:`extract`'s table as tuples in :data:`radiome.table.COLUMNS` order.

    Takes the same arguments as :func:`extract`; for writing with
    :func:`radiome.table.write_rows` where pandas is not needed (the command line).
    """
    volume = image if isinstance(image, Volume) else load_volume(image)
    spec = load_spec(spec, modality=volume.modality)
    choice = roi if roi is not None else spec.roi.name
    if not isinstance(mask, Mask):
        mask = load_mask(mask, roi=choice, reference=volume)
    mask.check_matches(volume)
    mask.check_not_empty()
    if case_id is None:
        case_id = _case_id(volume.source)
    _check_exclusions(spec)
    families = [_family(name) for name in spec.features.families] if spec.features.original else []
    filtered = [_family(name) for name in _filtered_families(spec)]
    target = target_mapping(volume.grid, spec).target
    processed = process(volume, mask, spec, margin=_margin(spec, target.spacing))
    rows = []
    spec_hash = spec.hash
    box = processed.roi_box()
    boxed = processed.cropped(box)
    if families:
        rows += _rows(families, processed, box, boxed, spec.preprocessing.discretisation, spec,
                      ids=(case_id, mask.roi, ""), spec_hash=spec_hash)
    discretisation = spec.preprocessing.filtered_discretisation or spec.preprocessing.discretisation
    beyond = any(family.surroundings for family in filtered)
    responses = []
    if spec.filters:
        from radiome.filters import apply_filters

        responses = apply_filters(processed.image, processed.spacing, spec.filters,
                                  edges=processed.edges, region=None if beyond else box)
    for flt, response in zip(spec.filters, responses, strict=True):
        unit = processed.unit if flt.kind == "mean" else "a.u."
        rows += _rows(filtered, processed, box, boxed, discretisation, spec, image=response,
                      unit=unit, ids=(case_id, mask.roi, canonical_name(flt)),
                      spec_hash=spec_hash)
    _warn_undefined(rows, boxed, mask)
    return rows


def _warn_undefined(rows: list[tuple], roi: Processed, mask: Mask) -> None:
    """Warn once (FeatureWarning) naming the features left NaN, with the ROI's size and kind."""
    # Measured: a single voxel, a line, a slice or equal intensities leave features NaN; an
    # ROI of 2 x 2 x 2 voxels or more with varied intensities, and the clinical cases, none.
    value, feature = COLUMNS.index("value"), COLUMNS.index("feature")
    undefined = list(dict.fromkeys(row[feature] for row in rows if math.isnan(row[value])))
    if not undefined:
        return
    n_voxels = int(np.count_nonzero(roi.morph_mask))
    intensities = roi.image[roi.int_mask]
    if n_voxels == 1:
        kind = "that is a single voxel"
    elif min(roi.morph_mask.shape) == 1:
        kind = "that is one voxel thick (a line or a slice)"
    elif intensities.size and np.all(intensities == intensities[0]):
        kind = "whose intensities are all equal"
    else:
        kind = "with these values"
    shape = " x ".join(str(n) for n in roi.morph_mask.shape)
    msg = (f"{mask.source}: ROI {mask.roi} has {n_voxels} voxel(s) in a {shape} box (z, y, x) "
           f"after processing; {len(undefined)} feature(s) are undefined (NaN) as IBSI leaves "
           f"them for an ROI {kind}: {', '.join(undefined)}")
    warnings.warn(msg, FeatureWarning, stacklevel=4)


def filter_responses(image: str | Path | Volume, spec: str | Path | dict | Spec) -> dict[str, Volume]:
    """The response map of every filter of a spec, on the spec's interpolation grid.

    The image is interpolated (and rounded) as the spec says, then filtered as a whole;
    normalisation, which needs an ROI, is not applied. Keys are the filters' canonical names.
    """
    from radiome.filters import apply_filters

    volume = image if isinstance(image, Volume) else load_volume(image)
    spec = load_spec(spec, modality=volume.modality)
    if not spec.filters:
        msg = "the spec lists no filters (add a filters: section)"
        raise FeatureError(msg)
    array, grid = interpolated_image(volume, spec)
    responses = apply_filters(array, grid.spacing, spec.filters)
    return {
        canonical_name(flt): Volume(
            array=response, grid=grid, modality=volume.modality,
            unit=volume.unit if flt.kind == "mean" else "a.u.",
            source=f"{volume.source} [{canonical_name(flt)}]",
        )
        for flt, response in zip(spec.filters, responses, strict=True)
    }


def _case_id(source: str) -> str:
    """A case id from a file or folder name (``lung1_image.nrrd`` → ``lung1_image``)."""
    name = Path(source).name
    for suffix in (".nii.gz", ".nii", ".nrrd", ".mha", ".mhd", ".dcm", ".gz"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name
