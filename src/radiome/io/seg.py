"""DICOM Segmentation (SEG) objects through highdicom: binary and fractional segments."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np

from radiome.errors import DicomError, GeometryError, ROINotFoundError, UnreadableFileError
from radiome.volume import Grid, Mask, Volume

__all__ = ["read_seg", "seg_segments"]


def _read(path: Path) -> hd.seg.Segmentation:
    try:
        return hd.seg.segread(str(path))
    except Exception as exc:  # highdicom/pydicom raise many kinds on broken or foreign files
        msg = f"{path}: not a readable DICOM SEG: {exc}"
        raise UnreadableFileError(msg) from exc


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


def _grid_of(volume: hd.Volume) -> tuple[Grid, np.ndarray]:
    """Our grid for a highdicom volume, and the axis permutation from its array to (z, y, x)."""
    affine = np.asarray(volume.affine, dtype=float)
    columns = affine[:3, :3]
    spacing = np.linalg.norm(columns, axis=0)
    # highdicom arrays are (slice, row, column): columns of the affine are the world steps of
    # those axes, so in ITK terms x = column axis, y = row axis, z = slice axis.
    direction = np.column_stack([columns[:, 2] / spacing[2], columns[:, 1] / spacing[1],
                                 columns[:, 0] / spacing[0]])
    grid = Grid(
        shape=tuple(int(n) for n in volume.spatial_shape),
        spacing=(float(spacing[0]), float(spacing[1]), float(spacing[2])),
        origin=tuple(affine[:3, 3]),
        direction=tuple(direction.ravel()),
    )
    return grid, direction


def _place(path: Path, values: np.ndarray, grid: Grid, reference: Volume) -> np.ndarray:
    """Put a SEG array onto the reference grid (same spacing and direction, whole-voxel offset)."""
    target = reference.grid
    if not np.allclose(grid.direction, target.direction, atol=1e-4) or not np.allclose(
        grid.spacing[1:], target.spacing[1:], rtol=1e-4
    ):
        msg = (
            f"{path}: SEG frames are not on the image grid of {reference.source}: spacing "
            f"{grid.spacing} vs {target.spacing} mm, direction {grid.direction} vs "
            f"{target.direction}"
        )
        raise GeometryError(msg)
    out = np.zeros(target.shape, dtype=values.dtype)
    # World position of every SEG slice, row and column start -> reference indices.
    starts = target.world_to_index(np.asarray(grid.origin)[None, :])[0]
    if grid.shape[0] > 1:
        step = target.world_to_index(grid.index_to_world(np.array([[1.0, 0.0, 0.0]])))[0] - starts
    else:
        step = np.array([1.0, 0.0, 0.0])
    offset = np.rint(starts).astype(int)
    if np.abs(starts - offset).max() > 0.05 or not np.allclose(step, [1, 0, 0], atol=0.05):
        msg = (
            f"{path}: SEG voxels do not fall on the voxel centres of {reference.source} "
            f"(offset {starts.round(3).tolist()} voxels); resample the SEG first"
        )
        raise GeometryError(msg)
    src = [slice(0, n) for n in values.shape]
    dst = []
    for axis in range(3):
        lo = offset[axis]
        hi = lo + values.shape[axis]
        clip_lo, clip_hi = max(lo, 0), min(hi, target.shape[axis])
        if clip_hi <= clip_lo:
            msg = f"{path}: the segment lies outside the image {reference.source}"
            raise GeometryError(msg)
        src[axis] = slice(clip_lo - lo, clip_hi - lo)
        dst.append(slice(clip_lo, clip_hi))
    out[tuple(dst)] = values[tuple(src)]
    return out


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
    grid, _ = _grid_of(volume)
    if reference is None:
        return Mask(array=inside, grid=grid, roi=label, source=str(path))
    placed = _place(path, inside, grid, reference)
    return Mask(array=placed, grid=reference.grid, roi=label, source=str(path))
