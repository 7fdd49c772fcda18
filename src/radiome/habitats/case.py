"""One case's habitats: label map, fractions, regions, per-habitat IBSI features, stability.

Each habitat k of an ROI ``roi`` is an ROI of its own, named ``roi#hk``: its IBSI features are
those :func:`radiome.extract` computes on it, and three habitat descriptors go with them as
rows of family ``hab`` (no IBSI code: IBSI defines no habitat features):

- ``hab_fraction``: the habitat's share of the ROI volume;
- ``hab_n_regions``: its number of connected (26-connected) regions;
- ``hab_dice``: its stability, the mean Dice after Hungarian matching between the case's
  habitats and those of perturbed versions of the case (when computed).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from radiome.errors import EmptyROIError, FeatureWarning
from radiome.features.registry import FeatureDef
from radiome.habitats.model import HabitatModel
from radiome.habitats.regions import count_regions, habitat_fractions, matched_dice
from radiome.spec import Spec, load_spec
from radiome.table import COLUMNS
from radiome.volume import Grid, Mask, Volume

__all__ = ["HABITAT_FEATURES", "CaseHabitats", "case_habitats", "habitat_features",
           "habitat_roi", "habitat_stability"]

#: The habitat descriptors stored with each habitat's features (family ``hab``).
HABITAT_FEATURES = (
    FeatureDef("hab_fraction", "", "hab"),
    FeatureDef("hab_n_regions", "", "hab"),
    FeatureDef("hab_dice", "", "hab"),
)


def habitat_roi(roi: str, habitat: int) -> str:
    """The ROI name of habitat ``habitat`` of ROI ``roi``: ``roi#h<habitat>``."""
    return f"{roi}#h{habitat}"


@dataclass(frozen=True, eq=False)
class CaseHabitats:
    """The habitat label map of one case on its image grid.

    Attributes
    ----------
    labels : (Z, Y, X) int16 ndarray
        0 outside the ROI, habitats 1..K inside.
    grid : Grid
        The image grid.
    n_habitats : int
        K (of the model: a habitat may be absent from a case).
    source : str
        Where the case came from (the mask's source), for messages.
    """

    labels: np.ndarray
    grid: Grid
    n_habitats: int
    source: str = "<array>"

    @property
    def fractions(self) -> np.ndarray:
        """(K,) share of the ROI volume in each habitat (see :func:`habitat_fractions`)."""
        return habitat_fractions(self.labels, self.n_habitats)

    @property
    def n_regions(self) -> np.ndarray:
        """(K,) number of connected regions of each habitat."""
        return count_regions(self.labels, self.n_habitats)

    def mask(self, habitat: int, roi: str) -> Mask:
        """Habitat ``habitat`` as a Mask named ``habitat_roi(roi, habitat)``."""
        return Mask(array=self.labels == habitat, grid=self.grid, roi=habitat_roi(roi, habitat),
                    source=f"{self.source} habitat {habitat}")

    def write(self, path: str | Path) -> Path:
        """Write the label map (unsigned 8-bit integers; NIfTI, NRRD or MHA by extension)."""
        import SimpleITK as sitk

        from radiome.io.volumes import to_sitk

        path = Path(path)
        sitk.WriteImage(to_sitk(self.labels.astype(np.uint8), self.grid), str(path),
                        useCompression=True)
        return path


def case_habitats(model: HabitatModel, volume: Volume, mask: Mask) -> CaseHabitats:
    """The habitats of one case under a fitted model (its maps, then the model's predict).

    Parameters
    ----------
    model : HabitatModel
        Fitted; applied unchanged.
    volume, mask : Volume, Mask
        The image and its ROI (same grid).

    Returns
    -------
    CaseHabitats
    """
    labels = model.predict([model.case_maps(volume, mask)])[0]
    return CaseHabitats(labels=labels, grid=mask.grid, n_habitats=int(model.n_habitats_),
                        source=mask.source)


