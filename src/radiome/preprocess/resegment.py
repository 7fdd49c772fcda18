"""Re-segmentation of the intensity mask (IF9H): range (USB3) and outlier filtering (7ACA)."""

from __future__ import annotations

import numpy as np

__all__ = ["resegment"]


def resegment(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    intensity_range: tuple[float | None, float | None] = (None, None),
    outlier_sigma: float | None = None,
) -> np.ndarray:
    """The intensity mask: ``mask`` without voxels outside the range, then without outliers.

    Parameters
    ----------
    image : (Z, Y, X) float ndarray
        Intensities.
    mask : (Z, Y, X) bool ndarray
        The (interpolated) ROI, i.e. the morphological mask.
    intensity_range : (min, max)
        Closed range of intensities kept; None leaves a bound open.
    outlier_sigma : float, optional
        Keep only voxels within μ ± k·σ of the voxels left by the range step (IBSI: k = 3;
        σ without bias correction).

    Returns
    -------
    (Z, Y, X) bool ndarray
        The re-segmented intensity mask.
    """
    out = mask.copy()
    lo, hi = intensity_range
    if lo is not None:
        out &= image >= lo
    if hi is not None:
        out &= image <= hi
    if outlier_sigma is not None and out.any():
        values = image[out]
        mu, sd = values.mean(), values.std()
        out &= np.abs(image - mu) <= outlier_sigma * sd
    return out
