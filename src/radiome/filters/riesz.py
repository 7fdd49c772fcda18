"""Riesz transforms of LoG and Simoncelli responses (IBSI 2 AYRS)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from radiome.filters.convolution import fft_filter, filtered_axes, global_padding, pad
from radiome.filters.log import log_transfer
from radiome.filters.simoncelli import simoncelli_transfer
from radiome.filters.spec import RieszSpec, SimoncelliSpec

__all__ = ["riesz_response", "riesz_transfer"]


def riesz_response(array: np.ndarray, spacing: tuple[float, float, float],
                   spec: RieszSpec) -> np.ndarray:
    """Return a Riesz component of a LoG or Simoncelli response (IBSI 2 AYRS).

    Parameters
    ----------
    array : (Z, Y, X) ndarray of float64
        Image.
    spacing : (3,) float, mm, (z, y, x)
        Voxel spacing: Riesz directions are taken in mm, and the LoG sigma is in mm.
    spec : RieszSpec
        Order ``n`` (x, y, z) and the base filter, whose dimensions and boundary apply.

    Returns
    -------
    (Z, Y, X) ndarray of float64
        ``F^-1[F(f) B R_n]`` with ``B`` the base filter's transfer function (the DFT of the
        truncated LoG kernel, :func:`radiome.filters.log.log_transfer`, or the Simoncelli
        band-pass) and ``R_n(w) = (-i)^|n| sqrt(|n|! / (n_1! ... n_D!)) prod_a (w_a/|w|)^n_a``
        (``R_n(0) = 0``), on the image padded to about twice its size along the filtered axes
        unless the boundary is periodic (:func:`radiome.filters.convolution.global_padding`).

    Notes
    -----
    The first-order component along x of a LoG (sigma 3 mm) of the impulse phantom and the
    second-order component along y on the sphere phantom reproduce the IBSI 2 maps 9.a and
    9.b.1; the second-order component along y of a level-1 Simoncelli map of ``pattern_1``
    reproduces 10.b.1 with a nearest, mirror or periodic boundary, not with zero padding.
    Steering by the structure tensor (9.b.2, 10.b.2) has no IBSI reference map and is not
    provided.
    """
    base = spec.base
    axes = filtered_axes(base.dimensions)
    widths, crop = global_padding(array.shape, axes, base.boundary)
    order = tuple(reversed(spec.order))  # x, y, z -> array axis order
    axis_spacing = [spacing[a] for a in axes]
    image_shape = [array.shape[a] for a in axes]

    def transfer(shape: tuple[int, ...]) -> list[np.ndarray]:
        function = riesz_transfer(shape, axis_spacing, order)
        if isinstance(base, SimoncelliSpec):
            function *= simoncelli_transfer(shape, base.level, image_shape)
        else:
            sigma = [base.sigma_mm / d for d in axis_spacing]
            function *= log_transfer(shape, sigma, base.truncate)
        return [function]

    return np.ascontiguousarray(next(fft_filter(pad(array, widths, base.boundary), axes,
                                                transfer, crop)))


def riesz_transfer(shape: Sequence[int], spacing: Sequence[float],
                   order: Sequence[int]) -> np.ndarray:
    """Return the Riesz transfer function ``R_n`` on an ``rfftn`` half spectrum.

    Parameters
    ----------
    shape : sequence of int
        FFT size along each transformed axis.
    spacing : sequence of float, mm
        Voxel spacing along those axes.
    order : sequence of int
        Order along those axes (same order as ``shape``).

    Returns
    -------
    ndarray of complex128
        Shaped ``(*shape[:-1], shape[-1] // 2 + 1)``.
    """
    total = sum(order)
    norm = math.sqrt(math.factorial(total) / math.prod(math.factorial(o) for o in order))
    last = len(shape) - 1
    frequencies = []
    for i, (n, d) in enumerate(zip(shape, spacing, strict=True)):
        grid = np.fft.rfftfreq(n, d) if i == last else np.fft.fftfreq(n, d)
        expand = [1] * len(shape)
        expand[i] = grid.size
        frequencies.append(grid.reshape(expand))
    magnitude = np.sqrt(sum(w**2 for w in frequencies))
    magnitude[(0,) * len(shape)] = 1.0
    function = np.full(magnitude.shape, norm * (-1j) ** total, dtype=np.complex128)
    for w, o in zip(frequencies, order, strict=True):
        if o:
            function *= (w / magnitude) ** o
    function[(0,) * len(shape)] = 0.0
    return function
