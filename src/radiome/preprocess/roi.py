"""The processed region of interest that every feature family reads."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["RoiData"]


@dataclass(frozen=True, eq=False)
class RoiData:
    """Intensities, masks and grey levels of one ROI after IBSI processing.

    All arrays share one (z, y, x) grid: a crop of the processed image around the ROI with a
    margin (local intensity peaks and filters look beyond the ROI).

    Parameters
    ----------
    image : (Z, Y, X) float ndarray
        Processed intensities (interpolated, rounded, normalised), or a filter response map.
    morph_mask : (Z, Y, X) bool ndarray
        Morphological mask (G5KJ): the interpolated ROI, never re-segmented.
    int_mask : (Z, Y, X) bool ndarray
        Intensity mask (SEFI): the morphological mask after re-segmentation.
    spacing : (3,) float, mm, (z, y, x)
        Voxel size of the grid.
    levels : (Z, Y, X) int ndarray or None
        Discretised grey levels 1..``n_levels`` inside ``int_mask``, 0 elsewhere; None when
        the spec has no discretisation (then no family that needs it is computed).
    n_levels : int
        Number of grey levels N_g of the discretisation (the highest possible level).
    unit : str
        Intensity unit of ``image`` (HU, SUVbw, a.u., ...), for feature units.
    resegmentation_range : (2,) float or None
        The re-segmentation range [min, max] in the intensity unit (None for an open bound);
        fixed-bin-size discretisation and the intensity-volume histogram start from its minimum.
    """

    image: np.ndarray
    morph_mask: np.ndarray
    int_mask: np.ndarray
    spacing: tuple[float, float, float]
    levels: np.ndarray | None
    n_levels: int
    unit: str
    resegmentation_range: tuple[float | None, float | None] = (None, None)

    @cached_property
    def values(self) -> np.ndarray:
        """Intensities of the voxels in the intensity mask, in C (z, y, x) order."""
        return self.image[self.int_mask]

    @property
    def voxel_volume(self) -> float:
        """Volume of one voxel in mm³."""
        return float(np.prod(self.spacing))
