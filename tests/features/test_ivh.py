"""Intensity-volume histogram features (P88C) on hand-computable inputs.

Provenance: the digital phantom's IVH (γ, ν) table is printed in the IBSI 1 manual
(03_Image_features.rst, "Calculating the IV histogram"); the other cases are worked out by
hand from the manual's definitions, and a slow twin evaluates those definitions literally
(ν_i = 1 - mean(X_d,gl < i), γ_i = (i - min G) / (max G - min G)) at every intensity of G.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from radiome.errors import FeatureError
from radiome.features.ivh import FAMILY, FEATURES, intensity_volume_histogram_features
from radiome.preprocess.roi import RoiData
from radiome.spec import Spec

PHANTOM = np.repeat([1.0, 3.0, 4.0, 6.0], [50, 1, 16, 7])


def _column(values) -> tuple[np.ndarray, np.ndarray]:
    """A (1, 1, n) image and its all-true mask."""
    arr = np.asarray(values, dtype=np.float64).reshape(1, 1, -1)
    return arr, np.ones(arr.shape, dtype=bool)


def test_digital_phantom_table_of_the_manual():
    got = intensity_volume_histogram_features(*_column(PHANTOM), method="none")
    assert set(got) == {f.name for f in FEATURES}
    # G = [1, 6]: gamma = 0, .2, .4, .6, .8, 1 and nu = 74, 24, 24, 23, 7, 7 voxels of 74
    nu = np.array([74, 24, 24, 23, 7, 7]) / 74
    assert got["ivh_v10"] == nu[1]
    assert got["ivh_v90"] == nu[5]
    assert got["ivh_diff_v10_v90"] == nu[1] - nu[5]
    assert got["ivh_i10"] == 5.0
    assert got["ivh_i90"] == 2.0
    assert got["ivh_diff_i10_i90"] == 3.0
    assert got["ivh_auc"] == pytest.approx(0.2 * (nu[0] / 2 + nu[1:5].sum() + nu[5] / 2))


def test_fixed_bin_size_uses_bin_centres_and_the_range():
    # range [0, 3], w = 1: X_d = 1, 1, 2, 3, 3 -> centres .5, .5, 1.5, 2.5, 2.5; G = [.5, 2.5]
    image, mask = _column([0.0, 0.3, 1.2, 2.7, 2.9])
    got = intensity_volume_histogram_features(
        image, mask, method="fixed_bin_size", bin_width=1.0, intensity_range=(0.0, 3.0)
    )
    # gamma = 0, .5, 1 and nu = 1, .6, .4
    assert got["ivh_v10"] == 0.6
    assert got["ivh_v90"] == 0.4
    assert got["ivh_i90"] == 1.5
    assert got["ivh_i10"] == 3.5  # above max(G): the top bin holds 40 % of the volume
    assert got["ivh_auc"] == pytest.approx(0.5 * (1 + 0.6) / 2 + 0.5 * (0.6 + 0.4) / 2)


def test_fixed_bin_size_without_range_continues_past_g():
    # w = 1 from the ROI minimum 0 to its maximum 2.7: X_d = 1, 3, 3, G = [.5, 2.2] (1.7 steps)
    image, mask = _column([0.0, 2.2, 2.7])
    got = intensity_volume_histogram_features(image, mask, method="fixed_bin_size", bin_width=1.0)
    # grid .5, 1.5, 2.5, 3.5: gamma = k / 1.7 = 0, .59, 1.18, 1.76 and nu = 1, 2/3, 2/3, 0
    assert got["ivh_v10"] == pytest.approx(2 / 3)
    assert got["ivh_v90"] == pytest.approx(2 / 3)  # gamma = 1.18, the first grid point >= .9
    assert got["ivh_i10"] == 3.5
    assert got["ivh_i90"] == 1.5
    assert got["ivh_auc"] == pytest.approx((1 / 1.7) * (1 + 2 / 3) / 2)


def test_fixed_bin_number_ignores_the_range():
    image, mask = _column([10.0, 20.0, 30.0, 40.0])
    got = intensity_volume_histogram_features(image, mask, method="fixed_bin_number", bin_count=4)
    # X_d = 1, 2, 3, 4; G = [1, 4]: gamma = 0, 1/3, 2/3, 1 and nu = 1, .75, .5, .25
    assert got["ivh_v10"] == 0.75
    assert got["ivh_v90"] == 0.25
    assert got["ivh_i10"] == 5.0
    assert got["ivh_i90"] == 2.0
    ranged = intensity_volume_histogram_features(
        image, mask, method="fixed_bin_number", bin_count=4, intensity_range=(0.0, 100.0)
    )
    assert ranged == got


def test_none_rounds_and_takes_open_bounds_from_the_roi():
    image, mask = _column([0.4, 1.0, 2.0, 2.0, 9.6])  # rounded: 0, 1, 2, 2, 10
    half_open = intensity_volume_histogram_features(
        image, mask, method="none", intensity_range=(-10.0, None)
    )
    # G = [-10, 10]: V90 at i = 8 (gamma = .9) -> one voxel of five
    assert half_open["ivh_v90"] == 0.2
    assert half_open["ivh_v10"] == 1.0  # i = -8
    assert half_open["ivh_i90"] == 1.0
    assert half_open["ivh_i10"] == 11.0  # nu <= .1 of five voxels: none left, above the 10
    closed = intensity_volume_histogram_features(image, mask, method="none")
    # G = [0, 10]: V10 at i = 1 -> 4 voxels of 5
    assert closed["ivh_v10"] == 0.8


def _twin(intensities: np.ndarray, g_min: float, g_max: float, step: float) -> dict[str, float]:
    """V10, V90, I10, I90 and the area from the manual's formulas, one intensity at a time.

    V and the area use the intensities of G; I continues the grid past G up to one step above
    the highest intensity, where ν = 0 (radiome's documented choice).
    """
    top = max(g_max, intensities.max() + step)
    grid = g_min + step * np.arange(round((top - g_min) / step) + 1)
    nu = np.array([1 - np.mean(intensities < i) for i in grid])
    in_g = grid <= g_max
    gamma = (grid[in_g] - g_min) / (g_max - g_min)
    return {
        "ivh_v10": max(n for n, g in zip(nu[in_g], gamma, strict=True) if g >= 0.1),
        "ivh_v90": max(n for n, g in zip(nu[in_g], gamma, strict=True) if g >= 0.9),
        "ivh_i10": min(i for i, n in zip(grid, nu, strict=True) if n <= 0.1),
        "ivh_i90": min(i for i, n in zip(grid, nu, strict=True) if n <= 0.9),
        "ivh_auc": float(np.trapezoid(nu[in_g], gamma)),
    }


@pytest.mark.parametrize("seed", range(5))
def test_none_agrees_with_the_manual_twin(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-50, 60, size=int(rng.integers(3, 200))).astype(np.float64)
    got = intensity_volume_histogram_features(
        *_column(x), method="none", intensity_range=(-60.0, 70.0)
    )
    for name, value in _twin(x, -60.0, 70.0, 1.0).items():
        assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name


@pytest.mark.parametrize("seed", range(5))
def test_fixed_bin_size_agrees_with_the_manual_twin(seed):
    rng = np.random.default_rng(100 + seed)
    w, lo, hi = 0.5, -4.0, 6.0
    x = rng.uniform(lo, hi - 1e-6, size=int(rng.integers(3, 200)))
    centres = lo + (np.floor((x - lo) / w) + 1 - 0.5) * w
    got = intensity_volume_histogram_features(
        *_column(x), method="fixed_bin_size", bin_width=w, intensity_range=(lo, hi)
    )
    for name, value in _twin(centres, lo + w / 2, hi - w / 2, w).items():
        assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name


def test_single_intensity_gives_zero_auc_and_needs_a_range_for_fractions():
    got = intensity_volume_histogram_features(*_column([5.0, 5.0]), method="none")
    assert got["ivh_auc"] == 0.0  # the manual's definition for a single intensity
    assert math.isnan(got["ivh_v10"])  # G = [5, 5]: intensity fraction undefined
    assert got["ivh_i10"] == 6.0
    assert got["ivh_i90"] == 6.0
    ranged = intensity_volume_histogram_features(
        *_column([5.0, 5.0]), method="none", intensity_range=(0.0, 10.0)
    )
    assert ranged["ivh_auc"] == 0.0
    assert ranged["ivh_v10"] == 1.0
    assert ranged["ivh_v90"] == 0.0


def test_family_reads_the_spec_and_the_range():
    image, mask = _column([0.0, 0.3, 1.2, 2.7, 2.9])
    roi = RoiData(
        image=image, morph_mask=mask, int_mask=mask, spacing=(1.0, 1.0, 1.0),
        levels=mask.astype(np.int32), n_levels=1, unit="HU", resegmentation_range=(0.0, 3.0),
    )
    spec = Spec.model_validate({
        "preprocessing": {
            "discretisation": {"method": "fixed_bin_size", "bin_width": 1},
            "ivh": {"method": "fixed_bin_size", "bin_width": 1.0},
        }
    })
    got = FAMILY.compute(roi, spec)
    assert got[("ivh_v10", "")] == 0.6
    assert got[("ivh_i90", "")] == 1.5
    assert {name for name, _ in got} == {f.name for f in FEATURES}


def test_bad_settings_are_errors():
    image, mask = _column([1.0, 2.0])
    with pytest.raises(FeatureError, match="bin_width"):
        intensity_volume_histogram_features(image, mask, method="fixed_bin_size")
    with pytest.raises(FeatureError, match="bin_count"):
        intensity_volume_histogram_features(image, mask, method="fixed_bin_number", bin_count=0)
    with pytest.raises(FeatureError, match="'lloyd'"):
        intensity_volume_histogram_features(image, mask, method="lloyd")  # type: ignore[arg-type]
    with pytest.raises(FeatureError, match="no voxel"):
        intensity_volume_histogram_features(image, np.zeros_like(mask), method="none")
