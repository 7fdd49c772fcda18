"""Apply any IBSI 2 filter to an image, and the crop margin a filter needs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from radiome.errors import GeometryError, IntensityError
from radiome.filters.gabor import gabor_margin, gabor_response
from radiome.filters.laws import laws_margin, laws_response
from radiome.filters.log import log_margin, log_response
from radiome.filters.mean import mean_margin, mean_response
from radiome.filters.riesz import riesz_response
from radiome.filters.simoncelli import simoncelli_response
from radiome.filters.spec import (
    GaborSpec,
    LawsSpec,
    LoGSpec,
    MeanSpec,
    RieszSpec,
    SimoncelliSpec,
    WaveletSpec,
    canonical_name,
)
from radiome.filters.wavelets import wavelet_margin, wavelet_response

__all__ = ["apply_filter", "required_margin_voxels"]

Spacing = tuple[float, float, float]

_RESPONSES: dict[type, Callable[[np.ndarray, Spacing, Any], np.ndarray]] = {
    MeanSpec: mean_response,
    LoGSpec: log_response,
    LawsSpec: laws_response,
    GaborSpec: gabor_response,
    WaveletSpec: wavelet_response,
    SimoncelliSpec: simoncelli_response,
    RieszSpec: riesz_response,
}
_MARGINS: dict[type, Callable[[Any, Spacing], tuple[int, int, int] | None]] = {
    MeanSpec: mean_margin,
    LoGSpec: log_margin,
    LawsSpec: laws_margin,
    GaborSpec: gabor_margin,
    WaveletSpec: wavelet_margin,
}


def apply_filter(array: np.ndarray, spacing: Sequence[float], spec: Any) -> np.ndarray:
    """Return the response map of an IBSI 2 filter.

    Parameters
    ----------
    array : (Z, Y, X) array_like of real numbers
        Image, converted to float64. ``dimensions: 2d`` filters act in the axial plane of
        each index along axis 0.
    spacing : (3,) float, mm, (z, y, x)
        Voxel spacing.
    spec : FilterSpec
        One of :class:`MeanSpec` (S60F), :class:`LoGSpec` (L6PA), :class:`LawsSpec` (JTXT),
        :class:`GaborSpec` (Q88H), :class:`WaveletSpec` (25BO), :class:`SimoncelliSpec`
        (LODD) or :class:`RieszSpec` (AYRS); see the ``*_response`` function of each module
        for the formula.

    Returns
    -------
    (Z, Y, X) ndarray of float64
        Response map on the grid of ``array`` (decimated wavelets included: each decimated
        coefficient is held over its block).

    Raises
    ------
    GeometryError
        ``array`` is not 3D or ``spacing`` is not three positive finite numbers.
    IntensityError
        ``array`` holds NaN or infinite values.
    TypeError
        ``spec`` is not a filter spec.
    """
    response = _RESPONSES.get(type(spec))
    if response is None:
        msg = f"apply_filter: spec must be a filter spec (FilterSpec), got {type(spec).__name__}"
        raise TypeError(msg)
    name = canonical_name(spec)
    image = np.asarray(array, dtype=np.float64)
    if image.ndim != 3:
        msg = f"filter {name}: image must be a 3D (z, y, x) array, got shape {image.shape}"
        raise GeometryError(msg)
    if not np.all(np.isfinite(image)):
        msg = f"filter {name}: image holds NaN or infinite intensities; filters need finite ones"
        raise IntensityError(msg)
    voxel = _checked_spacing(spacing, name)
    return response(np.ascontiguousarray(image), voxel, spec)


def required_margin_voxels(spec: Any, spacing: Sequence[float]) -> tuple[int, int, int] | None:
    """Return how many voxels a filter reads on each side of a voxel, (z, y, x).

    Parameters
    ----------
    spec : FilterSpec
        Filter.
    spacing : (3,) float, mm, (z, y, x)
        Voxel spacing (LoG and Gabor kernels are in mm).

    Returns
    -------
    (3,) tuple of int or None
        Margin m such that, on a crop of the image that extends at least m voxels beyond a
        box on every side (or reaches the image border), the response inside the box equals
        the response on the whole image. None when no finite margin gives that: periodic
        boundary, Simoncelli and Riesz (kernels as large as the image, applied by FFT) and
        decimated wavelets (the decimation grid follows the crop); filter the whole image then.
    """
    if type(spec) not in _RESPONSES:
        msg = f"required_margin_voxels: spec must be a filter spec, got {type(spec).__name__}"
        raise TypeError(msg)
    margin = _MARGINS.get(type(spec))
    if margin is None or spec.boundary == "periodic":
        return None
    return margin(spec, _checked_spacing(spacing, canonical_name(spec)))


def _checked_spacing(spacing: Sequence[float], name: str) -> Spacing:
    """Spacing as three floats, or GeometryError."""
    values = np.asarray(spacing, dtype=np.float64).ravel()
    if values.size != 3 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        msg = (f"filter {name}: spacing must be three positive finite mm values (z, y, x), "
               f"got {list(np.asarray(spacing).ravel())}")
        raise GeometryError(msg)
    return (float(values[0]), float(values[1]), float(values[2]))
