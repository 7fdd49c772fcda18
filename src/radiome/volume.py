"""Volumes and masks on a voxel grid.

Arrays are indexed ``(z, y, x)``. ``spacing`` is the voxel size in mm in that same order.
``origin`` is the world position (mm, DICOM/ITK patient LPS coordinates, ordered x, y, z) of
the centre of voxel ``[0, 0, 0]`` and ``direction`` the 3 x 3 matrix whose columns are the
world directions of the index axes x, y, z (ITK convention). Together they map an index
``(k, j, i)`` to the world point ``origin + direction @ (i * sx, j * sy, k * sz)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from radiome.errors import EmptyROIError, GeometryError, IntensityError

__all__ = ["AcquisitionMetadata", "DicomReference", "Grid", "Mask", "Volume"]

_SPACING_RTOL = 1e-4
_ORIGIN_ATOL_MM = 1e-3
_DIRECTION_ATOL = 1e-4


@dataclass(frozen=True)
class Grid:
    """Geometry of a voxel grid: shape and spacing in (z, y, x), origin and direction in LPS."""

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(n) for n in self.shape))
        object.__setattr__(self, "spacing", tuple(float(s) for s in self.spacing))
        object.__setattr__(self, "origin", tuple(float(o) for o in self.origin))
        object.__setattr__(self, "direction", tuple(float(d) for d in np.ravel(self.direction)))
        if len(self.shape) != 3 or len(self.spacing) != 3 or len(self.origin) != 3:
            msg = f"a grid is 3D: got shape {self.shape}, spacing {self.spacing}"
            raise GeometryError(msg)
        if len(self.direction) != 9:
            msg = f"direction must have 9 values (3 x 3), got {len(self.direction)}"
            raise GeometryError(msg)
        if not all(s > 0 and np.isfinite(s) for s in self.spacing):
            msg = f"voxel spacing must be positive and finite, got {self.spacing} mm"
            raise GeometryError(msg)

    @property
    def direction_matrix(self) -> np.ndarray:
        """Direction cosines as a 3 x 3 array (columns: index axes x, y, z)."""
        return np.asarray(self.direction, dtype=float).reshape(3, 3)

    @property
    def voxel_volume(self) -> float:
        """Volume of one voxel in mm³."""
        return float(np.prod(self.spacing))

    def index_to_world(self, index_zyx: np.ndarray) -> np.ndarray:
        """World LPS points (n, 3) in mm for continuous indices (n, 3) in (z, y, x) order."""
        ijk = np.asarray(index_zyx, dtype=float)[..., ::-1] * np.asarray(self.spacing[::-1])
        return ijk @ self.direction_matrix.T + np.asarray(self.origin)

    def world_to_index(self, points_xyz: np.ndarray) -> np.ndarray:
        """Continuous (z, y, x) indices (n, 3) of world LPS points (n, 3) in mm."""
        rel = np.asarray(points_xyz, dtype=float) - np.asarray(self.origin)
        ijk = rel @ np.linalg.inv(self.direction_matrix).T / np.asarray(self.spacing[::-1])
        return ijk[..., ::-1]

    def differences(self, other: Grid) -> list[str]:
        """Human-readable list of what differs between two grids (empty when they match)."""
        found = []
        if self.shape != other.shape:
            found.append(f"size {_fmt(self.shape)} vs {_fmt(other.shape)} voxels (z, y, x)")
        if not np.allclose(self.spacing, other.spacing, rtol=_SPACING_RTOL, atol=0):
            found.append(f"spacing {_fmt(self.spacing)} vs {_fmt(other.spacing)} mm (z, y, x)")
        if not np.allclose(self.origin, other.origin, rtol=0, atol=_ORIGIN_ATOL_MM):
            found.append(f"origin {_fmt(self.origin)} vs {_fmt(other.origin)} mm (x, y, z)")
        if not np.allclose(self.direction, other.direction, rtol=0, atol=_DIRECTION_ATOL):
            found.append(f"direction {_fmt(self.direction)} vs {_fmt(other.direction)}")
        return found

    def crop(self, lower: tuple[int, int, int], upper: tuple[int, int, int]) -> Grid:
        """The sub-grid of indices ``lower <= index < upper`` (z, y, x), same world positions."""
        shape = tuple(int(u - lo) for lo, u in zip(lower, upper, strict=True))
        origin = self.index_to_world(np.asarray(lower, dtype=float))
        return replace(self, shape=shape, origin=tuple(origin))


def _fmt(values: tuple[float, ...] | tuple[int, ...]) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"


@dataclass(frozen=True)
class AcquisitionMetadata:
    """What is known of how an image was acquired (from DICOM; empty for most other files)."""

    modality: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    kvp: float | None = None
    convolution_kernel: str | None = None
    slice_thickness: float | None = None
    pixel_spacing: tuple[float, float] | None = None
    contrast_agent: str | None = None
    series_date: str | None = None
    tracer: str | None = None
    injected_dose_bq: float | None = None
    uptake_time_min: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields (JSON-friendly)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        if self.pixel_spacing is not None:
            out["pixel_spacing"] = list(self.pixel_spacing)
        return out


@dataclass(frozen=True)
class DicomReference:
    """DICOM identifiers that tie masks to an image (kept apart from the acquisition metadata)."""

    study_uid: str | None
    series_uid: str
    frame_of_reference_uid: str | None
    sop_instance_uids: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Volume:
    """An image: intensities on a grid, with modality, unit and acquisition metadata.

    Parameters
    ----------
    array : (Z, Y, X) float ndarray
        Intensities, in ``unit`` (HU for CT, SUVbw for PET, as stored for MR).
    grid : Grid
        Where the voxels are.
    modality : str
        DICOM modality code (``CT``, ``MR``, ``PT``) or ``OT`` when unknown.
    unit : str
        Intensity unit, used for the units of the features.
    metadata : AcquisitionMetadata
        Acquisition parameters, when the source tells them.
    source : str
        Where the volume came from (a path), named in error messages.
    dicom : DicomReference, optional
        Study, series, frame-of-reference and instance UIDs when read from DICOM; used to pair
        RTSTRUCT and SEG masks with the image, never written to feature tables.
    """

    array: np.ndarray
    grid: Grid
    modality: str = "OT"
    unit: str = "a.u."
    metadata: AcquisitionMetadata = field(default_factory=AcquisitionMetadata)
    source: str = "<array>"
    dicom: DicomReference | None = None

    def __post_init__(self) -> None:
        arr = np.asarray(self.array)
        if arr.ndim != 3:
            msg = f"{self.source}: an image must be 3D (z, y, x), got {arr.ndim} dimensions"
            raise GeometryError(msg)
        if not np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(np.float64)
        object.__setattr__(self, "array", arr)
        if tuple(arr.shape) != self.grid.shape:
            msg = f"{self.source}: array shape {arr.shape} differs from grid {self.grid.shape}"
            raise GeometryError(msg)

    @classmethod
    def from_array(
        cls,
        array: np.ndarray,
        spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
        **kwargs: Any,
    ) -> Volume:
        """A volume with an identity direction and zero origin (for tests and synthetic data)."""
        arr = np.asarray(array)
        return cls(array=arr, grid=Grid(shape=arr.shape, spacing=spacing), **kwargs)

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm, (z, y, x)."""
        return self.grid.spacing

    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape (z, y, x)."""
        return self.grid.shape

    def check_finite(self, mask: Mask | None = None) -> None:
        """Raise :class:`IntensityError` if intensities (inside ``mask``, if given) are NaN/inf."""
        values = self.array if mask is None else self.array[mask.array]
        bad = ~np.isfinite(values)
        if bad.any():
            where = "in the ROI" if mask is not None else "in the image"
            msg = (
                f"{self.source}: {int(bad.sum())} voxel(s) {where} are NaN or infinite; "
                "radiome needs finite intensities"
            )
            raise IntensityError(msg)

    def with_array(self, array: np.ndarray, grid: Grid | None = None) -> Volume:
        """The same volume (modality, unit, metadata) with new intensities (and grid)."""
        return replace(self, array=array, grid=self.grid if grid is None else grid)


@dataclass(frozen=True, eq=False)
class Mask:
    """A binary region of interest on a grid.

    Parameters
    ----------
    array : (Z, Y, X) bool ndarray
        True inside the ROI.
    grid : Grid
        Where the voxels are.
    roi : str
        Name (or label value) of the region, as written in the feature table.
    source : str
        Where the mask came from, named in error messages.
    """

    array: np.ndarray
    grid: Grid
    roi: str = "1"
    source: str = "<array>"

    def __post_init__(self) -> None:
        arr = np.asarray(self.array)
        if arr.ndim != 3:
            msg = f"{self.source}: a mask must be 3D (z, y, x), got {arr.ndim} dimensions"
            raise GeometryError(msg)
        object.__setattr__(self, "array", arr.astype(bool, copy=False))
        if tuple(arr.shape) != self.grid.shape:
            msg = f"{self.source}: array shape {arr.shape} differs from grid {self.grid.shape}"
            raise GeometryError(msg)

    @classmethod
    def from_array(
        cls,
        array: np.ndarray,
        spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
        **kwargs: Any,
    ) -> Mask:
        """A mask with an identity direction and zero origin (for tests and synthetic data)."""
        arr = np.asarray(array)
        return cls(array=arr, grid=Grid(shape=arr.shape, spacing=spacing), **kwargs)

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm, (z, y, x)."""
        return self.grid.spacing

    @property
    def n_voxels(self) -> int:
        """Number of voxels in the ROI."""
        return int(np.count_nonzero(self.array))

    def check_not_empty(self) -> None:
        """Raise :class:`EmptyROIError` if the ROI has no voxel."""
        if not self.array.any():
            msg = f"{self.source}: ROI {self.roi!r} is empty (no voxel in the mask)"
            raise EmptyROIError(msg)

    def check_matches(self, volume: Volume) -> None:
        """Raise :class:`GeometryError` naming every difference if the mask is on another grid."""
        diffs = self.grid.differences(volume.grid)
        if diffs:
            msg = (
                f"{self.source}: mask grid differs from image {volume.source}: "
                + "; ".join(diffs)
            )
            raise GeometryError(msg)

    def bounding_box(self) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        """Lower (inclusive) and upper (exclusive) (z, y, x) indices of the ROI's box."""
        self.check_not_empty()
        slices = np.flatnonzero(self.array.reshape(len(self.array), -1).any(axis=1))
        z0, z1 = int(slices[0]), int(slices[-1]) + 1
        slab = self.array[z0:z1]  # one pass over the whole mask, then over its slices only
        lower, upper = [z0], [z1]
        for other in ((0, 2), (0, 1)):
            nz = np.flatnonzero(slab.any(axis=other))
            lower.append(int(nz[0]))
            upper.append(int(nz[-1]) + 1)
        return tuple(lower), tuple(upper)  # type: ignore[return-value]
