"""Reliability: segmentation agreement, ICC and CCC, reliability studies, perturbation robustness.

- :func:`agreement`: Dice, Jaccard, volume difference and surface distances (mm) of two masks.
- :func:`icc`, :func:`ccc`, :func:`bland_altman`: agreement between repeated measurements.
- :func:`feature_icc`, :func:`stable_features`: per-feature ICC of a long feature table with
  subject and repetition columns (test-retest, multi-rater, perturbations) and the stable ones.
- :func:`feature_repeatability`, :func:`repeatability_coefficient`: within-subject SD, repeatability
  coefficient (RC = 2.77 s_w) with its CI and within-subject CV of repeat scans (QIBA).
- :func:`perturb`, :func:`perturbed_versions`, :func:`estimate_noise`: seeded image/mask
  perturbations (Zwanenburg 2019).
- :func:`plot_icc`, :func:`plot_bland_altman`: PNG figures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from radiome._lazy import lazy_exports

_EXPORTS = {
    "ICC_FORMS": "radiome.reliability.concordance",
    "bland_altman": "radiome.reliability.concordance",
    "ccc": "radiome.reliability.concordance",
    "icc": "radiome.reliability.concordance",
    "estimate_noise": "radiome.reliability.perturbation",
    "perturb": "radiome.reliability.perturbation",
    "perturbed_versions": "radiome.reliability.perturbation",
    "feature_repeatability": "radiome.reliability.repeatability",
    "repeatability_coefficient": "radiome.reliability.repeatability",
    "plot_bland_altman": "radiome.reliability.plots",
    "plot_icc": "radiome.reliability.plots",
    "agreement": "radiome.reliability.segmentation",
    "feature_icc": "radiome.reliability.study",
    "stable_features": "radiome.reliability.study",
}
__all__ = [
    "ICC_FORMS",
    "agreement",
    "bland_altman",
    "ccc",
    "estimate_noise",
    "feature_icc",
    "feature_repeatability",
    "icc",
    "perturb",
    "perturbed_versions",
    "plot_bland_altman",
    "plot_icc",
    "repeatability_coefficient",
    "stable_features",
]
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from radiome.reliability.concordance import ICC_FORMS, bland_altman, ccc, icc
    from radiome.reliability.perturbation import estimate_noise, perturb, perturbed_versions
    from radiome.reliability.plots import plot_bland_altman, plot_icc
    from radiome.reliability.repeatability import (
        feature_repeatability,
        repeatability_coefficient,
    )
    from radiome.reliability.segmentation import agreement
    from radiome.reliability.study import feature_icc, stable_features
