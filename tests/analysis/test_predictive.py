"""Treatment x biomarker interaction (logistic, Cox) and treatment effects within strata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from radiome.analysis import forest_plot, predictive_value, survival_array, treatment_effect
from radiome.errors import AnalysisError


def _trial(n: int = 400, seed: int = 0):
    """Randomised trial where the treatment helps only patients with a high biomarker."""
    rng = np.random.default_rng(seed)
    treat = rng.integers(0, 2, n)
    marker = rng.normal(size=n)
    logit = -0.2 + 0.3 * marker + 0.2 * treat - 1.0 * treat * marker
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    hazard = np.exp(0.3 * marker - 1.0 * treat * marker)
    time = rng.exponential(1 / hazard)
    cens = rng.exponential(2.0, n)
    return treat, marker, y, survival_array(time <= cens, np.minimum(time, cens))


def test_logistic_interaction_equals_statsmodels_formula():
    import statsmodels.formula.api as smf

    treat, marker, y, _ = _trial()
    res = predictive_value(y, treat, marker)
    ref = smf.logit("y ~ t * b", pd.DataFrame({"y": y, "t": treat, "b": marker})).fit(disp=0)
    assert res["interaction"]["coef"] == pytest.approx(ref.params["t:b"], rel=1e-6)
    assert res["interaction"]["p"] == pytest.approx(ref.pvalues["t:b"], rel=1e-5)
    assert res["interaction"]["p"] < 0.05
    assert res["measure"] == "odds ratio"


def test_cox_interaction_equals_statsmodels_phreg():
    from statsmodels.duration.hazard_regression import PHReg

    treat, marker, _, y = _trial()
    res = predictive_value(y, treat, marker)
    design = np.column_stack([treat, marker, treat * marker])
    ref = PHReg(y["time"], design, status=y["event"].astype(int), ties="efron").fit()
    assert res["interaction"]["coef"] == pytest.approx(ref.params[2], rel=1e-4)
    assert res["interaction"]["se"] == pytest.approx(ref.bse[2], rel=1e-4)
    assert res["interaction"]["p"] < 1e-3
    assert res["measure"] == "hazard ratio"


def test_stratum_odds_ratios_by_hand():
    """Within a stratum, one binary predictor: OR = ad / bc, SE(log OR) = sqrt(1/a+1/b+1/c+1/d).

    Low biomarker: treated 12 events / 8 not, control 6 / 14 -> OR = 12*14 / (8*6) = 3.5.
    High biomarker: treated 5 / 15, control 10 / 10 -> OR = 5*10 / (15*10) = 1/3.
    """
    cells = [  # (biomarker, treatment, outcome, count)
        (0.0, 1, 1, 12),
        (0.0, 1, 0, 8),
        (0.0, 0, 1, 6),
        (0.0, 0, 0, 14),
        (1.0, 1, 1, 5),
        (1.0, 1, 0, 15),
        (1.0, 0, 1, 10),
        (1.0, 0, 0, 10),
    ]
    rows = [(b, t, o) for b, t, o, k in cells for _ in range(k)]
    marker, treat, y = (np.array(c) for c in zip(*rows, strict=True))
    res = predictive_value(y, treat, marker, cutoff=0.5)
    strata = res["strata"].set_index("stratum")
    z = stats.norm.ppf(0.975)
    for label, (a, b, c, d) in (
        ("biomarker < 0.5", (12, 8, 6, 14)),
        ("biomarker >= 0.5", (5, 15, 10, 10)),
    ):
        odds_ratio = a * d / (b * c)
        se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
        row = strata.loc[label]
        assert row["ratio"] == pytest.approx(odds_ratio, rel=1e-6)
        assert row["se"] == pytest.approx(se, rel=1e-5)
        assert row["ratio_ci_low"] == pytest.approx(odds_ratio * np.exp(-z * se), rel=1e-5)
        assert row["ratio_ci_high"] == pytest.approx(odds_ratio * np.exp(z * se), rel=1e-5)
        assert row["n"] == a + b + c + d
    # with a 0/1 biomarker the interaction is the ratio of the two stratum odds ratios
    assert res["interaction"]["ratio"] == pytest.approx((1 / 3) / 3.5, rel=1e-5)
    overall = treatment_effect(y, treat)
    assert overall["ratio"] == pytest.approx((17 * 24) / (23 * 16), rel=1e-6)


def test_forest_plot_writes_png(tmp_path: Path):
    treat, marker, y, _ = _trial()
    res = predictive_value(y, treat, marker)
    path = forest_plot(res["strata"], tmp_path / "forest.png", measure=res["measure"])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5000


def test_errors_name_the_problem():
    treat, marker, y, _ = _trial(50)
    with pytest.raises(AnalysisError, match="exactly 2 arms"):
        predictive_value(y, np.arange(50) % 3, marker)
    with pytest.raises(AnalysisError, match="50 finite values"):
        predictive_value(y, treat, np.r_[marker[:-1], np.nan])
