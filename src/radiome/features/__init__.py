"""IBSI feature families: one module per family, every feature registered with its IBSI code."""

from __future__ import annotations

from radiome.features import (
    glcm,
    gldzm,
    glrlm,
    glszm,
    histogram,
    ivh,
    local_intensity,
    morphology,
    ngldm,
    ngtdm,
    stats,
)
from radiome.features.registry import FamilyDef, FeatureDef, FeatureValues, unit_of

__all__ = ["FAMILIES", "REGISTRY", "FamilyDef", "FeatureDef", "FeatureValues", "unit_of"]

#: Implemented families in IBSI order, keyed by family prefix.
FAMILIES: dict[str, FamilyDef] = {
    f.name: f
    for f in (morphology.FAMILY, local_intensity.FAMILY, stats.FAMILY, histogram.FAMILY,
              ivh.FAMILY, glcm.FAMILY, glrlm.FAMILY, glszm.FAMILY, gldzm.FAMILY, ngtdm.FAMILY,
              ngldm.FAMILY)
}

#: Every registered feature by name.
REGISTRY: dict[str, FeatureDef] = {
    feature.name: feature for family in FAMILIES.values() for feature in family.features
}
