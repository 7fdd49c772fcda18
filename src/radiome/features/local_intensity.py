"""Local intensity features (IBSI 1 family 9ST6), computed in 3D (DHQ4).

Symbols. The peak sphere is the 1 cm³ ball of radius r = (3 / (4π))^(1/3) cm ≈ 6.2035 mm; on
the voxel grid it is the set S of offsets whose centres lie within r of the centre voxel's
centre, ||(d_z s_z, d_y s_y, d_x s_x)|| <= r (spacing s in mm), the centre included. The
sphere mean at a voxel is the mean intensity of the voxels of S around it, inside or outside
the ROI alike; near the image border only the voxels that exist are averaged. Centre voxels
are the voxels of the intensity mask.
"""

from __future__ import annotations

import math

import numpy as np

from radiome._kernels import kernel
from radiome.errors import EmptyROIError, FeatureError
from radiome.features.registry import FamilyDef, FeatureDef, FeatureValues
from radiome.preprocess.roi import RoiData
from radiome.spec import Spec

__all__ = ["FAMILY", "FEATURES", "PEAK_RADIUS_MM", "local_intensity_features", "sphere_offsets"]

FEATURES = (
    FeatureDef("loc_peak_loc", "VJGA", "loc", "{u}"),
    FeatureDef("loc_peak_glob", "0F91", "loc", "{u}"),
)

#: Radius in mm of the 1 cm³ sphere of the intensity peaks: (3 / (4π))^(1/3) cm.
PEAK_RADIUS_MM = (3.0 / (4.0 * math.pi)) ** (1.0 / 3.0) * 10.0

#: Below this many summed voxels per image voxel, every sphere mean is summed exactly, which
#: is faster than the FFT convolutions (small ROIs in large crops).
_DIRECT_SUMS_PER_VOXEL = 4


def local_intensity_features(
    image: np.ndarray, mask: np.ndarray, spacing: tuple[float, float, float]
) -> dict[str, float]:
    """Local (VJGA) and global (0F91) intensity peak of an ROI.

    Parameters
    ----------
    image : (Z, Y, X) float ndarray
        Processed intensities, including the voxels around the ROI that the sphere reaches
        (radiome's pipeline keeps ceil(r / s) + 1 voxels of margin where the image has them).
    mask : (Z, Y, X) bool ndarray
        The intensity mask: the voxels that may be sphere centres; at least one voxel.
    spacing : (3,) float, mm, (z, y, x)
        Voxel size.

    Returns
    -------
    dict
        ``loc_peak_loc``: the highest sphere mean among the voxels of the mask that hold
        its maximum intensity (the manual's rule for ties); ``loc_peak_glob``: the highest
        sphere mean over all voxels of the mask.

    Raises
    ------
    FeatureError
        If the arrays are not 3-D arrays of one shape or the spacing is not 3 positive values.
    EmptyROIError
        If the mask holds no voxel.

    Notes
    -----
    The global peak follows the manual's recipe, the sphere mean of every voxel of the mask,
    with the sums taken from running sums along x (:func:`_row_sum_means`, equal up to
    rounding); the voxels whose mean lies within rounding of the maximum are then
    re-evaluated by exact summation, the same as the local peak, so both are exact and the
    global peak is never below the local one. Small ROIs skip the running sums: every sphere
    mean is summed.
    """
    image, mask, spacing = _checked(image, mask, spacing)
    offsets = sphere_offsets(spacing)
    values = image[mask]
    hottest = np.argwhere(mask & (image == values.max()))
    centres = np.argwhere(mask)
    if len(centres) * len(offsets) <= _DIRECT_SUMS_PER_VOXEL * image.size:
        return {
            "loc_peak_loc": float(_sphere_means(image, hottest, offsets).max()),
            "loc_peak_glob": float(_sphere_means(image, centres, offsets).max()),
        }
    approximate = _row_sum_means(image, centres, offsets)
    slack = 1e-9 * (1.0 + float(np.abs(image).max()))  # far above the rounding of the sums
    candidates = centres[approximate >= approximate.max() - slack]
    return {
        "loc_peak_loc": float(_sphere_means(image, hottest, offsets).max()),
        "loc_peak_glob": float(_sphere_means(image, candidates, offsets).max()),
    }


