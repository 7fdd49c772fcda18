"""Boundary conditions, separable convolution passes, kernel rotations and pooling (IBSI 2).

Every filter pads the image through this module, so the four IBSI 2 boundary conditions mean
the same everywhere:

============  ==================  ==================  ===============================
boundary      scipy.ndimage mode  numpy.pad mode      ``a b c d`` padded by 2
============  ==================  ==================  ===============================
``zero``      ``constant``        ``constant``        ``0 0 | a b c d | 0 0``
``nearest``   ``nearest``         ``edge``            ``a a | a b c d | d d``
``periodic``  ``wrap``            ``wrap``            ``c d | a b c d | a b``
``mirror``    ``reflect``         ``symmetric``       ``b a | a b c d | d c``
============  ==================  ==================  ===============================

A 1D filter is a :class:`Taps`: weights at integer offsets, applied as a *convolution*,
``out[i] = sum_m weights[m] * in[i - offsets[m]]`` (the IBSI 2 convention; the reference
maps of the Laws and wavelet tests are the kernels themselves, not their mirror images).
Rotating a kernel by a right angle permutes its axes and reverses some of them; reversing a
1D filter negates its offsets, which is the same as filtering the reversed image.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Literal, NamedTuple

import numpy as np
from scipy import fft as sfft

from radiome._kernels import kernel
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
_NUMPY_MODES: dict[str, Literal["constant", "edge", "wrap", "symmetric"]] = {
    "zero": "constant", "nearest": "edge", "periodic": "wrap", "mirror": "symmetric"}

_BLOCK = 2048  # voxels of a line block summed tap by tap while it stays in cache

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
    return np.pad(array, [(int(w[0]), int(w[1])) for w in widths], mode=_NUMPY_MODES[boundary])


def convolve_taps(array: np.ndarray, taps: Taps, axis: int, boundary: Boundary,
                  trim: tuple[int, int] = (0, 0)) -> np.ndarray:
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
    trim : (int, int)
        Output positions left out at the start and the end of ``axis`` (not computed).

    Returns
    -------
    ndarray of float64
        The shape of ``array``, less ``trim`` along ``axis``.

    Notes
    -----
    The voxel read for each position beyond the edge comes from :func:`pad` applied to the
    indices ``0 .. n - 1`` (zero padding marks them -1), so the boundary conditions are the
    ones of :func:`pad`; a numba kernel then sums the taps line by line in a fixed order.
    The kernel is serial: numba's thread pool costs milliseconds per call on a busy machine,
    more than the whole pass on ROI crops.
    """
    image = np.ascontiguousarray(array, dtype=np.float64)
    n = image.shape[axis]
    offsets = np.asarray(taps.offsets, dtype=np.int64)
    before = max(int(offsets.max()), 0)
    after = max(-int(offsets.min()), 0)
    source = pad(np.arange(1, n + 1, dtype=np.int64), [(before, after)], boundary) - 1
    lines = image.reshape(int(np.prod(image.shape[:axis])), n,
                          int(np.prod(image.shape[axis + 1:])))
    shape = list(image.shape)
    shape[axis] = n - trim[0] - trim[1]
    out = np.empty((lines.shape[0], shape[axis], lines.shape[2]))
    _convolve_lines(lines, np.asarray(taps.weights, dtype=np.float64), before - offsets,
                    np.ascontiguousarray(source[trim[0]:]), out)
    return out.reshape(shape)


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
                        axes: Sequence[int], boundary: Boundary,
                        pooling: Pooling) -> Iterator[tuple[np.ndarray, int]]:
    """Yield the responses of separable variants for pooling, sharing the passes they share.

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
    pooling : {"average", "max"}
        How the responses will be pooled. For ``average`` (linear), variants that differ only
        in their last filter are merged into one pass with the mean of those filters.

    Yields
    ------
    (ndarray of float64, int)
        A response and the number of variants it stands for (:func:`pool` weighs it so):
        identical responses are given once; filters that are the negative of one another share
        their passes; for ``average``, the mean response of merged variants.
    """
    # The contiguous (last) axis first: it has the fewest distinct passes at the top of the
    # tree, and its passes are the slowest.
    order = sorted(range(len(axes)), key=lambda i: -axes[i])
    items = [_signed_chains([variant[i] for i in order]) for variant in variants]
    yield from _descend(array, items, [axes[i] for i in order], 0, boundary,
                        pooling == "average")


