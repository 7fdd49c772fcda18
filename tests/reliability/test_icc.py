"""ICC (six forms), Lin's CCC and Bland–Altman against published values, pingouin and identities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.conftest import require_module

from radiome.errors import ReliabilityError
from radiome.reliability import ICC_FORMS, bland_altman, ccc, icc
from radiome.reliability.concordance import mean_squares

# Shrout & Fleiss 1979, Table 2: four judges (columns) rate six targets (rows).
SHROUT_FLEISS = np.array(
    [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
    dtype=float,
)


def _long(matrix: np.ndarray) -> pd.DataFrame:
    n, k = matrix.shape
    return pd.DataFrame(
        [(f"s{i}", f"r{j}", matrix[i, j]) for i in range(n) for j in range(k)],
        columns=["subject", "rater", "value"],
    )


def test_shrout_fleiss_1979_published_iccs():
    """The six ICCs of Shrout & Fleiss (1979), to the two decimals they publish.

    Source: Shrout PE, Fleiss JL. Intraclass correlations: uses in assessing rater reliability.
    Psychol Bull 1979;86(2):420-428. Table 2 (data: 6 targets x 4 judges), Table 3 (mean
    squares BMS = 11.24, WMS = 6.26, JMS = 32.49, EMS = 1.02) and Table 4 (ICC(1,1) = .17,
    ICC(2,1) = .29, ICC(3,1) = .71, ICC(1,4) = .44, ICC(2,4) = .62, ICC(3,4) = .91).
    """
    published = {
        "ICC1": 0.17,
        "ICC2": 0.29,
        "ICC3": 0.71,
        "ICC1k": 0.44,
        "ICC2k": 0.62,
        "ICC3k": 0.91,
    }
    table = icc(_long(SHROUT_FLEISS), subject="subject", rater="rater", value="value")
    assert table["form"].tolist() == list(ICC_FORMS)
    for form, value in published.items():
        got = table.set_index("form").at[form, "icc"]
        assert round(got, 2) == value, f"{form}: {got:.4f} vs published {value}"
    ms = mean_squares(SHROUT_FLEISS)
    assert (round(ms.msr, 2), round(ms.msw, 2), round(ms.msc, 2), round(ms.mse, 2)) == (
        11.24,
        6.26,
        32.49,
        1.02,
    )


def test_icc_forms_carry_mcgraw_wong_names_and_models():
    table = icc(_long(SHROUT_FLEISS), subject="subject", rater="rater", value="value")
    assert table["mcgraw_wong"].tolist() == [
        "ICC(1)",
        "ICC(A,1)",
        "ICC(C,1)",
        "ICC(k)",
        "ICC(A,k)",
        "ICC(C,k)",
    ]
    assert table["model"].tolist()[:3] == ["one-way random", "two-way random", "two-way mixed"]
    assert table["agreement"].tolist()[:3] == ["absolute agreement"] * 2 + ["consistency"]


# pingouin 0.7 names its rows after McGraw & Wong
_PINGOUIN_TYPES = {
    "ICC1": "ICC(1,1)",
    "ICC2": "ICC(A,1)",
    "ICC3": "ICC(C,1)",
    "ICC1k": "ICC(1,k)",
    "ICC2k": "ICC(A,k)",
    "ICC3k": "ICC(C,k)",
}


@pytest.mark.parametrize(("seed", "n", "k"), [(0, 6, 4), (1, 30, 2), (2, 12, 5), (3, 50, 3)])
def test_icc_matches_pingouin(seed, n, k):
    """Estimates, F-tests and confidence intervals equal pingouin.intraclass_corr's.

    pingouin rounds its CI95 column to two decimals, hence the 0.005 tolerance there.
    """
    pg = require_module("pingouin")
    rng = np.random.default_rng(seed)
    matrix = rng.normal(size=(n, 1)) * 2 + rng.normal(size=(1, k)) * 0.7 + rng.normal(size=(n, k))
    data = _long(matrix)
    ours = icc(data, subject="subject", rater="rater", value="value").set_index("form")
    ref = pg.intraclass_corr(data, targets="subject", raters="rater", ratings="value")
    ref = ref.set_index("Type")
    for form in ICC_FORMS:
        row = ref.loc[_PINGOUIN_TYPES[form]]
        got = ours.loc[form]
        assert got["icc"] == pytest.approx(row["ICC"], rel=1e-10), form
        assert got["f"] == pytest.approx(row["F"], rel=1e-10), form
        assert (got["df1"], got["df2"]) == (row["df1"], row["df2"]), form
        assert got["p_value"] == pytest.approx(row["pval"], rel=1e-8, abs=1e-300), form
        low, high = row["CI95"]
        assert abs(got["ci_low"] - low) <= 0.005 + 1e-9, form
        assert abs(got["ci_high"] - high) <= 0.005 + 1e-9, form


def test_confidence_intervals_contain_estimate_and_widen_with_level():
    data = _long(SHROUT_FLEISS)
    t95 = icc(data, subject="subject", rater="rater", value="value")
    t99 = icc(data, subject="subject", rater="rater", value="value", confidence=0.99)
    assert (t95["ci_low"] <= t95["icc"]).all()
    assert (t95["icc"] <= t95["ci_high"]).all()
    assert (t99["ci_low"] < t95["ci_low"]).all()
    assert (t99["ci_high"] > t95["ci_high"]).all()


def test_perfect_agreement_is_one_with_degenerate_interval():
    matrix = np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [5.0, 5.0, 5.0]])
    table = icc(_long(matrix), subject="subject", rater="rater", value="value")
    assert (table["icc"] == 1.0).all()
    assert (table["ci_low"] == 1.0).all()
    assert (table["ci_high"] == 1.0).all()
    assert (table["p_value"] == 0.0).all()


def test_missing_rating_raises_naming_the_subject():
    data = _long(SHROUT_FLEISS)
    data = data[~((data["subject"] == "s3") & (data["rater"] == "r1"))]
    with pytest.raises(ReliabilityError, match=r"1 subject\(s\) lack .*\['s3'\].*missing='drop'"):
        icc(data, subject="subject", rater="rater", value="value")


def test_missing_policy_drop_is_listwise_deletion():
    data = _long(SHROUT_FLEISS)
    data.loc[(data["subject"] == "s3") & (data["rater"] == "r1"), "value"] = np.nan
    dropped = icc(data, subject="subject", rater="rater", value="value", missing="drop")
    expected = icc(
        _long(np.delete(SHROUT_FLEISS, 3, axis=0)), subject="subject", rater="rater", value="value"
    )
    assert dropped["n_subjects"].eq(5).all()
    np.testing.assert_allclose(dropped["icc"], expected["icc"], rtol=1e-12)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: pd.concat([d, d.iloc[[0]]]), r"duplicated \(subject, rater\).*\('s0', 'r0'\)"),
        (lambda d: d.drop(columns="value"), r"missing column\(s\) \['value'\]"),
        (lambda d: d[d["subject"] == "s0"], r"need >= 2 complete subjects"),
        (lambda d: d[d["rater"] == "r0"], r"and >= 2 raters"),
        (lambda d: d.assign(value="x"), r"column 'value' must hold numbers"),
    ],
)
def test_bad_tables_are_errors_naming_the_problem(mutate, match):
    with pytest.raises(ReliabilityError, match=match):
        icc(mutate(_long(SHROUT_FLEISS)), subject="subject", rater="rater", value="value")


def test_ccc_equals_lins_formula_and_r_times_bias_correction():
    """ρc = 2 s_xy / (s_x² + s_y² + (x̄ - ȳ)²) (moments over n) = r · C_b (Lin 1989, eq. 2-3)."""
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    y = np.array([1.5, 2.0, 3.5, 3.5, 5.5])
    got = ccc(x, y)
    # by hand: x̄ = 3, ȳ = 3.2, s_x² = 2, s_y² = 1.96, s_xy = 1.9
    assert got["ccc"] == pytest.approx(2 * 1.9 / (2 + 1.96 + 0.2**2), rel=1e-12)
    v = np.sqrt(2 / 1.96)
    u2 = 0.2**2 / np.sqrt(2 * 1.96)
    assert got["bias_correction"] == pytest.approx(2 / (v + 1 / v + u2), rel=1e-12)
    assert got["ccc"] == pytest.approx(got["pearson_r"] * got["bias_correction"], rel=1e-12)
    assert got["ci_low"] < got["ccc"] < got["ci_high"]
    shifted = ccc(x, x + 1.0)  # perfect precision, biased: 2 s² / (2 s² + 1)
    assert shifted["ccc"] == pytest.approx(4 / 5, rel=1e-12)
    assert shifted["pearson_r"] == pytest.approx(1.0)


def test_ccc_interval_coverage_by_simulation():
    """Lin's z-transform interval covers the true ρc in about 95 % of seeded samples.

    Bivariate normal with σx = 1, σy = 1.2, ρ = 0.8, μy - μx = 0.3: true
    ρc = 2 ρ σx σy / (σx² + σy² + 0.3²). 400 samples of n = 60; a binomial 95 % band
    around 0.95 is about ± 0.022.
    """
    rng = np.random.default_rng(7)
    sx, sy, rho, shift = 1.0, 1.2, 0.8, 0.3
    truth = 2 * rho * sx * sy / (sx**2 + sy**2 + shift**2)
    cov = [[sx**2, rho * sx * sy], [rho * sx * sy, sy**2]]
    covered = 0
    for _ in range(400):
        xy = rng.multivariate_normal([0.0, shift], cov, size=60)
        got = ccc(xy[:, 0], xy[:, 1])
        covered += got["ci_low"] <= truth <= got["ci_high"]
    assert 0.92 <= covered / 400 <= 0.975


def test_ccc_rejects_bad_input():
    with pytest.raises(ReliabilityError, match="same length >= 3"):
        ccc([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ReliabilityError, match="constant"):
        ccc([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])
    with pytest.raises(ReliabilityError, match="finite"):
        ccc([1.0, np.nan, 3.0], [1.0, 2.0, 3.0])


def test_bland_altman_equals_hand_computed_limits():
    """Differences y - x = (0.5, 0, 0.5, -0.5, 0.5): bias 0.2, SD (n - 1) sqrt(0.2)."""
    got = bland_altman([1.0, 2.0, 3.0, 4.0, 5.0], [1.5, 2.0, 3.5, 3.5, 5.5])
    assert got["bias"] == pytest.approx(0.2)
    assert got["sd"] == pytest.approx(np.sqrt(0.2))
    assert got["loa_low"] == pytest.approx(0.2 - 1.96 * np.sqrt(0.2))
    assert got["loa_high"] == pytest.approx(0.2 + 1.96 * np.sqrt(0.2))
    assert got["n"] == 5
