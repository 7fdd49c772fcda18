"""Laws kernels and energy maps (IBSI 2 JTXT)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from radiome.filters.convolution import (
    Taps,
    filtered_axes,
    pool,
    rotated_chains,
    scipy_mode,
    separable_responses,
)
from radiome.filters.spec import LAWS_KERNELS, LawsSpec

__all__ = ["laws_margin", "laws_response"]


def laws_response(array: np.ndarray, spacing: tuple[float, float, float],
                  spec: LawsSpec) -> np.ndarray:
    """Return the Laws filter response or energy map (IBSI 2 JTXT).

    Parameters
    ----------
    array : (Z, Y, X) ndarray of float64
        Image.
    spacing : (3,) float, mm, (z, y, x)
        Voxel spacing (unused: Laws kernels are defined in voxels).
    spec : LawsSpec
        Kernel combination (x, y, z order), rotation invariance and pooling, energy delta,
        dimensions and boundary condition.

    Returns
    -------
    (Z, Y, X) ndarray of float64
        ``g = f * (k_x k_y k_z)``, the separable convolution with the 1D kernels normalised
        to unit L2 norm (``L5 = [1 4 6 4 1] / sqrt(70)``, ``E5 = [-1 -2 0 2 1] / sqrt(10)``,
        ...). Rotation invariant: the ``pooling`` (IBSI 2: max) of the responses of the 24
        right-angle rotations of the kernel (4 in-plane rotations in 2d). Energy map: the mean
        of ``|g|`` over a window of ``2 delta + 1`` voxels a side (in-plane in 2d), with the
        same boundary condition, computed after pooling.
    """
    axes = filtered_axes(spec.dimensions)
    chains = [(_kernel(name),) for name in reversed(spec.kernels)]  # x, y, z -> axis order
    variants = rotated_chains(chains, spec.rotation_invariance)
    response = pool(separable_responses(array, variants, axes, spec.boundary, spec.pooling),
                    spec.pooling)
    if spec.energy_delta is None:
        return response
    width = 2 * spec.energy_delta + 1
    size = [width if axis in axes else 1 for axis in range(3)]
    return ndi.uniform_filter(np.abs(response), size=size, mode=scipy_mode(spec.boundary))


def laws_margin(spec: LawsSpec, spacing: tuple[float, float, float]) -> tuple[int, int, int]:
    """Voxels needed on each side, (z, y, x): kernel radius plus energy delta."""
    radii = [len(LAWS_KERNELS[name]) // 2 for name in reversed(spec.kernels)]
    if spec.rotation_invariance:
        radii = [max(radii)] * len(radii)
    energy = spec.energy_delta or 0
    margin = [0, 0, 0]
    for axis, radius in zip(filtered_axes(spec.dimensions), radii, strict=True):
        margin[axis] = radius + energy
    return (margin[0], margin[1], margin[2])


def _kernel(name: str) -> Taps:
    """The Laws 1D kernel ``name``, normalised to unit L2 norm."""
    weights = np.asarray(LAWS_KERNELS[name], dtype=np.float64)
    return Taps.centred(weights / np.sqrt(np.sum(weights**2)))
