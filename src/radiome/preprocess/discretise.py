"""Intensity discretisation (4R0B): fixed bin number (K15C) and fixed bin size (Q3RU)."""

from __future__ import annotations

import numpy as np

__all__ = ["discretise_fixed_bin_number", "discretise_fixed_bin_size"]


def discretise_fixed_bin_number(
    image: np.ndarray, mask: np.ndarray, bin_count: int
) -> tuple[np.ndarray, int]:
    """Grey levels by fixed bin number, and N_g.

    X_d = floor(N_g (X - X_min) / (X_max - X_min)) + 1, and N_g where X = X_max, with X_min and
    X_max over the voxels in ``mask``. A constant ROI gets level 1 everywhere.

    Returns
    -------
    levels : (Z, Y, X) int32 ndarray
        1..N_g inside ``mask``, 0 outside.
    n_levels : int
        N_g (= ``bin_count``).
    """
    levels = np.zeros(image.shape, dtype=np.int32)
    values = image[mask]
    lo, hi = values.min(), values.max()
    if hi > lo:
        binned = np.floor(bin_count * (values - lo) / (hi - lo)).astype(np.int64) + 1
        levels[mask] = np.minimum(binned, bin_count)
    else:
        levels[mask] = 1
    return levels, int(bin_count)


def discretise_fixed_bin_size(
    image: np.ndarray, mask: np.ndarray, bin_width: float, lower_bound: float | None
) -> tuple[np.ndarray, int]:
    """Grey levels by fixed bin size, and N_g.

    X_d = floor((X - X_min) / w_b) + 1, with X_min the lower bound of the re-segmentation range
    when there is one, else the lowest intensity in ``mask``.

    Returns
    -------
    levels : (Z, Y, X) int32 ndarray
        1..N_g inside ``mask``, 0 outside.
    n_levels : int
        N_g, the highest level reached in the ROI.
    """
    levels = np.zeros(image.shape, dtype=np.int32)
    values = image[mask]
    x_min = values.min() if lower_bound is None else lower_bound
    binned = np.floor((values - x_min) / bin_width).astype(np.int64) + 1
    levels[mask] = binned
    return levels, int(binned.max())
