"""The IBSI 1 processing chain for one image and ROI.

interpolate (image and mask, IBSI grid alignment) → round intensities → normalise → split the
ROI into the morphological mask (as interpolated) and the intensity mask (re-segmented) →
discretise. Work is done on a crop of the target grid around the ROI with a margin, which
gives the same values inside the ROI as processing the whole image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from radiome.errors import EmptyROIError, IntensityError
from radiome.preprocess.roi import RoiData
from radiome.preprocess.discretise import discretise_fixed_bin_number, discretise_fixed_bin_size
from radiome.preprocess.normalise import normalise
from radiome.preprocess.resample import GridMap, grid_map, interpolate
from radiome.preprocess.resegment import resegment
from radiome.spec import Discretisation, Spec
from radiome.volume import Grid, Mask, Volume

__all__ = ["Processed", "discretised", "interpolated_image", "process", "target_mapping"]


@dataclass(frozen=True, eq=False)
class Processed:
    """A processed image crop with its morphological and intensity masks."""

    image: np.ndarray
    grid: Grid
    morph_mask: np.ndarray
    int_mask: np.ndarray
    unit: str
    resegmentation_range: tuple[float | None, float | None]
    source: str
    #: Per axis (before, after): True where the crop ends at the image's own edge, False
    #: where the image goes on beyond it (cut away with at least the requested margin kept).
    edges: tuple[tuple[bool, bool], ...] = ((True, True),) * 3

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm, (z, y, x)."""
        return self.grid.spacing

    def roi_box(self) -> tuple[slice, slice, slice]:
        """Slices of the bounding box of the morphological mask (which holds the intensity mask)."""
        box = []
        for axis in range(3):
            other = tuple(a for a in range(3) if a != axis)
            present = np.flatnonzero(self.morph_mask.any(axis=other))
            box.append(slice(int(present[0]), int(present[-1]) + 1))
        return box[0], box[1], box[2]

    def cropped(self, box: tuple[slice, slice, slice]) -> Processed:
        """The same processed ROI on a box of its grid."""
        lower = tuple(b.start for b in box)
        upper = tuple(b.stop for b in box)
        edges = tuple((before and lo == 0, after and up == n) for (before, after), lo, up, n
                      in zip(self.edges, lower, upper, self.image.shape, strict=True))
        return replace(
            self,
            image=self.image[box],
            grid=self.grid.crop(lower, upper),
            edges=edges,
            morph_mask=np.ascontiguousarray(self.morph_mask[box]),
            int_mask=np.ascontiguousarray(self.int_mask[box]),
        )


def target_mapping(grid: Grid, spec: Spec) -> GridMap:
    """Mapping from the image grid to the spec's interpolation grid (identity when none)."""
    resampling = spec.preprocessing.resampling
    return grid_map(grid, resampling.spacing if resampling else (None, None, None))


def interpolated_image(
    volume: Volume,
    spec: Spec,
    lower: tuple[int, ...] = (0, 0, 0),
    upper: tuple[int, ...] | None = None,
) -> tuple[np.ndarray, Grid]:
    """The image on the spec's interpolation grid, rounded if the spec says so (IBSI steps
    interpolation and rounding), on the box ``lower:upper`` of that grid (default: all of it).

    Returns the float64 array and its grid. Every path that filters or extracts reads the
    image through this function, so both see the same intensities.
    """
    pre = spec.preprocessing
    mapping = target_mapping(volume.grid, spec)
    upper = mapping.target.shape if upper is None else upper
    if pre.resampling is None:
        box = tuple(slice(lo, up) for lo, up in zip(lower, upper, strict=True))
        image = np.array(volume.array[box], dtype=np.float64)
    else:
        image = interpolate(volume.array, mapping, lower, upper, pre.resampling.image_interpolator)
    if pre.round_intensities:
        image = np.rint(np.round(image, 6))
    return image, mapping.target.crop(lower, upper)


