"""Mean filter (IBSI 2 S60F)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from radiome.filters.convolution import scipy_mode
from radiome.filters.spec import MeanSpec

__all__ = ["mean_margin", "mean_response"]


def mean_response(array: np.ndarray, spacing: tuple[float, float, float],
                  spec: MeanSpec) -> np.ndarray:
    """Return the mean filter response (IBSI 2 S60F).

    Parameters
    ----------
    array : (Z, Y, X) ndarray of float64
        Image.
    spacing : (3,) float, mm, (z, y, x)
        Voxel spacing (unused: the support is in voxels).
    spec : MeanSpec
        Support ``M`` (odd, voxels), dimensions and boundary condition.

    Returns
    -------
    (Z, Y, X) ndarray of float64
        ``g(k) = M^-D sum_{j in N(k)} f(j)`` with ``N(k)`` the ``M^D`` voxels (D = 3, or 2 in
        the axial plane for ``dimensions: 2d``) centred on ``k``, padded with ``boundary``.
    """
    size = (1 if spec.dimensions == "2d" else spec.support, spec.support, spec.support)
    return ndi.uniform_filter(array, size=size, mode=scipy_mode(spec.boundary))


def mean_margin(spec: MeanSpec, spacing: tuple[float, float, float]) -> tuple[int, int, int]:
    """Voxels needed on each side, (z, y, x): half the support along the filtered axes."""
    half = spec.support // 2
    return (0 if spec.dimensions == "2d" else half, half, half)
