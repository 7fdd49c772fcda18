"""The sliding window of voxel-wise maps: kernel shapes, the padded grid and its centres.

Every map kernel walks one padded, flattened copy of the processed ROI (:class:`Window`):
grey levels as compact indices 1..G (0 outside the voxels a kernel may hold), intensities,
and the flat index of every centre (ROI voxel) in C order, grouped in rows of equal (z, y).
A kernel shape is a set of rows: offsets (dz, dy) with an x extent lo..hi; the kernel of a
centre c holds c + base + dx for each row (base = dz · plane + dy · X) and lo <= dx <= hi.
The padding (the kernel radius plus the farthest neighbour any family looks at) keeps every
index inside the array, so the kernels never test bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from radiome._kernels import kernel
from radiome.errors import FeatureError

__all__ = ["Window", "clear", "gather", "kernel_offsets", "make_window"]


def kernel_offsets(
    spacing: tuple[float, float, float], *, radius_voxels: int | None, radius_mm: float | None,
    shape: str, planar: bool,
) -> tuple[np.ndarray, tuple[int, int, int]]:
    """(n, 3) int64 (z, y, x) offsets of a kernel, in C order, and its radius per axis.

    A cube holds the offsets with |o_a| <= r_a on each axis; a sphere those within the radius
    (Σ o_a² <= r² in voxels, Σ (o_a s_a)² <= R² in mm). A radius in mm gives
    r_a = floor(R / s_a) voxels per axis. ``planar`` keeps o_z = 0 (2D processing).
    """
    if (radius_voxels is None) == (radius_mm is None):
        msg = ("feature maps: give the kernel radius once, in voxels (radius_voxels) or mm "
               "(radius_mm)")
        raise FeatureError(msg)
    if shape not in ("cube", "sphere"):
        msg = f"feature maps: kernel must be 'cube' or 'sphere', got {shape!r}"
        raise FeatureError(msg)
    if radius_voxels is not None:
        if isinstance(radius_voxels, bool) or not isinstance(radius_voxels, int | np.integer) \
                or radius_voxels < 1:
            msg = f"feature maps: radius_voxels must be an integer >= 1, got {radius_voxels!r}"
            raise FeatureError(msg)
        radius = [int(radius_voxels)] * 3
        scale = np.ones(3)
        limit = float(radius_voxels) ** 2
    else:
        if not isinstance(radius_mm, int | float) or not math.isfinite(radius_mm) \
                or radius_mm <= 0:
            msg = f"feature maps: radius_mm must be a positive number, got {radius_mm!r}"
            raise FeatureError(msg)
        radius = [math.floor(radius_mm / s + 1e-9) for s in spacing]
        scale = np.asarray(spacing, dtype=np.float64)
        limit = float(radius_mm) ** 2 * (1 + 1e-9)
    if planar:
        radius[0] = 0
    if not any(radius):
        msg = (f"feature maps: radius_mm={radius_mm} mm is below the voxel size "
               f"{tuple(spacing)} mm (z, y, x): the kernel would be the voxel alone")
        raise FeatureError(msg)
    grid = np.mgrid[-radius[0]:radius[0] + 1, -radius[1]:radius[1] + 1,
                    -radius[2]:radius[2] + 1].reshape(3, -1).T
    if shape == "sphere":
        grid = grid[((grid * scale) ** 2).sum(axis=1) <= limit]
    return np.ascontiguousarray(grid, dtype=np.int64), (radius[0], radius[1], radius[2])


@dataclass(frozen=True, eq=False)
class Window:
    """The padded, flattened ROI that map kernels walk, and the kernel's rows.

    Attributes
    ----------
    levels : (P,) int64 ndarray
        Compact grey-level index 1..G of every voxel a kernel may hold, 0 elsewhere.
    grey : (G,) int64 ndarray
        Grey level of each compact index (ascending): level = grey[index - 1].
    values : (P,) float64 ndarray
        Processed intensities (0 where ``levels`` is 0).
    morph : (P,) int64 ndarray
        1 on the morphological mask that kernels see (the ROI, or every voxel of the crop
        for unmasked kernels), whose edge GLDZM distances are measured from; 0 elsewhere.
    shape : (3,) int
        Padded grid shape (z, y, x).
    centres : (N,) int64 ndarray
        Flat index of every centre, in C order.
    row_starts : (R + 1,) int64 ndarray
        Centres ``row_starts[q]:row_starts[q + 1]`` share one (z, y).
    row_dz, row_dy, row_lo, row_hi : (Q,) int64 ndarray
        Kernel rows: offsets (dz, dy) and the x extent lo..hi, in C order.
    radius : (3,) int
        Kernel radius per axis (z, y, x), in voxels.
    n_kernel : int
        Voxels of the kernel shape.
    """

    levels: np.ndarray
    grey: np.ndarray
    values: np.ndarray
    morph: np.ndarray
    shape: tuple[int, int, int]
    centres: np.ndarray
    row_starts: np.ndarray
    row_dz: np.ndarray
    row_dy: np.ndarray
    row_lo: np.ndarray
    row_hi: np.ndarray
    radius: tuple[int, int, int]
    n_kernel: int

    @property
    def plane(self) -> int:
        """Voxels per padded slice."""
        return self.shape[1] * self.shape[2]

    @property
    def row_base(self) -> np.ndarray:
        """Flat offset of each kernel row's (dz, dy) in the padded grid."""
        return np.ascontiguousarray(self.row_dz * self.plane + self.row_dy * self.shape[2])

    def local_rows(self, pad: int) -> tuple[np.ndarray, tuple[int, int, int]]:
        """Flat offset (at dx = 0) of each kernel row in a box around one kernel with ``pad``
        voxels of margin on every side, and that box's shape."""
        rz, ry, rx = self.radius
        local = (2 * rz + 1 + 2 * pad, 2 * ry + 1 + 2 * pad, 2 * rx + 1 + 2 * pad)
        base = ((self.row_dz + rz + pad) * local[1] + self.row_dy + ry + pad) * local[2] \
            + rx + pad
        return np.ascontiguousarray(base, dtype=np.int64), local


