"""Prognostic metrics against scikit-survival's and lifelines' own results on their datasets.

Datasets ship with the libraries: scikit-survival's whas500 and veterans_lung_cancer, lifelines'
rossi. The reference C-index of a Cox model is what each library reports for its own fit
(``CoxPHSurvivalAnalysis.score``, ``CoxPHFitter.concordance_index_``); the scikit-survival user
guide gives 0.7362 for the Cox model on the veterans data, the lifelines docs 0.64 for rossi.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import require_module

from radiome.analysis import (
    concordance,
    harrell_c,
    integrated_brier,
    kaplan_meier,
    logrank,
    survival_array,
    time_dependent_auc,
    uno_c,
)

sksurv_datasets = require_module("sksurv.datasets")


def _sksurv_cox(loader):
    from sksurv.column import encode_categorical
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    X, y = loader()
    X = encode_categorical(X).astype(float)
    event, time = y[y.dtype.names[0]], y[y.dtype.names[1]]
    model = CoxPHSurvivalAnalysis().fit(X, y)
    return model, X, survival_array(event, time), y


@pytest.fixture(scope="module")
def whas500():
    return _sksurv_cox(sksurv_datasets.load_whas500)


@pytest.fixture(scope="module")
def veterans():
    return _sksurv_cox(sksurv_datasets.load_veterans_lung_cancer)


@pytest.fixture(scope="module")
def rossi():
    from lifelines import CoxPHFitter
    from lifelines.datasets import load_rossi

    data = load_rossi()
    return CoxPHFitter().fit(data, "week", "arrest"), data


@pytest.mark.parametrize("name", ["whas500", "veterans"])
def test_harrell_equals_sksurv_and_lifelines(name, request):
    from lifelines.utils import concordance_index

    model, X, y, y_raw = request.getfixturevalue(name)
    risk = model.predict(X)
    assert harrell_c(y, risk) == pytest.approx(model.score(X, y_raw), abs=1e-12)
    assert harrell_c(y, risk) == pytest.approx(
        concordance_index(y["time"], -risk, y["event"]), abs=1e-12
    )


def test_harrell_veterans_user_guide_value(veterans):
    model, X, y, _ = veterans
    assert harrell_c(y, model.predict(X)) == pytest.approx(0.7362, abs=1e-4)


def test_harrell_equals_lifelines_on_rossi(rossi):
    cph, data = rossi
    y = survival_array(data["arrest"], data["week"])
    got = harrell_c(y, cph.predict_partial_hazard(data).to_numpy())
    assert got == pytest.approx(cph.concordance_index_, abs=1e-12)
    assert round(got, 2) == 0.64


def test_tie_handling_by_hand():
    """Comparable pairs: the earlier time is an event; two events at the same time are not
    comparable; an event and a censoring at the same time are. Equal risks count 1/2.

    times (1, 2, 2, 3, 4, 2), events (1, 1, 1, 0, 1, 0), risks (5, 3, 3, 4, 1, 3):
    case 0 vs 1..5: 5 pairs, all concordant; case 1 vs 3, 4, 5: 0 + 1 + 1/2; case 2 likewise.
    C = (5 + 1.5 + 1.5) / 11.
    """
    y = survival_array([1, 1, 1, 0, 1, 0], [1, 2, 2, 3, 4, 2])
    assert harrell_c(y, [5, 3, 3, 4, 1, 3]) == pytest.approx(8 / 11)


def test_uno_equals_harrell_without_censoring():
    rng = np.random.default_rng(0)
    time = rng.exponential(size=80)
    risk = -time + rng.normal(scale=0.5, size=80)
    y = survival_array(np.ones(80, bool), time)
    assert uno_c(y, risk) == pytest.approx(harrell_c(y, risk), abs=1e-12)


def test_uno_equals_sksurv(veterans):
    from sksurv.metrics import concordance_index_ipcw

    model, X, y, y_raw = veterans
    risk = model.predict(X)
    assert uno_c(y, risk, tau=200.0) == pytest.approx(
        concordance_index_ipcw(y_raw, y_raw, risk, tau=200.0)[0], abs=1e-12
    )


def test_concordance_ci(whas500):
    model, X, y, _ = whas500
    risk = model.predict(X)
    res = concordance(y, risk, tau=1500.0, n_boot=150, random_state=1)
    assert res["c_index"] == pytest.approx(harrell_c(y, risk))
    assert res["uno_c"] == pytest.approx(uno_c(y, risk, tau=1500.0))
    assert res["c_index_ci_low"] < res["c_index"] < res["c_index_ci_high"]
    assert res["uno_c_ci_low"] < res["uno_c"] < res["uno_c_ci_high"]
    assert 0.01 < res["c_index_ci_high"] - res["c_index_ci_low"] < 0.15
    assert res == concordance(y, risk, tau=1500.0, n_boot=150, random_state=1)


def test_time_dependent_auc_and_brier_equal_sksurv(veterans):
    from sksurv.metrics import cumulative_dynamic_auc, integrated_brier_score

    model, X, y, y_raw = veterans
    times = np.array([10.0, 30.0, 60.0, 90.0, 120.0, 180.0])
    risk = model.predict(X)
    auc, mean_auc = time_dependent_auc(y, risk, times)
    ref_auc, ref_mean = cumulative_dynamic_auc(y_raw, y_raw, risk, times)
    np.testing.assert_allclose(auc, ref_auc, atol=1e-12)
    assert mean_auc == pytest.approx(ref_mean, abs=1e-12)
    surv = np.vstack([fn(times) for fn in model.predict_survival_function(X)])
    assert integrated_brier(y, surv, times) == pytest.approx(
        integrated_brier_score(y_raw, y_raw, surv, times), abs=1e-12
    )


def test_logrank_equals_sksurv(veterans):
    from sksurv.compare import compare_survival

    _, X, y, y_raw = veterans
    group = np.where(X["Celltype=smallcell"] == 1, "small", "other")
    chisq, p = compare_survival(y_raw, group)
    got = logrank(y, group)
    assert got["statistic"] == pytest.approx(chisq, rel=1e-9)
    assert got["p"] == pytest.approx(p, rel=1e-9)


def test_kaplan_meier_equals_lifelines(rossi):
    from lifelines import KaplanMeierFitter

    _, data = rossi
    y = survival_array(data["arrest"], data["week"])
    curves = kaplan_meier(y, np.where(data["fin"] == 1, "aid", "no aid"))
    for label, fin in (("aid", 1), ("no aid", 0)):
        sub = data[data["fin"] == fin]
        km = KaplanMeierFitter().fit(sub["week"], sub["arrest"])
        time, surv = curves[label]
        ref = km.survival_function_at_times(time).to_numpy()
        np.testing.assert_allclose(surv, ref, atol=1e-12)
    assert set(curves) == {"aid", "no aid"}


def test_bootstrap_resamples_score_like_sksurv(veterans):
    """The fast bootstrap statistic equals scikit-survival on the resampled rows (duplicates,
    tied times and tied risks included)."""
    from radiome.analysis.survival import _ResampledConcordance

    model, X, y, _ = veterans
    rng = np.random.default_rng(5)
    risk = np.vstack(
        [np.round(model.predict(X), 1), np.round(X["Karnofsky_score"].to_numpy() * -1)]
    )
    stat = _ResampledConcordance(y, risk, tau=300.0)
    for _ in range(5):
        rows = rng.integers(0, y.size, y.size)
        expected = [harrell_c(y[rows], risk[:, rows]), uno_c(y[rows], risk[:, rows], tau=300.0)]
        np.testing.assert_allclose(stat(rows), expected, rtol=1e-12)
