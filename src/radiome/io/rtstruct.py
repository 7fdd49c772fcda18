"""DICOM RTSTRUCT: a named structure's planar contours rasterised on an image grid.

Every CLOSED_PLANAR contour is mapped to continuous voxel indices of the reference image and
assigned to the nearest slice. Within a slice all contours are filled together with the
crossing-number (even-odd) rule of IBSI 1 (chapter 2, Segmentation): a voxel centre is inside
when a ray cast along +x from outside crosses the slice's polygon edges an odd number of
times, so several polygons on one slice and holes cut out by inner contours come out right.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from radiome.errors import DicomError, DicomWarning, ROINotFoundError, UnreadableFileError
from radiome.io.dicom import read_dicom
from radiome.volume import Mask, Volume

__all__ = ["rasterise_rtstruct", "rtstruct_structures"]

_SLICE_TOLERANCE = 0.25  # fraction of the slice spacing a contour plane may be off a slice
_NEEDED = ("StructureSetROISequence", "ROIContourSequence")


def _read(path: Path) -> Dataset:
    """An RTSTRUCT file checked to be whole, with the sequences that hold its structures."""
    ds = read_dicom(path)
    if str(ds.get("Modality", "")) != "RTSTRUCT":
        msg = f"{path}: not an RTSTRUCT (Modality is {ds.get('Modality', 'missing')!r})"
        raise DicomError(msg)
    missing = [kw for kw in _NEEDED if kw not in ds]
    if missing:
        msg = (
            f"{path}: RTSTRUCT has no {' or '.join(missing)}; the file is cut short or "
            "incomplete"
        )
        raise UnreadableFileError(msg)
    return ds


def rtstruct_structures(path: str | Path) -> dict[int, str]:
    """ROI numbers and names of the structures in an RTSTRUCT file."""
    ds = _read(Path(path))
    return {int(r.ROINumber): str(r.ROIName) for r in ds.get("StructureSetROISequence", [])}


def _select(path: Path, ds: Dataset, roi: str | int | None) -> tuple[int, str, str | None]:
    """ROI number, name and referenced frame of reference of the requested structure."""
    rois = [
        (int(r.ROINumber), str(r.ROIName), str(r.get("ReferencedFrameOfReferenceUID", "")) or None)
        for r in ds.get("StructureSetROISequence", [])
    ]
    with_contours = {
        int(c.ReferencedROINumber)
        for c in ds.get("ROIContourSequence", [])
        if "ContourSequence" in c
    }
    names = ", ".join(f"{name!r} (#{num})" for num, name, _ in rois) or "none"
    if roi is None:
        usable = [r for r in rois if r[0] in with_contours]
        if len(usable) == 1:
            return usable[0]
        msg = f"{path}: {len(usable)} structures with contours; choose one with --roi: {names}"
        raise ROINotFoundError(msg)
    key = str(roi)
    hits = [r for r in rois if r[1] == key] or [r for r in rois if r[1].lower() == key.lower()]
    if not hits and key.isdigit():
        hits = [r for r in rois if r[0] == int(key)]
    if not hits:
        msg = f"{path}: structure {key!r} not found; the RTSTRUCT has: {names}"
        raise ROINotFoundError(msg)
    if hits[0][0] not in with_contours:
        msg = f"{path}: structure {hits[0][1]!r} has no contours"
        raise ROINotFoundError(msg)
    return hits[0]


def _referenced_series(ds: Dataset) -> set[str]:
    uids = set()
    for fref in ds.get("ReferencedFrameOfReferenceSequence", []):
        for study in fref.get("RTReferencedStudySequence", []):
            for series in study.get("RTReferencedSeriesSequence", []):
                uids.add(str(series.SeriesInstanceUID))
    return uids


def _check_pairing(path: Path, ds: Dataset, frame_uid: str | None, reference: Volume) -> None:
    """Accept the RTSTRUCT for this image, warning when it is matched only by frame of reference."""
    ref = reference.dicom
    if ref is None:
        warnings.warn(
            f"{path}: image {reference.source} has no DICOM identifiers; the RTSTRUCT is placed "
            "by its patient coordinates only",
            DicomWarning,
            stacklevel=3,
        )
        return
    frames = {frame_uid} if frame_uid else {
        str(f.FrameOfReferenceUID) for f in ds.get("ReferencedFrameOfReferenceSequence", [])
    }
    if ref.frame_of_reference_uid and frames and ref.frame_of_reference_uid not in frames:
        msg = (
            f"{path}: RTSTRUCT frame of reference {', '.join(sorted(frames))} differs from the "
            f"image's {ref.frame_of_reference_uid} ({reference.source}); it belongs to another scan"
        )
        raise DicomError(msg)
    series = _referenced_series(ds)
    if series and ref.series_uid not in series:
        warnings.warn(
            f"{path}: RTSTRUCT references series {', '.join(sorted(series))}, not the image "
            f"series {ref.series_uid}; matched by FrameOfReferenceUID and geometry",
            DicomWarning,
            stacklevel=3,
        )


def _fill_slice(parity: np.ndarray, polygon_yx: np.ndarray) -> None:
    """Toggle the crossing parity of every voxel centre right of each edge crossing (even-odd)."""
    ny, nx1 = parity.shape
    y1, x1 = polygon_yx[:, 0], polygon_yx[:, 1]
    y2, x2 = np.roll(y1, -1), np.roll(x1, -1)
    lo, hi = np.minimum(y1, y2), np.maximum(y1, y2)
    rows_first = np.ceil(lo).astype(np.int64)  # rows j with lo <= j < hi (half-open at vertices)
    rows_end = np.ceil(hi).astype(np.int64)
    rows_first = np.clip(rows_first, 0, ny)
    rows_end = np.clip(rows_end, 0, ny)
    counts = np.maximum(rows_end - rows_first, 0)
    if counts.sum() == 0:
        return
    edge = np.repeat(np.arange(y1.size), counts)
    rows = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    rows = rows + rows_first[edge]
    t = (rows - y1[edge]) / (y2[edge] - y1[edge])
    x_cross = x1[edge] + t * (x2[edge] - x1[edge])
    first_inside = np.clip(np.ceil(x_cross).astype(np.int64), 0, nx1 - 1)
    np.add.at(parity, (rows, first_inside), 1)


def rasterise_rtstruct(
    path: str | Path, reference: Volume, *, roi: str | int | None = None
) -> Mask:
    """Rasterise one RTSTRUCT structure on the grid of ``reference``.

    Parameters
    ----------
    path : path
        The RTSTRUCT file.
    reference : Volume
        The image the structure was drawn on (its grid receives the mask).
    roi : str or int, optional
        Structure name (exact, then case-insensitive) or ROI number; needed when the file
        holds several structures with contours.

    Returns
    -------
    Mask
        True for voxel centres inside the structure (even-odd rule per slice).

    Raises
    ------
    ROINotFoundError
        The structure is not there (the message lists the ones that are).
    DicomError
        Frame of reference of another scan; contours off the image grid.

    Warns
    -----
    DicomWarning
        The RTSTRUCT references other series UIDs than the image's (a common quirk after
        re-export): matched by FrameOfReferenceUID and geometry instead.
    """
    path = Path(path)
    ds = _read(path)
    number, name, frame_uid = _select(path, ds, roi)
    _check_pairing(path, ds, frame_uid, reference)
    grid = reference.grid
    nz, ny, nx = grid.shape
    parity = np.zeros((nz, ny, nx + 1), dtype=np.int64)
    outside = 0
    for item in ds.ROIContourSequence:
        if int(item.ReferencedROINumber) != number:
            continue
        for contour in item.get("ContourSequence", []):
            if str(contour.get("ContourGeometricType", "CLOSED_PLANAR")) != "CLOSED_PLANAR":
                continue
            points = np.asarray(contour.ContourData, dtype=float).reshape(-1, 3)
            index = grid.world_to_index(points)
            z = float(np.mean(index[:, 0]))
            k = int(np.rint(z))
            if np.ptp(index[:, 0]) > 2 * _SLICE_TOLERANCE or abs(z - k) > _SLICE_TOLERANCE:
                msg = (
                    f"{path}: a contour of {name!r} does not lie in an image slice plane "
                    f"(slice index {z:.2f}); the RTSTRUCT does not fit {reference.source}"
                )
                raise DicomError(msg)
            if not 0 <= k < nz:
                outside += 1
                continue
            _fill_slice(parity[k], index[:, 1:])
    if outside:
        warnings.warn(
            f"{path}: {outside} contour(s) of {name!r} lie outside the image and were ignored",
            DicomWarning,
            stacklevel=2,
        )
    inside = (np.cumsum(parity, axis=2)[:, :, :nx] % 2).astype(bool)
    return Mask(array=inside, grid=grid, roi=name, source=str(path))
