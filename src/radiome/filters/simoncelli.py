"""Simoncelli non-separable isotropic wavelet, band-pass maps (IBSI 2 LODD)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from radiome.filters.convolution import fft_filter, filtered_axes, global_padding, pad
from radiome.filters.spec import SimoncelliSpec

__all__ = ["simoncelli_response", "simoncelli_transfer"]


def simoncelli_response(array: np.ndarray, spacing: tuple[float, float, float],
                        spec: SimoncelliSpec) -> np.ndarray:
    """Return the band-pass map of the Simoncelli wavelet at a decomposition level (IBSI 2 LODD).

    Parameters
    ----------
    array : (Z, Y, X) ndarray of float64
        Image.
    spacing : (3,) float, mm, (z, y, x)
        Voxel spacing (unused: the wavelet is defined on the voxel grid).
    spec : SimoncelliSpec
        Decomposition level, dimensions and boundary condition.

    Returns
    -------
    (Z, Y, X) ndarray of float64
        ``Re F^-1[F(f) psi_j]`` with the isotropic band-pass
        ``psi_j(w) = cos(pi / 2 log2(2 |w| / w_j))`` for ``w_j / 4 <= |w| <= w_j`` and 0
        elsewhere, ``w_j = pi / 2**(j-1)`` (level 1 covers ``[pi / 4, pi]``), on the
        frequency grid of the image (:func:`simoncelli_transfer`). Periodic boundary: the FFT
        of the image itself. Other boundaries: the image is first padded to about twice its
        size along the filtered axes (:func:`radiome.filters.convolution.global_padding`),
        filtered by the same ``psi_j`` (its frequencies still normalised to the image's
        size, so the boundary condition changes how the image is extended, not the
        filter), and cropped back.

    Notes
    -----
    The IBSI 2 consensus values of this filter come from the FFT of the unpadded image:
    ``boundary: periodic`` reproduces them. The phase 2 configurations 8 and 9 are listed
    with mirror padding, but the open implementations that took part do not pad for this
    filter: MIRP 2.7 builds it with ``pad_image=False`` whatever its boundary setting, and
    pictologics 0.9 runs its phase 2 checks of 8.B and 9.B with its periodic default. The
    kernel is not compact (its tails reach across the image), so any extension of the
    image moves every voxel a little: with mirror padding the medians of 8.A and 9.B leave
    the consensus (-0.025 and 0.274 instead of -0.032 and 0.233).

    The second-order Riesz component along y of the level-1 map of ``pattern_1`` (IBSI 2
    test 10.b.1) is reproduced with the periodic, nearest and mirror boundaries alike.
    """
    axes = filtered_axes(spec.dimensions)
    widths, crop = global_padding(array.shape, axes, spec.boundary)
    image_shape = [array.shape[a] for a in axes]

    def transfer(shape: tuple[int, ...]) -> list[np.ndarray]:
        return [simoncelli_transfer(shape, spec.level, image_shape)]

    return np.ascontiguousarray(next(fft_filter(pad(array, widths, spec.boundary), axes,
                                                transfer, crop)))


def simoncelli_transfer(shape: Sequence[int], level: int,
                        image_shape: Sequence[int] | None = None) -> np.ndarray:
    """Return the Simoncelli band-pass transfer function on an ``rfftn`` half spectrum.

    Parameters
    ----------
    shape : sequence of int
        FFT size along each transformed axis.
    level : int
        Decomposition level j >= 1.
    image_shape : sequence of int, optional
        Size of the image along the same axes, before any padding; the frequencies are
        normalised to it. Default: ``shape`` (no padding).

    Returns
    -------
    ndarray of float64
        ``(psi_j(w) + psi_j(-w)) / 2`` at the DFT bins, shaped
        ``(*shape[:-1], shape[-1] // 2 + 1)``.

    Notes
    -----
    IBSI 2 places the DFT bins of an axis of n voxels, in the centred (``fftshift``)
    order, at ``linspace(-pi, pi, n)`` rather than at ``2 pi k / n``: bin k (signed, in
    cycles per n voxels) sits at ``(2 k + e) / (n - 1)`` times pi, with ``e = 1`` for an
    even n (the grid is then half a bin off centre, so psi is not even and the real part
    of the response, the average of psi at w and -w, is kept) and 0 for an odd one; an
    axis of one voxel has only the frequency 0. On an FFT of N >= n points (a padded
    image) bin k of N is at frequency ``k n / N`` of that grid, so the filter is the same
    function of frequency whatever the padding; padding by whole periods of a periodic
    image changes nothing.

    With this grid the IBSI 2 consensus maps of tests 8.a.2 and 8.a.3 are reproduced to
    1e-5; the map of test 8.a.1 is exactly 5/7 of that plus 2/7 of the response on the
    ``2 pi k / n`` grid, i.e. the mean of seven submissions of which five used this grid.
    The two grids differ by about one bin, which matters only on small images.
    """
    sizes = shape if image_shape is None else image_shape
    last = len(shape) - 1
    grids = []
    for i, (points, n) in enumerate(zip(shape, sizes, strict=True)):
        grid = _consensus_frequencies(points, n)
        mirrored = grid[(-np.arange(points)) % points]
        if i == last:
            grid, mirrored = grid[: points // 2 + 1], mirrored[: points // 2 + 1]
        grids.append((grid**2, mirrored**2))
    (first, first_mirrored), rest = grids[0], grids[1:]
    plane = _sum_of_squares([g for g, _ in rest])
    plane_mirrored = _sum_of_squares([m for _, m in rest])
    out = np.empty((first.size, *plane.shape))
    for i in range(first.size):  # slab by slab: a few 2D temporaries instead of 3D ones
        out[i] = _band(np.sqrt(first[i] + plane), level)
        out[i] += _band(np.sqrt(first_mirrored[i] + plane_mirrored), level)
    out *= 0.5
    return out


def _consensus_frequencies(points: int, n: int) -> np.ndarray:
    """Frequencies (1 = Nyquist) of the bins of a ``points``-point FFT on an n-voxel axis."""
    if n == 1:
        return np.zeros(points)
    bins = np.fft.fftfreq(points, 1.0 / points)  # signed integers, FFT order
    return (2.0 * n * bins / points + (n % 2 == 0)) / (n - 1)


def _sum_of_squares(squares: list[np.ndarray]) -> np.ndarray:
    """Outer sum of squared 1D grids, one per axis."""
    total = np.zeros([s.size for s in squares])
    for i, square in enumerate(squares):
        expand = [1] * len(squares)
        expand[i] = square.size
        total = total + square.reshape(expand)
    return total


def _band(radius: np.ndarray, level: int) -> np.ndarray:
    """psi_j at normalised radial frequencies (1 = Nyquist)."""
    top = 2.0 ** (1 - level)
    inside = (radius >= top / 4.0) & (radius <= top)
    out = np.zeros(radius.shape)
    out[inside] = np.cos(np.pi / 2.0 * np.log2(2.0 * radius[inside] / top))
    return out
