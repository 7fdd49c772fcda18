"""Gabor filter (IBSI 2 Q88H): modulus of the complex response, in planes, pooled over angles."""

from __future__ import annotations

import math

import numpy as np
from scipy import fft as sfft

from radiome._kernels import kernel
from radiome.filters.convolution import fft_filter, pad, pool
from radiome.filters.spec import GaborSpec

__all__ = ["gabor_kernel", "gabor_margin", "gabor_response"]

_PLANES: dict[str, tuple[tuple[int, int], ...]] = {
    "2d": ((1, 2),),
    "3d": ((1, 2), (0, 2), (0, 1)),
}


def gabor_response(array: np.ndarray, spacing: tuple[float, float, float],
                   spec: GaborSpec) -> np.ndarray:
    """Return the Gabor filter response (IBSI 2 Q88H).

    Parameters
    ----------
    array : (Z, Y, X) ndarray of float64
        Image.
    spacing : (3,) float, mm, (z, y, x)
        Voxel spacing: the kernel is sampled at voxel centres in mm.
    spec : GaborSpec
        sigma and lambda (mm), gamma, orientation(s), pooling, dimensions (2d: axial plane;
        3d: the three orthogonal planes) and boundary condition.

    Returns
    -------
    (Z, Y, X) ndarray of float64
        ``|f * h|`` in each plane, with the 2D complex kernel
        ``h(x, y) = exp(-(u^2 + gamma^2 v^2) / (2 sigma^2)) exp(2 pi i u / lambda)``,
        ``u = x cos(theta) + y sin(theta)``, ``v = -x sin(theta) + y cos(theta)`` (x, y in mm;
        see :func:`gabor_kernel` for the plane axes). Rotation invariant: the ``pooling``
        (IBSI 2: average) of the moduli over the orientations ``theta + k step`` around the
        circle and, in 3d, over the three planes (one pooling over all plane-orientation
        pairs; for a 3d filter without rotation invariance, over the three planes).

    Notes
    -----
    The kernel is not normalised (its centre weight is 1), as in the IBSI 2 reference maps of
    tests 4.a and 4.b, and it is cut to a rectangle of ``truncate * max(sigma, sigma / gamma)``
    mm around its centre. ``theta`` and ``theta + 180 deg`` give complex-conjugate kernels
    and hence the same modulus, so each such pair is computed once; this leaves averages and
    maxima over the full circle unchanged. Convolution by FFT over the padded plane (the
    kernel is as large as the image in the IBSI 2 tests).
    """
    angles = _orientations(spec)
    pooled = []
    for plane in _PLANES[spec.dimensions]:
        normal = 3 - sum(plane)  # the axis across the plane
        stack = np.ascontiguousarray(np.moveaxis(array, normal, 0))  # plane axes last
        plane_spacing = (spacing[plane[0]], spacing[plane[1]])
        plane_pool = _plane_pool(stack, plane_spacing, spec, angles)
        pooled.append((np.moveaxis(plane_pool, 0, normal), 1))
    # Every plane has the same number of orientations: pooling the per-plane pools is
    # pooling over all plane-orientation pairs.
    return np.ascontiguousarray(pool(pooled, spec.pooling))


def gabor_kernel(spec: GaborSpec, theta: float,
                 plane_spacing: tuple[float, float]) -> np.ndarray:
    """Return the complex Gabor kernel of one orientation, sampled on a plane's voxel grid.

    Parameters
    ----------
    spec : GaborSpec
        sigma, lambda (mm), gamma and truncation.
    theta : float
        Orientation in radians.
    plane_spacing : (2,) float, mm
        Spacing along the plane's first ("y") and second ("x") array axes: axial plane
        (axis 1, axis 2), coronal (axis 0, axis 2), sagittal (axis 0, axis 1). In the axial
        plane theta turns from +x (increasing axis-2 index) towards +y (increasing axis-1
        index), as in the IBSI 2 reference map of test 4.a.1.

    Returns
    -------
    (2 ry + 1, 2 rx + 1) ndarray of complex128
        Kernel centred on its middle element.
    """
    ry, rx = _radii(spec, plane_spacing)
    y = np.arange(-ry, ry + 1)[:, None] * plane_spacing[0]
    x = np.arange(-rx, rx + 1)[None, :] * plane_spacing[1]
    u = x * math.cos(theta) + y * math.sin(theta)
    v = -x * math.sin(theta) + y * math.cos(theta)
    envelope = np.exp(-(u**2 + spec.gamma**2 * v**2) / (2.0 * spec.sigma_mm**2))
    return envelope * np.exp(2j * np.pi * u / spec.wavelength_mm)


