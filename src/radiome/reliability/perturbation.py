"""Image and mask perturbations for feature robustness, after Zwanenburg et al. (Sci Rep 2019).

Each perturbed version of a case combines, in this order:

1. **rotation** in the axial (y, x) plane, in mm (anisotropic pixels handled), about the ROI's
   centroid, and a **sub-voxel translation** of the content along z, y and x: one affine
   resampling of the image (trilinear, edges replicated) and of the mask (trilinear on the 0/1
   mask, kept where >= 0.5, the IBSI partial-volume rule);
2. **noise addition**: independent Gaussian noise whose standard deviation is the image's own
   noise level (:func:`estimate_noise`, Chang et al.'s wavelet estimator as in the paper);
3. **volume adaptation**: the ROI grows or shrinks by a fraction ``τ`` of its volume: the
   ``round(|τ| N)`` voxels nearest to it outside (or to the background inside) by the
   Euclidean distance map in mm are added (removed), ties at the last distance broken at random;
4. **contour randomisation**: the image around the ROI is over-segmented into supervoxels
   (scikit-image SLIC) and each supervoxel joins the new ROI with a probability equal to the
   fraction of it inside the ROI, so the expected ROI volume is unchanged.

Parameters of each version (angle, translation, ``τ``) are drawn uniformly from the ranges
given, from a ``numpy.random.SeedSequence(seed)`` spawned once per version, so version ``i`` is
the same whatever ``n`` is and whichever other perturbations are switched on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from scipy import ndimage

from radiome.errors import EmptyROIError, ReliabilityError
from radiome.volume import Mask, Volume

__all__ = ["estimate_noise", "perturb", "perturbed_versions"]

_ROI_SUPERVOXELS = 50  # mean supervoxel volume: 1/50th of the ROI volume
_SLIC_COMPACTNESS = 0.05  # on intensities scaled to [0, 1] in the box around the ROI
_SLIC_SIGMA_MM = 1.0  # Gaussian pre-smoothing of SLIC, in mm
_SLIC_MARGIN = 0.25  # box around the ROI: its extent grown by this fraction on each side


def estimate_noise(volume: Volume) -> float:
    """Noise standard deviation of an image, in its intensity unit.

    Chang et al.'s robust median estimator ``median(|HH|) / 0.6745`` on the finest diagonal
    wavelet sub-band (Daubechies 2) of each axial slice (``skimage.restoration.estimate_sigma``,
    which ignores exactly-zero coefficients, e.g. of constant air or padding), and the median
    over the slices.

    References
    ----------
    Chang SG, Yu B, Vetterli M. Adaptive wavelet thresholding for image denoising and
    compression. IEEE Trans Image Process 2000;9:1532-46. Donoho DL, Johnstone IM. Ideal
    spatial adaptation by wavelet shrinkage. Biometrika 1994;81:425-55.
    """
    from skimage.restoration import estimate_sigma

    per_slice = estimate_sigma(volume.array, channel_axis=0, average_sigmas=False)
    return float(np.median(per_slice))


def perturb(
    volume: Volume,
    mask: Mask,
    *,
    n: int,
    seed: int,
    noise: bool = True,
    rotation_deg: float = 15.0,
    translation: float = 0.5,
    volume_change: float = 0.2,
    contour_randomisation: bool = True,
) -> Iterator[tuple[Volume, Mask, dict[str, Any]]]:
    """Seeded perturbed versions of an image and its ROI (Zwanenburg et al. 2019).

    Parameters
    ----------
    volume : Volume
        The image.
    mask : Mask
        The ROI, on the image's grid.
    n : int
        Number of perturbed versions (>= 1).
    seed : int
        Seed; the same seed gives bit-identical versions.
    noise : bool, default True
        Add Gaussian noise at the image's estimated noise level (:func:`estimate_noise`).
    rotation_deg : float, default 15.0
        Rotation angles are drawn from U(-rotation_deg, rotation_deg) degrees, in the axial
        plane about the ROI centroid (positive angles turn +y towards +x, in mm); 0 switches
        rotation off.
    translation : float, default 0.5
        Shifts of the content are drawn from U(-translation, translation) voxels along each of
        z, y, x; sub-voxel: at most 1. 0 switches translation off.
    volume_change : float, default 0.2
        Volume fractions ``τ`` are drawn from U(-volume_change, volume_change); the ROI is
        grown (τ > 0) or shrunk (τ < 0) to (1 + τ) times its volume, to the voxel. Below 1;
        0 switches volume adaptation off.
    contour_randomisation : bool, default True
        Randomise the ROI boundary with supervoxels.

    Yields
    ------
    volume : Volume
        The perturbed image, on the input grid.
    mask : Mask
        The perturbed ROI, on the input grid.
    description : dict
        ``perturbation`` (id ``p000``, ``p001``, ...), ``index``, ``seed``, ``rotation_deg``,
        ``translation_voxels`` (z, y, x), ``volume_change``, ``noise_sd`` (0 without noise),
        ``contour_randomisation``, ``n_voxels`` (of the perturbed ROI).

    Raises
    ------
    ReliabilityError
        A setting is out of range.
    GeometryError, EmptyROIError
        The mask is on another grid than the image, or is empty (before or after perturbing).

    Notes
    -----
    Zwanenburg et al. use small fixed grids of settings (a few rotation angles, sub-voxel
    translation fractions, volume fractions up to ± 20 %) and chain them; here every version
    draws its settings at random within the same ranges and combines all switched-on
    perturbations, as in their recommended combined chains (e.g. RNCV, TNCV). Noise is added
    after the resampling, so its level is the image's (resampling first would smooth it). The
    supervoxel settings are this implementation's choice (not taken from the paper): SLIC
    on a box 25 % larger than the ROI on each side, intensities scaled to [0, 1] between the
    box's 1st and 99th percentiles, 1 mm Gaussian pre-smoothing, compactness 0.05, and as
    many supervoxels as make their mean volume 1/50 of the ROI's (on a CT soft-tissue sarcoma
    this gives randomised ROIs with a Dice of about 0.8 to the original, the order of
    inter-observer agreement).

    References
    ----------
    Zwanenburg A, Leger S, Agolli L, et al. Assessing robustness of radiomic features by image
    perturbation. Sci Rep 2019;9:614.
    """
    _check_settings(n, seed, rotation_deg, translation, volume_change)
    mask.check_matches(volume)
    mask.check_not_empty()
    noise_sd = estimate_noise(volume) if noise else 0.0
    return _versions(
        volume,
        mask,
        n,
        seed,
        noise_sd,
        rotation_deg,
        translation,
        volume_change,
        contour_randomisation,
    )


def perturbed_versions(volume: Volume, mask: Mask, *, n: int = 10,
                       seed: int = 0) -> Iterator[tuple[Volume, Mask, str]]:
    """``(volume, mask, label)`` of each of :func:`perturb`'s versions, labelled ``p000``...

    The form :func:`radiome.cohort.run_case` takes as ``versions`` for a perturbation study.
    """
    for version, version_mask, description in perturb(volume, mask, n=n, seed=seed):
        yield version, version_mask, description["perturbation"]


def _check_settings(
    n: int, seed: int, rotation_deg: float, translation: float, volume_change: float
) -> None:
    """Raise ReliabilityError naming every perturbation setting out of range."""
    problems = []
    if int(n) != n or n < 1:
        problems.append(f"n must be an integer >= 1, got {n!r}")
    if not isinstance(seed, int | np.integer) or seed < 0:
        problems.append(f"seed must be an integer >= 0, got {seed!r}")
    if not 0 <= rotation_deg <= 180:
        problems.append(f"rotation_deg must be in [0, 180] degrees, got {rotation_deg!r}")
    if not 0 <= translation <= 1:
        problems.append(f"translation must be in [0, 1] voxel (sub-voxel), got {translation!r}")
    if not 0 <= volume_change < 1:
        problems.append(f"volume_change must be in [0, 1), got {volume_change!r}")
    if problems:
        msg = "perturb: " + "; ".join(problems)
        raise ReliabilityError(msg)


def _versions(
    volume: Volume,
    mask: Mask,
    n: int,
    seed: int,
    noise_sd: float,
    rotation_deg: float,
    translation: float,
    volume_change: float,
    contour_randomisation: bool,
) -> Iterator[tuple[Volume, Mask, dict[str, Any]]]:
    """Generate the versions (settings already checked)."""
    spacing = volume.spacing
    centre = np.argwhere(mask.array).mean(axis=0)
    for index, child in enumerate(np.random.SeedSequence(seed).spawn(int(n))):
        params_rng, noise_rng, volume_rng, contour_rng = (
            np.random.default_rng(s) for s in child.spawn(4)
        )
        angle = float(params_rng.uniform(-rotation_deg, rotation_deg))
        shift = params_rng.uniform(-translation, translation, size=3)
        tau = float(params_rng.uniform(-volume_change, volume_change))
        image, roi = _move(volume.array, mask.array, spacing, centre, angle, shift)
        if noise_sd > 0:
            image = image + noise_rng.normal(0.0, noise_sd, size=image.shape)
        if not roi.any():
            msg = f"{mask.source}: ROI {mask.roi!r} vanished after rotation/translation"
            raise EmptyROIError(msg)
        if tau != 0:
            roi = _adapt_volume(roi, spacing, tau, volume_rng)
        if contour_randomisation:
            roi = _randomise_contour(image, roi, spacing, contour_rng)
        description = {
            "perturbation": f"p{index:03d}",
            "index": index,
            "seed": seed,
            "rotation_deg": angle,
            "translation_voxels": tuple(float(t) for t in shift),
            "volume_change": tau,
            "noise_sd": noise_sd,
            "contour_randomisation": contour_randomisation,
            "n_voxels": int(np.count_nonzero(roi)),
        }
        yield (
            volume.with_array(image),
            Mask(array=roi, grid=mask.grid, roi=mask.roi, source=mask.source),
            description,
        )


def _move(
    image: np.ndarray,
    roi: np.ndarray,
    spacing: tuple[float, float, float],
    centre: np.ndarray,
    angle_deg: float,
    shift: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate (axial plane, about ``centre``) and shift (voxels) image and ROI by resampling."""
    if angle_deg == 0 and not shift.any():
        return image.copy(), roi.copy()
    theta = np.deg2rad(angle_deg)
    c, s = np.cos(theta), np.sin(theta)
    rotation = np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])  # on (z, y, x) in mm
    scale = np.diag(spacing)
    # Content at input index p goes to o = centre + S^-1 R S (p - centre) + shift; resampling
    # needs the inverse map p = M (o - centre - shift) + centre with M = S^-1 R^T S.
    matrix = np.linalg.inv(scale) @ rotation.T @ scale
    offset = centre - matrix @ (centre + shift)
    moved = ndimage.affine_transform(image, matrix, offset=offset, order=1, mode="nearest")
    fraction = ndimage.affine_transform(
        roi.astype(np.float64), matrix, offset=offset, order=1, mode="constant", cval=0.0
    )
    return moved, fraction >= 0.5


