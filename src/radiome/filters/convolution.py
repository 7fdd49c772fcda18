"""Boundary conditions, separable convolution passes, kernel rotations and pooling (IBSI 2).

Every filter pads the image through this module, so the four IBSI 2 boundary conditions mean
the same everywhere:

============  ==================  ==================  ==========================================
boundary      scipy.ndimage mode  numpy.pad mode      value beyond the edge of ``a b c | ...``
============  ==================  ==================  ==========================================
``zero``      ``constant``        ``constant``        ``0 0 0 | a b c``
``nearest``   ``nearest``         ``edge``            ``a a a | a b c``
``periodic``  ``wrap``            ``wrap``            ``a b c | a b c``
``mirror``    ``reflect``         ``symmetric``       ``c b a | a b c`` (edge voxel repeated)
============  ==================  ==================  ==========================================

A 1D filter is a :class:`Taps`: weights at integer offsets, applied as a *convolution*,
``out[i] = sum_m weights[m] * in[i - offsets[m]]`` (the IBSI 2 convention; the reference
maps of the Laws and wavelet tests are the kernels themselves, not their mirror images).
Rotating a kernel by a right angle permutes its axes and reverses some of them; reversing a
1D filter negates its offsets, which is the same as filtering the reversed image.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple

import numpy as np
from scipy import fft as sfft
from scipy import ndimage as ndi

from radiome.filters.spec import Boundary, Dimensions, Pooling

__all__ = [
    "Taps",
    "convolve_taps",
    "fft_filter",
    "filtered_axes",
    "global_padding",
    "pad",
    "pool",
    "right_angle_rotations",
    "rotated_chains",
    "scipy_mode",
    "separable_responses",
]

_SCIPY_MODES: dict[str, str] = {"zero": "constant", "nearest": "nearest", "periodic": "wrap",
                                "mirror": "reflect"}
_NUMPY_MODES: dict[str, str] = {"zero": "constant", "nearest": "edge", "periodic": "wrap",
                                "mirror": "symmetric"}

Chain = tuple["Taps", ...]
"""Filters applied one after the other along one axis."""


class Taps(NamedTuple):
    """A 1D convolution filter: ``weights[m]`` at offset ``offsets[m]`` (voxels)."""

    offsets: tuple[int, ...]
    weights: tuple[float, ...]

    @classmethod
    def centred(cls, weights: Sequence[float], step: int = 1) -> Taps:
        """Filter of ``n`` weights with its origin at index ``n // 2``, taps ``step`` apart.

        ``step = 2**(j-1)`` gives the a trous (upsampled) filter of decomposition level j:
        the level-1 offsets ``m - n // 2`` scaled by ``step``.
        """
        n = len(weights)
        return cls(tuple(step * (m - n // 2) for m in range(n)), tuple(float(w) for w in weights))

    def reversed(self) -> Taps:
        """The filter mirrored about its origin (offsets negated)."""
        return Taps(tuple(-o for o in self.offsets), self.weights)

    def radius(self) -> int:
        """Largest distance, in voxels, between the origin and a tap."""
        return max(abs(o) for o in self.offsets)


def filtered_axes(dimensions: Dimensions) -> tuple[int, ...]:
    """Array axes a filter acts on: (1, 2), the axial plane, for 2d; (0, 1, 2) for 3d."""
    return (1, 2) if dimensions == "2d" else (0, 1, 2)


def scipy_mode(boundary: Boundary) -> str:
    """scipy.ndimage ``mode`` of an IBSI 2 boundary condition."""
    return _SCIPY_MODES[boundary]


def pad(array: np.ndarray, widths: Sequence[tuple[int, int]], boundary: Boundary) -> np.ndarray:
    """Return ``array`` padded by ``widths`` (before, after) per axis with the boundary condition.

    Parameters
    ----------
    array : ndarray
        Image to pad.
    widths : sequence of (int, int)
        Voxels added before and after, one pair per axis of ``array``.
    boundary : {"zero", "nearest", "periodic", "mirror"}
        IBSI 2 boundary condition (see the module docstring).

    Returns
    -------
    ndarray
        The padded image.
    """
    return np.pad(array, [tuple(w) for w in widths], mode=_NUMPY_MODES[boundary])


def convolve_taps(array: np.ndarray, taps: Taps, axis: int, boundary: Boundary) -> np.ndarray:
    """Return the convolution of ``array`` with the 1D filter ``taps`` along ``axis``.

    Parameters
    ----------
    array : ndarray of float64
        Image.
    taps : Taps
        ``out[i] = sum_m taps.weights[m] * array[i - taps.offsets[m]]`` along ``axis``.
    axis : int
        Array axis to filter.
    boundary : {"zero", "nearest", "periodic", "mirror"}
        Boundary condition beyond the image.

    Returns
    -------
    ndarray of float64
        Same shape as ``array``.
    """
    low = min(0, *taps.offsets)
    high = max(0, *taps.offsets)
    dense = np.zeros(high - low + 1)
    for offset, weight in zip(taps.offsets, taps.weights, strict=True):
        dense[high - offset] += weight
    # correlate1d: out[i] = sum_j dense[j] * a[i + j - len // 2 - origin]; with
    # dense[high - o] = w(o) and origin = high - len // 2 this is sum_o w(o) * a[i - o].
    return ndi.correlate1d(array, dense, axis=axis, mode=_SCIPY_MODES[boundary],
                           origin=high - dense.size // 2)


def right_angle_rotations(n_axes: int) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Return the right-angle rotations of an ``n_axes``-D grid as (permutation, signs).

    A rotation maps output axis ``i`` to input axis ``permutation[i]``, reversed when
    ``signs[i] == -1``; only proper rotations (determinant +1) are kept: 4 in 2D, 24 in 3D,
    the rotation sets over which IBSI 2 pools Laws and wavelet responses. The identity is first.
    """
    rotations = []
    for perm in itertools.permutations(range(n_axes)):
        parity = _permutation_sign(perm)
        for signs in itertools.product((1, -1), repeat=n_axes):
            if parity * int(np.prod(signs)) == 1:
                rotations.append((perm, signs))
    return rotations


