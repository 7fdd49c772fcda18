"""Perturbations (Zwanenburg et al. 2019): determinism and each perturbation's geometry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from radiome.errors import EmptyROIError, GeometryError, ReliabilityError
from radiome.reliability import agreement, estimate_noise, feature_icc, perturb
from radiome.reliability.perturbation import _draw_supervoxels
from radiome.volume import Grid, Mask, Volume

SPACING = (2.0, 0.6, 1.0)  # anisotropic in-plane too
OFF = {
    "noise": False,
    "rotation_deg": 0.0,
    "translation": 0.0,
    "volume_change": 0.0,
    "contour_randomisation": False,
}


def _case(seed=0, shape=(16, 70, 44), noise_sd=5.0, contrast=60.0):
    """Smooth textured image with a brighter ellipsoidal lesion, plus white noise."""
    rng = np.random.default_rng(seed)
    zyx = np.indices(shape).astype(float)
    centre = (np.asarray(shape) - 1) / 2
    r = np.sqrt(
        sum(((zyx[i] - centre[i]) * SPACING[i] / ax) ** 2 for i, ax in enumerate((9.0, 14.0, 10.0)))
    )
    lesion = r <= 1.0
    smooth = 40 * ndimage.gaussian_filter(rng.normal(size=shape), 3) + contrast * lesion
    image = smooth + rng.normal(scale=noise_sd, size=shape)
    return Volume.from_array(image, spacing=SPACING), Mask.from_array(lesion, spacing=SPACING)


def _orientation_deg(mask: np.ndarray) -> float:
    """In-plane angle (degrees, from +y towards +x, in mm) of the mask's principal axis."""
    _, y, x = np.nonzero(mask)
    yx = np.column_stack([y * SPACING[1], x * SPACING[2]])
    vals, vecs = np.linalg.eigh(np.cov(yx.T))
    vy, vx = vecs[:, np.argmax(vals)]
    return float(np.degrees(np.arctan2(vx, vy)) % 180)


def test_estimate_noise_recovers_known_sigma():
    """Chang et al.'s estimator on a smooth image plus N(0, 5²) noise finds about 5."""
    volume, _ = _case(noise_sd=5.0)
    assert estimate_noise(volume) == pytest.approx(5.0, rel=0.06)
    clean, _ = _case(noise_sd=0.0)
    assert estimate_noise(clean) < 0.5


def test_same_seed_same_versions_and_versions_independent_of_n():
    volume, mask = _case()
    first = list(perturb(volume, mask, n=3, seed=11))
    again = list(perturb(volume, mask, n=2, seed=11))
    for (v1, m1, d1), (v2, m2, d2) in zip(first, again, strict=False):
        assert np.array_equal(v1.array, v2.array)
        assert np.array_equal(m1.array, m2.array)
        assert d1 == d2
    other = next(perturb(volume, mask, n=1, seed=12))
    assert not np.array_equal(other[0].array, first[0][0].array)
    assert [d["perturbation"] for _, _, d in first] == ["p000", "p001", "p002"]


def test_settings_do_not_depend_on_which_perturbations_are_on():
    volume, mask = _case()
    full = next(perturb(volume, mask, n=1, seed=5))[2]
    partial = next(perturb(volume, mask, n=1, seed=5, noise=False, contour_randomisation=False))[2]
    for key in ("rotation_deg", "translation_voxels", "volume_change"):
        assert full[key] == partial[key]


def test_noise_only_adds_noise_at_the_estimated_level():
    volume, mask = _case(noise_sd=5.0)
    sigma = estimate_noise(volume)
    for vol, roi, desc in perturb(volume, mask, n=2, seed=1, **{**OFF, "noise": True}):
        assert np.array_equal(roi.array, mask.array)
        added = vol.array - volume.array
        assert desc["noise_sd"] == sigma
        assert added.std() == pytest.approx(sigma, rel=0.02)
        assert abs(added.mean()) < 0.05 * sigma
        assert vol.grid == volume.grid
        assert vol.modality == volume.modality


def test_rotation_turns_roi_and_image_together_about_the_roi_centre():
    """An elongated ROI's principal axis (in mm) turns by the drawn angle; image follows."""
    volume, mask = _case()
    before = _orientation_deg(mask.array)
    centre = np.argwhere(mask.array).mean(axis=0) * SPACING
    for vol, roi, desc in perturb(volume, mask, n=3, seed=2, **{**OFF, "rotation_deg": 30.0}):
        turned = (_orientation_deg(roi.array) - before - desc["rotation_deg"] + 90) % 180 - 90
        assert abs(turned) < 2.0, desc["rotation_deg"]
        moved = np.argwhere(roi.array).mean(axis=0) * SPACING
        assert np.abs(moved - centre).max() < 0.5
        assert roi.n_voxels == pytest.approx(mask.n_voxels, rel=0.03)
        bright = ndimage.gaussian_filter(vol.array, 1) > np.percentile(vol.array, 60)
        assert agreement(roi, Mask(bright & roi.array, roi.grid))["dice"] > 0.8


