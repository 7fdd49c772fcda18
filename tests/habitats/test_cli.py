"""``radiome habitats``: label maps, habitats.csv, the store, export, resume and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import yaml

from radiome import extract, load_mask, load_volume
from radiome.cli import main
from radiome.cohort import FeatureStore
from radiome.cohort.manifest import write_manifest
from radiome.habitats import case_habitats, count_regions, load_habitat_model
from radiome.io.volumes import to_sitk

SPEC = {
    "preprocessing": {"round_intensities": True,
                      "discretisation": {"method": "fixed_bin_size", "bin_width": 25}},
    "features": {"families": ["morph", "stat", "ih"]},
}
CSV_COLUMNS = ["case_id", "habitat", "volume_fraction", "n_regions"]


def _run(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "spec.yaml"
    path.write_text(yaml.safe_dump(SPEC))
    return path


@pytest.fixture(scope="module")
def fit_run(cohort_a, spec_file, tmp_path_factory) -> dict:
    """``radiome habitats`` fitting a 3-habitat model on cohort A into a new store."""
    base = tmp_path_factory.mktemp("fit_run")
    manifest = base / "manifest.csv"
    write_manifest(cohort_a.drop(columns="planted"), manifest)
    out, model = base / "out", base / "model.joblib"
    store = f"sqlite:///{base / 'store.db'}"
    code = main(["habitats", str(manifest), "--spec", str(spec_file), "--store", store,
                 "--out", str(out), "--k", "3", "--fit-model", str(model)])
    return {"code": code, "manifest": manifest, "out": out, "model": model, "store": store}


def _label_map(path: Path) -> np.ndarray:
    return load_volume(path).array.astype(np.int16)


def test_fitting_writes_a_label_map_per_case_zero_outside_and_1_to_k_inside(fit_run, cohort_a):
    assert fit_run["code"] == 0
    for row in cohort_a.to_dict("records"):
        labels = _label_map(fit_run["out"] / f"{row['case_id']}_habitats.nii.gz")
        roi = load_mask(row["mask"], roi=1).array
        assert (labels[~roi] == 0).all()
        assert set(np.unique(labels[roi])) == {1, 2, 3}


def test_habitats_csv_holds_the_fractions_and_regions_of_the_label_maps(fit_run, cohort_a):
    table = pd.read_csv(fit_run["out"] / "habitats.csv")
    assert list(table.columns) == CSV_COLUMNS
    assert len(table) == 3 * len(cohort_a)
    for case_id, rows in table.groupby("case_id"):
        labels = _label_map(fit_run["out"] / f"{case_id}_habitats.nii.gz")
        counts = np.bincount(labels[labels > 0], minlength=4)[1:]
        np.testing.assert_allclose(rows["volume_fraction"], counts / counts.sum(), rtol=1e-12)
        np.testing.assert_array_equal(rows["n_regions"], count_regions(labels, 3))


def test_a_figure_is_written_per_case(fit_run, cohort_a):
    for case_id in cohort_a["case_id"]:
        assert (fit_run["out"] / f"{case_id}_habitats.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stored_habitat_features_are_extract_of_each_habitat_of_the_label_map(
        fit_run, cohort_a, spec_file, capsys, tmp_path):
    exported = tmp_path / "long.csv"
    assert _run(capsys, "export", "--store", fit_run["store"], "--out", exported)[0] == 0
    table = pd.read_csv(exported, keep_default_na=False)
    row = cohort_a.iloc[2]
    label_map = fit_run["out"] / f"{row['case_id']}_habitats.nii.gz"
    for habitat in (1, 3):
        expected = extract(row["image"], label_map, spec=spec_file, roi=habitat)
        stored = table[(table["case_id"] == row["case_id"]) & (table["roi"] == f"1#h{habitat}")]
        for feature in ("morph_volume", "stat_mean", "ih_entropy"):
            got = stored.loc[stored["feature"] == feature, "value"].astype(float).item()
            want = expected.loc[expected["feature"] == feature, "value"].item()
            assert got == pytest.approx(want, rel=1e-12), feature


def test_stored_fractions_equal_the_csv_and_carry_the_habitat_model_as_provenance(
        fit_run, capsys, tmp_path):
    exported = tmp_path / "long.csv"
    _run(capsys, "export", "--store", fit_run["store"], "--out", exported, "--provenance")
    table = pd.read_csv(exported, keep_default_na=False)
    fractions = table[table["feature"] == "hab_fraction"]
    assert set(fractions["family"]) == {"hab"}
    assert set(fractions["ibsi_code"]) == {""}
    csv = pd.read_csv(fit_run["out"] / "habitats.csv")
    merged = csv.assign(roi="1#h" + csv["habitat"].astype(str)).merge(
        fractions, on=["case_id", "roi"])
    assert len(merged) == len(csv)
    np.testing.assert_allclose(merged["value"].astype(float), merged["volume_fraction"])
    model_hash = load_habitat_model(fit_run["model"]).file_hash_[:16]
    assert all(f'"habitat_model":"{model_hash}"' in s for s in fractions["software"])


def test_wide_export_puts_each_habitat_in_columns_of_its_case_row(fit_run, cohort_a, capsys,
                                                                   tmp_path):
    from radiome.analysis import read_features

    exported = tmp_path / "wide.csv"
    assert _run(capsys, "export", "--store", fit_run["store"], "--out", exported, "--wide")[0] == 0
    wide = pd.read_csv(exported)
    assert sorted(wide["case_id"]) == sorted(cohort_a["case_id"])
    assert set(wide["roi"].astype(str)) == {"1"}
    csv = pd.read_csv(fit_run["out"] / "habitats.csv")
    for habitat in (1, 2, 3):
        got = wide.set_index("case_id")[f"hab_fraction#h{habitat}"]
        want = csv[csv["habitat"] == habitat].set_index("case_id")["volume_fraction"]
        np.testing.assert_allclose(got.loc[want.index], want)
    assert "stat_mean#h2" in wide.columns
    features = read_features(exported, id_col="case_id").table
    assert "morph_volume#h3" in features.columns


def test_a_saved_model_applied_to_a_new_cohort_gives_the_python_api_labels(
        fit_run, cohort_b, spec_file, capsys, tmp_path, load_case):
    manifest = tmp_path / "manifest.csv"
    write_manifest(cohort_b.drop(columns="planted"), manifest)
    code, err = _run(capsys, "habitats", manifest, "--spec", spec_file, "--store",
                     fit_run["store"], "--out", tmp_path / "b", "--model", fit_run["model"])
    assert code == 0, err
    assert "4 computed, 0 already stored, 0 failed" in err
    model = load_habitat_model(fit_run["model"])
    for row in cohort_b.to_dict("records"):
        volume, mask, _ = load_case(row)
        np.testing.assert_array_equal(_label_map(tmp_path / "b" / f"{row['case_id']}"
                                                 "_habitats.nii.gz"),
                                      case_habitats(model, volume, mask).labels)
    code, err = _run(capsys, "habitats", manifest, "--spec", spec_file, "--store",
                     fit_run["store"], "--out", tmp_path / "b2", "--model", fit_run["model"])
    assert "0 computed, 4 already stored" in err
    assert (tmp_path / "b2" / "habitats.csv").read_text() == (
        tmp_path / "b" / "habitats.csv").read_text()


def test_a_new_model_with_fewer_habitats_leaves_no_stale_habitat_in_the_store(
        cohort_a, spec_file, capsys, tmp_path):
    manifest = tmp_path / "manifest.csv"
    write_manifest(cohort_a.drop(columns="planted").iloc[:2], manifest)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    for k in ("3", "2"):
        code, err = _run(capsys, "habitats", manifest, "--spec", spec_file, "--store", store,
                         "--out", tmp_path / f"k{k}", "--k", k, "--supervoxels", "20")
        assert code == 0, err
    rois = set(FeatureStore(store).cases()["roi"])
    assert rois == {"1#h1", "1#h2"}


def test_a_broken_case_is_recorded_and_the_others_are_computed(cohort_a, spec_file, capsys,
                                                               tmp_path):
    rows = cohort_a.drop(columns="planted").iloc[:3].copy()
    rows.loc[rows.index[1], "image"] = str(tmp_path / "missing.nii.gz")
    manifest = tmp_path / "manifest.csv"
    write_manifest(rows, manifest)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    code, err = _run(capsys, "habitats", manifest, "--spec", spec_file, "--store", store,
                     "--out", tmp_path / "out", "--k", "2", "--supervoxels", "20")
    assert code == 1
    assert "2 computed, 0 already stored, 1 failed" in err
    errors = FeatureStore(store).errors()
    assert list(errors["roi"]) == ["1#*"]
    assert list(errors["stage"]) == ["read image"]
    assert "missing.nii.gz" in errors["message"].item()
    assert len(pd.read_csv(tmp_path / "out" / "habitats.csv")) == 4


@pytest.mark.parametrize(("extra", "message"), [
    (["--model", "{model}", "--k", "3"], "fixes --k"),
    (["--k", "3", "--k-range", "2:4"], "not both"),
    (["--k-range", "5:2"], "LOW:HIGH"),
    (["--model", "{model}", "--fit-model", "x.joblib"], "not both"),
])
def test_conflicting_options_are_a_usage_error(fit_run, capsys, tmp_path, extra, message):
    args = [a.format(model=fit_run["model"]) for a in extra]
    code, err = _run(capsys, "habitats", fit_run["manifest"], "--store",
                     f"sqlite:///{tmp_path / 's.db'}", "--out", tmp_path / "o", *args)
    assert code == 2
    assert message in err


def test_a_model_file_that_is_not_a_habitat_model_is_a_one_line_error(fit_run, capsys,
                                                                     tmp_path):
    bogus = tmp_path / "model.csv"
    bogus.write_text("a,b\n1,2\n")
    code, err = _run(capsys, "habitats", fit_run["manifest"], "--store",
                     f"sqlite:///{tmp_path / 's.db'}", "--out", tmp_path / "o", "--model", bogus)
    assert code == 1
    assert err.count("\n") == 1
    assert f"{bogus}: not a radiome habitat model file" in err


def test_a_fit_model_path_not_ending_in_joblib_is_refused_before_any_work(fit_run, capsys,
                                                                          tmp_path):
    code, err = _run(capsys, "habitats", fit_run["manifest"], "--store",
                     f"sqlite:///{tmp_path / 's.db'}", "--out", tmp_path / "o", "--fit-model",
                     tmp_path / "model.pkl")
    assert code == 1
    assert "must end in .joblib" in err
    assert not (tmp_path / "o").exists()


def test_stability_writes_each_habitats_mean_dice_to_a_table_and_the_store(
        cohort_a, spec_file, capsys, tmp_path):
    manifest = tmp_path / "manifest.csv"
    write_manifest(cohort_a.drop(columns="planted").iloc[:2], manifest)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    code, err = _run(capsys, "habitats", manifest, "--spec", spec_file, "--store", store,
                     "--out", tmp_path / "out", "--k", "3", "--stability", "2")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "out" / "stability.csv")
    assert list(table.columns) == ["case_id", "habitat", "dice"]
    assert len(table) == 6
    assert table["dice"].between(0.5, 1.0).all()
    stored = FeatureStore(store).features()
    dice = stored[stored["feature"] == "hab_dice"].sort_values(["case_id", "roi"])
    np.testing.assert_allclose(dice["value"], table["dice"])


def test_a_case_with_two_rois_gets_a_label_map_per_roi_and_a_roi_column(cohort_a, spec_file,
                                                                        capsys, tmp_path):
    row = cohort_a.iloc[0]
    tumour = load_mask(row["mask"], roi=1)
    labels = tumour.array.astype(np.uint8)
    labels[: labels.shape[0] // 2][tumour.array[: labels.shape[0] // 2]] = 2  # two halves
    two = tmp_path / "two_labels.nii.gz"
    sitk.WriteImage(to_sitk(labels, tumour.grid), str(two))
    rows = pd.DataFrame({"case_id": ["c", "c"], "image": [row["image"]] * 2,
                         "mask": [str(two)] * 2, "roi": ["1", "2"], "modality": ["CT"] * 2})
    manifest = tmp_path / "manifest.csv"
    write_manifest(rows, manifest)
    code, err = _run(capsys, "habitats", manifest, "--spec", spec_file, "--store",
                     f"sqlite:///{tmp_path / 's.db'}", "--out", tmp_path / "out", "--k", "2",
                     "--supervoxels", "20")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "out" / "habitats.csv", dtype={"roi": str})
    assert list(table.columns) == ["case_id", "roi", *CSV_COLUMNS[1:]]
    for roi, label in (("1", 1), ("2", 2)):
        found = _label_map(tmp_path / "out" / f"c_{roi}_habitats.nii.gz")
        np.testing.assert_array_equal(found > 0, labels == label)