def _box(roi: np.ndarray, margin: np.ndarray) -> tuple[slice, ...]:
    """Bounding box of the ROI grown by ``margin`` voxels per axis, clipped to the array."""
    lower, upper = [], []
    for axis in range(3):
        idx = np.flatnonzero(roi.any(axis=tuple(a for a in range(3) if a != axis)))
        lower.append(idx[0])
        upper.append(idx[-1] + 1)
    return tuple(
        slice(max(0, int(lo - m)), min(size, int(up + m)))
        for lo, up, m, size in zip(lower, upper, margin, roi.shape, strict=True)
    )


def _adapt_volume(
    roi: np.ndarray, spacing: tuple[float, float, float], tau: float, rng: np.random.Generator
) -> np.ndarray:
    """Grow (tau > 0) or shrink the ROI by round(|tau| N) voxels nearest its boundary (in mm)."""
    extent = np.array([s.stop - s.start for s in _box(roi, np.zeros(3))])
    box = _box(roi, extent + 1)  # the grown ROI stays well inside: (1 + tau) < 2 volumes
    sub = roi[box]
    n = int(np.count_nonzero(sub))
    change = min(round(abs(tau) * n), n - 1)  # never remove every voxel
    region = ~sub if tau > 0 else sub
    # distance to the ROI (growing) or to the background (shrinking), from voxel centres in mm
    distance = ndimage.distance_transform_edt(region, sampling=spacing)[region]
    nearest = np.lexsort((rng.random(distance.size), distance))[:change]  # ties: at random
    flat = np.flatnonzero(region)[nearest]
    out = sub.copy()
    out.flat[flat] = tau > 0
    adapted = np.zeros_like(roi)
    adapted[box] = out
    return adapted