def _row_sum_means(image: np.ndarray, centres: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sphere means of every centre from running sums along x (up to rounding).

    The sphere is a stack of x-runs, one per (dz, dy); the sum of a run is the difference of
    two running sums of its image row, so a centre costs one subtraction per run instead of
    one addition per voxel.
    """
    runs = np.unique(offsets[:, :2], axis=0)
    half = np.array([offsets[(offsets[:, 0] == dz) & (offsets[:, 1] == dy), 2].max()
                     for dz, dy in runs])
    cumulative = np.zeros((*image.shape[:2], image.shape[2] + 1))
    np.cumsum(image, axis=2, out=cumulative[:, :, 1:])
    return _row_sum_means_kernel(cumulative, np.ascontiguousarray(centres),
                                 np.ascontiguousarray(np.column_stack([runs, half])))


@kernel("f8[::1](f8[:, :, ::1], i8[:, ::1], i8[:, ::1])")
def _row_sum_means_kernel(cumulative, centres, runs):
    """Mean over the runs (dz, dy, half width) around each centre of the existing voxels."""
    nz, ny, nx1 = cumulative.shape
    means = np.empty(centres.shape[0])
    for c in range(centres.shape[0]):
        total = 0.0
        count = 0
        for k in range(runs.shape[0]):
            z = centres[c, 0] + runs[k, 0]
            y = centres[c, 1] + runs[k, 1]
            if 0 <= z < nz and 0 <= y < ny:
                lo = max(centres[c, 2] - runs[k, 2], 0)
                hi = min(centres[c, 2] + runs[k, 2] + 1, nx1 - 1)
                total += cumulative[z, y, hi] - cumulative[z, y, lo]
                count += hi - lo
        means[c] = total / count
    return means


def sphere_offsets(spacing: tuple[float, float, float]) -> np.ndarray:
    """Offsets (k, 3), voxels, (z, y, x), of the voxels whose centres lie within r of the centre.

    r is :data:`PEAK_RADIUS_MM`; the centre (0, 0, 0) is included. C order.
    """
    reach = [math.floor(PEAK_RADIUS_MM / s) for s in spacing]
    grid = np.stack(
        np.meshgrid(*(np.arange(-k, k + 1) for k in reach), indexing="ij"), axis=-1
    ).reshape(-1, 3)
    inside = np.sum((grid * np.asarray(spacing)) ** 2, axis=1) <= PEAK_RADIUS_MM**2
    return grid[inside]


def _sphere_means(image: np.ndarray, centres: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Exact mean of the existing voxels of the sphere ``offsets`` around each centre (k, 3)."""
    return _sphere_means_kernel(np.ascontiguousarray(image), np.ascontiguousarray(centres),
                                np.ascontiguousarray(offsets))


@kernel("f8[::1](f8[:, :, ::1], i8[:, ::1], i8[:, ::1])")
def _sphere_means_kernel(image, centres, offsets):
    """Mean of the voxels at centre + offset that lie in the image, for each centre."""
    nz, ny, nx = image.shape
    means = np.empty(centres.shape[0])
    for c in range(centres.shape[0]):
        total = 0.0
        count = 0
        for k in range(offsets.shape[0]):
            z = centres[c, 0] + offsets[k, 0]
            y = centres[c, 1] + offsets[k, 1]
            x = centres[c, 2] + offsets[k, 2]
            if 0 <= z < nz and 0 <= y < ny and 0 <= x < nx:
                total += image[z, y, x]
                count += 1
        means[c] = total / count
    return means


def _checked(
    image: np.ndarray, mask: np.ndarray, spacing
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """Float64 image, bool mask and a float spacing triple, else the error naming the fault."""
    image, mask = np.asarray(image), np.asarray(mask)
    spacing = tuple(float(s) for s in np.ravel(spacing))
    problems = []
    if image.ndim != 3 or image.shape != mask.shape:
        problems.append(
            f"image and mask must be 3-D arrays of one shape, got {image.shape} and {mask.shape}"
        )
    if len(spacing) != 3 or not all(s > 0 and math.isfinite(s) for s in spacing):
        problems.append(f"spacing must be 3 positive lengths in mm, got {spacing}")
    if problems:
        msg = "local intensity: " + "; ".join(problems)
        raise FeatureError(msg)
    mask = mask.astype(bool)
    if not mask.any():
        msg = "local intensity: the intensity mask holds no voxel"
        raise EmptyROIError(msg)
    return image.astype(np.float64), mask, spacing  # type: ignore[return-value]


def _compute(roi: RoiData, spec: Spec) -> FeatureValues:
    values = local_intensity_features(roi.image, roi.int_mask, roi.spacing)
    return {(name, ""): value for name, value in values.items()}


FAMILY = FamilyDef(
    name="loc",
    ibsi="9ST6",
    title="local intensity",
    features=FEATURES,
    compute=_compute,
    surroundings=True,
)
