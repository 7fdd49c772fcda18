"""Separable wavelet sub-bands, undecimated (stationary, a trous) or decimated (IBSI 2 25BO)."""

from __future__ import annotations

import numpy as np
import pywt

from radiome.filters.convolution import (
    Chain,
    Taps,
    filtered_axes,
    pool,
    rotated_chains,
    separable_responses,
)
from radiome.filters.spec import WaveletSpec

__all__ = ["wavelet_margin", "wavelet_response"]


def wavelet_response(array: np.ndarray, spacing: tuple[float, float, float],
                     spec: WaveletSpec) -> np.ndarray:
    """Return a separable wavelet sub-band (IBSI 2 25BO) on the voxel grid of ``array``.

    Parameters
    ----------
    array : (Z, Y, X) ndarray of float64
        Image.
    spacing : (3,) float, mm, (z, y, x)
        Voxel spacing (unused: wavelet filters are defined in voxels).
    spec : WaveletSpec
        PyWavelets filter bank, sub-band letters (x, y, z order), level, decimation,
        rotation invariance and pooling, dimensions and boundary condition.

    Returns
    -------
    (Z, Y, X) ndarray of float64
        Along each filtered axis, the convolution with the chain
        ``l_1 * l_2 * ... * l_(j-1) * b_j`` where ``l`` is ``dec_lo``, ``b`` is ``dec_lo``
        (``L``) or ``dec_hi`` (``H``) of ``pywt.Wavelet(spec.wavelet)`` and ``x_j`` is the
        filter upsampled by ``2**(j-1)`` (a trous: taps at ``2**(j-1) (m - n // 2)`` for
        ``m = 0 .. n - 1``), the passes applied one after the other with the boundary
        condition. Rotation invariant: the ``pooling`` (IBSI 2: average) of the responses of
        the 24 right-angle rotations of the separable kernel (4 in-plane rotations in 2d).
        Decimated: the undecimated response at the voxels whose filtered indices are
        multiples of ``2**level`` (the decimated transform's coefficients), each held over
        the ``2**level`` voxels that follow it, so the map keeps the image's shape.

    Notes
    -----
    Conventions established against the IBSI 2 reference maps (tests 5.a, 6.a, 7.a): the
    filters are convolved (not correlated) with their origin at index ``n // 2``; a rotation
    that reverses an axis mirrors the filter about that origin (the same as filtering the
    reversed image); upsampled filters keep the level-1 offsets, scaled. Filters are not
    renormalised, so each low-pass pass multiplies a constant by ``sum(dec_lo) = sqrt(2)``.
    """
    bank = pywt.Wavelet(spec.wavelet)
    axes = filtered_axes(spec.dimensions)
    chains = [_chain(bank, band, spec.level) for band in reversed(spec.bands)]
    variants = rotated_chains(chains, spec.rotation_invariance)
    response = pool(separable_responses(array, variants, axes, spec.boundary, spec.pooling),
                    spec.pooling)
    if spec.decimated:
        step = 2**spec.level
        for axis in axes:
            held = (np.arange(response.shape[axis]) // step) * step
            response = np.take(response, held, axis=axis)
    return response


def wavelet_margin(spec: WaveletSpec,
                   spacing: tuple[float, float, float]) -> tuple[int, int, int] | None:
    """Voxels needed on each side, (z, y, x); None when decimated (it depends on the crop)."""
    if spec.decimated:
        return None
    radius = sum(taps.radius() for taps in _chain(pywt.Wavelet(spec.wavelet), "L", spec.level))
    margin = [0, 0, 0]
    for axis in filtered_axes(spec.dimensions):
        margin[axis] = radius
    return (margin[0], margin[1], margin[2])


def _chain(bank: pywt.Wavelet, band: str, level: int) -> Chain:
    """Filters along one axis for sub-band letter ``band`` at ``level``."""
    lows = tuple(Taps.centred(bank.dec_lo, 2 ** (j - 1)) for j in range(1, level))
    last = bank.dec_lo if band == "L" else bank.dec_hi
    return (*lows, Taps.centred(last, 2 ** (level - 1)))
