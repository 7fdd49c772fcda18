"""PyRadiomics 3.1 in a benchmark worker: ``execute()`` on SimpleITK images held in memory.

Settings of every mode: ``binWidth`` 25, no resampling, no normalisation, ``force2D`` off,
label from the case, the feature classes first order, shape, GLCM, GLRLM, GLSZM, NGTDM and
GLDM; image types Original (original mode) or Original + LoG (sigma 1, 2, 3 mm) + Wavelet
(coif1, first level, 8 sub-bands), the same as ``enableImageTypes(Original={}, LoG={'sigma':
[1, 2, 3]}, Wavelet={})``. ``additionalInfo`` is off: the diagnostic features (among them a
SHA1 of the image and the mask) are not features and would only slow PyRadiomics down.
"""

from __future__ import annotations

import logging
import platform

import numpy as np
import pywt
import radiomics
import SimpleITK as sitk
from bench_config import BIN_WIDTH, LOG_SIGMAS_MM, WAVELET
from radiomics import featureextractor

__all__ = ["CLASSES", "Adapter", "settings"]

#: PyRadiomics feature classes that have an IBSI counterpart in radiome.
CLASSES = ("firstorder", "shape", "glcm", "glrlm", "glszm", "ngtdm", "gldm")


def settings(label: int) -> dict:
    """The extractor settings of the benchmark (all modes)."""
    return {"binWidth": BIN_WIDTH, "label": label, "resampledPixelSpacing": None,
            "normalize": False, "force2D": False, "additionalInfo": False}


class Adapter:
    """Holds the case as SimpleITK images and the configured extractor."""

    def __init__(self) -> None:
        radiomics.setVerbosity(logging.ERROR)
        self.image = self.mask = None
        self.label = 1
        self.extractor = None
        self.result: dict | None = None

    @staticmethod
    def versions() -> dict[str, str]:
        """Versions of the tool and of what it stands on."""
        return {"pyradiomics": radiomics.__version__, "python": platform.python_version(),
                "numpy": np.__version__, "SimpleITK": sitk.Version_VersionString(),
                "PyWavelets": pywt.__version__}

    def load(self, case: dict) -> None:
        """Read image and label map as SimpleITK images."""
        self.image = sitk.ReadImage(str(case["image"]))
        self.mask = sitk.ReadImage(str(case["mask"]))
        self.label = int(case["label"])

    def prepare(self, mode: dict, match_pyradiomics_bins: bool) -> None:
        """Configure the extractor for the mode (the bin option concerns radiome only)."""
        extractor = featureextractor.RadiomicsFeatureExtractor(**settings(self.label))
        extractor.disableAllFeatures()
        for name in CLASSES:
            extractor.enableFeatureClassByName(name)
        extractor.disableAllImageTypes()
        extractor.enableImageTypeByName("Original")
        if mode["filtered"]:
            extractor.enableImageTypeByName("LoG", customArgs={"sigma": list(LOG_SIGMAS_MM)})
            extractor.enableImageTypeByName("Wavelet", customArgs={"wavelet": WAVELET})
        self.extractor = extractor

    def run(self) -> int:
        """One ``execute()``; returns the number of feature values."""
        self.result = self.extractor.execute(self.image, self.mask, label=self.label)
        return len(self.result)

    def values(self) -> dict[str, float]:
        """Values of the last run keyed by PyRadiomics' names (``original_glcm_Contrast``)."""
        return {k: float(v) for k, v in self.result.items() if not k.startswith("diagnostics_")}
