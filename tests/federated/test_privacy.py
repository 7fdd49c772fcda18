"""Differential privacy: ε from dp-accounting, noise calibrated to it, and the leakage study."""

from __future__ import annotations

import numpy as np
import pytest

from radiome.federated import SiteData, Study, multisite_tables, run_in_process
from radiome.federated import privacy
from radiome.federated.demo import FEATURES
from radiome.federated.leakage import leakage_study

FEATS = list(FEATURES)


@pytest.fixture(scope="module")
def sites():
    return [SiteData(name, t[FEATS].to_numpy(float), t["grade"].to_numpy(float))
            for name, t in multisite_tables(0).items()]


def test_epsilon_of_one_round_lies_between_the_exact_gaussian_and_the_classic_rdp_bound():
    """Exact: dp-accounting's analytic Gaussian mechanism (Balle & Wang 2018); classic RDP
    conversion: min over orders a of a / (2 sigma^2) + log(1/delta) / (a - 1) (Mironov 2017)."""
    import dp_accounting

    sigma, delta = 2.0, 1e-5
    exact = dp_accounting.get_epsilon_gaussian(sigma, delta)
    orders = np.linspace(1.01, 200, 200_000)
    classic = np.min(orders / (2 * sigma**2) + np.log(1 / delta) / (orders - 1))
    assert exact < privacy.epsilon(sigma, 1, delta) <= classic


def test_epsilon_of_t_rounds_is_one_round_at_sigma_over_root_t():
    """T Gaussian rounds of multiplier sigma have the RDP of one round of sigma / sqrt(T)."""
    assert privacy.epsilon(3.0, 9) == pytest.approx(privacy.epsilon(1.0, 1), rel=1e-9)


def test_noise_multiplier_meets_the_target_epsilon_within_1_percent():
    sigma = privacy.noise_multiplier(4.0, 5)
    assert 0.99 * 4.0 <= privacy.epsilon(sigma, 5) <= 4.0


def test_noise_multiplier_refuses_a_nonpositive_epsilon():
    with pytest.raises(ValueError, match="--epsilon must be a positive number, got 0"):
        privacy.noise_multiplier(0, 5)


def test_dp_logistic_error_grows_as_epsilon_falls(sites):
    exact = run_in_process(Study(FEATS, loso=False), sites).fits[0]["beta"]
    rng = np.random.default_rng(0)
    errors = [np.mean([np.abs(run_in_process(Study(FEATS, epsilon=eps), sites, rng)
                              .fits[0]["beta"] - exact).max() for _ in range(5)])
              for eps in (1e6, 1e4, 1e2)]
    assert errors[0] < errors[1] < errors[2]
    assert errors[0] < 0.05  # unbiased: the noise-free limit is the exact fit


def test_dp_study_runs_exactly_the_accounted_rounds_and_releases_no_histogram(sites):
    study = run_in_process(Study(FEATS, epsilon=10.0), sites, np.random.default_rng(1))
    assert study.fits[0]["iterations"] == study.dp_rounds == 5
    assert len(study.fits) == 1  # no leave-one-site-out fits under DP
    assert np.isnan(study.result()["auc"])
    assert privacy.epsilon(study.sigma, study.dp_rounds) <= 10.0


@pytest.fixture(scope="module")
def leakage(sites):
    return leakage_study(sites, target="site_a", indicator=FEATS.index("scanner_b"),
                         epsilons=[1.0, 1e3, 1e5], repeats=40, seed=0)


def test_plain_update_reveals_site_prevalence_and_scanner_share_exactly(leakage, sites):
    site = sites[0]
    rows = site.complete
    plain = leakage[leakage["protection"] == "none"].set_index("attack")
    assert plain.loc["prevalence", "estimate"] == pytest.approx(site.y[rows].mean(), abs=1e-12)
    assert plain.loc["indicator share", "estimate"] == pytest.approx(
        site.x[rows, FEATS.index("scanner_b")].mean(), abs=1e-12)


def test_plain_one_patient_update_gives_the_patient_back(leakage):
    plain = leakage[leakage["protection"] == "none"].set_index("attack")
    assert plain.loc["reconstruction", "cosine"] >= 0.99


def test_secagg_shows_only_the_pooled_prevalence_and_no_patient(leakage, sites):
    secagg = leakage[leakage["protection"] == "secagg"].set_index("attack")
    y = np.concatenate([s.y[s.complete] for s in sites])
    assert secagg.loc["prevalence", "estimate"] == pytest.approx(y.mean(), abs=1e-12)
    assert secagg.loc["prevalence", "error"] > 0.1  # site_a's share is far from the pool's
    assert secagg.loc["reconstruction", "cosine"] < 0.5


def test_dp_property_error_grows_and_reconstruction_fails_as_epsilon_falls(leakage):
    dp = leakage[(leakage["protection"] == "dp") & (leakage["attack"] == "prevalence")]
    assert dp.sort_values("epsilon")["error"].is_monotonic_decreasing
    rebuilt = leakage[(leakage["protection"] == "dp") & (leakage["attack"] == "reconstruction")]
    assert rebuilt.set_index("epsilon").loc[1.0, "cosine"] < 0.5


def test_leakage_command_writes_tables_and_plot_and_shows_plain_reconstruction(tmp_path):
    import pandas as pd

    from radiome.cli import main

    args = []
    for name, table in multisite_tables(0).items():
        table.to_csv(tmp_path / f"{name}.csv", index=False)
        args.append(f"--site={name}={tmp_path / f'{name}.csv'}")
    code = main(["federated", "leakage", *args, "--id", "case_id", "--outcome", "grade",
                 "--features", ",".join(FEATS), "--target", "site_c", "--indicator",
                 "scanner_b", "--epsilon", "1", "--epsilon", "1e5", "--out", str(tmp_path)])
    assert code == 0
    table = pd.read_csv(tmp_path / "leakage.csv")
    plain = table[(table["protection"] == "none") & (table["attack"] == "reconstruction")]
    assert plain["cosine"].iloc[0] >= 0.99
    utility = pd.read_csv(tmp_path / "utility.csv")
    assert utility["epsilon"].tolist() == [np.inf, 1.0, 1e5]
    assert (tmp_path / "leakage.png").stat().st_size > 10_000