def _crop_box(
    mask: Mask, mapping: GridMap, margin: tuple[int, int, int] | None
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Target-grid box holding every voxel the ROI can reach after interpolation, plus margin."""
    shape = mapping.target.shape
    if margin is None:
        return (0, 0, 0), shape
    lower_s, upper_s = mask.bounding_box()
    lower, upper = [], []
    for axis in range(3):
        start, step = mapping.start[axis], mapping.step[axis]
        k_lo = math.ceil((lower_s[axis] - 1 - start) / step)
        k_hi = math.floor((upper_s[axis] - start) / step) + 1
        lower.append(max(k_lo - margin[axis], 0))
        upper.append(min(k_hi + margin[axis], shape[axis]))
    return tuple(lower), tuple(upper)


def process(
    volume: Volume,
    mask: Mask,
    spec: Spec,
    *,
    margin: tuple[int, int, int] | None = (0, 0, 0),
) -> Processed:
    """Run interpolation, rounding, normalisation and re-segmentation on one ROI.

    Parameters
    ----------
    volume, mask : Volume, Mask
        Image and ROI on the same grid (checked by the caller).
    spec : Spec
        Its ``preprocessing`` section drives every step.
    margin : (3,) int or None
        Voxels of the target grid kept around the ROI's box, (z, y, x); None keeps the whole
        image.

    Returns
    -------
    Processed

    Raises
    ------
    EmptyROIError
        No voxel left after interpolation or after re-segmentation.
    """
    pre = spec.preprocessing
    mapping = target_mapping(volume.grid, spec)
    lower, upper = _crop_box(mask, mapping, margin)
    image, grid = interpolated_image(volume, spec, lower, upper)
    if pre.resampling is None:
        morph = np.array(mask.array[tuple(slice(lo, up) for lo, up in zip(lower, upper,
                                                                          strict=True))])
    else:
        fraction = interpolate(
            mask.array.astype(np.float64), mapping, lower, upper, pre.resampling.mask_interpolator
        )
        # Fractions of exactly δ (common: grid points half-way between slices) must not
        # depend on floating-point noise of the grid offsets, so compare at 1e-9.
        morph = np.round(fraction, 9) >= pre.resampling.mask_threshold
    if not np.isfinite(image).all():
        bad = int(np.count_nonzero(~np.isfinite(image)))
        msg = (
            f"{volume.source}: {bad} voxel(s) in or around the ROI are NaN or infinite; "
            "radiome needs finite intensities"
        )
        raise IntensityError(msg)
    if not morph.any():
        msg = f"{mask.source}: ROI {mask.roi!r} has no voxel left after interpolation"
        raise EmptyROIError(msg)
    image = normalise(image, morph, pre.normalisation.method)
    rng = pre.resegmentation.range
    intensity_range = (rng.min, rng.max) if rng is not None else (None, None)
    int_mask = resegment(
        image, morph, intensity_range=intensity_range,
        outlier_sigma=pre.resegmentation.outlier_sigma,
    )
    if not int_mask.any():
        msg = (
            f"{mask.source}: ROI {mask.roi!r} has no voxel left after re-segmentation "
            f"(range {list(intensity_range)}, outlier sigma {pre.resegmentation.outlier_sigma})"
        )
        raise EmptyROIError(msg)
    unit = "SD" if pre.normalisation.method == "zscore" else (
        "a.u." if pre.normalisation.method == "range" else volume.unit
    )
    return Processed(
        image=image,
        grid=grid,
        morph_mask=morph,
        int_mask=int_mask,
        unit=unit,
        resegmentation_range=intensity_range,
        source=mask.source,
        edges=tuple((lo == 0, up == n) for lo, up, n
                    in zip(lower, upper, mapping.target.shape, strict=True)),
    )


def discretised(
    processed: Processed,
    discretisation: Discretisation | None,
    *,
    image: np.ndarray | None = None,
    unit: str | None = None,
) -> RoiData:
    """The :class:`RoiData` of a processed ROI, discretised (optionally of a filter response).

    Parameters
    ----------
    processed : Processed
        Masks, grid and unit.
    discretisation : Discretisation or None
        Fixed bin number or fixed bin size; fixed bin size starts at the re-segmentation
        range's minimum (else the ROI minimum). None: no grey levels.
    image : (Z, Y, X) float ndarray, optional
        Intensities to use instead of ``processed.image`` (a filter response map).
    unit : str, optional
        Unit of ``image``.
    """
    values = processed.image if image is None else image
    if discretisation is None:
        levels, n_levels = None, 0
    elif discretisation.method == "fixed_bin_number":
        levels, n_levels = discretise_fixed_bin_number(
            values, processed.int_mask, discretisation.bin_count
        )
    else:
        lower = processed.resegmentation_range[0] if image is None else None
        levels, n_levels = discretise_fixed_bin_size(
            values, processed.int_mask, discretisation.bin_width, lower
        )
    return RoiData(
        image=values,
        morph_mask=processed.morph_mask,
        int_mask=processed.int_mask,
        spacing=processed.spacing,
        levels=levels,
        n_levels=n_levels,
        unit=processed.unit if unit is None else unit,
        resegmentation_range=processed.resegmentation_range if image is None else (None, None),
    )
