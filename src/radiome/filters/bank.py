"""Several filters of one image at once, sharing the work they have in common.

Laplacians of Gaussian of several scales share one forward FFT of the image (each scale is
then one product with its transfer function and one inverse FFT), and plain separable wavelet
sub-bands of one filter bank share their passes (the 8 first-level 3D sub-bands take 14
passes instead of 24). Every other filter is applied on its own by :func:`apply_filter`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import pywt
from scipy import fft as sfft

from radiome.filters.apply import apply_filter, required_margin_voxels
from radiome.filters.convolution import convolve_taps, fft_filter, filtered_axes, pad
from radiome.filters.log import _sigma_voxels, log_margin, log_transfer
from radiome.filters.spec import LoGSpec, WaveletSpec
from radiome.filters.wavelets import _chain

__all__ = ["apply_filters"]


def apply_filters(
    array: np.ndarray, spacing: Sequence[float], specs: Sequence[Any], *,
    edges: Sequence[tuple[bool, bool]] | None = None,
    region: tuple[slice, ...] | None = None,
) -> list[np.ndarray]:
    """Response maps of several filters of one image, in the order of ``specs``.

    Equal to ``[apply_filter(array, spacing, s) for s in specs]``: wavelet sub-bands exactly
    (the same passes in the same order), LoG responses to floating-point rounding (the
    circular convolution of the FFT on the image padded by the kernel radius as the boundary
    condition asks equals the linear one of the direct passes; relative differences ~1e-12).

    ``edges`` (per axis, before and after) says which sides of ``array`` are the image's own
    edges (default: all). A side that is not is a cut through a larger image, and the
    responses are asked for only at least M voxels inside it, M the largest margin
    (:func:`required_margin_voxels`) of ``specs``: there each filter works on the part of
    the array that it needs (its own margin around that region, so a narrow filter next to
    a wide one filters fewer voxels) and LoG banks do not pad. The responses are zero where
    they were not computed and undefined within M voxels of a cut.

    ``region`` (a slice with start and stop per axis, at least M voxels from every cut) asks
    for the responses there only: they come back shaped as the region, and no filter
    computes more of its last passes than that.
    """
    voxel = tuple(float(s) for s in spacing)
    image = np.ascontiguousarray(array, dtype=np.float64)
    sides = tuple(edges) if edges is not None else ((True, True),) * 3
    widest = None
    if any(not (before and after) for before, after in sides):  # a crop: trim to each job's need
        margins = [required_margin_voxels(spec, voxel) for spec in specs]
        widest = None if not specs or None in margins else np.max(margins, axis=0)
    full = tuple(slice(0, n) for n in image.shape)
    asked = full if region is None else region
    if region is None and widest is not None:  # all but the widest margin at every cut
        asked = tuple(slice(0 if before else int(w), n if after else n - int(w))
                      for w, n, (before, after) in zip(widest, image.shape, sides, strict=True))
    responses: list[np.ndarray | None] = [None] * len(specs)
    for group, run in _jobs(specs, voxel, sides):
        part = full
        if widest is not None:  # at a cut, the job's part ends its own margin beyond the asked
            own = np.max([margins[i] for i in group], axis=0)
            part = tuple(slice(0 if before else want.start - int(m),
                               n if after else want.stop + int(m))
                         for want, m, n, (before, after) in zip(asked, own, image.shape, sides))
        needed = tuple(slice(w.start - p.start, w.stop - p.start)
                       for w, p in zip(asked, part, strict=True))
        for index, response in zip(group, run(image[part], needed), strict=True):
            if region is not None or response.shape == image.shape:
                responses[index] = response
            else:
                responses[index] = np.zeros(image.shape, dtype=response.dtype)
                responses[index][asked] = response
    return responses  # type: ignore[return-value]


def _jobs(specs: Sequence[Any], spacing: tuple[float, ...],
          edges: Sequence[tuple[bool, bool]]) -> list[tuple[list[int], Callable]]:
    """The filters grouped into jobs: (indices into ``specs``, run).

    ``run(image, needed)`` returns the responses of the job's filters inside ``needed`` (a
    slice per axis of ``image``), the only part of them that is asked for.

    LoG scales of the same dimensions and boundary share one FFT, plain wavelet sub-bands of
    one filter bank their passes; every other filter is a job of its own.
    """
    logs: dict[tuple, list[int]] = defaultdict(list)
    wavelets: dict[tuple, list[int]] = defaultdict(list)
    jobs: list[tuple[list[int], Callable]] = []
    for index, spec in enumerate(specs):
        if isinstance(spec, LoGSpec):
            logs[(spec.dimensions, spec.boundary)].append(index)
        elif isinstance(spec, WaveletSpec) and not (spec.rotation_invariance or spec.decimated):
            wavelets[(spec.wavelet, spec.level, spec.dimensions, spec.boundary)].append(index)
        else:
            jobs.append(([index], partial(_single, spacing=spacing, spec=spec)))
    for group in [*logs.values(), *wavelets.values()]:
        members = [specs[i] for i in group]
        if len(group) == 1:
            run = partial(_single, spacing=spacing, spec=members[0])
        elif isinstance(members[0], LoGSpec):
            run = partial(_log_bank, spacing=spacing, specs=members, edges=edges)
        else:
            run = partial(_wavelet_bank, specs=members)
        jobs.append((group, run))
    return jobs


def _single(image: np.ndarray, needed: tuple[slice, ...], *, spacing: tuple[float, ...],
            spec: Any) -> list[np.ndarray]:
    return [apply_filter(image, spacing, spec)[needed]]


def _log_bank(image: np.ndarray, needed: tuple[slice, ...], *, spacing: tuple[float, ...],
              specs: Sequence[LoGSpec], edges: Sequence[tuple[bool, bool]]) -> list[np.ndarray]:
    """LoG responses of several scales (same dimensions and boundary) through one FFT.

    Each filtered axis is padded as the boundary condition asks by the largest kernel radius
    on the sides that are image edges (up to a fast FFT length after the image), so the
    circular convolution equals the linear one on the image wherever it is asked for.
    """
    axes = list(filtered_axes(specs[0].dimensions))
    radius = np.max([log_margin(s, spacing) for s in specs], axis=0)
    widths = [(0, 0)] * 3
    crop = list(needed)
    for a in axes:
        r, n = int(radius[a]), image.shape[a]
        before = r if edges[a][0] else 0
        after = r if edges[a][1] else 0
        widths[a] = (before, sfft.next_fast_len(n + before + after, real=True) - n - before)
        crop[a] = slice(before + needed[a].start, before + needed[a].stop)
    padded = pad(image, widths, specs[0].boundary)

    def transfers(fft_shape: tuple[int, ...]) -> list[np.ndarray]:
        return [log_transfer(fft_shape, [_sigma_voxels(s, spacing)[a] for a in axes], s.truncate)
                for s in specs]

    return [np.array(response) for response in fft_filter(padded, axes, transfers, crop)]


def _wavelet_bank(image: np.ndarray, needed: tuple[slice, ...], *,
                  specs: Sequence[WaveletSpec]) -> list[np.ndarray]:
    """Sub-bands of one wavelet filter bank, passes shared along a tree of band prefixes.

    The last pass along each axis computes the ``needed`` positions of that axis only.
    """
    first = specs[0]
    bank = pywt.Wavelet(first.wavelet)
    axes = filtered_axes(first.dimensions)
    # Same pass order as wavelet_response: the contiguous (last) axis first.
    order = sorted(axes, reverse=True)
    letters = {a: {} for a in axes}
    for spec in specs:
        for axis, letter in zip(axes, reversed(spec.bands), strict=True):
            letters[axis][spec.bands] = letter
    partial: dict[tuple[str, ...], np.ndarray] = {(): image}

    def filtered(prefix: tuple[str, ...]) -> np.ndarray:
        if prefix not in partial:
            out = filtered(prefix[:-1])
            axis = order[len(prefix) - 1]
            chain = _chain(bank, prefix[-1], first.level)
            for step, taps in enumerate(chain, start=1):
                trim = (0, 0) if step < len(chain) else (
                    needed[axis].start, image.shape[axis] - needed[axis].stop)
                out = convolve_taps(out, taps, axis, first.boundary, trim)
            partial[prefix] = out
        return partial[prefix]

    unfiltered = tuple(slice(None) if a in axes else needed[a] for a in range(image.ndim))
    return [filtered(tuple(letters[a][s.bands] for a in order))[unfiltered] for s in specs]
