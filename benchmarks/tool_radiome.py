"""radiome in a benchmark worker: ``radiome.extract`` on a loaded Volume and Mask with a spec."""

from __future__ import annotations

import math
import platform
from pathlib import Path

import numpy as np

import radiome

__all__ = ["Adapter", "pyradiomics_bins_spec"]


def pyradiomics_bins_spec(spec: radiome.Spec, volume: radiome.Volume,
                          mask: radiome.Mask) -> radiome.Spec:
    """The spec with a re-segmentation minimum that gives PyRadiomics' fixed-bin-size edges.

    PyRadiomics starts its bins at ``floor(min / w) * w`` (``getBinEdges``); IBSI fixed bin size
    starts at the re-segmentation range's minimum. Setting that minimum to the same value gives
    identical grey levels and removes no voxel, since it is at most the ROI's minimum.
    """
    width = spec.preprocessing.discretisation.bin_width
    lowest = float(volume.array[mask.array].min())
    data = spec.model_dump(mode="json")
    resegmentation = data["preprocessing"]["resegmentation"]
    old = resegmentation.get("range") or {}
    resegmentation["range"] = {"min": math.floor(lowest / width) * width, "max": old.get("max")}
    return radiome.load_spec(data)


class Adapter:
    """Holds the case in memory and the spec of the current mode."""

    def __init__(self) -> None:
        self.volume: radiome.Volume | None = None
        self.mask: radiome.Mask | None = None
        self.spec: radiome.Spec | None = None
        self.table = None

    @staticmethod
    def versions() -> dict[str, str]:
        """Versions of the tool and of what it stands on."""
        import numba
        import scipy

        return {"radiome": radiome.__version__, "python": platform.python_version(),
                "numpy": np.__version__, "scipy": scipy.__version__, "numba": numba.__version__}

    def load(self, case: dict) -> None:
        """Read the image and the ROI (label ``case['label']``) into memory."""
        self.volume = radiome.load_volume(case["image"], modality=case["modality"])
        self.mask = radiome.load_mask(case["mask"], roi=case["label"], reference=self.volume)

    def prepare(self, mode: dict, match_pyradiomics_bins: bool) -> None:
        """Load the mode's spec (optionally with PyRadiomics' bin edges for this case)."""
        spec = radiome.load_spec(Path(mode["spec_path"]))
        if match_pyradiomics_bins:
            spec = pyradiomics_bins_spec(spec, self.volume, self.mask)
        self.spec = spec

    def run(self) -> int:
        """One extraction; returns the number of feature values."""
        self.table = radiome.extract(self.volume, self.mask, spec=self.spec)
        return len(self.table)

    def values(self) -> dict[str, float]:
        """Values of the last run keyed ``filter|feature|aggregation``."""
        return {f"{r.filter}|{r.feature}|{r.aggregation}": float(r.value)
                for r in self.table.itertuples(index=False)}