def make_window(
    levels: np.ndarray, values: np.ndarray, held: np.ndarray, morph: np.ndarray,
    centres: np.ndarray, offsets: np.ndarray, radius: tuple[int, int, int], reach: int,
) -> Window:
    """The :class:`Window` of a processed crop.

    Parameters
    ----------
    levels : (Z, Y, X) int ndarray
        Grey levels (>= 1 where ``held``).
    values : (Z, Y, X) float ndarray
        Processed intensities.
    held : (Z, Y, X) bool ndarray
        Voxels a kernel may hold (intensity mask, or every re-segmented voxel).
    morph : (Z, Y, X) bool ndarray
        Morphological mask kernels see.
    centres : (Z, Y, X) bool ndarray
        Where maps are computed (the ROI).
    offsets : (n, 3) int64 ndarray
        Kernel offsets (:func:`kernel_offsets`).
    radius : (3,) int
        Kernel radius per axis.
    reach : int
        Farthest neighbour distance any family looks at from a kernel voxel (>= 1).
    """
    pad = max(radius) + reach
    shape = tuple(n + 2 * pad for n in levels.shape)
    inner = tuple(slice(pad, pad + n) for n in levels.shape)
    grey, compact = np.unique(np.where(held, levels, 0), return_inverse=True)
    if grey[0] == 0:
        grey = grey[1:]
    else:
        compact = compact + 1
    padded_levels = np.zeros(shape, dtype=np.int64)
    padded_levels[inner] = np.where(held, compact.reshape(levels.shape), 0)
    padded_values = np.zeros(shape, dtype=np.float64)
    padded_values[inner] = np.where(held, values, 0.0)
    padded_morph = np.zeros(shape, dtype=np.int64)
    padded_morph[inner] = morph
    strides = np.array([shape[1] * shape[2], shape[2], 1], dtype=np.int64)
    where = np.argwhere(centres) + pad
    flat = where @ strides
    rows = flat // shape[2]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1], True])
    row_keys, first = np.unique(offsets[:, :2], axis=0, return_index=True)
    order = np.argsort(first)
    row_keys = row_keys[order]
    lo = np.array([offsets[(offsets[:, 0] == z) & (offsets[:, 1] == y), 2].min()
                   for z, y in row_keys], dtype=np.int64)
    hi = np.array([offsets[(offsets[:, 0] == z) & (offsets[:, 1] == y), 2].max()
                   for z, y in row_keys], dtype=np.int64)
    return Window(
        levels=padded_levels.ravel(), grey=grey.astype(np.int64), values=padded_values.ravel(),
        morph=padded_morph.ravel(), shape=shape, centres=np.ascontiguousarray(flat),
        row_starts=starts.astype(np.int64),
        row_dz=np.ascontiguousarray(row_keys[:, 0]), row_dy=np.ascontiguousarray(row_keys[:, 1]),
        row_lo=lo, row_hi=hi,
        radius=radius, n_kernel=int(offsets.shape[0]),
    )


@kernel()
def gather(centre, source, levels, row_base, row_lo, row_hi, local_base, local, voxels):
    """Copy ``source`` of the held voxels of a centre's kernel into the flat box ``local`` at
    their box positions (``local_base`` per row); their box indices go to ``voxels`` in C order.
    Returns how many. ``local`` must be zero before; :func:`clear` zeroes it again."""
    n = 0
    for r in range(row_base.size):
        start = centre + row_base[r]
        for dx in range(row_lo[r], row_hi[r] + 1):
            u = start + dx
            if levels[u] > 0:
                at = local_base[r] + dx
                local[at] = source[u]
                voxels[n] = at
                n += 1
    return n


@kernel()
def clear(local, voxels, n):
    """Zero the first ``n`` box positions ``voxels`` of ``local`` (undoing :func:`gather`)."""
    for v in range(n):
        local[voxels[v]] = 0