def gabor_margin(spec: GaborSpec, spacing: tuple[float, float, float]) -> tuple[int, int, int]:
    """Voxels needed on each side, (z, y, x): the kernel radius along the filtered axes."""
    margin = [0, 0, 0]
    for plane in _PLANES[spec.dimensions]:
        radii = _radii(spec, (spacing[plane[0]], spacing[plane[1]]))
        for axis, radius in zip(plane, radii, strict=True):
            margin[axis] = max(margin[axis], radius)
    return (margin[0], margin[1], margin[2])


def _plane_pool(stack: np.ndarray, plane_spacing: tuple[float, float], spec: GaborSpec,
                angles: list[float]) -> np.ndarray:
    """Pooled moduli of the responses in the planes of axes (1, 2) of ``stack``."""
    radii = _radii(spec, plane_spacing)
    # Padding by the kernel radius before and up to a fast FFT length after: the response
    # at the kept voxels reads only padded voxels, never wraps around.
    widths = [(0, 0)]
    crop = [slice(None)]
    for n, radius in zip(stack.shape[1:], radii, strict=True):
        size = sfft.next_fast_len(n + 2 * radius, real=False)
        widths.append((radius, size - n - radius))
        crop.append(slice(radius, radius + n))

    def transfer(shape: tuple[int, ...]) -> list[np.ndarray]:
        rows = np.arange(-radii[0], radii[0] + 1) % shape[0]
        cols = np.arange(-radii[1], radii[1] + 1) % shape[1]
        functions = []
        for theta in angles:
            placed = np.zeros(shape, dtype=np.complex128)
            placed[np.ix_(rows, cols)] = gabor_kernel(spec, theta, plane_spacing)
            functions.append(sfft.fft2(placed))
        return functions

    total = np.zeros(stack.shape)
    for response in fft_filter(pad(stack, widths, spec.boundary), (1, 2), transfer, crop,
                               real=False):
        _pool_modulus(response, total, spec.pooling == "max")
    if spec.pooling == "average":
        total /= len(angles)
    return total


@kernel("none(c16[:, :, :], f8[:, :, ::1], b1)")
def _pool_modulus(response, total, use_max):
    """total <- max(total, |response|) or total + |response|, voxel by voxel."""
    nz, ny, nx = response.shape
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                value = response[z, y, x]
                modulus = math.sqrt(value.real * value.real + value.imag * value.imag)
                if use_max:
                    total[z, y, x] = max(total[z, y, x], modulus)
                else:
                    total[z, y, x] += modulus


def _orientations(spec: GaborSpec) -> list[float]:
    """Orientations in radians, one per pair (theta, theta + 180 deg)."""
    if spec.orientation_step_deg is None:
        return [math.radians(spec.theta_deg)]
    count = round(360.0 / spec.orientation_step_deg)
    unique: dict[float, float] = {}
    for k in range(count):
        degrees = spec.theta_deg + k * spec.orientation_step_deg
        key = round(degrees % 180.0, 9) % 180.0
        unique.setdefault(key, math.radians(degrees))
    return list(unique.values())


def _radii(spec: GaborSpec, plane_spacing: tuple[float, float]) -> tuple[int, int]:
    """Kernel radius in voxels along the plane's two axes."""
    reach = spec.truncate * max(spec.sigma_mm, spec.sigma_mm / spec.gamma)
    return (int(reach / plane_spacing[0] + 0.5), int(reach / plane_spacing[1] + 0.5))
