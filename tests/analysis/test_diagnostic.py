"""AUC, DeLong variance and paired test, threshold metrics: by hand and against a slow twin."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from radiome.analysis import auc_delong, classification_metrics, delong_test, youden_threshold
from radiome.analysis.diagnostic import fast_auc
from radiome.errors import AnalysisError

# Hand example: cases X_A = (0.9, 0.4), controls Y_A = (0.5, 0.4, 0.1);
# psi(0.9, Y) = (1, 1, 1), psi(0.4, Y) = (0, 1/2, 1) -> V10 = (1, 1/2), AUC = 3/4;
# V01 = (1/2, 3/4, 1); S10 = 1/8, S01 = 1/16; var = S10/2 + S01/3 = 1/12.
# Model B on the same cases: X_B = (0.3, 0.8), Y_B = (0.5, 0.2, 0.1) -> V10 = (2/3, 1),
# V01 = (1/2, 1, 1), AUC = 5/6, var = 1/18, cov(A, B) = (-1/12)/2 + (1/16)/3 = -1/48;
# var(A - B) = 1/12 + 1/18 + 1/24 = 13/72; z = (-1/12) / sqrt(13/72).
Y_HAND = np.array([1, 1, 0, 0, 0])
A_HAND = np.array([0.9, 0.4, 0.5, 0.4, 0.1])
B_HAND = np.array([0.3, 0.8, 0.5, 0.2, 0.1])


def test_delong_by_hand():
    d = auc_delong(Y_HAND, A_HAND)
    assert d["auc"] == pytest.approx(0.75)
    assert d["se"] == pytest.approx(np.sqrt(1 / 12))
    assert d["ci_low"] == pytest.approx(max(0.0, 0.75 - stats.norm.ppf(0.975) * np.sqrt(1 / 12)))
    assert d["ci_high"] == 1.0  # clipped


def test_paired_delong_by_hand():
    t = delong_test(Y_HAND, A_HAND, B_HAND)
    assert t["auc_a"] == pytest.approx(0.75)
    assert t["auc_b"] == pytest.approx(5 / 6)
    assert t["se"] == pytest.approx(np.sqrt(13 / 72))
    z = (-1 / 12) / np.sqrt(13 / 72)
    assert t["z"] == pytest.approx(z)
    assert t["p"] == pytest.approx(2 * stats.norm.cdf(z))


def _slow_delong(y, a, b):
    """The definition: placements from the explicit psi matrix, covariances with ddof=1."""
    out = []
    for s in (a, b):
        x, yy = s[y == 1], s[y == 0]
        psi = (x[:, None] > yy[None, :]) + 0.5 * (x[:, None] == yy[None, :])
        out.append((psi.mean(1), psi.mean(0)))
    m, n = (y == 1).sum(), (y == 0).sum()
    v10 = np.vstack([o[0] for o in out])
    v01 = np.vstack([o[1] for o in out])
    cov = np.cov(v10) / m + np.cov(v01) / n
    return v10.mean(1), cov


@pytest.mark.parametrize("seed", range(4))
def test_matches_slow_twin_with_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 60)
    a = np.round(rng.normal(size=60) + y, 1)  # rounding makes ties
    b = np.round(rng.normal(size=60) + 0.5 * y, 1)
    auc, cov = _slow_delong(y, a, b)
    t = delong_test(y, a, b)
    assert t["auc_a"] == pytest.approx(auc[0])
    assert t["auc_b"] == pytest.approx(auc[1])
    assert t["se"] == pytest.approx(np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]))
    assert auc_delong(y, a)["se"] == pytest.approx(np.sqrt(cov[0, 0]))
    assert fast_auc(y, a) == pytest.approx(roc_auc_score(y, a))


def test_hanley_mcneil_ratings():
    """Hanley & McNeil (Radiology 1982;143:29-36), Table 1: 5-point CT ratings, W = 0.893."""
    controls = np.repeat([1, 2, 3, 4, 5], [33, 6, 6, 11, 2])
    cases = np.repeat([1, 2, 3, 4, 5], [3, 2, 2, 11, 33])
    y = np.r_[np.zeros(58), np.ones(51)]
    assert auc_delong(y, np.r_[controls, cases])["auc"] == pytest.approx(0.893, abs=5e-4)


def test_youden_threshold_by_hand():
    # scores 0.1..0.8; positives at 0.4, 0.6, 0.7, 0.8 -> J max (1 - 1/4 ... ) at t = 0.6:
    # t=0.6: sens 3/4, spec 4/4 -> J = 0.75; t=0.4: sens 1, spec 3/4 -> J = 0.75 (tie, higher wins)
    y = np.array([0, 0, 0, 1, 0, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    assert youden_threshold(y, s) == pytest.approx(0.6)


def test_classification_metrics_by_hand():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    pred = np.array([1, 1, 1, 0, 1, 0, 0, 0, 0, 0])
    m = classification_metrics(y, pred)
    assert (m["tp"], m["fn"], m["fp"], m["tn"]) == (3, 1, 1, 5)
    assert m["sensitivity"] == pytest.approx(3 / 4)
    assert m["specificity"] == pytest.approx(5 / 6)
    assert m["ppv"] == pytest.approx(3 / 4)
    assert m["npv"] == pytest.approx(5 / 6)
    # Wilson interval of 3/4: (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)
    z, n, p = stats.norm.ppf(0.975), 4, 0.75
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    assert m["sensitivity_ci_low"] == pytest.approx(centre - half)
    assert m["sensitivity_ci_high"] == pytest.approx(centre + half)


def test_errors_name_the_problem():
    with pytest.raises(AnalysisError, match="2 cases and 2 controls"):
        auc_delong([1, 0, 0, 0], [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(AnalysisError, match="NaN"):
        auc_delong([1, 1, 0, 0], [0.1, np.nan, 0.3, 0.4])
    with pytest.raises(AnalysisError, match="Only binary"):
        auc_delong([0, 1, 2, 1], [0.1, 0.2, 0.3, 0.4])