def pool(responses: Iterable[tuple[np.ndarray, int]], pooling: Pooling) -> np.ndarray:
    """Return the voxel-wise average or maximum of (response, multiplicity) pairs, one at a time.

    A response with multiplicity k counts k times in the average.
    """
    total: np.ndarray | None = None
    count = 0
    for response, multiplicity in responses:
        count += multiplicity
        if total is None:
            total = np.array(response, dtype=np.float64, copy=True)
            if pooling == "average" and multiplicity != 1:
                total *= multiplicity
        elif pooling == "max":
            np.maximum(total, response, out=total)
        elif multiplicity == 1:
            total += response
        else:
            total += multiplicity * response
    if total is None:
        msg = "pool: no response to pool"
        raise ValueError(msg)
    if pooling == "average":
        total /= count
    return total


def fft_filter(padded: np.ndarray, axes: Sequence[int],
               transfer: Callable[[tuple[int, ...]], Sequence[np.ndarray]],
               crop: Sequence[slice], *, real: bool = True,
               fft_shape: Sequence[int] | None = None) -> Iterator[np.ndarray]:
    """Yield ``crop`` of the inverse FFT of ``FFT(padded) * H`` for each transfer function H.

    Parameters
    ----------
    padded : ndarray of float64
        Image, already padded as the boundary condition asks (released once transformed).
    axes : sequence of int
        Axes transformed (2 for slice-wise filters, 3 for 3D ones).
    transfer : callable
        Given the FFT shape along ``axes``, returns the transfer functions, each
        broadcastable to the spectrum: half spectrum (``rfftn`` layout, last of ``axes``
        halved) when ``real``, full spectrum otherwise.
    crop : sequence of slice
        Part of the filtered padded image to keep, one slice per axis of ``padded``.
    real : bool
        True for Hermitian transfer functions (real kernels): real FFTs and real responses;
        False for complex kernels: complex FFTs and complex responses.
    fft_shape : sequence of int, optional
        FFT size along ``axes``, at least the padded size (zeros fill the rest). Default: the
        padded size, so the filter is circular on the padded image.

    Yields
    ------
    ndarray
        Filtered image (float64, or complex128 when ``real`` is False), cropped: a view of
        a buffer that the next item overwrites, so copy what you keep.

    Notes
    -----
    FFTs use every core (``workers=-1``); pocketfft splits independent 1D transforms across
    threads, so results do not depend on the number of cores.
    """
    axes = list(axes)
    shape = tuple(fft_shape) if fft_shape is not None else tuple(padded.shape[a] for a in axes)
    forward = sfft.rfftn if real else sfft.fftn
    spectrum = forward(padded, s=shape, axes=axes, workers=-1)
    del padded
    functions = transfer(shape)
    buffer = None
    inverse = sfft.irfftn if real else sfft.ifftn
    for index, function in enumerate(functions):
        if index == len(functions) - 1:
            product = np.multiply(spectrum, function, out=spectrum)
        else:
            if buffer is None:
                buffer = np.empty_like(spectrum)
            product = np.multiply(spectrum, function, out=buffer)
        yield inverse(product, s=shape, axes=axes, overwrite_x=True, workers=-1)[tuple(crop)]


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
    """Chains in a canonical form (taps sorted by offset, first non-zero weight positive).

    Equal filters then compare equal and share their passes; the signs taken out are
    returned as one factor.
    """
    sign = 1.0
    chains = []
    for chain in variant:
        normalised = []
        for taps in chain:
            offsets, weights = zip(*sorted(zip(taps.offsets, taps.weights, strict=True)),
                                   strict=True)
            if next((w for w in weights if w != 0.0), 1.0) < 0:
                sign = -sign
                weights = tuple(-w for w in weights)
            normalised.append(Taps(offsets, weights))
        chains.append(tuple(normalised))
    return tuple(chains), sign


