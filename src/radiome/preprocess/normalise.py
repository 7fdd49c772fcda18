"""Intensity normalisation within the ROI, for relative intensity scales (MR)."""

from __future__ import annotations

import numpy as np

__all__ = ["normalise"]


def normalise(image: np.ndarray, mask: np.ndarray, method: str) -> np.ndarray:
    """Normalised intensities: ``zscore`` (x - μ) / σ or ``range`` (x - min) / (max - min).

    μ, σ (no bias correction), min and max are taken over the voxels in ``mask`` (the
    morphological mask); the same linear map is applied to the whole array. ``none`` returns
    the image unchanged. A constant ROI maps to 0.
    """
    if method == "none":
        return image
    values = image[mask]
    if method == "zscore":
        centre, scale = values.mean(), values.std()
    elif method == "range":
        centre, scale = values.min(), values.max() - values.min()
    else:
        msg = f"normalisation.method must be none, zscore or range, got {method!r}"
        raise ValueError(msg)
    if scale == 0:
        return np.zeros_like(image)
    return (image - centre) / scale
