"""Ground truth of delta-radiomics: a synthetic longitudinal cohort through batch, store and delta.

:func:`radiome.synthetic.write_longitudinal_cohort` plants what happens between baseline (``T0``,
scanned twice the same day) and follow-up (``T1``): responders' tumours shrink and lose
heterogeneity, stable tumours change only by scan (repositioning and noise), and resistant
tumours shrink while a bright resistant sub-region grows from ~10 % to 55 % of them. The cohort
goes through ``radiome batch`` into a store and ``radiome delta`` out of it; the deltas must
recover each group, and changes that are only noise must stay below the RC.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from radiome.analysis import evaluate, load_cohort
from radiome.cli import main
from radiome.io import load_volume
from radiome.synthetic import write_longitudinal_cohort

SPEC = {
    "preprocessing": {"round_intensities": True,
                      "resegmentation": {"range": {"min": -1000, "max": None}},
                      "discretisation": {"method": "fixed_bin_size", "bin_width": 25}},
    "features": {"families": ["morph", "stat", "ih", "cm", "szm"], "aggregations": ["3d_vmrg"],
                 "exclude": ["morph_moran_i", "morph_geary_c"]},
}


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> dict:
    """The cohort written, extracted into a store, and its deltas (long and wide)."""
    folder = tmp_path_factory.mktemp("longitudinal")
    truth = write_longitudinal_cohort(folder / "cohort", n_responders=12, n_stable=8,
                                      n_resistant=4)
    spec = folder / "spec.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    store = f"sqlite:///{folder / 'study.db'}"
    assert main(["batch", str(folder / "cohort" / "manifest.csv"), "--spec", str(spec),
                 "--store", store, "--workers", "1"]) == 0
    out, wide = folder / "deltas.csv", folder / "deltas_wide.csv"
    for path, extra in ((out, []), (wide, ["--wide"])):
        assert main(["delta", "--store", store, "--baseline", "T0", "--followup", "T1",
                     "--out", str(path), *extra]) == 0
    deltas = pd.read_csv(out, keep_default_na=False, na_values=[""])
    deltas["key"] = deltas["feature"] + np.where(deltas["aggregation"].isna(), "",
                                                 "_" + deltas["aggregation"].fillna(""))
    groups = truth.drop_duplicates("patient").set_index("patient")["group"]
    return {"folder": folder, "truth": truth, "deltas": deltas.join(groups, on="patient"),
            "wide": wide}


def _one(deltas: pd.DataFrame, key: str, kind: str) -> pd.DataFrame:
    return deltas.loc[(deltas["key"] == key) & (deltas["delta_kind"] == kind)].set_index("patient")


def test_response_is_recovered_from_delta_features_by_nested_cv(study):
    cohort = load_cohort(study["wide"], id_col="patient",
                         clinical=study["folder"] / "cohort" / "clinical.csv", outcome="response")
    assert len(cohort.X) == 24
    assert all(c.startswith("delta_") for c in cohort.X.columns)
    summary, _ = evaluate(cohort, n_splits=3, n_repeats=2, n_boot=200, random_state=0,
                          search="linear")
    assert summary["auc"] >= 0.9, summary


def test_noise_only_changes_stay_below_the_rc_in_95_percent_of_patients(study):
    deltas = study["deltas"]
    stable = deltas.loc[deltas["group"] == "stable"]
    for kind in ("absolute", "relative", "log_ratio", "per_day"):
        flags = stable.loc[stable["delta_kind"] == kind, "exceeds_rc"].dropna()
        below = 1.0 - flags.map({"True": True, "False": False, True: True, False: False}).mean()
        assert len(flags) > 8 * 50, kind
        assert below >= 0.95, f"{kind}: {below:.3f} of noise-only deltas below RC"


def test_responders_shrink_and_lose_heterogeneity_beyond_the_rc(study):
    deltas = study["deltas"]
    responders = deltas.loc[deltas["group"] == "responder"]
    volume = _one(responders, "morph_volume", "relative")
    assert len(volume) == 12
    assert (volume["value"] < -0.5).all()  # radius x0.65: volume about x0.27
    assert (volume["exceeds_rc"].astype(str) == "True").all()
    spread = _one(responders, "stat_var", "log_ratio")
    assert (spread["value"] < 0).all()
    assert (spread["exceeds_rc"].astype(str) == "True").all()


def test_resistant_group_shrinks_while_its_entropy_rises_beyond_the_rc(study):
    deltas = study["deltas"]
    resistant = deltas.loc[deltas["group"] == "resistant"]
    volume = _one(resistant, "morph_volume", "absolute")
    entropy = _one(resistant, "ih_entropy", "absolute")
    assert len(volume) == len(entropy) == 4
    assert (volume["value"] < 0).all()
    assert (entropy["value"] > 0).all()
    assert (volume["exceeds_rc"].astype(str) == "True").all()
    assert (entropy["exceeds_rc"].astype(str) == "True").all()
    # and the stable tumours' volume change is noise
    stable = _one(deltas.loc[deltas["group"] == "stable"], "morph_volume", "absolute")
    assert (stable["exceeds_rc"].astype(str) == "False").mean() >= 0.75


def test_per_day_rates_divide_by_the_days_between_the_manifest_dates(study):
    deltas, truth = study["deltas"], study["truth"]
    days = truth.loc[truth["timepoint"] == "T1"].set_index("patient")["days"]
    absolute = _one(deltas, "morph_volume", "absolute")["value"]
    per_day = _one(deltas, "morph_volume", "per_day")["value"]
    assert np.allclose(per_day, absolute / days.reindex(per_day.index))


def test_planted_label_maps_hold_the_resistant_share_of_each_scan(study):
    truth = study["truth"]
    for row in truth.loc[truth["group"] == "resistant"].itertuples():
        planted = load_volume(row.planted).array
        tumour = load_volume(row.mask).array > 0
        assert ((planted > 0) == tumour).all()
        share = float((planted == 2).sum() / tumour.sum())
        assert share == pytest.approx(row.resistant_share, abs=0.04), Path(row.planted).name


@pytest.fixture(scope="module")
def habitat_deltas(study) -> pd.DataFrame:
    """A two-habitat model fitted on the baseline scans, applied unchanged at every time point,
    and the deltas of the stored habitats (ROIs ``1#h<k>``) with each habitat's mean HU."""
    folder = study["folder"]
    store = f"sqlite:///{folder / 'study.db'}"
    manifest = pd.read_csv(folder / "cohort" / "manifest.csv")
    baseline = folder / "cohort" / "baseline.csv"
    manifest.loc[manifest["case_id"].str.endswith("_T0")].to_csv(baseline, index=False)
    model = folder / "habitats.joblib"
    spec = folder / "spec.yaml"
    assert main(["habitats", str(baseline), "--spec", str(spec), "--store", store, "--out",
                 str(folder / "fit"), "--k", "2", "--fit-model", str(model)]) == 0
    assert main(["habitats", str(folder / "cohort" / "manifest.csv"), "--store", store, "--out",
                 str(folder / "habitats"), "--model", str(model)]) == 0
    out = folder / "habitat_deltas.csv"
    assert main(["delta", "--store", store, "--baseline", "T0", "--followup", "T1",
                 "--out", str(out)]) == 0
    deltas = pd.read_csv(out, keep_default_na=False, na_values=[""])
    deltas = deltas.loc[deltas["roi"].astype(str).str.contains("#h")]
    groups = study["truth"].drop_duplicates("patient").set_index("patient")["group"]
    return deltas.join(groups, on="patient")


def test_habitats_over_time_show_the_resistant_habitats_share_rising(study, habitat_deltas):
    from radiome.cohort import FeatureStore

    stored = FeatureStore(f"sqlite:///{study['folder'] / 'study.db'}", create=False).features()
    means = stored.loc[stored["roi"].str.contains("#h") & (stored["feature"] == "stat_mean")]
    bright = means.groupby("roi")["value"].mean().idxmax()  # the resistant habitat: +60 HU
    fraction = habitat_deltas.loc[(habitat_deltas["roi"] == bright)
                                  & (habitat_deltas["feature"] == "hab_fraction")
                                  & (habitat_deltas["delta_kind"] == "absolute")]
    fraction = fraction.set_index("patient")
    resistant = fraction.loc[fraction["group"] == "resistant", "value"]
    others = fraction.loc[fraction["group"] != "resistant", "value"]
    assert len(resistant) == 4
    assert len(others) == 20
    assert (resistant > 0.2).all(), resistant  # planted: ~10 % -> 55 % of the tumour
    assert others.abs().max() < resistant.min(), others.describe()
