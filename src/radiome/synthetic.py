"""Seeded synthetic CT-like data: the project's own sample data (demo, tests, benchmarks).

A case is a chest-like slab in HU: air around a soft-tissue body (≈ 40 HU), two lungs
(≈ -850 HU), and a lesion in one lung whose size, shape (sphere, ellipsoid, lobulated) and
interior texture (Gaussian-filtered noise of a chosen correlation length and contrast, with an
optional necrotic core) vary with the seed. Intensities are whole HU, like a real CT.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

from radiome.volume import AcquisitionMetadata, Grid, Mask, Volume

__all__ = [
    "BROKEN_KINDS",
    "HABITAT_TYPES",
    "LONGITUDINAL_GROUPS",
    "LesionParams",
    "TumourState",
    "habitat_case",
    "lesion_params",
    "longitudinal_case",
    "synthetic_case",
    "synthetic_outcome",
    "textured_sphere",
    "tumour_states",
    "write_cohort",
    "write_habitat_cohort",
    "write_longitudinal_cohort",
]

_AIR, _TISSUE, _LUNG = -1000.0, 40.0, -850.0


@dataclass(frozen=True)
class LesionParams:
    """What makes one synthetic lesion: size, shape, attenuation and texture."""

    radius_mm: float
    shape: str  # "sphere", "ellipsoid" or "lobulated"
    mean_hu: float
    texture_sd_hu: float
    texture_scale_mm: float
    necrotic: bool


def lesion_params(seed: int) -> LesionParams:
    """Lesion parameters drawn from a seeded generator (the same seed, the same lesion)."""
    rng = np.random.default_rng(seed)
    return LesionParams(
        radius_mm=float(rng.uniform(6.0, 22.0)),
        shape=str(rng.choice(["sphere", "ellipsoid", "lobulated"])),
        mean_hu=float(rng.uniform(10.0, 70.0)),
        texture_sd_hu=float(rng.uniform(10.0, 60.0)),
        texture_scale_mm=float(rng.uniform(0.8, 4.0)),
        necrotic=bool(rng.random() < 0.3),
    )


def synthetic_outcome(seeds: Iterable[int], *, noise_seed: int = 0) -> np.ndarray:
    """A 0/1 outcome linked to the lesions of the given case seeds (1 for the riskier half).

    The risk of a lesion is its standardised radius plus 1 when it is necrotic plus Gaussian
    noise (sd 0.5, from ``noise_seed``); the cases above the median risk are 1. Larger and
    necrotic lesions are therefore more often positive, so a model on the features has
    something to find, yet not perfectly.
    """
    params = [lesion_params(s) for s in seeds]
    radius = np.array([p.radius_mm for p in params])
    spread = radius.std()
    risk = (radius - radius.mean()) / (spread if spread > 0 else 1.0)
    risk += np.array([p.necrotic for p in params], dtype=np.float64)
    risk += np.random.default_rng(noise_seed).normal(0.0, 0.5, size=risk.size)
    return (risk > np.median(risk)).astype(int)


def _texture(rng: np.random.Generator, shape: tuple[int, ...], spacing: tuple[float, ...],
             scale_mm: float, sd: float) -> np.ndarray:
    """Gaussian-correlated noise with correlation length ``scale_mm`` and standard deviation ``sd``."""
    noise = rng.standard_normal(shape)
    smooth = ndimage.gaussian_filter(noise, sigma=[scale_mm / s for s in spacing], mode="reflect")
    std = smooth.std()
    return smooth * (sd / std) if std > 0 else smooth


def _lesion_mask(coords: list[np.ndarray], centre: np.ndarray, params: LesionParams,
                 rng: np.random.Generator) -> np.ndarray:
    z, y, x = (c - c0 for c, c0 in zip(coords, centre, strict=True))
    r = params.radius_mm
    if params.shape == "sphere":
        return z**2 + y**2 + x**2 <= r**2
    if params.shape == "ellipsoid":
        axes = r * rng.uniform(0.6, 1.3, size=3)
        return (z / axes[0]) ** 2 + (y / axes[1]) ** 2 + (x / axes[2]) ** 2 <= 1.0
    dist = np.sqrt(z**2 + y**2 + x**2) + 1e-9
    theta, phi = np.arccos(np.clip(z / dist, -1, 1)), np.arctan2(y, x)
    k1, k2 = rng.integers(2, 5, size=2)
    bumps = 1.0 + 0.18 * np.sin(k1 * phi + rng.uniform(0, np.pi)) * np.sin(k2 * theta)
    return dist <= r * bumps


def synthetic_case(
    seed: int,
    *,
    shape: tuple[int, int, int] = (48, 128, 128),
    spacing: tuple[float, float, float] = (2.5, 0.8, 0.8),
    params: LesionParams | None = None,
    rescan: int = 0,
) -> tuple[Volume, Mask]:
    """A CT-like volume (HU) and its lesion mask, reproducible from ``seed``.

    Parameters
    ----------
    seed : int
        Seed of every random choice (lesion parameters, position, noise).
    shape : (3,) int
        Array shape (z, y, x).
    spacing : (3,) float, mm
        Voxel size (z, y, x).
    params : LesionParams, optional
        The lesion; by default :func:`lesion_params` of ``seed``.
    rescan : int
        Repeat scan number: the same anatomy and lesion with new scanner noise (test-retest).
    """
    rng = np.random.default_rng(seed + 1_000_003)
    params = params or lesion_params(seed)
    extent = np.asarray(shape) * np.asarray(spacing)
    coords = np.meshgrid(*[(np.arange(n) + 0.5) * s for n, s in zip(shape, spacing, strict=True)],
                         indexing="ij", sparse=True)
    zc, yc, xc = extent / 2
    z, y, x = coords
    body = ((y - yc) / (0.45 * extent[1])) ** 2 + ((x - xc) / (0.48 * extent[2])) ** 2 <= 1.0
    body = np.broadcast_to(body, shape)
    lung_x = (xc - 0.22 * extent[2], xc + 0.22 * extent[2])
    lungs = np.zeros(shape, dtype=bool)
    for lx in lung_x:
        lungs |= ((y - yc) / (0.30 * extent[1])) ** 2 + ((x - lx) / (0.16 * extent[2])) ** 2 + (
            (z - zc) / (0.48 * extent[0])
        ) ** 2 <= 1.0
    image = np.full(shape, _AIR)
    image[body] = _TISSUE
    image[lungs & body] = _LUNG
    side = rng.integers(2)
    room = np.array([0.25 * extent[0], 0.12 * extent[1], 0.06 * extent[2]])
    centre = np.array([zc, yc, lung_x[side]]) + rng.uniform(-1, 1, size=3) * room
    lesion = _lesion_mask([z, y, x], centre, params, rng) & body
    texture = _texture(rng, shape, spacing, params.texture_scale_mm, params.texture_sd_hu)
    image[lesion] = params.mean_hu + texture[lesion]
    if params.necrotic:
        dist = np.sqrt((z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2)
        core = lesion & (dist <= 0.45 * params.radius_mm)
        image[core] = 5.0 + 0.3 * texture[core]
    noise = np.random.default_rng([seed, rescan]) if rescan else rng
    image += noise.normal(0.0, 12.0, size=shape) * body  # scanner noise inside the body
    image = np.clip(np.rint(image), -1024, 3071)
    grid = Grid(shape=shape, spacing=spacing, origin=(-extent[2] / 2, -extent[1] / 2, 0.0))
    metadata = AcquisitionMetadata(modality="CT", manufacturer="radiome synthetic", kvp=120.0,
                                   convolution_kernel="STANDARD", slice_thickness=spacing[0],
                                   pixel_spacing=(spacing[1], spacing[2]))
    volume = Volume(array=image, grid=grid, modality="CT", unit="HU", metadata=metadata,
                    source=f"synthetic case {seed}")
    return volume, Mask(array=lesion, grid=grid, roi="lesion", source=f"synthetic case {seed}")


def textured_sphere(n_voxels: int, seed: int = 0, *, margin: int = 8) -> tuple[Volume, Mask]:
    """A sphere of about ``n_voxels`` voxels (1 mm) with a textured interior in soft tissue.

    For scaling benchmarks: the volume is the sphere's bounding box plus ``margin`` voxels.
    """
    rng = np.random.default_rng(seed)
    radius = (3.0 * n_voxels / (4.0 * np.pi)) ** (1.0 / 3.0)
    n = int(np.ceil(2 * radius)) + 2 * margin
    centre = (n - 1) / 2.0
    axis = np.arange(n) - centre
    z, y, x = np.meshgrid(axis, axis, axis, indexing="ij", sparse=True)
    sphere = z**2 + y**2 + x**2 <= radius**2
    image = rng.normal(_TISSUE, 12.0, size=(n, n, n))
    inside = _texture(rng, (n, n, n), (1.0, 1.0, 1.0), 2.0, 40.0)
    image = np.where(sphere, 30.0 + inside, image)
    grid = Grid(shape=(n, n, n), spacing=(1.0, 1.0, 1.0))
    volume = Volume(array=np.rint(image), grid=grid, modality="CT", unit="HU",
                    source=f"sphere {n_voxels}")
    return volume, Mask(array=sphere, grid=grid, roi="sphere", source=f"sphere {n_voxels}")


#: Broken inputs :func:`write_cohort` can add, each of which must become an error row.
BROKEN_KINDS = ("missing_image", "missing_mask", "corrupt_image", "mask_mismatch", "empty_roi",
                "unknown_roi", "unsupported_modality")


def write_cohort(
    folder: str | Path,
    *,
    n_cases: int,
    seed: int = 0,
    shape: tuple[int, int, int] = (48, 128, 128),
    spacing: tuple[float, float, float] = (2.5, 0.8, 0.8),
    n_dicom: int = 0,
    broken: Iterable[str] = (),
) -> pd.DataFrame:
    """Write a synthetic CT cohort and its manifest (``folder/manifest.csv``).

    The manifest's paths are relative to ``folder`` (see
    :func:`radiome.cohort.manifest.write_manifest`).

    Parameters
    ----------
    folder : path
        Where images (``images/``), masks (``masks/``) and DICOM cases (``dicom/``) go.
    n_cases : int
        Number of good cases; the first ``n_dicom`` are DICOM series with an RTSTRUCT, the
        others NIfTI image and label map.
    seed, shape, spacing
        As :func:`synthetic_case` (case ``i`` uses ``seed + i``).
    broken : iterable of str
        Extra cases from :data:`BROKEN_KINDS`, each broken in that way.

    Returns
    -------
    DataFrame
        The manifest with absolute paths, plus a column ``expect`` (``ok`` or the broken kind).
    """
    from radiome.cohort.manifest import write_manifest
    from radiome.io import write_volume
    from radiome.io.dicom_write import write_dicom_series, write_rtstruct

    folder = Path(folder)
    rows = []
    for i in range(n_cases):
        case_id = f"case_{i:04d}"
        volume, mask = synthetic_case(seed + i, shape=shape, spacing=spacing)
        if i < n_dicom:
            files = write_dicom_series(volume, folder / "dicom" / case_id / "ct",
                                       patient_id=f"SYN{i:04d}")
            image = files[0].parent
            rtstruct = write_rtstruct(mask, files, folder / "dicom" / case_id / "rs.dcm",
                                      roi_name="GTV")
            rows.append((case_id, str(image), str(rtstruct), "GTV", "ok"))
            continue
        image = write_volume(volume, folder / "images" / f"{case_id}.nii.gz")
        label = write_volume(mask, folder / "masks" / f"{case_id}_lesion.nii.gz")
        rows.append((case_id, str(image), str(label), "1", "ok"))
    if rows:
        good_image, good_mask = rows[-1][1], rows[-1][2]
    for kind in broken:
        if kind not in BROKEN_KINDS:
            msg = f"unknown broken kind {kind!r}; choose from {', '.join(BROKEN_KINDS)}"
            raise ValueError(msg)
        case_id = f"broken_{kind}"
        image, label, roi = good_image, good_mask, rows[-1][3]
        if kind == "missing_image":
            image = str(folder / "images" / "does_not_exist.nii.gz")
        elif kind == "missing_mask":
            label = str(folder / "masks" / "does_not_exist.nii.gz")
        elif kind == "corrupt_image":
            path = folder / "images" / f"{case_id}.nii.gz"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\x1f\x8b" + bytes(range(256)) * 4)
            image = str(path)
        elif kind == "mask_mismatch":
            _, small = synthetic_case(seed, shape=(shape[0], shape[1] // 2, shape[2] // 2),
                                      spacing=spacing)
            label = str(write_volume(small, folder / "masks" / f"{case_id}.nii.gz"))
            roi = "1"
        elif kind == "empty_roi":
            volume, mask = synthetic_case(seed, shape=shape, spacing=spacing)
            empty = Mask(array=np.zeros(mask.array.shape, bool), grid=mask.grid)
            image = str(write_volume(volume, folder / "images" / f"{case_id}.nii.gz"))
            label = str(write_volume(empty, folder / "masks" / f"{case_id}.nii.gz"))
            roi = "1"
        elif kind == "unknown_roi":
            roi = "no such structure"
        rows.append((case_id, image, label, roi, kind))
    manifest = pd.DataFrame(rows, columns=["case_id", "image", "mask", "roi", "expect"])
    manifest["modality"] = np.where(manifest["expect"] == "unsupported_modality", "US", "CT")
    for column in ("image", "mask"):
        manifest[column] = [str(Path(p).resolve()) for p in manifest[column]]
    write_manifest(manifest.drop(columns="expect"), folder / "manifest.csv")
    return manifest


#: The habitats :func:`habitat_case` plants, numbered from 1 in order of mean intensity:
#: (mean HU, texture SD HU, texture correlation length mm; 0 is uncorrelated noise).
HABITAT_TYPES = ((30.0, 6.0, 1.5), (60.0, 30.0, 0.0), (110.0, 10.0, 1.0))


def habitat_case(
    seed: int,
    *,
    shape: tuple[int, int, int] = (36, 44, 44),
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
    shares: Iterable[float] | None = None,
    radius_mm: float | None = None,
) -> tuple[Volume, Mask, np.ndarray]:
    """A CT-like tumour with three planted habitats, and the planted habitat labels.

    The tumour, a sphere in fat-like tissue (-100 HU), is cut into three wedges about the z
    axis through its centre, whose angles (so whose volumes) are in proportion to ``shares``,
    from a random starting angle. Wedge ``k`` holds habitat ``k`` of :data:`HABITAT_TYPES`:
    its mean (moved by up to 5 HU at random) plus Gaussian-correlated texture of its SD and
    correlation length, so the habitats differ in intensity and in texture.

    Parameters
    ----------
    seed : int
        Seed of every random choice (shares, radius, position, angles, textures).
    shape : (3,) int
        Array shape (z, y, x).
    spacing : (3,) float, mm
        Voxel size (z, y, x).
    shares : (3,) float, optional
        Volume shares of habitats 1, 2, 3 (normalised to sum 1); by default drawn from a
        Dirichlet(6, 6, 6) distribution.
    radius_mm : float, optional
        Tumour radius; by default drawn in [12, 15] mm.

    Returns
    -------
    volume : Volume
        The image (whole HU).
    mask : Mask
        The tumour (ROI ``tumour``).
    planted : (Z, Y, X) int8 ndarray
        The planted habitat of each voxel: 0 outside the tumour, 1, 2, 3 inside.
    """
    rng = np.random.default_rng([seed, 14])
    drawn = rng.dirichlet((6.0, 6.0, 6.0))
    share = np.asarray(drawn if shares is None else list(shares), dtype=np.float64)
    if share.shape != (3,) or not (share > 0).all():
        msg = f"habitat_case: shares must be three positive numbers, got {share.tolist()}"
        raise ValueError(msg)
    radius = float(rng.uniform(12.0, 15.0)) if radius_mm is None else float(radius_mm)
    extent = np.asarray(shape) * np.asarray(spacing)
    centre = extent / 2 + rng.uniform(-1.0, 1.0, size=3) * np.asarray(spacing)
    z, y, x = (c - c0 for c, c0 in zip(
        np.meshgrid(*[(np.arange(n) + 0.5) * s for n, s in zip(shape, spacing, strict=True)],
                    indexing="ij", sparse=True), centre, strict=True))
    tumour = np.broadcast_to(z**2 + y**2 + x**2 <= radius**2, shape)
    angle = np.broadcast_to((np.arctan2(y, x) - rng.uniform(0.0, 2 * np.pi)) % (2 * np.pi), shape)
    bounds = 2 * np.pi * np.cumsum(share / share.sum())[:-1]
    planted = np.where(tumour, np.searchsorted(bounds, angle, side="right") + 1, 0)
    image = rng.normal(-100.0, 10.0, size=shape)
    for k, (mean, sd, scale_mm) in enumerate(HABITAT_TYPES, start=1):
        texture = _texture(rng, shape, spacing, scale_mm, sd)
        region = planted == k
        image[region] = mean + rng.uniform(-5.0, 5.0) + texture[region]
    grid = Grid(shape=shape, spacing=spacing, origin=(-extent[2] / 2, -extent[1] / 2, 0.0))
    metadata = AcquisitionMetadata(modality="CT", manufacturer="radiome synthetic", kvp=120.0,
                                   slice_thickness=spacing[0],
                                   pixel_spacing=(spacing[1], spacing[2]))
    source = f"habitat case {seed}"
    volume = Volume(array=np.rint(image), grid=grid, modality="CT", unit="HU",
                    metadata=metadata, source=source)
    mask = Mask(array=tumour, grid=grid, roi="tumour", source=source)
    return volume, mask, planted.astype(np.int8)


def write_habitat_cohort(
    folder: str | Path,
    *,
    n_cases: int,
    seed: int = 0,
    shape: tuple[int, int, int] = (36, 44, 44),
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> pd.DataFrame:
    """Write a cohort of :func:`habitat_case` tumours and its manifest (``folder/manifest.csv``).

    Case ``i`` (``hab_0000``, ...) uses ``seed + i``; images go to ``images/``, tumour masks
    to ``masks/`` and the planted habitat labels to ``planted/`` (NIfTI label maps).

    Returns
    -------
    DataFrame
        The manifest (``case_id, image, mask, roi, modality``, absolute paths) plus a column
        ``planted``: the path of each case's planted label map.
    """
    from radiome.cohort.manifest import write_manifest
    from radiome.io import write_volume

    folder = Path(folder)
    rows = []
    for i in range(n_cases):
        case_id = f"hab_{i:04d}"
        volume, mask, planted = habitat_case(seed + i, shape=shape, spacing=spacing)
        image = write_volume(volume, folder / "images" / f"{case_id}.nii.gz")
        label = write_volume(mask, folder / "masks" / f"{case_id}_tumour.nii.gz")
        truth = write_volume(volume.with_array(planted.astype(np.float64)),
                             folder / "planted" / f"{case_id}_planted.nii.gz")
        rows.append((case_id, *(str(p.resolve()) for p in (image, label)), "1", "CT",
                     str(truth.resolve())))
    manifest = pd.DataFrame(rows, columns=["case_id", "image", "mask", "roi", "modality",
                                           "planted"])
    write_manifest(manifest.drop(columns="planted"), folder / "manifest.csv")
    return manifest


#: What happens to the tumours of each group of :func:`write_longitudinal_cohort` by the last
#: follow-up: factors of the baseline radius and texture SDs, and the resistant sub-region's
#: share of the tumour volume (None: it keeps its baseline share).
LONGITUDINAL_GROUPS = {
    "responder": (0.65, 0.35, None),
    "stable": (1.0, 1.0, None),
    "resistant": (0.8, 1.0, 0.55),
}
_RESISTANT_HU = 60.0  # the resistant sub-region is this much brighter than the tumour's mean


@dataclass(frozen=True)
class TumourState:
    """A longitudinal tumour at one time point: radius, intensity, textures, resistant share."""

    radius_mm: float
    mean_hu: float
    texture_sd_hu: float
    resistant_sd_hu: float
    resistant_share: float


def tumour_states(seed: int, group: str, n_followups: int = 1) -> list[TumourState]:
    """The tumour of patient ``seed`` at baseline and each follow-up, for a response group.

    The baseline is drawn from ``seed`` (radius 9-12 mm, mean 20-50 HU, texture SD 28-40 HU,
    resistant sub-region with texture SD 50-60 HU making 8-15 % of the tumour); by follow-up
    ``k`` of ``n_followups`` a fraction ``k / n_followups`` of the group's change
    (:data:`LONGITUDINAL_GROUPS`) has happened.
    """
    if group not in LONGITUDINAL_GROUPS:
        msg = f"unknown group {group!r}; choose from {', '.join(LONGITUDINAL_GROUPS)}"
        raise ValueError(msg)
    rng = np.random.default_rng([seed, 31])
    radius, mean, sd = rng.uniform(9.0, 12.0), rng.uniform(20.0, 50.0), rng.uniform(28.0, 40.0)
    share, resistant_sd = rng.uniform(0.08, 0.15), rng.uniform(50.0, 60.0)
    radius_end, sd_end, share_end = LONGITUDINAL_GROUPS[group]
    share_end = share if share_end is None else share_end
    steps = np.linspace(0.0, 1.0, n_followups + 1)
    return [TumourState(radius_mm=float(radius * (1 + f * (radius_end - 1))),
                        mean_hu=float(mean), texture_sd_hu=float(sd * (1 + f * (sd_end - 1))),
                        resistant_sd_hu=float(resistant_sd * (1 + f * (sd_end - 1))),
                        resistant_share=float(share + f * (share_end - share)))
            for f in steps]


def _wave_texture(rng: np.random.Generator, coords: list[np.ndarray], scale_mm: float,
                  n_waves: int = 24) -> np.ndarray:
    """A smooth random field of SD about 1: ``n_waves`` plane waves of wavelength ~``scale_mm``.

    Analytic in the coordinates (mm), so it moves exactly with a shifted scene.
    """
    directions = rng.standard_normal((n_waves, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    wavenumbers = 2 * np.pi / (scale_mm * rng.uniform(0.7, 1.4, size=n_waves))
    phases = rng.uniform(0.0, 2 * np.pi, size=n_waves)
    field = np.zeros(np.broadcast_shapes(*(c.shape for c in coords)))
    for d, k, phase in zip(directions, wavenumbers, phases, strict=True):
        field += np.cos(k * (d[0] * coords[0] + d[1] * coords[1] + d[2] * coords[2]) + phase)
    return field * np.sqrt(2.0 / n_waves)


def longitudinal_case(
    seed: int,
    state: TumourState,
    *,
    scan: int = 0,
    shape: tuple[int, int, int] = (20, 48, 48),
    spacing: tuple[float, float, float] = (2.0, 1.0, 1.0),
) -> tuple[Volume, Mask, np.ndarray]:
    """One scan of patient ``seed``'s tumour in a given state, and its planted sub-regions.

    The tumour is an ellipsoid (axes from ``seed``) in fat-like tissue (-60 HU) with a smooth
    texture of the state's SD about its mean. A resistant sub-region, the part of the tumour
    nearest a point half a radius from the centre (direction from ``seed``) that makes
    ``state.resistant_share`` of its volume, is 60 HU brighter with a finer, rougher texture.
    Anatomy and textures come from ``seed`` alone, so the same patient's tumour keeps its
    pattern over time. Each ``scan`` number gives a repositioning (the scene moved by up to
    half a voxel along each axis, so the voxelised tumour and its mask change a little, as
    after re-segmentation) and new scanner noise (SD 8 HU): two scans of one state are a
    same-day test-retest pair.

    Parameters
    ----------
    seed : int
        The patient.
    state : TumourState
        The tumour at this time point (see :func:`tumour_states`).
    scan : int
        The scan: repositioning and noise.
    shape, spacing
        Array shape (z, y, x) and voxel size in mm (z, y, x).

    Returns
    -------
    volume : Volume
        The image (whole HU).
    mask : Mask
        The tumour (ROI ``tumour``).
    planted : (Z, Y, X) int8 ndarray
        0 outside the tumour, 1 in its treatment-sensitive part, 2 in the resistant sub-region.
    """
    rng = np.random.default_rng([seed, 32])
    axes = state.radius_mm * rng.uniform(0.85, 1.15, size=3)
    towards = rng.standard_normal(3)
    towards /= np.linalg.norm(towards)
    scan_rng = np.random.default_rng([seed, 33, scan])
    shift = scan_rng.uniform(-0.5, 0.5, size=3) * np.asarray(spacing)
    extent = np.asarray(shape) * np.asarray(spacing)

    def frame(offset: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """Tumour-centred coordinates, tumour and distance to the sub-region's seed point."""
        coords = [(np.arange(n) + 0.5) * s - e / 2 - o for n, s, e, o in
                  zip(shape, spacing, extent, offset, strict=True)]
        z, y, x = np.meshgrid(*coords, indexing="ij", sparse=True)
        tumour = (z / axes[0]) ** 2 + (y / axes[1]) ** 2 + (x / axes[2]) ** 2 <= 1.0
        point = 0.5 * state.radius_mm * towards
        distance = np.sqrt((z - point[0]) ** 2 + (y - point[1]) ** 2 + (x - point[2]) ** 2)
        return [z, y, x], np.broadcast_to(tumour, shape), distance

    _, centred, distance = frame(np.zeros(3))
    reach = float(np.quantile(distance[centred], state.resistant_share))
    coords, tumour, distance = frame(shift)
    resistant = tumour & (distance <= reach)
    main = _wave_texture(rng, coords, float(rng.uniform(2.0, 4.0)))
    fine = _wave_texture(rng, coords, 1.5)
    image = np.full(shape, -60.0)
    image[tumour] = state.mean_hu + state.texture_sd_hu * main[tumour]
    image[resistant] = state.mean_hu + _RESISTANT_HU + state.resistant_sd_hu * fine[resistant]
    image = np.rint(image + scan_rng.normal(0.0, 8.0, size=shape))
    grid = Grid(shape=shape, spacing=spacing, origin=(-extent[2] / 2, -extent[1] / 2, 0.0))
    metadata = AcquisitionMetadata(modality="CT", manufacturer="radiome synthetic", kvp=120.0,
                                   slice_thickness=spacing[0],
                                   pixel_spacing=(spacing[1], spacing[2]))
    source = f"longitudinal case {seed} scan {scan}"
    volume = Volume(array=image, grid=grid, modality="CT", unit="HU", metadata=metadata,
                    source=source)
    planted = np.where(resistant, 2, np.where(tumour, 1, 0)).astype(np.int8)
    return volume, Mask(array=tumour, grid=grid, roi="tumour", source=source), planted


