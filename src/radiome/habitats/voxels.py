"""The voxels a habitat model clusters: one case's feature maps as a voxel-by-feature matrix.

:func:`case_maps` computes the voxel-wise feature maps of :func:`radiome.feature_maps` on the
spec's processed grid and keeps, for every voxel of the ROI there, its index and its map
values. :func:`to_image_grid` brings labels of those voxels back to the image's own grid, where
habitat label maps, fractions and per-habitat features are made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from radiome.errors import RadiomeError
from radiome.spec import Spec
from radiome.volume import Grid, Mask, Volume

__all__ = ["DEFAULT_MAP_FEATURES", "CaseMaps", "HabitatError", "case_maps", "to_image_grid"]

#: Maps a habitat model clusters by default: the median and the interquartile range of the
#: intensities of each voxel's neighbourhood (level and local heterogeneity). Order statistics
#: hold near sub-region edges, where a kernel straddles two sub-regions: a mean, variance or
#: entropy there mixes both and looks like a third, heterogeneous sub-region.
DEFAULT_MAP_FEATURES = ("stat_median", "stat_iqr")


class HabitatError(RadiomeError, ValueError):
    """Habitats cannot be computed (bad settings, maps that do not match the model, no data)."""


@dataclass(frozen=True, eq=False)
class CaseMaps:
    """One case's voxel-wise feature maps on the spec's processed grid.

    Attributes
    ----------
    values : (N, F) float ndarray
        Map values of the N voxels of the ROI on ``grid`` (NaN where a map is undefined).
    index : (N, 3) int ndarray
        (z, y, x) indices of those voxels on ``grid``, in C order.
    grid : Grid
        The grid of the maps (the image grid, or the spec's interpolation grid).
    names : tuple of str
        Map of each column of ``values``.
    mask : Mask
        The ROI on the image grid, where habitat labels are returned.
    spec : Spec
        The spec the maps were computed with.
    """

    values: np.ndarray
    index: np.ndarray
    grid: Grid
    names: tuple[str, ...]
    mask: Mask
    spec: Spec

    @property
    def coordinates(self) -> np.ndarray:
        """(N, 3) positions of the voxels in mm, (z, y, x), on the maps' grid axes."""
        return self.index * np.asarray(self.grid.spacing)


def case_maps(
    volume: Volume,
    mask: Mask,
    *,
    spec: Spec,
    features: Sequence[str] = DEFAULT_MAP_FEATURES,
    radius_voxels: int | None = 1,
    radius_mm: float | None = None,
    kernel: str = "sphere",
) -> CaseMaps:
    """The voxel-wise feature maps of one case, as the voxels of its ROI by map.

    Parameters
    ----------
    volume : Volume
        The image.
    mask : Mask
        The ROI, on the image's grid.
    spec : Spec
        Processing of the maps (interpolation, re-segmentation, discretisation).
    features : sequence of str
        Feature names (``stat_mean``, ``cm_joint_entr``...); a texture feature that the maps
        give for several aggregations is kept in the spec's first aggregation.
    radius_voxels, radius_mm : int or float, optional
        Kernel radius, in voxels or in mm (give one).
    kernel : {"cube", "sphere"}
        Neighbourhood shape; kernels are masked (only ROI voxels count).

    Returns
    -------
    CaseMaps

    Raises
    ------
    HabitatError
        A requested map is missing from the maps, or is undefined at every voxel.
    """
    from radiome.maps import feature_maps

    maps = feature_maps(volume, mask, spec=spec, radius_mm=radius_mm,
                        radius_voxels=radius_voxels, features=list(features), kernel=kernel,
                        masked_kernel=True)
    values = maps.voxel_values[:, [_column(maps.names, name, spec, mask) for name in features]]
    undefined = [n for n, column in zip(features, values.T, strict=True)
                 if not np.isfinite(column).any()]
    if undefined:
        msg = (f"{mask.source}: ROI {mask.roi!r}: map(s) {undefined} are undefined at every "
               "voxel; choose other map features")
        raise HabitatError(msg)
    return CaseMaps(values=values, index=maps.index, grid=maps.grid, names=tuple(features),
                    mask=mask, spec=spec)


def _column(names: Sequence[str], name: str, spec: Spec, mask: Mask) -> int:
    """Column of feature ``name`` among the maps: as is, or in the spec's first aggregation."""
    for candidate in (name, *(f"{name}__{a}" for a in spec.aggregations)):
        if candidate in names:
            return list(names).index(candidate)
    msg = (f"{mask.source}: the feature maps hold no map {name!r} (they hold "
           f"{', '.join(list(names)[:8])}{', ...' if len(names) > 8 else ''})")
    raise HabitatError(msg)


def to_image_grid(maps: CaseMaps, labels: np.ndarray) -> np.ndarray:
    """Labels of the map voxels (1..K; 0 for none) as an array on the image grid.

    Every ROI voxel of the image grid takes the label of the map voxel whose centre is nearest
    its own; ROI voxels left without one (re-segmented out, undefined maps, or beyond the
    interpolated ROI) take the label of the nearest labelled ROI voxel (in mm).

    Parameters
    ----------
    maps : CaseMaps
    labels : (N,) int ndarray
        Label of each voxel of ``maps`` (0: unlabelled).

    Returns
    -------
    (Z, Y, X) int16 ndarray
        0 outside the ROI.
    """
    from scipy import ndimage

    on_maps = np.zeros(maps.grid.shape, dtype=np.int16)
    on_maps[tuple(maps.index.T)] = labels
    roi = maps.mask.array
    image_grid = maps.mask.grid
    where = np.argwhere(roi)
    target = np.rint(maps.grid.world_to_index(image_grid.index_to_world(where))).astype(np.int64)
    inside = np.all((target >= 0) & (target < np.asarray(maps.grid.shape)), axis=1)
    found = np.zeros(len(where), dtype=np.int16)
    found[inside] = on_maps[tuple(target[inside].T)]
    out = np.zeros(image_grid.shape, dtype=np.int16)
    out[tuple(where.T)] = found
    missing = roi & (out == 0)
    if missing.any() and (out > 0).any():
        _, nearest = ndimage.distance_transform_edt(out == 0, sampling=image_grid.spacing,
                                                    return_indices=True)
        out[missing] = out[tuple(n[missing] for n in nearest)]
    return out