def _descend(array: np.ndarray, items: list[tuple[tuple[Chain, ...], float]], axes: list[int],
             depth: int, boundary: Boundary, linear: bool) -> Iterator[tuple[np.ndarray, int]]:
    """Depth-first walk of the passes: one filtered copy alive per axis level."""
    if depth == len(axes):
        plus = sum(1 for _, sign in items if sign > 0)
        if plus:
            yield array, plus
        if len(items) > plus:
            yield -array, len(items) - plus
        return
    if linear and depth == len(axes) - 1:
        yield from _merged_last_pass(array, items, axes[depth], boundary)
        return
    groups: dict[Chain, list[tuple[tuple[Chain, ...], float]]] = {}
    for item in items:
        groups.setdefault(item[0][depth], []).append(item)
    for chain, group in groups.items():
        out = array
        for taps in chain:
            out = convolve_taps(out, taps, axes[depth], boundary)
        yield from _descend(out, group, axes, depth + 1, boundary, linear)


def _merged_last_pass(array: np.ndarray, items: list[tuple[tuple[Chain, ...], float]],
                      axis: int, boundary: Boundary) -> Iterator[tuple[np.ndarray, int]]:
    """Mean responses of variants whose last-axis chains differ only in their final filter."""
    groups: dict[Chain, list[tuple[Taps, float]]] = {}
    for chains, sign in items:
        groups.setdefault(chains[-1][:-1], []).append((chains[-1][-1], sign))
    for head, finals in groups.items():
        out = array
        for taps in head:
            out = convolve_taps(out, taps, axis, boundary)
        mean: dict[int, float] = {}
        for taps, sign in finals:
            for offset, weight in zip(taps.offsets, taps.weights, strict=True):
                mean[offset] = mean.get(offset, 0.0) + sign * weight / len(finals)
        offsets = tuple(sorted(mean))
        yield convolve_taps(out, Taps(offsets, tuple(mean[o] for o in offsets)), axis,
                            boundary), len(finals)


@kernel("none(f8[:, :, ::1], f8[::1], i8[::1], i8[::1], f8[:, :, ::1])")
def _convolve_lines(lines, weights, shifts, source, out):
    """out[a, i, b] = sum_m weights[m] * lines[a, source[i + shifts[m]], b] (source -1: zero)."""
    n_outer, n, n_inner = out.shape
    n_taps = weights.size
    if n_inner == 1:
        padded = np.empty(source.size)
        total = np.empty(n)
        for a in range(n_outer):
            for k in range(source.size):
                padded[k] = lines[a, source[k], 0] if source[k] >= 0 else 0.0
            total[:] = 0.0
            for m in range(n_taps):
                weight = weights[m]
                shift = shifts[m]
                for i in range(n):
                    total[i] += weight * padded[i + shift]
            for i in range(n):
                out[a, i, 0] = total[i]
    else:  # rows of a block summed tap by tap into a buffer that nothing else aliases
        acc = np.empty(min(n_inner, _BLOCK))
        for a in range(n_outer):
            for i in range(n):
                for start in range(0, n_inner, _BLOCK):
                    size = min(start + _BLOCK, n_inner) - start
                    for b in range(size):
                        acc[b] = 0.0
                    for m in range(n_taps):
                        j = source[i + shifts[m]]
                        if j >= 0:
                            weight = weights[m]
                            src = lines[a, j, start:start + size]
                            for b in range(size):
                                acc[b] += weight * src[b]
                    dst = out[a, i, start:start + size]
                    for b in range(size):
                        dst[b] = acc[b]


def _permutation_sign(perm: Sequence[int]) -> int:
    """+1 for an even permutation, -1 for an odd one."""
    sign = 1
    for i, j in itertools.combinations(range(len(perm)), 2):
        if perm[i] > perm[j]:
            sign = -sign
    return sign
