"""Radiogenomics ground truth: the confounder-adjusted screen against statsmodels, its FDR and
power on simulated cohorts with planted associations and a confounder driving features and
genes; unpenalised confounders of the penalised model; loading and the command line."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit
from typer.testing import CliRunner

from radiome.analysis import (
    PenalizedLogistic,
    PenalizedRegression,
    RadiogenomicData,
    association_screen,
    load_radiogenomics,
    predict_genomic,
)
from radiome.errors import AnalysisError, AnalysisWarning

N_FEATURES, N_CONTINUOUS, N_BINARY = 20, 12, 3


def _cohort(rng, n=150):
    """Features and genes driven by a confounder, with planted feature -> gene effects.

    Planted: 3 continuous genes per feature f0..f9 among g0..g9 (0.35 SD per feature SD),
    and f10 -> m0, f11 -> m1 (log OR 1.2). The confounder c drives every feature (0.8) and
    g10, g11 and m2 (1.0): those pairs are associated only through c.
    """
    c = rng.normal(size=n)
    E = rng.normal(size=(n, N_FEATURES))
    F = 0.8 * c[:, None] + E
    B = np.zeros((N_FEATURES, N_CONTINUOUS + N_BINARY))
    for j in range(10):
        B[j, [j, (j + 3) % 10, (j + 6) % 10]] = 0.35
    B[10, N_CONTINUOUS], B[11, N_CONTINUOUS + 1] = 1.2, 1.2
    gamma = np.zeros(N_CONTINUOUS + N_BINARY)
    gamma[[10, 11, N_CONTINUOUS + 2]] = 1.0
    lin = E @ B + c[:, None] * gamma
    G = lin[:, :N_CONTINUOUS] + rng.normal(size=(n, N_CONTINUOUS))
    M = (rng.random((n, N_BINARY)) < expit(lin[:, N_CONTINUOUS:] - 0.3)).astype(float)
    features = pd.DataFrame(F, columns=[f"f{j}" for j in range(N_FEATURES)])
    genomics = pd.DataFrame(np.column_stack([G, M]), columns=[
        *(f"g{k}" for k in range(N_CONTINUOUS)), *(f"m{k}" for k in range(N_BINARY))])
    return features, genomics, pd.DataFrame({"c": c}), B != 0


def _z(values: pd.Series) -> pd.Series:
    return (values - values.mean()) / values.std(ddof=0)


@pytest.mark.parametrize(("feature", "genomic"), [("f0", "g0"), ("f4", "g11"), ("f10", "m0"),
                                                  ("f2", "m2")])
def test_screen_equals_statsmodels_ols_and_logit(feature, genomic):
    features, genomics, conf, _ = _cohort(np.random.default_rng(0))
    table = association_screen(features, genomics, conf).set_index(["feature", "genomic"])
    row = table.loc[(feature, genomic)]
    y = genomics[genomic] if genomic.startswith("m") else _z(genomics[genomic])
    X = sm.add_constant(np.column_stack([conf["c"], _z(features[feature])]))
    fit = sm.Logit(y, X).fit(disp=0) if genomic.startswith("m") else sm.OLS(y, X).fit()
    assert row["model"] == ("logit" if genomic.startswith("m") else "ols")
    assert row["effect"] == pytest.approx(fit.params.iloc[-1], rel=1e-7)
    assert row["p"] == pytest.approx(fit.pvalues.iloc[-1], rel=1e-6)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(tuple(fit.conf_int().iloc[-1]),
                                                            rel=1e-7)


def test_pairs_with_missing_values_are_fitted_on_their_complete_rows():
    features, genomics, conf, _ = _cohort(np.random.default_rng(1))
    features.loc[[3, 7], "f0"] = np.nan
    genomics.loc[5, "m0"] = np.nan
    table = association_screen(features, genomics, conf).set_index(["feature", "genomic"])
    for genomic, n in (("g0", 148), ("m0", 147)):
        row = table.loc[("f0", genomic)]
        rows = features["f0"].notna() & genomics[genomic].notna()
        f = (features["f0"] - features["f0"].mean()) / features["f0"].std(ddof=0)
        y = genomics[genomic] if genomic == "m0" else _z(genomics[genomic])
        X = sm.add_constant(np.column_stack([conf["c"], f]))[rows.to_numpy()]
        fit = (sm.Logit(y[rows], X).fit(disp=0) if genomic == "m0"
               else sm.OLS(y[rows], X).fit())
        assert row["n"] == n
        assert row["effect"] == pytest.approx(fit.params.iloc[-1], rel=1e-6)
        assert row["p"] == pytest.approx(fit.pvalues.iloc[-1], rel=1e-5)
    assert table.loc[("f1", "g0"), "n"] == 150


def test_screen_fdr_stays_at_nominal_and_confounded_pairs_are_not_reported():
    """300 simulated cohorts: empirical FDR of BH at q = 0.05 with its 95 % CI <= 0.06."""
    rng = np.random.default_rng(2026)
    fdp, power, confounded, confounded_unadjusted = [], [], [], []
    for sim in range(300):
        features, genomics, conf, planted = _cohort(rng)
        hit = association_screen(features, genomics, conf)
        hit = hit.pivot(index="feature", columns="genomic", values="significant")
        hit = hit.loc[features.columns, genomics.columns].to_numpy()
        fdp.append((hit & ~planted).sum() / max(hit.sum(), 1))
        power.append((hit & planted).sum() / planted.sum())
        driven = ["g10", "g11", "m2"]
        confounded.append(hit[:, [genomics.columns.get_loc(g) for g in driven]].mean())
        if sim < 10:
            raw = association_screen(features, genomics[driven])
            confounded_unadjusted.append(raw["significant"].mean())
    fdr, se = np.mean(fdp), np.std(fdp, ddof=1) / np.sqrt(len(fdp))
    print(f"empirical FDR {fdr:.4f} (95% CI {fdr - 1.96 * se:.4f}-{fdr + 1.96 * se:.4f}), "
          f"power {np.mean(power):.3f}, confounded pairs reported {np.mean(confounded):.4f} "
          f"adjusted vs {np.mean(confounded_unadjusted):.3f} unadjusted")
    assert fdr + 1.96 * se <= 0.06
    assert np.mean(power) > 0.8
    assert np.mean(confounded) < 0.005
    assert np.mean(confounded_unadjusted) > 0.9


def test_permutation_fwer_is_above_p_and_small_only_for_strong_pairs():
    rng = np.random.default_rng(3)
    features, genomics, conf, planted = _cohort(rng)
    table = association_screen(features, genomics, conf, n_permutations=99, random_state=1)
    assert (table["p_fwer"] >= table["p"]).all()
    assert table["p_fwer"].iloc[0] == pytest.approx(1 / 100)
    null = pd.DataFrame(rng.normal(size=(150, N_FEATURES)), columns=features.columns)
    table = association_screen(null, genomics, conf, n_permutations=99, random_state=1)
    assert table["p_fwer"].min() > 0.05
    assert table["q"].min() > 0.05


def _confounded_design(rng, n=400):
    age, sex = rng.normal(size=n), rng.integers(0, 2, n).astype(float)
    F = rng.normal(size=(n, 30)) + 0.5 * age[:, None]
    X = np.column_stack([age, sex, F])
    return (X - X.mean(0)) / X.std(0), 0.8 * age - 0.7 * sex + F[:, 0] - 0.8 * F[:, 1]


def test_penalised_logistic_keeps_confounders_at_their_unpenalised_fit():
    """Confounders equal statsmodels' unpenalised fit given the selected features (offset).

    A penalised confounder (weight 1, as a plain lasso) misses it by far, so the test can fail.
    """
    rng = np.random.default_rng(4)
    X, lin = _confounded_design(rng)
    y = (rng.random(X.shape[0]) < expit(lin)).astype(int)
    for alpha in (0.01, 0.03):
        model = PenalizedLogistic(alpha=alpha, n_unpenalized=2).fit(X, y)
        selected = np.flatnonzero(model.coef_[2:]) + 2
        assert 2 <= selected.size < 30
        offset = X[:, selected] @ model.coef_[selected]
        ref = sm.GLM(y, sm.add_constant(X[:, :2]), family=sm.families.Binomial(),
                     offset=offset).fit()
        assert model.coef_[:2] == pytest.approx(ref.params[1:], rel=0.02)
        assert model.coef_[:2] == pytest.approx(ref.params[1:], rel=1e-4)
        assert model.intercept_ == pytest.approx(ref.params[0], rel=1e-4)
        lasso = PenalizedLogistic(alpha=alpha, n_unpenalized=0).fit(X, y)
        assert abs(lasso.coef_[0] / ref.params[1] - 1) > 0.1


def test_penalised_regression_keeps_confounders_at_their_unpenalised_fit():
    rng = np.random.default_rng(5)
    X, lin = _confounded_design(rng)
    y = lin + rng.normal(size=X.shape[0])
    model = PenalizedRegression(alpha=0.05, n_unpenalized=2).fit(X, y)
    selected = np.flatnonzero(model.coef_[2:]) + 2
    offset = X[:, selected] @ model.coef_[selected]
    ref = sm.OLS(y - offset, sm.add_constant(X[:, :2])).fit()
    assert model.coef_[:2] == pytest.approx(ref.params[1:], rel=1e-4)
    assert model.predict(X[:3]) == pytest.approx(X[:3] @ model.coef_ + model.intercept_)


def test_predict_genomic_finds_planted_features_with_stable_selection():
    rng = np.random.default_rng(6)
    n = 160
    age = rng.normal(size=n)
    features = pd.DataFrame(rng.normal(size=(n, 25)) + 0.5 * age[:, None],
                            columns=[f"f{j}" for j in range(25)])
    mutation = (rng.random(n) < expit(age + 1.5 * features["f0"] - 1.2 * features["f1"]))
    data = RadiogenomicData(features, pd.DataFrame({"TP53": mutation.astype(float)}),
                            pd.DataFrame({"age": age}), ("TP53",))
    summary, stability = predict_genomic(data, "TP53", n_splits=3, n_repeats=1, n_boot=200)
    assert summary["auc"] > 0.8
    assert summary["auc_ci_low"] < summary["auc"] < summary["auc_ci_high"]
    assert {"f0", "f1"} <= set(summary["selected_features"])
    assert summary["confounders"] == ["age"] and len(summary["alphas_chosen"]) == 3
    frequency = stability.set_index("feature")["selection_frequency"]
    assert frequency[["f0", "f1"]].tolist() == [1.0, 1.0]
    assert (frequency.drop(["f0", "f1"]) < 1.0).mean() > 0.5
    assert "calibration_slope" in summary and "net_benefit" in summary


def _expression_data(rng, n=160, signal=True):
    age = rng.normal(size=n)
    features = pd.DataFrame(rng.normal(size=(n, 25)) + 0.5 * age[:, None],
                            columns=[f"f{j}" for j in range(25)])
    expression = 0.5 * age + rng.normal(size=n)
    if signal:
        expression += 0.8 * features["f0"] - 0.6 * features["f1"]
    return RadiogenomicData(features, pd.DataFrame({"EGFR": expression}),
                            pd.DataFrame({"age": age}), ())


def test_predict_genomic_of_a_continuous_label_reports_r2_near_the_truth():
    """The true model explains 1 - 1/var(g) of the expression (unit noise): R^2 about 0.57."""
    data = _expression_data(np.random.default_rng(9))
    truth = 1 - 1 / data.genomics["EGFR"].var()
    summary, stability = predict_genomic(data, "EGFR", n_splits=3, n_repeats=1, n_boot=200)
    assert summary["r2_ci_low"] < truth < summary["r2_ci_high"]
    assert abs(summary["r2"] - truth) < 0.1
    assert "auc" not in summary and "calibration_slope" not in summary
    assert {"f0", "f1"} <= set(summary["selected_features"])
    assert stability.set_index("feature")["selection_frequency"][["f0", "f1"]].min() == 1.0


def test_nested_cv_regression_on_noise_features_stays_at_or_below_zero():
    """Only the confounder predicts: the features add nothing out of fold (no leakage)."""
    from sklearn.preprocessing import StandardScaler

    from radiome.analysis import BiomarkerPipeline, nested_cv

    rng = np.random.default_rng(10)
    X = pd.DataFrame(rng.normal(size=(120, 200)), columns=[f"f{j}" for j in range(200)])
    y = rng.normal(size=120)
    pipeline = BiomarkerPipeline(scaler=StandardScaler(), model=PenalizedRegression(),
                                 param_grid={"model__alpha": [0.3, 0.1, 0.03]}, inner_splits=3)
    result = nested_cv(pipeline, X, y, n_splits=3, n_repeats=2)
    summary = result.summary(n_boot=200)
    assert result.task == "regression" and not result.predicted.any()
    assert summary["r2"] < 0.02
    assert summary["r2_ci_low"] < 0


def _tables(tmp_path: Path, n: int = 60, drop: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(8)
    ids = [f"p{i}" for i in range(n)]
    features = pd.DataFrame(rng.normal(size=(n, 4)), columns=["f0", "f1", "f2", "f3"])
    features.insert(0, "pid", ids)
    features["site"] = rng.choice(["A", "B", "C"], n)
    genomics = pd.DataFrame({
        "pid": ids, "age": rng.normal(60, 8, n), "sex": rng.choice(["F", "M"], n),
        "EGFR": features["f0"] + rng.normal(size=n),
        "KRAS": np.where(features["f1"] + rng.normal(size=n) > 0, "yes", "no"),
    })
    paths = tmp_path / "features.csv", tmp_path / "genomics.parquet"
    features.iloc[: n - drop].to_csv(paths[0], index=False)
    genomics.iloc[drop:].to_parquet(paths[1])
    return paths


def test_load_codes_categorical_confounders_and_binary_genes(tmp_path: Path):
    features, genomics = _tables(tmp_path)
    data = load_radiogenomics(features, genomics, id_col="pid", confounders=["age", "sex", "site"])
    assert list(data.confounders.columns) == ["age", "sex[M]", "site[B]", "site[C]"]
    assert list(data.features.columns) == ["f0", "f1", "f2", "f3"]
    assert list(data.genomics.columns) == ["EGFR", "KRAS"] and data.binary == ("KRAS",)
    assert set(data.genomics["KRAS"]) == {0.0, 1.0}


def test_ids_on_one_side_only_are_one_error_with_counts(tmp_path: Path):
    features, genomics = _tables(tmp_path, drop=2)
    with pytest.raises(AnalysisError) as error:
        load_radiogenomics(features, genomics, id_col="pid")
    assert str(error.value) == (
        f"2 ID(s) only in {features} (e.g. 'p0', 'p1'); 2 ID(s) only in {genomics} (e.g. "
        "'p58', 'p59'); 56 in both: fix the tables or pass --inner (inner=True) to analyse those"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_radiogenomics(features, genomics, id_col="pid", confounders=["sex"],
                                  inner=True)
    assert len(data.features) == 56
    assert [w.category for w in caught] == [AnalysisWarning]


def test_unknown_confounder_is_one_clear_error(tmp_path: Path):
    features, genomics = _tables(tmp_path)
    with pytest.raises(AnalysisError, match=r"confounder\(s\) \['bmi'\] in neither table"):
        load_radiogenomics(features, genomics, id_col="pid", confounders=["age", "bmi"])


def test_command_writes_the_association_table_and_figures(tmp_path: Path):
    from radiome.cli import app

    features, genomics = _tables(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "radiogenomics", str(features), str(genomics), "--id", "pid", "--confounders",
        "age,sex,site", "--out", str(out), "--permutations", "49"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "associations.csv")
    assert list(table.columns[:7]) == ["feature", "genomic", "effect", "ci_low", "ci_high",
                                       "p", "q"]
    assert len(table) == 8 and "p_fwer" in table.columns
    top = table.iloc[0]
    assert (top["feature"], top["genomic"], bool(top["significant"])) == ("f0", "EGFR", True)
    assert (out / "volcano.png").stat().st_size > 5000
    assert (out / "heatmap.png").stat().st_size > 5000
    assert "1 binary" in result.stdout and "adjusted for ['age', 'sex[M]'" in result.stdout
