"""Volume files through SimpleITK: NIfTI, NRRD, MHA/MHD (and whatever else ITK reads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from radiome.errors import UnreadableFileError
from radiome.volume import Grid, Mask, Volume

__all__ = ["grid_from_sitk", "is_dicom_file", "read_sitk", "to_sitk", "write_volume"]


def is_dicom_file(path: Path) -> bool:
    """True when the file carries the DICOM Part 10 preamble ('DICM' at byte 128)."""
    try:
        with path.open("rb") as fh:
            fh.seek(128)
            return fh.read(4) == b"DICM"
    except OSError:
        return False


def read_sitk(path: Path) -> sitk.Image:
    """Read an image file with SimpleITK; :class:`UnreadableFileError` names the file."""
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        reason = next((line for line in first if "ERROR" in line or "Exception" in line), "")
        msg = f"{path}: not a readable image file ({reason.strip() or 'unknown format'})"
        raise UnreadableFileError(msg) from None
    if image.GetDimension() != 3:
        if image.GetDimension() == 4 and image.GetSize()[3] == 1:
            image = image[:, :, :, 0]
        else:
            msg = f"{path}: radiome needs a 3D image, got {image.GetDimension()}D {image.GetSize()}"
            raise UnreadableFileError(msg)
    if image.GetNumberOfComponentsPerPixel() != 1:
        msg = f"{path}: radiome needs one channel per voxel, got {image.GetNumberOfComponentsPerPixel()}"
        raise UnreadableFileError(msg)
    return image


def grid_from_sitk(image: sitk.Image) -> Grid:
    """The :class:`Grid` of a SimpleITK image ((x, y, z) sizes and spacing turned to (z, y, x))."""
    return Grid(
        shape=tuple(reversed(image.GetSize())),
        spacing=tuple(reversed(image.GetSpacing())),
        origin=image.GetOrigin(),
        direction=image.GetDirection(),
    )


def to_sitk(array: np.ndarray, grid: Grid) -> sitk.Image:
    """A SimpleITK image of a (z, y, x) array on ``grid``."""
    image = sitk.GetImageFromArray(np.ascontiguousarray(array))
    image.SetSpacing(tuple(reversed(grid.spacing)))
    image.SetOrigin(grid.origin)
    image.SetDirection(grid.direction)
    return image


def write_volume(item: Volume | Mask, path: str | Path) -> Path:
    """Write a volume (float) or mask (uint8) to any format SimpleITK writes (.nii.gz, .nrrd...)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    array = item.array.astype(np.uint8) if isinstance(item, Mask) else item.array
    sitk.WriteImage(to_sitk(array, item.grid), str(path), useCompression=True)
    return path
