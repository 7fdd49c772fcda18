"""DICOM image series: discovery by SeriesInstanceUID, geometry, HU, SUVbw, acquisition metadata.

Slices are grouped by SeriesInstanceUID, sorted by their position along the slice normal
(``ImagePositionPatient · (row × column cosines)``) and checked for a regular spacing. CT pixel
values go to HU through RescaleSlope/RescaleIntercept; PET to SUVbw from the radiopharmaceutical
tags (:mod:`radiome.io.suv`); MR keeps the stored values (after the
standard modality rescale, if any).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from radiome.errors import DicomError, UnreadableFileError, UnsupportedModalityError
from radiome.io.dicom_integrity import check_pixel_data, dicom_layout
from radiome.io.suv import suv_factor, uptake_minutes
from radiome.io.volumes import check_not_cut_in_preamble, is_dicom_file
from radiome.volume import AcquisitionMetadata, DicomReference, Grid, Volume

__all__ = [
    "SeriesInfo",
    "find_series",
    "read_dicom",
    "read_dicom_series",
    "read_header",
]

_SLICE_GAP_RTOL = 0.01
_SLICE_GAP_ATOL_MM = 0.01
_IMAGE_MODALITIES_UNIT = {"CT": "HU", "PT": "SUVbw", "MR": "a.u."}
_NON_IMAGE_MODALITIES = {"RTSTRUCT", "SEG", "RTPLAN", "RTDOSE", "SR", "PR", "KO", "REG"}


@dataclass(frozen=True)
class SeriesInfo:
    """One series found in a folder: its UID, description and files."""

    series_uid: str
    modality: str
    description: str
    series_number: str
    files: tuple[Path, ...]

    def label(self) -> str:
        """One-line description for listings."""
        desc = f" '{self.description}'" if self.description else ""
        return (
            f"{self.series_uid} ({self.modality}, #{self.series_number}{desc}, "
            f"{len(self.files)} file(s))"
        )


def read_dicom(path: Path, *, pixels: bool = True) -> Dataset:
    """A DICOM file checked to be whole (:mod:`radiome.io.dicom_integrity`), then parsed.

    Parameters
    ----------
    path : Path
        The file.
    pixels : bool
        Read the pixel data too (else stop before them).

    Returns
    -------
    pydicom Dataset

    Raises
    ------
    UnreadableFileError
        The file is cut short, an image lacks pixel data or has fewer bytes than its Rows,
        Columns, BitsAllocated, SamplesPerPixel and NumberOfFrames need, or pydicom cannot
        parse it.
    """
    layout = dicom_layout(path)
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=not pixels)
    except Exception as exc:  # pydicom raises many kinds (struct.error, OSError...) on bad files
        reason = " ".join(str(exc).split()) or type(exc).__name__
        msg = f"{path}: not a readable DICOM file: {reason}"
        raise UnreadableFileError(msg) from None
    check_pixel_data(path, ds, layout)
    return ds


def read_header(path: Path) -> Dataset:
    """The DICOM header of a file, without pixel data; :class:`UnreadableFileError` if broken."""
    return read_dicom(path, pixels=False)


def _is_image(ds: Dataset) -> bool:
    return (
        str(ds.get("Modality", "")) not in _NON_IMAGE_MODALITIES
        and "ImagePositionPatient" in ds
        and "ImageOrientationPatient" in ds
        and "Rows" in ds
    )


def find_series(folder: Path) -> dict[str, SeriesInfo]:
    """All image series under ``folder`` (any depth), keyed by SeriesInstanceUID.

    Every DICOM file found is checked to be whole (:func:`read_header`): a slice cut short
    would otherwise drop out of its series or carry too few pixels.
    """
    candidates = sorted(p for p in folder.rglob("*") if p.is_file())
    for path in candidates:
        check_not_cut_in_preamble(path)
    files = [p for p in candidates if is_dicom_file(p)]
    groups: dict[str, list[tuple[Path, Dataset]]] = defaultdict(list)
    for path in files:
        ds = read_header(path)
        if _is_image(ds):
            groups[str(ds.get("SeriesInstanceUID", ""))].append((path, ds))
    series = {}
    for uid, items in groups.items():
        first = items[0][1]
        series[uid] = SeriesInfo(
            series_uid=uid,
            modality=str(first.get("Modality", "OT")),
            description=str(first.get("SeriesDescription", "")),
            series_number=str(first.get("SeriesNumber", "")),
            files=tuple(p for p, _ in items),
        )
    return series


def _choose_series(folder: Path, series: dict[str, SeriesInfo], choice: str | None) -> SeriesInfo:
    if not series:
        msg = f"{folder}: no DICOM image series found (no file with image position/orientation)"
        raise DicomError(msg)
    if choice is not None:
        hits = [
            s
            for s in series.values()
            if choice in (s.series_uid, s.series_number, s.description)
        ]
        if len(hits) == 1:
            return hits[0]
        listing = "; ".join(s.label() for s in series.values())
        msg = f"{folder}: series {choice!r} matches {len(hits)} series; the folder has: {listing}"
        raise DicomError(msg)
    if len(series) > 1:
        listing = "; ".join(s.label() for s in series.values())
        msg = (
            f"{folder}: {len(series)} image series found, choose one (by SeriesInstanceUID, "
            f"number or description): {listing}"
        )
        raise DicomError(msg)
    return next(iter(series.values()))


def _float_list(ds: Dataset, keyword: str, path: Path) -> np.ndarray:
    if keyword not in ds:
        msg = f"{path}: DICOM tag {keyword} is missing; it is needed for the image geometry"
        raise DicomError(msg)
    return np.asarray([float(v) for v in ds[keyword].value], dtype=float)


def _stack_geometry(
    folder: Path, items: list[tuple[Path, Dataset]]
) -> tuple[list[tuple[Path, Dataset]], Grid]:
    """Sort slices along the normal and build the grid; errors on irregular stacks."""
    first_path, first = items[0]
    iop = _float_list(first, "ImageOrientationPatient", first_path)
    row_cos, col_cos = iop[:3], iop[3:]
    normal = np.cross(row_cos, col_cos)
    for path, ds in items[1:]:
        if not np.allclose(_float_list(ds, "ImageOrientationPatient", path), iop, atol=1e-4):
            msg = f"{path}: ImageOrientationPatient differs from {first_path.name} in the series"
            raise DicomError(msg)
    shapes = {(int(ds.Rows), int(ds.Columns)) for _, ds in items}
    if len(shapes) > 1:
        msg = f"{folder}: slices of the series have different sizes {sorted(shapes)}"
        raise DicomError(msg)
    positions = np.asarray([_float_list(ds, "ImagePositionPatient", p) for p, ds in items])
    along = positions @ normal
    order = np.argsort(along, kind="stable")
    items = [items[i] for i in order]
    positions, along = positions[order], along[order]
    pixel_spacing = _float_list(first, "PixelSpacing", first_path)  # (row spacing, col spacing)
    if len(items) > 1:
        gaps = np.diff(along)
        if np.any(gaps < _SLICE_GAP_ATOL_MM):
            dup = [items[i][0].name for i in np.flatnonzero(gaps < _SLICE_GAP_ATOL_MM)[:3]]
            msg = (
                f"{folder}: several slices share the same position (e.g. {', '.join(dup)}); "
                "the folder may hold more than one acquisition of the series"
            )
            raise DicomError(msg)
        step = float(np.median(gaps))
        off = np.abs(gaps - step) > _SLICE_GAP_RTOL * step + _SLICE_GAP_ATOL_MM
        if off.any():
            shown = ", ".join(
                f"{gaps[i]:.3g} mm after {items[i][0].name}" for i in np.flatnonzero(off)[:5]
            )
            msg = (
                f"{folder}: irregular slice spacing: most gaps are {step:.4g} mm but {shown} "
                f"({int(off.sum())} irregular gap(s)); missing slices or a mixed series"
            )
            raise DicomError(msg)
        in_plane = (positions[-1] - positions[0]) - (along[-1] - along[0]) * normal
        if np.linalg.norm(in_plane) > 0.01 * abs(along[-1] - along[0]) + 1e-3:
            msg = (
                f"{folder}: slice positions do not run along the slice normal (gantry tilt or "
                "sheared stack); resample the series before using it"
            )
            raise DicomError(msg)
    else:
        step = float(first.get("SpacingBetweenSlices", first.get("SliceThickness", 1.0)) or 1.0)
    direction = np.column_stack([row_cos, col_cos, normal]).ravel()
    rows, cols = shapes.pop()
    grid = Grid(
        shape=(len(items), rows, cols),
        spacing=(step, float(pixel_spacing[0]), float(pixel_spacing[1])),
        origin=tuple(positions[0]),
        direction=tuple(direction),
    )
    return items, grid


def _rescaled(path: Path, ds: Dataset) -> np.ndarray:
    try:
        pixels = ds.pixel_array.astype(np.float64)
    except Exception as exc:  # pydicom raises many kinds for undecodable pixel data
        reason = " ".join(str(exc).split()) or type(exc).__name__
        msg = f"{path}: cannot decode pixel data: {reason}"
        raise UnreadableFileError(msg) from None
    slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
    intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    return pixels * slope + intercept


def acquisition_metadata(ds: Dataset) -> AcquisitionMetadata:
    """The acquisition parameters of a DICOM header (no patient identifiers)."""

    def text(keyword: str) -> str | None:
        value = ds.get(keyword)
        if value is None or value == "":
            return None
        if isinstance(value, pydicom.multival.MultiValue):
            return "\\".join(str(v) for v in value)
        return str(value)

    def number(keyword: str) -> float | None:
        value = ds.get(keyword)
        try:
            return float(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None

    tracer = dose = None
    seq = ds.get("RadiopharmaceuticalInformationSequence")
    if seq:
        radio = seq[0]
        tracer = str(radio.get("Radiopharmaceutical", "")) or None
        if tracer is None and radio.get("RadionuclideCodeSequence"):
            tracer = str(radio.RadionuclideCodeSequence[0].get("CodeMeaning", "")) or None
        dose = float(radio.RadionuclideTotalDose) if radio.get("RadionuclideTotalDose") else None
    spacing = ds.get("PixelSpacing")
    return AcquisitionMetadata(
        modality=text("Modality"),
        manufacturer=text("Manufacturer"),
        model=text("ManufacturerModelName"),
        kvp=number("KVP"),
        convolution_kernel=text("ConvolutionKernel"),
        slice_thickness=number("SliceThickness"),
        pixel_spacing=(float(spacing[0]), float(spacing[1])) if spacing else None,
        contrast_agent=text("ContrastBolusAgent"),
        series_date=text("SeriesDate"),
        tracer=tracer,
        injected_dose_bq=dose,
        uptake_time_min=uptake_minutes(ds),
    )


def read_dicom_series(folder: str | Path, *, series: str | None = None) -> Volume:
    """Read one DICOM image series from a folder (searched at any depth) as a :class:`Volume`.

    Parameters
    ----------
    folder : path
        Folder holding the slices (other files and non-image DICOM objects are ignored).
    series : str, optional
        SeriesInstanceUID, SeriesNumber or SeriesDescription of the series to read, needed
        when the folder holds several image series.

    Returns
    -------
    Volume
        Intensities in HU (CT), SUVbw (PT) or as stored (MR, others), with the grid from
        ImagePositionPatient/ImageOrientationPatient/PixelSpacing and the acquisition metadata.

    Raises
    ------
    DicomError
        Several series and none chosen; inconsistent orientation or size; irregular slice
        spacing; gantry tilt; a PET tag needed for SUV missing (the tag is named).
    """
    folder = Path(folder)
    chosen = _choose_series(folder, find_series(folder), series)
    items = [(p, read_dicom(p)) for p in chosen.files]
    items, grid = _stack_geometry(folder, items)
    modality = chosen.modality
    if modality not in _IMAGE_MODALITIES_UNIT:
        msg = (f"{folder}: series {chosen.series_uid} has modality {modality or 'none'}; "
               "radiome processes CT, MR and PT images")
        raise UnsupportedModalityError(msg)
    slices = []
    factor = None
    for path, ds in items:
        values = _rescaled(path, ds)
        if modality == "PT":
            factor = suv_factor(path, ds) if factor is None else factor
            values = values * factor
        slices.append(values)
    array = np.stack(slices, axis=0)
    first = items[0][1]
    reference = DicomReference(
        study_uid=str(first.get("StudyInstanceUID", "")) or None,
        series_uid=chosen.series_uid,
        frame_of_reference_uid=str(first.get("FrameOfReferenceUID", "")) or None,
        sop_instance_uids=tuple(str(ds.get("SOPInstanceUID", "")) for _, ds in items),
    )
    return Volume(
        array=array,
        grid=grid,
        modality=modality,
        unit=_IMAGE_MODALITIES_UNIT[modality],
        metadata=acquisition_metadata(first),
        source=str(folder),
        dicom=reference,
    )
