"""IBSI 2 convolutional filters: mean, LoG, Laws, Gabor, wavelets, Simoncelli and Riesz.

A filter is described by a :data:`FilterSpec` (one pydantic model per kind, told apart by
``kind``), named by :func:`canonical_name` in the ``filter`` column of feature tables and
applied by :func:`apply_filter` to a ``(z, y, x)`` float64 image with its spacing in mm
(:func:`apply_filters` applies several, sharing the work they have in common).
:func:`required_margin_voxels` tells how large a crop around a ROI must be for the response
inside the ROI to equal the response on the whole image.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from radiome._lazy import lazy_exports

#: Public name -> module that defines it (imported on first use: SciPy's FFT and PyWavelets
#: load only when a filter runs, not when a spec is read).
_EXPORTS = {
    "apply_filter": "radiome.filters.apply",
    "required_margin_voxels": "radiome.filters.apply",
    "apply_filters": "radiome.filters.bank",
    **{name: "radiome.filters.spec" for name in (
        "FilterSpec", "GaborSpec", "LawsSpec", "LoGSpec", "MeanSpec", "RieszSpec",
        "SimoncelliSpec", "WaveletSpec", "canonical_name")},
}

__all__ = [
    "FilterSpec",
    "GaborSpec",
    "LawsSpec",
    "LoGSpec",
    "MeanSpec",
    "RieszSpec",
    "SimoncelliSpec",
    "WaveletSpec",
    "apply_filter",
    "apply_filters",
    "canonical_name",
    "required_margin_voxels",
]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from radiome.filters.apply import apply_filter, required_margin_voxels
    from radiome.filters.bank import apply_filters
    from radiome.filters.spec import (
        FilterSpec,
        GaborSpec,
        LawsSpec,
        LoGSpec,
        MeanSpec,
        RieszSpec,
        SimoncelliSpec,
        WaveletSpec,
        canonical_name,
    )