def habitat_features(
    volume: Volume,
    habitats: CaseHabitats,
    *,
    spec: Spec | dict | str | Path | None = None,
    case_id: str,
    roi: str,
    dice: np.ndarray | None = None,
) -> pd.DataFrame:
    """The long feature table of every habitat of a case: IBSI features and ``hab`` rows.

    Parameters
    ----------
    volume : Volume
        The image.
    habitats : CaseHabitats
        Its habitat label map.
    spec : Spec, dict or path, optional
        The features computed on each habitat (default: the modality's default spec).
    case_id : str
        Written in the ``case_id`` column.
    roi : str
        The ROI the habitats divide; habitat k's rows have ROI ``roi#hk``.
    dice : (K,) float ndarray, optional
        Stability of each habitat (from :func:`habitat_stability`), stored as ``hab_dice``.

    Returns
    -------
    DataFrame
        The columns of :data:`radiome.table.COLUMNS`. A habitat absent from the case, or with
        no voxel left after processing (warned), has only its ``hab`` rows.
    """
    from radiome.extraction import extract

    spec = load_spec(spec, modality=volume.modality)
    fractions, regions = habitats.fractions, habitats.n_regions
    tables = []
    for k in range(1, habitats.n_habitats + 1):
        name = habitat_roi(roi, k)
        if fractions[k - 1] > 0:
            try:
                tables.append(extract(volume, habitats.mask(k, roi), spec=spec, case_id=case_id))
            except EmptyROIError as exc:
                warnings.warn(f"{exc}; habitat {k} has only its hab_ rows", FeatureWarning,
                              stacklevel=2)
        values = {"hab_fraction": fractions[k - 1], "hab_n_regions": regions[k - 1]}
        if dice is not None:
            values["hab_dice"] = dice[k - 1]
        tables.append(pd.DataFrame(
            [(case_id, name, "", "hab", feature, "", "", float(value), "", spec.hash)
             for feature, value in values.items()], columns=list(COLUMNS)))
    return pd.concat(tables, ignore_index=True)


def habitat_stability(model: HabitatModel, volume: Volume, mask: Mask, *, n: int = 5,
                      seed: int = 0, reference: CaseHabitats | None = None) -> pd.DataFrame:
    """Dice of each habitat of a case with its match in each of ``n`` perturbed versions.

    The fitted model is applied unchanged to versions of the case perturbed as the
    reliability layer does (:func:`radiome.reliability.perturb`: noise at the image's own
    level, volume adaptation and contour randomisation), and each version's habitats are
    paired with the case's by the Hungarian method (:func:`matched_dice`).

    Parameters
    ----------
    model : HabitatModel
        Fitted.
    volume, mask : Volume, Mask
        The case.
    n : int, default 5
        Perturbed versions.
    seed : int, default 0
        Seed of the perturbations.
    reference : CaseHabitats, optional
        The case's habitats under ``model``, when already computed.

    Returns
    -------
    DataFrame
        Columns ``perturbation`` (``p000``...), ``habitat`` (1..K) and ``dice`` (NaN for a
        habitat absent from both the case and the version).

    Notes
    -----
    Dice compares two label maps voxel by voxel over the voxels inside both ROIs, so the
    versions keep the image's geometry: rotation and translation, which move the content
    to other voxels, are switched off.
    """
    from radiome.reliability import perturb

    reference = reference or case_habitats(model, volume, mask)
    rows = []
    for version, version_mask, description in perturb(volume, mask, n=n, seed=seed,
                                                      rotation_deg=0.0, translation=0.0):
        other = case_habitats(model, version, version_mask)
        dice = matched_dice(reference.labels, other.labels, reference.n_habitats)
        rows += [(description["perturbation"], k, float(d)) for k, d in enumerate(dice, 1)]
    return pd.DataFrame(rows, columns=["perturbation", "habitat", "dice"])
