"""Intensity histogram features (ZVCW) on hand-computable histograms.

Provenance: the digital phantom's histogram H = (50, 0, 1, 16, 0, 7) over levels 1..6 follows
from the IVH table of the IBSI 1 manual (03_Image_features.rst, "Calculating the IV histogram":
ν = 1, 0.324, 0.324, 0.311, 0.095, 0.095 of 74 voxels); the gradient values are worked out
by hand from the manual's definition of H'.
"""

from __future__ import annotations

import numpy as np
import pytest

from radiome.errors import FeatureError
from radiome.features.histogram import FEATURES, intensity_histogram_features


def _column(levels) -> tuple[np.ndarray, np.ndarray]:
    """A (1, 1, n) levels array and its all-true mask."""
    arr = np.asarray(levels, dtype=np.int32).reshape(1, 1, -1)
    return arr, np.ones(arr.shape, dtype=bool)


PHANTOM = np.repeat([1, 3, 4, 6], [50, 1, 16, 7])


def _twin(x: np.ndarray, n_levels: int) -> dict[str, float]:
    """The manual's voxel-wise formulas, written out one by one (slow reference)."""
    x = x.astype(np.float64)
    mu = x.mean()
    var = np.mean((x - mu) ** 2)
    counts = np.array([np.sum(x == i) for i in range(1, n_levels + 1)], dtype=np.float64)
    grad = np.empty(n_levels)
    grad[0] = counts[1] - counts[0]
    grad[-1] = counts[-1] - counts[-2]
    for i in range(1, n_levels - 1):
        grad[i] = (counts[i + 1] - counts[i - 1]) / 2
    p = counts / x.size
    p10, p25, p75, p90 = np.percentile(x, [10, 25, 75, 90])
    robust = x[(x >= p10) & (x <= p90)]
    return {
        "ih_mean": mu,
        "ih_var": var,
        "ih_skew": np.mean((x - mu) ** 3) / var**1.5,
        "ih_kurt": np.mean((x - mu) ** 4) / var**2 - 3,
        "ih_median": np.median(x),
        "ih_min": x.min(),
        "ih_p10": p10,
        "ih_p90": p90,
        "ih_max": x.max(),
        "ih_iqr": p75 - p25,
        "ih_range": x.max() - x.min(),
        "ih_mad": np.mean(np.abs(x - mu)),
        "ih_rmad": np.mean(np.abs(robust - robust.mean())),
        "ih_medad": np.mean(np.abs(x - np.median(x))),
        "ih_cov": np.sqrt(var) / mu,
        "ih_qcod": (p75 - p25) / (p75 + p25),
        "ih_entropy": -sum(q * np.log2(q) for q in p if q > 0),
        "ih_uniformity": np.sum(p**2),
        "ih_max_grad": grad.max(),
        "ih_max_grad_g": np.argmax(grad) + 1.0,
        "ih_min_grad": grad.min(),
        "ih_min_grad_g": np.argmin(grad) + 1.0,
    }


def test_digital_phantom_features_equal_hand_computed_values():
    got = intensity_histogram_features(*_column(PHANTOM), n_levels=6)
    assert set(got) == {f.name for f in FEATURES}
    assert got["ih_mean"] == pytest.approx(159 / 74)
    assert got["ih_min"] == 1.0
    assert got["ih_max"] == 6.0
    assert got["ih_range"] == 5.0
    assert got["ih_median"] == 1.0
    assert got["ih_p10"] == 1.0
    assert got["ih_p90"] == 4.0  # sorted[65] = sorted[66] = 4 (the manual's 4, not 4.2)
    assert got["ih_iqr"] == 3.0  # P75 = 4, P25 = 1
    assert got["ih_qcod"] == pytest.approx(3 / 5)
    assert got["ih_mode"] == 1.0
    # H' = (0-50, (1-50)/2, (16-0)/2, (0-1)/2, (7-16)/2, 7-0)
    assert got["ih_max_grad"] == 8.0
    assert got["ih_max_grad_g"] == 3.0
    assert got["ih_min_grad"] == -50.0
    assert got["ih_min_grad_g"] == 1.0
    p = np.array([50, 1, 16, 7]) / 74
    assert got["ih_uniformity"] == pytest.approx(np.sum(p**2))
    assert got["ih_entropy"] == pytest.approx(-np.sum(p * np.log2(p)))


@pytest.mark.parametrize("seed", range(6))
def test_agrees_with_voxelwise_twin(seed):
    rng = np.random.default_rng(seed)
    n_levels = int(rng.integers(2, 12))
    x = rng.integers(1, n_levels + 1, size=int(rng.integers(5, 300)))
    x[0] = n_levels  # N_g present; with fixed bin size N_g is the highest level in the ROI
    if np.all(x == x[0]):
        x[1] = 1
    got = intensity_histogram_features(*_column(x), n_levels=n_levels)
    for name, value in _twin(x, n_levels).items():
        assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name


def test_only_masked_voxels_count():
    levels = np.array([[[1, 2, 3], [9, 9, 9]]], dtype=np.int32)
    mask = np.array([[[True, True, True], [False, False, False]]])
    got = intensity_histogram_features(levels, mask, n_levels=3)
    assert got["ih_mean"] == 2.0
    assert got["ih_max"] == 3.0


def test_empty_bins_at_the_top_enter_the_gradient():
    # levels 1..4 with N_g = 4 but level 4 absent: H = (2, 1, 3, 0), H' = (-1, 0.5, -0.5, -3)
    got = intensity_histogram_features(*_column([1, 1, 2, 3, 3, 3]), n_levels=4)
    assert got["ih_min_grad"] == -3.0
    assert got["ih_min_grad_g"] == 4.0
    assert got["ih_max_grad"] == 0.5
    assert got["ih_max_grad_g"] == 2.0


def test_mode_ties_go_to_the_bin_closest_to_the_mean():
    # counts (2, 0, 2, 0, 1): mean 2.6, tie between 1 and 3 -> 3 is closer
    assert intensity_histogram_features(*_column([1, 1, 3, 3, 5]), n_levels=5)["ih_mode"] == 3.0
    # counts (2, 0, 2): mean exactly 2, equidistant -> the bin left of the mean
    assert intensity_histogram_features(*_column([1, 1, 3, 3]), n_levels=3)["ih_mode"] == 1.0


def test_constant_roi_gets_zero_spread_and_full_uniformity():
    got = intensity_histogram_features(*_column([2, 2, 2]), n_levels=2)
    assert got["ih_var"] == 0.0
    assert got["ih_skew"] == 0.0  # the manual sets skewness and kurtosis to 0 when var = 0
    assert got["ih_kurt"] == 0.0
    assert got["ih_entropy"] == 0.0
    assert got["ih_uniformity"] == 1.0
    assert got["ih_min_grad"] == 3.0  # H = (0, 3): H' = (n_2 - n_1, n_2 - n_1) = (3, 3)
    assert got["ih_min_grad_g"] == 1.0
    single = intensity_histogram_features(*_column([1, 1]), n_levels=1)
    assert single["ih_max_grad"] == 0.0
    assert single["ih_max_grad_g"] == 1.0


def test_levels_outside_the_range_are_an_error():
    with pytest.raises(FeatureError, match="n_levels=3"):
        intensity_histogram_features(*_column([1, 4]), n_levels=3)
    with pytest.raises(FeatureError, match="no voxel"):
        intensity_histogram_features(
            np.ones((1, 1, 2), np.int32), np.zeros((1, 1, 2), bool), n_levels=1
        )
