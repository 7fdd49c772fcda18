"""Habitat imaging: sub-regions of a tumour from voxel-wise feature maps, with their features.

The two-stage pipeline of Wu et al. (2016) and Prior et al. (2024):

- :class:`HabitatModel`: per case, voxel-wise feature maps (:func:`case_maps`) clustered into
  supervoxels; over the training population, the supervoxels clustered into K habitats
  (k-means or a Gaussian mixture, K given or chosen by silhouette, Calinski–Harabasz or BIC).
  :func:`save_habitat_model` / :func:`load_habitat_model` keep it, to apply it unchanged.
- :func:`case_habitats`: one case's habitat label map (:class:`CaseHabitats`: fractions,
  connected regions); :func:`regularise` (minimum region size, majority smoothing).
- :func:`habitat_features`: each habitat as an ROI ``<roi>#h<k>`` through
  :func:`radiome.extract`, with the :data:`HABITAT_FEATURES` descriptors.
- :func:`habitat_stability`, :func:`matched_dice`: Dice after Hungarian matching between a
  case's habitats and those of its perturbed versions.
- :func:`plot_habitats`: the habitat figure (central slices, fractions bar).
- :func:`run_habitats`: a cohort through all of it into files and the feature store
  (``radiome habitats``); :func:`habitats_as_columns`: habitats as columns of a wide table.

References
----------
Wu J, Gensheimer MF, Dong X, et al. Robust intratumor partitioning to identify high-risk
subregions in lung cancer: a pilot study. Int J Radiat Oncol Biol Phys 2016;95:1504-12.
Prior O, Macarro C, Navarro V, et al. Identification of precise 3D CT radiomics for habitat
computation by machine learning in cancer. Radiol Artif Intell 2024;6:e230118.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from radiome._lazy import lazy_exports

_EXPORTS = {
    "HABITAT_FEATURES": "radiome.habitats.case",
    "CaseHabitats": "radiome.habitats.case",
    "case_habitats": "radiome.habitats.case",
    "habitat_features": "radiome.habitats.case",
    "habitat_roi": "radiome.habitats.case",
    "habitat_stability": "radiome.habitats.case",
    "HabitatSummary": "radiome.habitats.cohort",
    "habitats_as_columns": "radiome.habitats.wide",
    "run_habitats": "radiome.habitats.cohort",
    "HabitatModel": "radiome.habitats.model",
    "load_habitat_model": "radiome.habitats.model",
    "save_habitat_model": "radiome.habitats.model",
    "plot_habitats": "radiome.habitats.plots",
    "count_regions": "radiome.habitats.regions",
    "habitat_fractions": "radiome.habitats.regions",
    "matched_dice": "radiome.habitats.regions",
    "regularise": "radiome.habitats.regions",
    "DEFAULT_MAP_FEATURES": "radiome.habitats.voxels",
    "CaseMaps": "radiome.habitats.voxels",
    "HabitatError": "radiome.habitats.voxels",
    "case_maps": "radiome.habitats.voxels",
    "to_image_grid": "radiome.habitats.voxels",
}
__all__ = [
    "DEFAULT_MAP_FEATURES",
    "HABITAT_FEATURES",
    "CaseHabitats",
    "CaseMaps",
    "HabitatError",
    "HabitatModel",
    "HabitatSummary",
    "case_habitats",
    "case_maps",
    "count_regions",
    "habitat_features",
    "habitat_fractions",
    "habitat_roi",
    "habitat_stability",
    "habitats_as_columns",
    "load_habitat_model",
    "matched_dice",
    "plot_habitats",
    "regularise",
    "run_habitats",
    "save_habitat_model",
    "to_image_grid",
]
__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from radiome.habitats.case import (
        HABITAT_FEATURES,
        CaseHabitats,
        case_habitats,
        habitat_features,
        habitat_roi,
        habitat_stability,
    )
    from radiome.habitats.cohort import HabitatSummary, run_habitats
    from radiome.habitats.model import HabitatModel, load_habitat_model, save_habitat_model
    from radiome.habitats.plots import plot_habitats
    from radiome.habitats.regions import (
        count_regions,
        habitat_fractions,
        matched_dice,
        regularise,
    )
    from radiome.habitats.voxels import (
        DEFAULT_MAP_FEATURES,
        CaseMaps,
        HabitatError,
        case_maps,
        to_image_grid,
    )
    from radiome.habitats.wide import habitats_as_columns
