"""Readers: images (NIfTI, NRRD, MHA/MHD, DICOM series) and masks (label maps, RTSTRUCT, SEG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from radiome.errors import (
    DicomError,
    MissingFileError,
    ROINotFoundError,
    UnreadableFileError,
    UnsupportedModalityError,
)
from radiome.io.volumes import (
    check_not_cut_in_preamble,
    grid_from_sitk,
    is_dicom_file,
    read_sitk,
    write_volume,
)
from radiome.volume import AcquisitionMetadata, Mask, Volume

__all__ = ["is_dicom_file", "load_mask", "load_volume", "read_metadata", "write_volume"]

# pydicom and highdicom are imported when a DICOM file is met, not with radiome.io.

_UNIT_BY_MODALITY = {"CT": "HU", "PT": "SUVbw", "MR": "a.u."}
_MASK_MODALITIES = ("RTSTRUCT", "SEG")


def _existing(path: str | Path, what: str) -> Path:
    """``path`` if it exists (a file cut within the DICOM preamble is an error)."""
    path = Path(path)
    if not path.exists():
        msg = f"{path}: {what} does not exist"
        raise MissingFileError(msg)
    if path.is_file():
        check_not_cut_in_preamble(path)
    return path


def load_volume(
    path: str | Path, *, series: str | None = None, modality: str | None = None
) -> Volume:
    """Read an image: a volume file (NIfTI, NRRD, MHA/MHD) or a DICOM series folder.

    Parameters
    ----------
    path : path
        Volume file, DICOM series folder, or one DICOM slice of the series to read.
    series : str, optional
        For DICOM folders with several series: the SeriesInstanceUID, number or description.
    modality : str, optional
        ``CT``, ``MR`` or ``PT`` for files that do not record it (NIfTI, NRRD, MHA); it sets
        the intensity unit (HU, a.u., SUVbw) and the default spec. For DICOM it must agree
        with the Modality tag.

    Returns
    -------
    Volume
        Intensities as float64 in (z, y, x) order with the grid in mm.
    """
    path = _existing(path, "image")
    modality = modality.upper() if modality else None
    if modality is not None and modality not in _UNIT_BY_MODALITY:
        msg = f"{path}: unsupported modality {modality!r}; radiome processes CT, MR and PT images"
        raise UnsupportedModalityError(msg)
    if path.is_dir() or is_dicom_file(path):
        from radiome.io.dicom import read_dicom_series, read_header

        if path.is_file():
            header = read_header(path)
            if str(header.get("Modality", "")) in _MASK_MODALITIES:
                msg = f"{path}: is a {header.Modality} (a mask), not an image"
                raise UnreadableFileError(msg)
            volume = read_dicom_series(path.parent, series=str(header.SeriesInstanceUID))
        else:
            volume = read_dicom_series(path, series=series)
        if modality and modality != volume.modality:
            msg = f"{path}: DICOM Modality is {volume.modality}, not {modality} as requested"
            raise DicomError(msg)
        return volume
    image = read_sitk(path)
    array = sitk.GetArrayFromImage(image).astype(np.float64)
    modality = modality or "OT"
    return Volume(
        array=array,
        grid=grid_from_sitk(image),
        modality=modality,
        unit=_UNIT_BY_MODALITY.get(modality, "a.u."),
        source=str(path),
    )


def read_metadata(path: str | Path, *, modality: str | None = None) -> AcquisitionMetadata:
    """Acquisition metadata of an image without reading its pixels.

    DICOM: from the header of the series' first file (a folder must hold one image series,
    a file stands for its series). Other formats record none: only ``modality`` is known.
    """
    path = _existing(path, "image")
    if path.is_dir() or is_dicom_file(path):
        from radiome.io.dicom import acquisition_metadata, find_series, read_header

        folder = path if path.is_dir() else path.parent
        found = find_series(folder)
        if path.is_file():
            uid = str(read_header(path).get("SeriesInstanceUID", ""))
            found = {k: v for k, v in found.items() if k == uid}
        if len(found) != 1:
            msg = f"{path}: expected one DICOM image series, found {len(found)}"
            raise DicomError(msg)
        return acquisition_metadata(read_header(next(iter(found.values())).files[0]))
    return AcquisitionMetadata(modality=modality.upper() if modality else None)


def _label_names(image: sitk.Image) -> dict[str, int]:
    """Segment names of a 3D Slicer ``.seg.nrrd`` label map (``SegmentN_Name``/``_LabelValue``)."""
    keys = set(image.GetMetaDataKeys())
    names = {}
    for key in keys:
        if key.startswith("Segment") and key.endswith("_Name"):
            stem = key[: -len("_Name")]
            label_key = f"{stem}_LabelValue"
            value = image.GetMetaData(label_key) if label_key in keys else None
            if value is not None and value.strip().lstrip("-").isdigit():
                names[image.GetMetaData(key)] = int(value)
    return names


def _label_mask(path: Path, roi: str | int | None) -> Mask:
    image = read_sitk(path)
    values = sitk.GetArrayFromImage(image)
    if np.issubdtype(values.dtype, np.floating):
        if not np.all(np.isfinite(values)) or not np.array_equal(values, np.round(values)):
            msg = (
                f"{path}: mask holds non-integer values; a label map needs whole-number labels "
                "(threshold a probability map first)"
            )
            raise UnreadableFileError(msg)
        values = values.astype(np.int64)
    labels = [int(v) for v in np.unique(values[values != 0])]  # the few ROI voxels only
    names = _label_names(image)
    listing = ", ".join(
        f"{v}" + "".join(f" ({n})" for n, lv in names.items() if lv == v) for v in labels
    )
    if roi is None:
        if len(labels) != 1:
            msg = (
                f"{path}: mask has {len(labels)} labels ({listing or 'none'}); "
                "choose one with --roi"
                if labels
                else f"{path}: mask is empty (no non-zero voxel)"
            )
            raise ROINotFoundError(msg)
        label = labels[0]
    else:
        key = str(roi)
        if key in names:
            label = names[key]
        elif key.lstrip("-").isdigit():
            label = int(key)
        else:
            known = ", ".join(names) or "none (the file carries no label names)"
            msg = f"{path}: ROI name {key!r} not found; label names: {known}; labels: {listing}"
            raise ROINotFoundError(msg)
        if label not in labels:
            msg = f"{path}: label {label} is not in the mask; labels present: {listing or 'none'}"
            raise ROINotFoundError(msg)
    roi_name = next((n for n, v in names.items() if v == label), str(label))
    return Mask(array=values == label, grid=grid_from_sitk(image), roi=roi_name, source=str(path))


def _dicom_mask_file(folder: Path) -> Path:
    from radiome.io.dicom import read_header

    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and is_dicom_file(p)):
        if str(read_header(path).get("Modality", "")) in _MASK_MODALITIES:
            found.append(path)
    if len(found) != 1:
        shown = ", ".join(str(p) for p in found) or "none"
        msg = (
            f"{folder}: expected one RTSTRUCT or SEG file in the folder, found {len(found)}: "
            f"{shown}"
        )
        raise UnreadableFileError(msg)
    return found[0]


def load_mask(
    path: str | Path,
    *,
    roi: str | int | None = None,
    reference: Volume | None = None,
) -> Mask:
    """Read a region of interest: label map file, DICOM RTSTRUCT or DICOM SEG.

    Parameters
    ----------
    path : path
        Label map (NIfTI, NRRD, MHA), RTSTRUCT or SEG file (or a folder holding one of them).
    roi : str or int, optional
        Label value or name (label maps: 3D Slicer segment names), structure name or ROI number
        (RTSTRUCT), segment label or number (SEG). Needed when the file holds several.
    reference : Volume, optional
        The image the mask belongs to. Required for RTSTRUCT (its contours are rasterised on
        the image grid); for SEG the mask is placed on its grid; for label maps the grids
        are checked to match.

    Returns
    -------
    Mask

    Raises
    ------
    ROINotFoundError
        The ROI is not in the file (the message lists what is).
    GeometryError
        The mask is on another grid than ``reference`` (with the numbers).
    """
    path = _existing(path, "mask")
    if path.is_dir():
        path = _dicom_mask_file(path)
    if is_dicom_file(path):
        from radiome.io.dicom import read_header
        from radiome.io.rtstruct import rasterise_rtstruct
        from radiome.io.seg import read_seg

        kind = str(read_header(path).get("Modality", ""))
        if kind == "RTSTRUCT":
            if reference is None:
                msg = f"{path}: an RTSTRUCT needs the image it was drawn on (pass the image)"
                raise UnreadableFileError(msg)
            return rasterise_rtstruct(path, reference, roi=roi)
        if kind == "SEG":
            return read_seg(path, roi=roi, reference=reference)
        msg = f"{path}: DICOM {kind or 'object'} is not a mask (expected RTSTRUCT or SEG)"
        raise UnreadableFileError(msg)
    mask = _label_mask(path, roi)
    if reference is not None:
        mask.check_matches(reference)
    return mask