def _randomise_contour(
    image: np.ndarray,
    roi: np.ndarray,
    spacing: tuple[float, float, float],
    rng: np.random.Generator,
) -> np.ndarray:
    """New ROI from supervoxels, each kept with probability its fraction inside the ROI."""
    extent = np.array([s.stop - s.start for s in _box(roi, np.zeros(3))])
    box = _box(roi, np.maximum(np.ceil(extent * _SLIC_MARGIN), 2))
    labels = _supervoxels(image[box], roi[box], spacing)
    randomised = np.zeros_like(roi)
    randomised[box] = _draw_supervoxels(labels, roi[box], rng)
    return randomised


def _supervoxels(
    image: np.ndarray, roi: np.ndarray, spacing: tuple[float, float, float]
) -> np.ndarray:
    """SLIC supervoxel labels (1..) of an image box, about _ROI_SUPERVOXELS of them per ROI."""
    from skimage.segmentation import slic

    low, high = np.percentile(image, [1, 99])
    scaled = np.clip((image - low) / (high - low), 0, 1) if high > low else np.zeros(image.shape)
    n_segments = max(round(_ROI_SUPERVOXELS * image.size / np.count_nonzero(roi)), 2)
    return slic(
        scaled,
        n_segments=n_segments,
        compactness=_SLIC_COMPACTNESS,
        spacing=np.asarray(spacing, dtype=float),
        sigma=_SLIC_SIGMA_MM,
        channel_axis=None,
        start_label=1,
    )


def _draw_supervoxels(labels: np.ndarray, roi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Supervoxels drawn with probability their fraction in the ROI (never empty: else the best)."""
    n_labels = int(labels.max()) + 1
    inside = np.bincount(labels[roi], minlength=n_labels)
    total = np.bincount(labels.ravel(), minlength=n_labels)
    fraction = np.divide(inside, total, out=np.zeros(n_labels), where=total > 0)
    chosen = rng.random(n_labels) < fraction
    if not chosen.any():
        chosen[np.argmax(fraction)] = True
    return chosen[labels]