def separable_responses(array: np.ndarray, variants: Sequence[Sequence[Chain]],
                        axes: Sequence[int], boundary: Boundary) -> Iterator[np.ndarray]:
    """Yield the response of each separable variant, sharing passes that variants have in common.

    Parameters
    ----------
    array : ndarray of float64
        Image.
    variants : sequence of sequences of Chain
        Each variant gives one chain of :class:`Taps` per axis of ``axes``.
    axes : sequence of int
        Array axes filtered, in the order the chains are given.
    boundary : {"zero", "nearest", "periodic", "mirror"}
        Boundary condition of every pass.

    Yields
    ------
    ndarray of float64
        One response per variant (in an order that groups common passes). Filters that are
        the negative of one another share their passes and differ by sign only.
    """
    items = [_signed_chains(variant) for variant in variants]
    yield from _descend(array, items, list(axes), 0, boundary)


def pool(responses: Iterable[np.ndarray], pooling: Pooling) -> np.ndarray:
    """Return the voxel-wise average or maximum of responses, consumed one at a time."""
    total: np.ndarray | None = None
    count = 0
    for response in responses:
        count += 1
        if total is None:
            total = np.array(response, dtype=np.float64, copy=True)
        elif pooling == "max":
            np.maximum(total, response, out=total)
        else:
            total += response
    if total is None:
        msg = "pool: no response to pool"
        raise ValueError(msg)
    if pooling == "average":
        total /= count
    return total


