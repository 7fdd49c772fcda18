"""Volume files through SimpleITK: NIfTI, NRRD, MHA/MHD (and whatever else ITK reads)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from radiome.errors import UnreadableFileError
from radiome.io.volume_integrity import check_volume_file
from radiome.volume import Grid, Mask, Volume

__all__ = [
    "check_not_cut_in_preamble",
    "grid_from_sitk",
    "is_dicom_file",
    "read_sitk",
    "to_sitk",
    "write_volume",
]

_DICOM_SUFFIXES = (".dcm", ".dicom", ".ima")


def is_dicom_file(path: Path) -> bool:
    """True when the file carries the DICOM Part 10 preamble ('DICM' at byte 128)."""
    try:
        with path.open("rb") as fh:
            fh.seek(128)
            return fh.read(4) == b"DICM"
    except OSError:
        return False


def check_not_cut_in_preamble(path: Path) -> None:
    """Raise :class:`UnreadableFileError` for a file cut within the DICOM preamble.

    That is a file shorter than the 128-byte preamble and 'DICM' marker that looks like the
    start of a DICOM file: named ``.dcm``, ``.dicom`` or ``.ima``, or without suffix and empty,
    only zeros or ending in the start of the marker (a slice cut so short would otherwise be
    skipped as "not DICOM" and leave its series).
    """
    size = path.stat().st_size
    suffix = path.suffix.lower()
    if size >= 132 or path.name.startswith(".") or suffix not in ("", *_DICOM_SUFFIXES):
        return
    start = path.read_bytes()
    if (
        suffix in _DICOM_SUFFIXES
        or not start.strip(b"\x00")
        or (size > 128 and b"DICM".startswith(start[128:]))
    ):
        msg = (
            f"{path}: truncated: the file has {size} bytes, fewer than the 132 of the DICOM "
            "preamble and its 'DICM' marker"
        )
        raise UnreadableFileError(msg)


def _itk_reason(exc: RuntimeError) -> str:
    """The telling part of an ITK exception: its error line without source path and address."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    error = next((line for line in lines if "ERROR" in line), lines[-1] if lines else "")
    reason = re.sub(r"^.*(ITK ERROR|itk::ERROR): \w+\(0x[0-9a-f]+\): ", "", error)
    if lines and lines[-1] != error and lines[-1].startswith("["):
        detail = re.sub(r"^\[\w+\] \w+: ", "", lines[-1])
        reason = f"{reason.rstrip(':')}: {detail}"
    return reason or "unknown format"


def read_sitk(path: Path) -> sitk.Image:
    """Read an image file with SimpleITK; :class:`UnreadableFileError` names the file.

    NIfTI, NRRD and MetaImage files are first checked to hold every byte their header
    announces (:func:`radiome.io.volume_integrity.check_volume_file`): ITK would zero-fill
    the voxels missing from a NIfTI file cut short.
    """
    check_volume_file(path)
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        check_volume_file(path, thorough=True)
        msg = f"{path}: not a readable image file ({_itk_reason(exc)})"
        raise UnreadableFileError(msg) from None
    if image.GetDimension() != 3:
        if image.GetDimension() == 4 and image.GetSize()[3] == 1:
            image = image[:, :, :, 0]
        else:
            msg = f"{path}: radiome needs a 3D image, got {image.GetDimension()}D {image.GetSize()}"
            raise UnreadableFileError(msg)
    if image.GetNumberOfComponentsPerPixel() != 1:
        n = image.GetNumberOfComponentsPerPixel()
        msg = f"{path}: radiome needs one channel per voxel, got {n}"
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
