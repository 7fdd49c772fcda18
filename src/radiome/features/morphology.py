"""Morphological features (IBSI 1 family HCUG), computed in 3D (DHQ4) on the morphological mask.

The surface is a triangle mesh from marching cubes (Lewiner et al., scikit-image) on the
morphological mask padded with one layer of background voxels, at iso-level 0.5, with the
voxel spacing in mm; faces are consistently oriented, so the signed tetrahedron volumes
a·(b×c)/6 sum to the enclosed volume.
"""

from __future__ import annotations

import numpy as np
from skimage.measure import marching_cubes

from radiome.features.registry import FamilyDef, FeatureDef, FeatureValues
from radiome.features.roi import RoiData
from radiome.spec import Spec

__all__ = ["FAMILY", "FEATURES", "Mesh", "mesh_of", "morphology_features"]

FEATURES = (
    FeatureDef("morph_volume", "RNU0", "morph", "mm^3"),
    FeatureDef("morph_vol_approx", "YEKZ", "morph", "mm^3"),
)


class Mesh:
    """A closed triangle mesh: vertices (n, 3) in mm, (z, y, x) order, and faces (m, 3)."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray) -> None:
        self.vertices = vertices
        self.faces = faces

    @property
    def volume(self) -> float:
        """Enclosed volume in mm³: |sum_k a_k · (b_k × c_k)| / 6 over faces (RNU0)."""
        a, b, c = (self.vertices[self.faces[:, i]] for i in range(3))
        return float(abs(np.einsum("ij,ij->i", a, np.cross(b, c)).sum()) / 6.0)


def mesh_of(mask: np.ndarray, spacing: tuple[float, float, float]) -> Mesh:
    """Marching-cubes mesh (iso-level 0.5) of a binary mask on a grid with ``spacing`` mm."""
    padded = np.pad(mask.astype(np.float32), 1)
    vertices, faces, _, _ = marching_cubes(
        padded, level=0.5, spacing=tuple(float(s) for s in spacing), allow_degenerate=True
    )
    return Mesh(vertices.astype(np.float64), faces.astype(np.int64))


def morphology_features(
    morph_mask: np.ndarray, spacing: tuple[float, float, float]
) -> dict[str, float]:
    """Morphological features of a morphological mask.

    Parameters
    ----------
    morph_mask : (Z, Y, X) bool ndarray
        The morphological mask.
    spacing : (3,) float, mm, (z, y, x)
        Voxel size.

    Returns
    -------
    dict
        ``morph_volume`` (RNU0, mesh volume) and ``morph_vol_approx`` (YEKZ, N_v · voxel
        volume).
    """
    mesh = mesh_of(morph_mask, spacing)
    return {
        "morph_volume": mesh.volume,
        "morph_vol_approx": float(np.count_nonzero(morph_mask) * np.prod(spacing)),
    }


def _compute(roi: RoiData, spec: Spec) -> FeatureValues:
    values = morphology_features(roi.morph_mask, roi.spacing)
    return {(name, ""): value for name, value in values.items()}


FAMILY = FamilyDef(
    name="morph",
    ibsi="HCUG",
    title="morphology",
    features=FEATURES,
    compute=_compute,
    uses_filters=False,
)