def test_translation_moves_content_by_the_drawn_subvoxel_shift():
    shape = (20, 40, 40)
    zyx = np.indices(shape).astype(float)
    blob = np.exp(-sum((zyx[i] - c) ** 2 for i, c in enumerate((10, 20, 19))) / 18.0)
    volume = Volume.from_array(100 * blob, spacing=SPACING)
    mask = Mask.from_array(blob > 0.3, spacing=SPACING)
    centroid = np.array(ndimage.center_of_mass(volume.array))
    for vol, _, desc in perturb(volume, mask, n=3, seed=4, **{**OFF, "translation": 0.5}):
        shift = np.asarray(desc["translation_voxels"])
        assert np.abs(shift).max() <= 0.5
        assert np.abs(shift).max() > 0
        got = np.array(ndimage.center_of_mass(vol.array)) - centroid
        np.testing.assert_allclose(got, shift, atol=0.03)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_volume_adaptation_reaches_the_drawn_fraction(seed):
    volume, mask = _case()
    _, roi, desc = next(perturb(volume, mask, n=1, seed=seed, **{**OFF, "volume_change": 0.3}))
    tau = desc["volume_change"]
    assert roi.n_voxels == mask.n_voxels + np.sign(tau) * round(abs(tau) * mask.n_voxels)
    if tau > 0:  # grown: contains the original; every added voxel is nearer than any other
        assert (roi.array | mask.array).sum() == roi.n_voxels
        dist = ndimage.distance_transform_edt(~mask.array, sampling=SPACING)
        assert dist[roi.array & ~mask.array].max() <= dist[~roi.array].min()
    else:  # shrunk: inside the original; every removed voxel is shallower than any kept one
        assert (roi.array & mask.array).sum() == roi.n_voxels
        depth = ndimage.distance_transform_edt(mask.array, sampling=SPACING)
        assert depth[mask.array & ~roi.array].max() <= depth[roi.array].min()


def test_supervoxel_draw_keeps_expected_volume():
    """Each supervoxel joins with probability = its fraction in the ROI, so E|ROI'| = |ROI|."""
    labels = 1 + (np.indices((12, 12, 12)) // 4 * np.array([9, 3, 1])[:, None, None, None]).sum(0)
    zyx = np.indices((12, 12, 12))
    roi = ((zyx - 5.5) ** 2).sum(axis=0) <= 16
    rng = np.random.default_rng(0)
    sizes = np.array([_draw_supervoxels(labels, roi, rng).sum() for _ in range(400)])
    assert sizes.mean() == pytest.approx(roi.sum(), abs=3 * sizes.std() / np.sqrt(400))
    for _ in range(20):
        drawn = _draw_supervoxels(labels, roi, rng)
        full = np.isin(labels, [lab for lab in np.unique(labels) if roi[labels == lab].all()])
        untouched = ~np.isin(labels, np.unique(labels[roi]))
        assert drawn[full].all()
        assert not drawn[untouched].any()


def test_contour_randomisation_changes_the_boundary_moderately():
    volume, mask = _case()
    dice = [
        agreement(mask, roi)["dice"]
        for _, roi, _ in perturb(
            volume, mask, n=3, seed=3, **{**OFF, "contour_randomisation": True}
        )
    ]
    assert all(0.6 < d < 1.0 for d in dice), dice


def test_icc_across_perturbations_is_high_for_mean_low_for_equal_volumes():
    """Lesions of distinct contrasts but equal size: across perturbations the mean intensity is
    reliable (between-case variance dominates), the ROI volume is not (it has none)."""
    rows = []
    for case in range(6):
        volume, mask = _case(seed=case, shape=(12, 50, 34), contrast=20.0 + 25 * case)
        for vol, roi, desc in perturb(volume, mask, n=4, seed=case):
            for name, value in (
                ("stat_mean", vol.array[roi.array].mean()),
                ("morph_volume", float(roi.n_voxels)),
            ):
                rows.append(
                    {
                        "patient": f"C{case}",
                        "perturbation": desc["perturbation"],
                        "feature": name,
                        "family": name.split("_")[0],
                        "filter": "",
                        "aggregation": "",
                        "value": value,
                    }
                )
    table = feature_icc(pd.DataFrame(rows), by="perturbation", form="ICC1").set_index("feature")
    assert (table["n_subjects"] == 6).all()
    assert (table["n_raters"] == 4).all()
    assert table.at["stat_mean", "icc"] > 0.95
    assert table.at["morph_volume", "icc"] < 0.5


def test_bad_settings_are_all_named():
    volume, mask = _case()
    with pytest.raises(
        ReliabilityError, match=r"n must be.*seed must be.*translation must be.*volume_change"
    ):
        perturb(volume, mask, n=0, seed=-1, translation=2.0, volume_change=1.0)


def test_mask_on_another_grid_or_empty_is_an_error():
    volume, mask = _case()
    other = Mask(mask.array, Grid(mask.grid.shape, (3.0, 0.6, 1.0)), source="other.nii")
    with pytest.raises(GeometryError, match=r"other\.nii: mask grid differs.*spacing"):
        perturb(volume, other, n=1, seed=0)
    with pytest.raises(EmptyROIError):
        perturb(volume, Mask.from_array(np.zeros(volume.shape, bool), spacing=SPACING), n=1, seed=0)