def fft_filter(padded: np.ndarray, axes: Sequence[int],
               transfer: Callable[[tuple[int, ...]], Iterable[np.ndarray]],
               crop: Sequence[slice], *, real: bool = True,
               fft_shape: Sequence[int] | None = None) -> Iterator[np.ndarray]:
    """Yield ``crop`` of the inverse FFT of ``FFT(padded) * H`` for each transfer function H.

    Parameters
    ----------
    padded : ndarray of float64
        Image, already padded as the boundary condition asks.
    axes : sequence of int
        Axes transformed (2 for slice-wise filters, 3 for 3D ones).
    transfer : callable
        Given the FFT shape along ``axes``, yields transfer functions broadcastable to the
        spectrum: half spectrum (``rfftn`` layout, last of ``axes`` halved) when ``real``,
        full spectrum otherwise.
    crop : sequence of slice
        Part of the filtered padded image to keep, one slice per axis of ``padded``.
    real : bool
        True for Hermitian transfer functions (real kernels): real FFTs and real responses;
        False for complex kernels: complex FFTs and complex responses.
    fft_shape : sequence of int, optional
        FFT size along ``axes``, at least the padded size (zeros fill the rest: right for a
        compact kernel whose radius the padding covers). Default: the padded size, so the
        filter is circular on the padded image.

    Yields
    ------
    ndarray
        Filtered image (float64, or complex128 when ``real`` is False), cropped.
    """
    axes = list(axes)
    shape = tuple(fft_shape) if fft_shape is not None else tuple(padded.shape[a] for a in axes)
    forward, inverse = (sfft.rfftn, sfft.irfftn) if real else (sfft.fftn, sfft.ifftn)
    spectrum = forward(padded, s=shape, axes=axes)
    crop = tuple(crop)
    for function in transfer(shape):
        yield inverse(spectrum * function, s=shape, axes=axes)[crop]


def global_padding(shape: Sequence[int], axes: Sequence[int],
                   boundary: Boundary) -> tuple[list[tuple[int, int]], list[slice]]:
    """Padding and crop for filters applied by FFT whose kernels are not compact.

    Returns the (before, after) widths per axis and the slices that recover the image. With
    the ``periodic`` boundary nothing is added (the FFT is periodic); otherwise each filtered
    axis of length n grows to ``next_fast_len(2 n)``, about n / 2 voxels on each side.
    """
    widths = [(0, 0)] * len(shape)
    crop = [slice(None)] * len(shape)
    if boundary == "periodic":
        return widths, crop
    for axis in axes:
        n = shape[axis]
        extra = sfft.next_fast_len(2 * n, real=True) - n
        widths[axis] = (extra // 2, extra - extra // 2)
        crop[axis] = slice(extra // 2, extra // 2 + n)
    return widths, crop


def rotated_chains(chains: Sequence[Chain], rotation_invariance: bool) -> list[tuple[Chain, ...]]:
    """Return the per-axis chains of every right-angle rotation of a separable kernel.

    ``chains`` holds one chain per filtered axis; without rotation invariance the kernel itself
    is the only variant.
    """
    if not rotation_invariance:
        return [tuple(chains)]
    return [tuple(_reversed_chain(chains[p]) if s < 0 else chains[p]
                  for p, s in zip(perm, signs, strict=True))
            for perm, signs in right_angle_rotations(len(chains))]


def _reversed_chain(chain: Chain) -> Chain:
    """The chain with every filter mirrored about its origin."""
    return tuple(taps.reversed() for taps in chain)


def _signed_chains(variant: Sequence[Chain]) -> tuple[tuple[Chain, ...], float]:
    """Chains with each filter's first non-zero weight made positive, and the sign taken out."""
    sign = 1.0
    chains = []
    for chain in variant:
        normalised = []
        for taps in chain:
            first = next((w for w in taps.weights if w != 0.0), 1.0)
            if first < 0:
                sign = -sign
                taps = Taps(taps.offsets, tuple(-w for w in taps.weights))
            normalised.append(taps)
        chains.append(tuple(normalised))
    return tuple(chains), sign


def _descend(array: np.ndarray, items: list[tuple[tuple[Chain, ...], float]], axes: list[int],
             depth: int, boundary: Boundary) -> Iterator[np.ndarray]:
    """Depth-first walk of the passes: one filtered copy alive per axis level."""
    if depth == len(axes):
        for _, sign in items:
            yield array if sign > 0 else -array
        return
    groups: dict[Chain, list[tuple[tuple[Chain, ...], float]]] = {}
    for item in items:
        groups.setdefault(item[0][depth], []).append(item)
    for chain, group in groups.items():
        out = array
        for taps in chain:
            out = convolve_taps(out, taps, axes[depth], boundary)
        yield from _descend(out, group, axes, depth + 1, boundary)


def _permutation_sign(perm: Sequence[int]) -> int:
    """+1 for an even permutation, -1 for an odd one."""
    sign = 1
    for i, j in itertools.combinations(range(len(perm)), 2):
        if perm[i] > perm[j]:
            sign = -sign
    return sign
