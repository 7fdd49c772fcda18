"""pictologics 0.9 in a benchmark worker: ``RadiomicsPipeline.run`` on Images held in memory.

The image and label map are read once with pictologics' own NRRD reader; the ROI (the case's
label) becomes a 0/1 mask Image on the same grid. Settings, as radiome's pictologics specs
(``benchmarks/specs/pictologics_*.yaml``): no resampling, fixed bin size 25 starting at the
ROI's lowest intensity (``min_val``, computed untimed in ``prepare``, as IBSI's lower bound
without a re-segmentation range, which is what radiome uses), distance 1 for GLCM, NGTDM
and NGLDM, NGLDM coarseness 0. pictologics' GLCM and GLRLM are 3D merged (one matrix summed
over the 13 directions); its morphology always includes the oriented-bounding-box and
minimum-volume-ellipsoid densities. Modes:

- ``pictologics_shared``: intensity statistics, morphology, intensity histogram, GLCM,
  GLRLM, GLSZM, NGTDM, NGLDM (the families radiome shares with PyRadiomics);
- ``pictologics_full``: every family (174 values): the above plus GLDZM, Moran's I and
  Geary's C, local intensity peaks and the IVH on the intensities as they are.

pictologics runs with its default number of threads (all the cores of the process, two
here) unless ``PICTOLOGICS_NUM_THREADS`` is set; its deduplication cache is off, so every run
computes every family.
"""

from __future__ import annotations

import platform

import numpy as np
import pictologics
from bench_config import BIN_WIDTH
from pictologics import Image, RadiomicsPipeline, load_image

__all__ = ["Adapter", "steps"]

_SHARED = ["intensity", "morphology", "histogram", "glcm", "glrlm", "glszm", "ngtdm", "ngldm"]
_TEXTURE = {"glcm_distance": 1, "ngtdm_distance": 1, "ngldm_distance": 1, "ngldm_alpha": 0}


def steps(mode: str, lowest: float) -> list[dict]:
    """The pipeline steps of a mode for an ROI minimum ``lowest``."""
    extract = {"families": _SHARED, "texture_matrix_params": dict(_TEXTURE)}
    if mode == "pictologics_full":
        extract = {"families": [*_SHARED, "gldzm", "ivh"], "include_spatial_intensity": True,
                   "include_local_intensity": True, "ivh_use_continuous": True,
                   "texture_matrix_params": dict(_TEXTURE)}
    elif mode != "pictologics_shared":
        msg = f"pictologics has no settings for mode {mode!r}"
        raise ValueError(msg)
    return [{"step": "discretise",
             "params": {"method": "FBS", "bin_width": BIN_WIDTH, "min_val": lowest}},
            {"step": "extract_features", "params": extract}]


class Adapter:
    """Holds the case as pictologics Images and the configured pipeline."""

    def __init__(self) -> None:
        self.image: Image | None = None
        self.mask: Image | None = None
        self.pipeline: RadiomicsPipeline | None = None
        self.config = ""
        self.series = None

    @staticmethod
    def versions() -> dict[str, str]:
        """Versions of the tool and of what it stands on."""
        import numba
        import scipy

        return {"pictologics": pictologics.__version__, "python": platform.python_version(),
                "numpy": np.__version__, "scipy": scipy.__version__, "numba": numba.__version__,
                "threads": str(pictologics.get_num_threads())}

    def load(self, case: dict) -> None:
        """Read the image and the label map; the mask is 1 on the case's label, 0 elsewhere."""
        self.image = load_image(str(case["image"]))
        labels = load_image(str(case["mask"]))
        roi = (labels.array == int(case["label"])).astype(np.float64)
        self.mask = Image(array=roi, spacing=labels.spacing, origin=labels.origin,
                          direction=labels.direction, modality=labels.modality)

    def prepare(self, mode: dict, match_pyradiomics_bins: bool) -> None:
        """A pipeline with the mode's one configuration (bins from the ROI minimum)."""
        if match_pyradiomics_bins:
            msg = "the pictologics comparison uses IBSI bins from the ROI minimum only"
            raise ValueError(msg)
        lowest = float(self.image.array[self.mask.array > 0].min())
        self.pipeline = RadiomicsPipeline(deduplicate=False)
        self.config = mode["name"]
        self.pipeline.add_config(self.config, steps(mode["name"], lowest))

    def run(self) -> int:
        """One pipeline run; returns the number of feature values."""
        self.series = self.pipeline.run(self.image, self.mask, config_names=[self.config])[
            self.config]
        return len(self.series)

    def values(self) -> dict[str, float]:
        """Values of the last run keyed by pictologics' feature names (ending in IBSI codes)."""
        return {str(k): float(v) for k, v in self.series.items()}
