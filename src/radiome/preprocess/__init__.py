"""IBSI 1 image processing: interpolation, re-segmentation, normalisation, discretisation.

Its result, :class:`RoiData`, is what every feature family reads.
"""

from __future__ import annotations

from radiome.preprocess.discretise import discretise_fixed_bin_number, discretise_fixed_bin_size
from radiome.preprocess.normalise import normalise
from radiome.preprocess.pipeline import (
    Processed,
    discretised,
    interpolated_image,
    process,
    target_mapping,
)
from radiome.preprocess.resample import GridMap, grid_map, interpolate
from radiome.preprocess.resegment import resegment
from radiome.preprocess.roi import RoiData

__all__ = [
    "GridMap",
    "Processed",
    "RoiData",
    "discretise_fixed_bin_number",
    "discretise_fixed_bin_size",
    "discretised",
    "grid_map",
    "interpolate",
    "interpolated_image",
    "normalise",
    "process",
    "resegment",
    "target_mapping",
]
