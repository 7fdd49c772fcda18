"""MIRP 2.7 in a benchmark worker: ``extract_features`` on NumPy arrays held in memory.

The image and mask are read once with ITK (as MIRP's own NRRD reader does) and handed to
MIRP as in-memory ``ImageNumpyFile``/``MaskNumpyFile`` objects that carry spacing, origin and
orientation (a bare ndarray would get a 1 mm grid). Settings, as radiome's full IBSI specs:
3D (``by_slice`` off), no interpolation, every IBSI family (``ibsi_compliant``), fixed bin size
25 starting at the ROI's lowest intensity (MIRP needs a re-segmentation minimum for MR, and
uses -1000 HU for CT without one: we give it the ROI minimum, which is IBSI's lower bound when
there is no re-segmentation range and is what radiome uses), IVH on the intensities as they
are, GLCM and GLRLM 3D averaged and merged, GLSZM/GLDZM/NGTDM/NGLDM 3D, distance 1.

MIRP's defaults are kept where radiome has no setting: Moran's I and Geary's C are estimated
from random samples of 100 voxels for ROIs of 1000 voxels or more (radiome computes them
exactly), and local intensity peaks are searched for in every response map.
"""

from __future__ import annotations

import math
import platform

import itk
import numpy as np
from bench_config import BIN_WIDTH, LOG_SIGMAS_MM, WAVELET, WAVELET_BANDS
from mirp import extract_features
from mirp._data_import.numpy_file import ImageNumpyFile, MaskNumpyFile

__all__ = ["Adapter", "settings"]

_METADATA_PREFIXES = ("sample_name", "image_")


def settings(lowest: float, filtered: bool) -> dict:
    """``extract_features`` keyword arguments of a full IBSI mode for an ROI minimum ``lowest``."""
    kwargs = {
        "by_slice": False,
        "new_spacing": None,
        "base_feature_families": "all",
        "base_discretisation_method": "fixed_bin_size",
        "base_discretisation_bin_width": BIN_WIDTH,
        "resegmentation_intensity_range": [lowest, np.nan],
        "ivh_discretisation_method": "none",
        "glcm_distance": 1.0,
        "glcm_spatial_method": ["3d_average", "3d_volume_merge"],
        "glrlm_spatial_method": ["3d_average", "3d_volume_merge"],
        "glszm_spatial_method": "3d",
        "gldzm_spatial_method": "3d",
        "ngtdm_spatial_method": "3d",
        "ngldm_distance": 1.0,
        "ngldm_difference_level": 0.0,
        "ngldm_spatial_method": "3d",
    }
    if filtered:
        kwargs.update({
            "filter_kernels": ["laplacian_of_gaussian", "separable_wavelet"],
            "laplacian_of_gaussian_sigma": list(LOG_SIGMAS_MM),
            "laplacian_of_gaussian_kernel_truncate": 4.0,
            "separable_wavelet_families": WAVELET,
            # MIRP names sub-bands in (z, y, x) order; all eight are used, so order is moot.
            "separable_wavelet_set": [b.lower()[::-1] for b in WAVELET_BANDS],
            "separable_wavelet_stationary": True,
            "separable_wavelet_decomposition_level": 1,
            "separable_wavelet_rotation_invariance": False,
            # radiome's filtered_families: all but morphology and the IVH (as IBSI 2).
            "response_map_feature_families": ["li", "st", "ih", "cm", "rlm", "szm", "dzm",
                                              "tdm", "ldm"],
            "response_map_discretisation_method": "fixed_bin_size",
            "response_map_discretisation_bin_width": BIN_WIDTH,
        })
    return kwargs


class Adapter:
    """Holds the case as arrays with their geometry and the mode's settings."""

    def __init__(self) -> None:
        self.array: np.ndarray | None = None
        self.mask: np.ndarray | None = None
        self.geometry: dict = {}
        self.modality = "generic"
        self.kwargs: dict = {}
        self.table = None

    @staticmethod
    def versions() -> dict[str, str]:
        """Versions of the tool and of what it stands on."""
        from importlib.metadata import version

        import scipy

        return {"mirp": version("mirp"),
                "python": platform.python_version(), "numpy": np.__version__,
                "scipy": scipy.__version__, "itk": itk.Version.GetITKVersion()}

    def load(self, case: dict) -> None:
        """Read image and label map with ITK into (z, y, x) arrays and (z, y, x) geometry."""
        image = itk.imread(str(case["image"]))
        label = itk.imread(str(case["mask"]))
        self.array = itk.array_from_image(image).astype(np.float32)
        self.mask = (itk.array_from_image(label) == int(case["label"])).astype(np.int8)
        direction = np.asarray(itk.array_from_matrix(image.GetDirection()), dtype=float)
        self.geometry = {
            "image_spacing": tuple(float(s) for s in reversed(list(image.GetSpacing()))),
            "image_origin": tuple(float(o) for o in reversed(list(image.GetOrigin()))),
            "image_orientation": np.reshape(np.ravel(direction)[::-1], (3, 3)),
            "image_dimensions": tuple(self.array.shape),
        }
        self.modality = {"CT": "ct", "MR": "mr", "PT": "pet"}[case["modality"]]

    def prepare(self, mode: dict, match_pyradiomics_bins: bool) -> None:
        """Settings of the mode; the original mode runs the full set (for the agreement).

        With ``match_pyradiomics_bins`` the bins start at ``floor(min / 25) * 25`` as
        PyRadiomics' do, instead of at the ROI minimum.
        """
        lowest = float(self.array[self.mask > 0].min())
        if match_pyradiomics_bins:
            lowest = math.floor(lowest / BIN_WIDTH) * BIN_WIDTH
        self.kwargs = settings(lowest, mode["filtered"])

    def run(self) -> int:
        """One ``extract_features`` call; returns the number of feature values."""
        image = ImageNumpyFile(image_data=self.array, image_modality=self.modality,
                               sample_name="case", **self.geometry)
        mask = MaskNumpyFile(image_data=self.mask, roi_name="1", sample_name="case",
                             **self.geometry)
        tables = extract_features(image=image, mask=mask, export_features=True,
                                  write_features=False, **self.kwargs)
        if not tables:
            msg = "MIRP returned no feature table"
            raise RuntimeError(msg)
        self.table = tables[0]
        return len(self._feature_columns())

    def _feature_columns(self) -> list[str]:
        """Columns of the MIRP table that hold features (not sample/image metadata)."""
        return [c for c in self.table.columns if not c.startswith(_METADATA_PREFIXES)]

    def values(self) -> dict[str, float]:
        """Values of the last run keyed by MIRP's column names."""
        row = self.table.iloc[0]
        return {c: float(row[c]) for c in self._feature_columns()}