def write_longitudinal_cohort(
    folder: str | Path,
    *,
    n_responders: int = 12,
    n_stable: int = 8,
    n_resistant: int = 4,
    n_followups: int = 1,
    rescan: bool = True,
    seed: int = 0,
    shape: tuple[int, int, int] = (20, 48, 48),
    spacing: tuple[float, float, float] = (2.0, 1.0, 1.0),
) -> pd.DataFrame:
    """Write a synthetic longitudinal cohort (delta-radiomics, habitats over time) and its files.

    Patients ``P000``, ``P001``, ... (patient ``i`` has seed ``seed + i``) are responders
    (volume and heterogeneity fall: radius x0.65, texture SD x0.35 by the last follow-up),
    stable (nothing changes but the scan: repositioning and noise), then resistant (the tumour
    shrinks, radius x0.8, while its resistant sub-region grows from 8-15 % to 55 % of it, so
    its intensity heterogeneity rises); see :func:`longitudinal_case` for the phantom. Each is
    scanned at ``T0`` and ``T1`` ... ``T<n_followups>`` (42-84 days apart, dates from a
    patient-specific start in 2024), and with ``rescan`` scanned twice at ``T0`` (a same-day
    test-retest pair: case ids ``<patient>_T0`` and ``<patient>_T0_rescan``, both time point
    ``T0``).

    Writes ``images/<case>.nii.gz``, ``masks/<case>_tumour.nii.gz`` (label 1), the planted
    sub-regions ``planted/<case>_planted.nii.gz`` (label map: 0 outside the tumour, 1 the
    sensitive part, 2 the resistant sub-region), ``manifest.csv`` (``case_id, image, mask,
    roi, patient, timepoint, date, modality``; paths relative to ``folder``) and
    ``clinical.csv`` (``patient``, ``response``: 1 for responders).

    Returns
    -------
    DataFrame
        The manifest with absolute paths, plus the truth of each scan: ``group``,
        ``response``, ``scan`` (0, or 1 for the rescan), ``days`` (from the patient's
        baseline), ``radius_mm``, ``resistant_share`` and ``planted`` (the label map's path).
    """
    from radiome.cohort.manifest import write_manifest
    from radiome.io import write_volume

    folder = Path(folder)
    groups = ["responder"] * n_responders + ["stable"] * n_stable + ["resistant"] * n_resistant
    rows = []
    for i, group in enumerate(groups):
        patient, patient_seed = f"P{i:03d}", seed + i
        rng = np.random.default_rng([patient_seed, 34])
        start = np.datetime64("2024-01-01") + int(rng.integers(0, 300))
        interval = int(rng.integers(42, 85))
        for k, state in enumerate(tumour_states(patient_seed, group, n_followups)):
            for repeat in range(2 if rescan and k == 0 else 1):
                case_id = f"{patient}_T{k}" + ("_rescan" if repeat else "")
                volume, mask, planted = longitudinal_case(
                    patient_seed, state, scan=2 * k + repeat, shape=shape, spacing=spacing)
                paths = [write_volume(volume, folder / "images" / f"{case_id}.nii.gz"),
                         write_volume(mask, folder / "masks" / f"{case_id}_tumour.nii.gz"),
                         write_volume(volume.with_array(planted.astype(np.float64)),
                                      folder / "planted" / f"{case_id}_planted.nii.gz")]
                rows.append({"case_id": case_id, "image": str(paths[0].resolve()),
                             "mask": str(paths[1].resolve()), "roi": "1", "patient": patient,
                             "timepoint": f"T{k}", "date": str(start + k * interval),
                             "modality": "CT", "group": group,
                             "response": int(group == "responder"), "scan": repeat,
                             "days": k * interval, "radius_mm": state.radius_mm,
                             "resistant_share": state.resistant_share,
                             "planted": str(paths[2].resolve())})
    manifest = pd.DataFrame(rows)
    columns = ["case_id", "image", "mask", "roi", "patient", "timepoint", "date", "modality"]
    folder.mkdir(parents=True, exist_ok=True)
    write_manifest(manifest[columns], folder / "manifest.csv")
    clinical = manifest.drop_duplicates("patient")[["patient", "response"]]
    clinical.to_csv(folder / "clinical.csv", index=False)
    return manifest
