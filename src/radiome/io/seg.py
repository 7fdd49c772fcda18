"""DICOM Segmentation (SEG) objects through highdicom: binary and fractional segments."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import SimpleITK as sitk

from radiome.errors import DicomError, GeometryError, ROINotFoundError, UnreadableFileError
from radiome.io.dicom import read_dicom
from radiome.io.volumes import grid_from_sitk, to_sitk
from radiome.volume import Mask, Volume

__all__ = ["read_seg", "seg_segments"]


def _read(path: Path) -> hd.seg.Segmentation:
    """The SEG of a file checked to be whole; :class:`UnreadableFileError` names the file."""
    ds = read_dicom(path)
    try:
        return hd.seg.Segmentation.from_dataset(ds, copy=False)
    except Exception as exc:  # highdicom/pydicom raise many kinds on broken or foreign files
        reason = " ".join(str(exc).split()) or type(exc).__name__
        msg = f"{path}: not a readable DICOM SEG: {reason}"
        raise UnreadableFileError(msg) from None


def seg_segments(path: str | Path) -> dict[int, str]:
    """Segment numbers and labels of a DICOM SEG file."""
    seg = _read(Path(path))
    return {n: str(seg.get_segment_description(n).SegmentLabel) for n in seg.segment_numbers}


def _select(path: Path, seg: hd.seg.Segmentation, roi: str | int | None) -> tuple[int, str]:
    segments = {n: str(seg.get_segment_description(n).SegmentLabel) for n in seg.segment_numbers}
    listing = ", ".join(f"{label!r} (#{n})" for n, label in segments.items()) or "none"
    if roi is None:
        if len(segments) == 1:
            return next(iter(segments.items()))
        msg = f"{path}: {len(segments)} segments; choose one with --roi: {listing}"
        raise ROINotFoundError(msg)
    key = str(roi)
    hits = [(n, s) for n, s in segments.items() if s == key]
    hits = hits or [(n, s) for n, s in segments.items() if s.lower() == key.lower()]
    if not hits and key.isdigit():
        hits = [(n, s) for n, s in segments.items() if n == int(key)]
    if not hits:
        msg = f"{path}: segment {key!r} not found; the SEG has: {listing}"
        raise ROINotFoundError(msg)
    return hits[0]


def _place(path: Path, image: sitk.Image, reference: Volume) -> np.ndarray:
    """Sample a SEG volume at the reference voxel centres; refuse grids that are not aligned."""
    target = reference.grid
    corners = np.array([[k, j, i] for k in (0, target.shape[0] - 1)
                        for j in (0, target.shape[1] - 1) for i in (0, target.shape[2] - 1)],
                       dtype=float)
    world = target.index_to_world(corners)
    index = np.array([image.TransformPhysicalPointToContinuousIndex(tuple(p)) for p in world])
    if np.abs(index - np.rint(index)).max() > 0.05:
        msg = (
            f"{path}: SEG voxels do not fall on the voxel centres of {reference.source} "
            "(another spacing or a sub-voxel shift); resample the SEG onto the image first"
        )
        raise GeometryError(msg)
    placed = sitk.Resample(image, to_sitk(np.zeros(target.shape, np.uint8), target),
                           sitk.Transform(), sitk.sitkNearestNeighbor, 0.0, image.GetPixelID())
    return sitk.GetArrayFromImage(placed)


def read_seg(
    path: str | Path,
    *,
    roi: str | int | None = None,
    reference: Volume | None = None,
    threshold: float = 0.5,
) -> Mask:
    """Read one segment of a DICOM SEG as a :class:`Mask`.

    Parameters
    ----------
    path : path
        The SEG file.
    roi : str or int, optional
        Segment label (exact, then case-insensitive) or segment number; needed when the SEG
        holds several segments.
    reference : Volume, optional
        Image to place the mask on (its grid); without it the SEG's own grid is used.
    threshold : float
        For FRACTIONAL segmentations, the fraction (0..1) at or above which a voxel is in the ROI.

    Returns
    -------
    Mask
    """
    path = Path(path)
    seg = _read(path)
    number, label = _select(path, seg, roi)
    if reference is not None and reference.dicom is not None:
        frames = {str(seg.get("FrameOfReferenceUID", ""))} - {""}
        if frames and reference.dicom.frame_of_reference_uid not in frames:
            msg = (
                f"{path}: SEG frame of reference {', '.join(frames)} differs from the image's "
                f"{reference.dicom.frame_of_reference_uid} ({reference.source})"
            )
            raise DicomError(msg)
    try:
        volume = seg.get_volume(segment_numbers=[number], combine_segments=False,
                                rescale_fractional=True)
    except (ValueError, RuntimeError) as exc:
        msg = f"{path}: SEG frames do not form a regular volume: {exc}"
        raise DicomError(msg) from exc
    values = np.asarray(volume.array)
    if values.ndim == 4:
        values = values[..., 0]
    inside = values >= threshold if np.issubdtype(values.dtype, np.floating) else values > 0
    image = volume.with_array(inside.astype(np.uint8)).to_simpleitk()
    if reference is None:
        return Mask(array=sitk.GetArrayFromImage(image) > 0, grid=grid_from_sitk(image),
                    roi=label, source=str(path))
    placed = _place(path, image, reference)
    return Mask(array=placed > 0, grid=reference.grid, roi=label, source=str(path))
