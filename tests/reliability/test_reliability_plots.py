"""Reliability figures: PNG files of the right size, and clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radiome.errors import ReliabilityError
from radiome.reliability import plot_bland_altman, plot_icc


def _icc_table(n):
    rng = np.random.default_rng(0)
    icc = rng.uniform(0.2, 0.99, n)
    return pd.DataFrame(
        {
            "feature": [f"f{i}" for i in range(n)],
            "icc": icc,
            "ci_low": icc - 0.1,
            "ci_high": np.minimum(icc + 0.05, 1.0),
            "form": "ICC2",
        }
    )


@pytest.mark.parametrize("n", [8, 300])
def test_plot_icc_writes_a_png(tmp_path, n):
    import matplotlib.image

    path = plot_icc(_icc_table(n), tmp_path / "sub" / "icc.png", min_icc=0.75)
    assert path == tmp_path / "sub" / "icc.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(path).shape
    assert width == 900  # 7.5 in at 120 dpi
    assert height >= 360


def test_plot_icc_bad_path_or_table_is_an_error(tmp_path):
    with pytest.raises(ReliabilityError, match=r"must end in \.png"):
        plot_icc(_icc_table(3), tmp_path / "icc.pdf")
    with pytest.raises(ReliabilityError, match=r"lacks column\(s\) \['ci_low'\]"):
        plot_icc(_icc_table(3).drop(columns="ci_low"), tmp_path / "icc.png")
    with pytest.raises(ReliabilityError, match="no feature with a defined ICC"):
        plot_icc(_icc_table(3).assign(icc=np.nan), tmp_path / "icc.png")


def test_plot_bland_altman_writes_a_png(tmp_path):
    import matplotlib.image

    rng = np.random.default_rng(1)
    x = rng.normal(10, 2, 40)
    path = plot_bland_altman(
        x,
        x + rng.normal(0.3, 0.5, 40),
        tmp_path / "ba.png",
        feature="stat_mean",
        labels=("test", "retest"),
    )
    assert matplotlib.image.imread(path).shape[:2] == (540, 720)
    with pytest.raises(ReliabilityError, match="paired samples"):
        plot_bland_altman(x, x[:-1], tmp_path / "ba2.png")
