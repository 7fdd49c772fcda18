"""Likelihood-ratio test, NRI and IDI on small examples computed by hand (see each docstring)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from radiome.analysis import idi, likelihood_ratio_test, nri, survival_array
from radiome.errors import AnalysisError

Y_BIN = np.array([1, 1, 1, 1, 0, 0, 0, 0])
OLD_BIN = np.array([0.2, 0.4, 0.6, 0.1, 0.3, 0.5, 0.1, 0.7])
NEW_BIN = np.array([0.3, 0.6, 0.5, 0.1, 0.2, 0.6, 0.05, 0.4])


def test_continuous_nri_binary_by_hand():
    """Events: up, up, down, same -> 2/4 - 1/4; non-events: down, up, down, down -> 3/4 - 1/4."""
    res = nri(Y_BIN, OLD_BIN, NEW_BIN, n_boot=200)
    assert res["nri_events"] == pytest.approx(0.25)
    assert res["nri_nonevents"] == pytest.approx(0.5)
    assert res["nri"] == pytest.approx(0.75)
    assert res["nri_ci_low"] <= res["nri"] <= res["nri_ci_high"]


def test_categorical_nri_binary_by_hand():
    """Cut-offs 0.25, 0.5: old categories 0 1 2 0 | 1 2 0 2, new 1 2 2 0 | 0 2 0 1.
    Events: up, up, same, same -> 1/2; non-events: down, same, same, down -> 1/2."""
    res = nri(Y_BIN, OLD_BIN, NEW_BIN, cutoffs=[0.25, 0.5], n_boot=200)
    assert res["nri_events"] == pytest.approx(0.5)
    assert res["nri_nonevents"] == pytest.approx(0.5)
    assert res["nri"] == pytest.approx(1.0)


def test_idi_binary_by_hand():
    """Mean change among events (0.1 + 0.2 - 0.1 + 0) / 4 = 0.05; among non-events
    (-0.1 + 0.1 - 0.05 - 0.3) / 4 = -0.0875; IDI = 0.1375."""
    res = idi(Y_BIN, OLD_BIN, NEW_BIN, n_boot=200)
    assert res["idi_events"] == pytest.approx(0.05)
    assert res["idi_nonevents"] == pytest.approx(-0.0875)
    assert res["idi"] == pytest.approx(0.1375)
    assert res["idi_ci_low"] <= res["idi"] <= res["idi_ci_high"]


# Survival at horizon 5: times 2 3 4 6 7 8, events 1 0 1 0 1 0.
# Censoring Kaplan-Meier G: drops at 3 (5 at risk) to 0.8, at 6 (3 at risk) to 0.8 * 2/3.
# Events by 5: case 0 (weight 1/G(2-) = 1) and case 2 (1/G(4-) = 1/0.8 = 1.25); case 1 is
# censored before 5 (weight 0); cases 3, 4, 5 are event-free at 5 (weight 1/G(5) = 1.25).
Y_SURV = survival_array([1, 0, 1, 0, 1, 0], [2, 3, 4, 6, 7, 8])
OLD_SURV = np.array([0.3, 0.5, 0.4, 0.2, 0.6, 0.1])
NEW_SURV = np.array([0.5, 0.2, 0.3, 0.1, 0.7, 0.3])


@pytest.mark.filterwarnings("ignore:bootstrap:radiome.errors.AnalysisWarning")  # 6 cases
def test_continuous_nri_survival_by_hand():
    """Events: case 0 up (w 1), case 2 down (w 1.25): (1 - 1.25) / 2.25 = -1/9.
    Non-events: down, up, up (equal weights): 1/3 - 2/3 = -1/3. NRI = -4/9."""
    res = nri(Y_SURV, OLD_SURV, NEW_SURV, horizon=5.0, n_boot=200)
    assert res["nri_events"] == pytest.approx(-1 / 9)
    assert res["nri_nonevents"] == pytest.approx(-1 / 3)
    assert res["nri"] == pytest.approx(-4 / 9)


@pytest.mark.filterwarnings("ignore:bootstrap:radiome.errors.AnalysisWarning")  # 6 cases
def test_categorical_nri_survival_by_hand():
    """Cut-off 0.35: old categories 0 1 1 0 1 0, new 1 0 0 0 1 0.
    Events: case 0 up (w 1), case 2 down (w 1.25) -> -1/9; non-events: all stay -> 0."""
    res = nri(Y_SURV, OLD_SURV, NEW_SURV, cutoffs=[0.35], horizon=5.0, n_boot=200)
    assert res["nri_events"] == pytest.approx(-1 / 9)
    assert res["nri_nonevents"] == pytest.approx(0.0)


@pytest.mark.filterwarnings("ignore:bootstrap:radiome.errors.AnalysisWarning")  # 6 cases
def test_idi_survival_by_hand():
    """Events: (1 * 0.2 + 1.25 * -0.1) / 2.25 = 1/30; non-events: (-0.1 + 0.1 + 0.2) / 3 = 1/15;
    IDI = 1/30 - 1/15 = -1/30."""
    res = idi(Y_SURV, OLD_SURV, NEW_SURV, horizon=5.0, n_boot=200)
    assert res["idi_events"] == pytest.approx(1 / 30)
    assert res["idi_nonevents"] == pytest.approx(1 / 15)
    assert res["idi"] == pytest.approx(-1 / 30)


def test_survival_without_censoring_reduces_to_binary():
    y = survival_array(np.ones(8, bool), [1, 2, 3, 4, 6, 7, 8, 9])
    old = OLD_BIN[[0, 1, 2, 3, 4, 5, 6, 7]]
    res_s = idi(y, old, NEW_BIN, horizon=5.0, n_boot=100)
    res_b = idi(Y_BIN, old, NEW_BIN, n_boot=100)
    assert res_s["idi"] == pytest.approx(res_b["idi"])


def test_lr_test_binary_by_hand():
    """One binary predictor: the MLE fits the group proportions 3/10 and 7/10, the null model 1/2.
    LL_full = 20 (0.3 ln 0.3 + 0.7 ln 0.7), LL_null = 20 ln 0.5."""
    x = np.repeat([0, 1], 10)
    y = np.r_[np.repeat([1, 0], [3, 7]), np.repeat([1, 0], [7, 3])]
    res = likelihood_ratio_test(y, pd.DataFrame(index=range(20)), pd.DataFrame({"x": x}))
    ll_full = 20 * (0.3 * np.log(0.3) + 0.7 * np.log(0.7))
    ll_null = 20 * np.log(0.5)
    assert res["loglik_full"] == pytest.approx(ll_full, abs=1e-6)
    assert res["loglik_base"] == pytest.approx(ll_null, abs=1e-9)
    assert res["statistic"] == pytest.approx(2 * (ll_full - ll_null), abs=1e-6)
    assert res["df"] == 1
    assert res["p"] == pytest.approx(stats.chi2.sf(2 * (ll_full - ll_null), 1), rel=1e-5)


def test_lr_test_cox_equals_statsmodels_phreg():
    """Nested Cox models on lifelines' rossi data against statsmodels' PHReg (Efron ties)."""
    from lifelines.datasets import load_rossi
    from statsmodels.duration.hazard_regression import PHReg

    data = load_rossi()
    y = survival_array(data["arrest"], data["week"])
    res = likelihood_ratio_test(y, data[["age", "prio"]], data[["fin", "wexp"]])
    ll = {
        cols: PHReg(
            data["week"], data[list(cols)].astype(float), status=data["arrest"], ties="efron"
        )
        .fit()
        .llf
        for cols in (("age", "prio"), ("age", "prio", "fin", "wexp"))
    }
    expected = 2 * (ll[("age", "prio", "fin", "wexp")] - ll[("age", "prio")])
    assert res["statistic"] == pytest.approx(expected, rel=1e-5)
    assert res["df"] == 2
    null = likelihood_ratio_test(y, pd.DataFrame(index=data.index), data[["fin"]])
    fin = PHReg(data["week"], data[["fin"]].astype(float), status=data["arrest"], ties="efron")
    assert null["statistic"] == pytest.approx(
        2 * (fin.fit().llf - fin.loglike(np.zeros(1))), rel=1e-5
    )


def test_errors_name_the_problem():
    with pytest.raises(AnalysisError, match="horizon"):
        nri(Y_SURV, OLD_SURV, NEW_SURV)
    with pytest.raises(AnalysisError, match="increasing"):
        nri(Y_BIN, OLD_BIN, NEW_BIN, cutoffs=[0.5, 0.2])
    with pytest.raises(AnalysisError, match=r"risk_new must be 8 finite probabilities"):
        idi(Y_BIN, OLD_BIN, NEW_BIN * 3)
    with pytest.raises(AnalysisError, match="overlap"):
        likelihood_ratio_test(Y_BIN, pd.DataFrame({"a": OLD_BIN}), pd.DataFrame({"a": NEW_BIN}))
