"""Laplacian of Gaussian filter (IBSI 2 L6PA)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from scipy import ndimage as ndi

from radiome.filters.convolution import Taps, convolve_taps, filtered_axes
from radiome.filters.spec import LoGSpec

__all__ = ["log_margin", "log_response", "log_transfer"]


def log_response(array: np.ndarray, spacing: tuple[float, float, float],
                 spec: LoGSpec) -> np.ndarray:
    """Return the Laplacian of Gaussian response (IBSI 2 L6PA).

    Parameters
    ----------
    array : (Z, Y, X) ndarray of float64
        Image.
    spacing : (3,) float, mm, (z, y, x)
        Voxel spacing; sigma is converted to voxels per axis (``sigma_mm / spacing``).
    spec : LoGSpec
        Scale ``sigma_mm``, truncation (in sigma), dimensions and boundary condition.

    Returns
    -------
    (Z, Y, X) ndarray of float64
        ``g = f * h`` with ``h(x) = sum_a d^2 G / d x_a^2 = (|x|^2 - D sigma^2) / sigma^4 G(x)``
        over the D filtered axes, ``G(x) = (2 pi sigma^2)^(-D/2) exp(-|x|^2 / (2 sigma^2))``
        (x in mm); computed as separable passes, each kernel cut at ``truncate * sigma``
        (radius ``int(truncate * sigma / spacing + 0.5)`` voxels).

    Notes
    -----
    Each second-derivative kernel is scipy's: the derivative of the discrete Gaussian
    normalised to unit sum, as in the implementations that produced the IBSI 2 reference maps.
    """
    sigma = _sigma_voxels(spec, spacing)
    mode = spec.boundary
    first, *rest = filtered_axes(spec.dimensions)
    # sum_a D2_a prod_(b != a) G_b with shared passes: `smooth` is the image smoothed along
    # the axes done so far, `laplacian` the sum of the terms over those axes.
    laplacian = convolve_taps(array, _gaussian_taps(sigma[first], 2, spec.truncate), first, mode)
    smooth = array
    previous = first
    for axis in rest:
        smooth = convolve_taps(smooth, _gaussian_taps(sigma[previous], 0, spec.truncate),
                               previous, mode)
        laplacian = convolve_taps(laplacian, _gaussian_taps(sigma[axis], 0, spec.truncate),
                                  axis, mode)
        laplacian += convolve_taps(smooth, _gaussian_taps(sigma[axis], 2, spec.truncate), axis,
                                   mode)
        previous = axis
    return laplacian


def log_transfer(shape: Sequence[int], sigma: Sequence[float], truncate: float) -> np.ndarray:
    """Return the transfer function of the LoG kernel of :func:`log_response` on a half spectrum.

    Parameters
    ----------
    shape : sequence of int
        FFT size along each transformed axis.
    sigma : sequence of float
        Sigma in voxels along those axes.
    truncate : float
        Kernel cut, in sigma.

    Returns
    -------
    ndarray of float64
        ``sum_a D2_a(w_a) prod_(b != a) G_b(w_b)``, the DFTs of the same truncated 1D
        kernels, shaped ``(*shape[:-1], shape[-1] // 2 + 1)`` (``rfftn`` layout). Multiplying
        a spectrum by it is the circular convolution with the LoG kernel.
    """
    smooth: list[np.ndarray] = []
    second: list[np.ndarray] = []
    last = len(shape) - 1
    for i, (n, s) in enumerate(zip(shape, sigma, strict=True)):
        frequencies = 2.0 * np.pi * (np.fft.rfftfreq(n) if i == last else np.fft.fftfreq(n))
        expand = [1] * len(shape)
        expand[i] = frequencies.size
        for order, out in ((0, smooth), (2, second)):
            taps = _gaussian_taps(s, order, truncate)
            # Symmetric kernels: the DFT sum_m w_m exp(-i f o_m) is real, sum_m w_m cos(f o_m).
            response = np.cos(np.outer(frequencies, taps.offsets)) @ np.asarray(taps.weights)
            out.append(response.reshape(expand))
    # Over all axes but the last first (small arrays), then one product and sum at full size.
    head_smooth = np.ones(())
    head_second = np.zeros(())
    for a in range(last):
        head_second = head_second * smooth[a] + head_smooth * second[a]
        head_smooth = head_smooth * smooth[a]
    total = head_second * smooth[last]
    total += head_smooth * second[last]
    return total


def log_margin(spec: LoGSpec, spacing: tuple[float, float, float]) -> tuple[int, int, int]:
    """Voxels needed on each side, (z, y, x): the kernel radius along the filtered axes."""
    sigma = _sigma_voxels(spec, spacing)
    radius = [int(spec.truncate * s + 0.5) if s > 0 else 0 for s in sigma]
    return (radius[0], radius[1], radius[2])


@functools.lru_cache(maxsize=128)
def _gaussian_taps(sigma: float, order: int, truncate: float) -> Taps:
    """scipy's Gaussian (derivative) kernel of ``order``, read off its impulse response.

    Computed once per argument set (a cohort on one grid asks for the same few).
    """
    radius = int(truncate * sigma + 0.5)
    impulse = np.zeros(2 * radius + 1)
    impulse[radius] = 1.0
    correlated = ndi.gaussian_filter1d(impulse, sigma, order=order, mode="constant",
                                       truncate=truncate)
    return Taps.centred(correlated[::-1])


def _sigma_voxels(spec: LoGSpec, spacing: tuple[float, float, float]) -> list[float]:
    """Sigma in voxels per axis, 0 along the axes not filtered."""
    axes = filtered_axes(spec.dimensions)
    return [spec.sigma_mm / spacing[a] if a in axes else 0.0 for a in range(3)]
