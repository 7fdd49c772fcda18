"""One case: image + mask + spec → the long feature table."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from radiome.errors import FeatureError
from radiome.features import FAMILIES, FamilyDef, RoiData, unit_of
from radiome.io import load_mask, load_volume
from radiome.preprocess import discretised, process, target_mapping
from radiome.spec import Spec, load_spec
from radiome.table import COLUMNS
from radiome.volume import Mask, Volume

__all__ = ["extract"]

#: Radius in mm of the 1 cm³ sphere of the local intensity peak (IBSI 1, family 9ST6).
_PEAK_RADIUS_MM = (3.0 / (4.0 * math.pi)) ** (1.0 / 3.0) * 10.0


def _margin(spec: Spec, spacing: tuple[float, float, float]) -> tuple[int, int, int]:
    """Voxels kept around the ROI so that every requested feature sees what it needs."""
    if "loc" not in spec.features.families:
        return (1, 1, 1)
    return tuple(math.ceil(_PEAK_RADIUS_MM / s) + 1 for s in spacing)  # type: ignore[return-value]


def _family(name: str) -> FamilyDef:
    try:
        return FAMILIES[name]
    except KeyError:
        msg = f"feature family {name!r} is not implemented (available: {', '.join(FAMILIES)})"
        raise FeatureError(msg) from None


def _rows(
    family: FamilyDef, roi: RoiData, spec: Spec, *, case_id: str, roi_name: str, filter_name: str
) -> list[tuple]:
    defs = family.by_name()
    rows = []
    for (name, aggregation), value in family.compute(roi, spec).items():
        feature = defs[name]
        rows.append(
            (case_id, roi_name, filter_name, family.name, name, feature.ibsi, aggregation,
             float(value), unit_of(feature, roi.unit), spec.hash)
        )
    return rows


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
    volume = image if isinstance(image, Volume) else load_volume(image)
    spec = load_spec(spec, modality=volume.modality)
    choice = roi if roi is not None else spec.roi.name
    if not isinstance(mask, Mask):
        mask = load_mask(mask, roi=choice, reference=volume)
    mask.check_matches(volume)
    mask.check_not_empty()
    if case_id is None:
        case_id = _case_id(volume.source)
    families = [_family(name) for name in spec.features.families]
    target = target_mapping(volume.grid, spec).target
    processed = process(volume, mask, spec, margin=_margin(spec, target.spacing))
    roi_data = discretised(processed, spec.preprocessing.discretisation)
    rows = []
    for family in families:
        rows += _rows(family, roi_data, spec, case_id=case_id, roi_name=mask.roi, filter_name="")
    table = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
    table["value"] = table["value"].astype(np.float64)
    return table


def _case_id(source: str) -> str:
    """A case id from a file or folder name (``lung1_image.nrrd`` → ``lung1_image``)."""
    name = Path(source).name
    for suffix in (".nii.gz", ".nii", ".nrrd", ".mha", ".mhd", ".dcm", ".gz"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name
