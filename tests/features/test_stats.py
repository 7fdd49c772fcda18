"""Intensity-based statistics (UHIW) against NumPy's own reductions, the slow twin.

The fast path sorts once, reads the percentiles off the order statistics and sums in blocks
added pairwise; the twin is the manual's formulas written with ``np.percentile`` and
``np.mean``. Percentiles must be NumPy's exactly, the sums equal to rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

from radiome.errors import FeatureError
from radiome.features.stats import (
    FEATURES,
    intensity_statistics,
    linear_percentiles,
    pairwise_total,
)


def _twin(x: np.ndarray) -> dict[str, float]:
    """The 18 statistics with NumPy's reductions, one formula each."""
    mu = x.mean()
    dev = x - mu
    var = np.mean(dev**2)
    p10, p25, median, p75, p90 = np.percentile(x, [10, 25, 50, 75, 90])
    robust = x[(x >= p10) & (x <= p90)]
    return {
        "stat_mean": mu, "stat_var": var,
        "stat_skew": np.mean(dev**3) / var**1.5 if var > 0 else np.nan,
        "stat_kurt": np.mean(dev**4) / var**2 - 3.0 if var > 0 else np.nan,
        "stat_median": median, "stat_min": x.min(), "stat_p10": p10, "stat_p90": p90,
        "stat_max": x.max(), "stat_iqr": p75 - p25, "stat_range": x.max() - x.min(),
        "stat_mad": np.mean(np.abs(dev)),
        "stat_rmad": np.mean(np.abs(robust - robust.mean())),
        "stat_medad": np.mean(np.abs(x - median)),
        "stat_cov": np.sqrt(var) / mu if mu != 0 else np.nan,
        "stat_qcod": (p75 - p25) / (p75 + p25) if p75 + p25 != 0 else np.nan,
        "stat_energy": np.sum(x**2), "stat_rms": np.sqrt(np.mean(x**2)),
    }


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 127, 128, 129, 1000, 4137, 70001])
@pytest.mark.parametrize("kind", ["float", "int"])
def test_percentiles_are_numpys_exactly(n, kind):
    rng = np.random.default_rng(n)
    x = rng.normal(100.0, 40.0, n)
    if kind == "int":
        x = np.rint(x).astype(np.int64)
    got = linear_percentiles(np.sort(x).__getitem__, n)
    np.testing.assert_array_equal(got, np.percentile(x, [10, 25, 50, 75, 90]))


@pytest.mark.parametrize("n", [1, 5, 128, 129, 1000, 100_000])
def test_pairwise_total_sums_every_row(n):
    rng = np.random.default_rng(n)
    partial = rng.normal(size=(n, 3)) * 1e3
    np.testing.assert_allclose(pairwise_total(partial), np.sum(partial, axis=0), rtol=1e-13,
                               atol=1e-9)
    assert pairwise_total(np.ones((n, 2))).tolist() == [n, n]  # exact on integers


@pytest.mark.parametrize("seed", range(6))
def test_agrees_with_numpy_twin(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 20_000))
    x = rng.gamma(2.0, 300.0, n) - 200.0 * seed
    if seed % 2:
        x = np.rint(x)  # CT-like integers: ties around the percentiles
    got = intensity_statistics(x)
    expected = _twin(x)
    assert list(got) == [f.name for f in FEATURES]
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-11, atol=1e-9, err_msg=name)


def test_constant_values_leave_skewness_and_kurtosis_undefined():
    got = intensity_statistics(np.full(10, 3.0))
    assert np.isnan(got["stat_skew"]) and np.isnan(got["stat_kurt"])
    assert got["stat_var"] == 0.0 and got["stat_rmad"] == 0.0 and got["stat_energy"] == 90.0


def test_no_voxel_is_an_error():
    with pytest.raises(FeatureError, match="no voxel"):
        intensity_statistics(np.array([]))
