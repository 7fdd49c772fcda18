"""The feature registry: every feature radiome computes, with its IBSI code, family and unit.

Registries are explicit data. Each family module declares ``FEATURES`` (a tuple of
:class:`FeatureDef`) and a ``compute`` adapter; :data:`FAMILIES` lists the family modules in
IBSI order and :data:`REGISTRY` maps every feature name to its definition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from radiome.preprocess.roi import RoiData
    from radiome.spec import Spec

__all__ = ["FamilyDef", "FeatureDef", "FeatureValues", "unit_of"]

#: Feature values of one family keyed by (feature name, aggregation); aggregation is "" for
#: non-texture families and the IBSI texture aggregation method (``3d_avg``, ``2d``...) else.
FeatureValues = dict[tuple[str, str], float]


@dataclass(frozen=True)
class FeatureDef:
    """One feature: its stable name, IBSI code, family prefix and unit template.

    ``unit`` is None for dimensionless features, else a template where ``{u}`` stands for the
    intensity unit of the image (``{u}``, ``{u}^2``, ``mm^3``, ``mm^-1`` ...).
    """

    name: str
    ibsi: str
    family: str
    unit: str | None = None


@dataclass(frozen=True)
class FamilyDef:
    """A feature family: IBSI family code, its features, and the adapter that computes them.

    ``surroundings``: the family reads voxels outside the ROI (local intensity peaks), so it
    gets the ROI with its margin; every other family gets the ROI cropped to its box.
    """

    name: str
    ibsi: str
    title: str
    features: tuple[FeatureDef, ...]
    compute: Callable[[RoiData, Spec], FeatureValues]
    texture: bool = False
    uses_filters: bool = True
    surroundings: bool = False


def unit_of(feature: FeatureDef, intensity_unit: str) -> str:
    """The unit of a feature value for an image in ``intensity_unit`` ('' when dimensionless)."""
    return "" if feature.unit is None else feature.unit.format(u=intensity_unit)
