"""Reliability studies over the feature store: test-retest, multi-rater, perturbations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import ndimage

from radiome.cli import main
from radiome.cohort import FeatureStore
from radiome.io import write_volume
from radiome.synthetic import synthetic_case
from radiome.volume import Mask

SHAPE, SPACING = (12, 40, 40), (2.5, 1.0, 1.0)
SPEC = {
    "preprocessing": {"round_intensities": True,
                      "resegmentation": {"range": {"min": -1000, "max": 400}},
                      "discretisation": {"method": "fixed_bin_size", "bin_width": 25}},
    "features": {"families": ["morph", "stat"]},
}


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(SPEC))
    return path


def _manifest(tmp_path: Path, rows: list[dict]) -> Path:
    path = tmp_path / "manifest.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_test_retest_study_from_the_store(tmp_path, spec, capsys):
    rows = []
    for patient in range(10):
        for timepoint in (1, 2):
            volume, mask = synthetic_case(patient, shape=SHAPE, spacing=SPACING,
                                          rescan=timepoint)
            case = f"p{patient}_t{timepoint}"
            rows.append({"case_id": case, "roi": "1", "patient": f"p{patient}",
                         "timepoint": str(timepoint), "modality": "CT",
                         "image": write_volume(volume, tmp_path / f"{case}.nii.gz"),
                         "mask": write_volume(mask, tmp_path / f"{case}_m.nii.gz")})
    manifest = _manifest(tmp_path, rows)
    store = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["batch", str(manifest), "--spec", str(spec), "--store", store,
                 "--workers", "1"]) == 0
    out, plot = tmp_path / "icc.csv", tmp_path / "icc.png"
    assert main(["reliability", "--store", store, "--by", "timepoint", "--out", str(out),
                 "--plot", str(plot)]) == 0
    assert "ICC2 by timepoint" in capsys.readouterr().out
    table = pd.read_csv(out).set_index("feature")
    assert (table["n_subjects"] == 10).all()
    assert (table["n_raters"] == 2).all()
    # Same anatomy, new scanner noise: shape is identical between scans, the mean nearly so.
    assert table.at["morph_volume", "icc"] == pytest.approx(1.0)
    assert table.at["stat_mean", "icc"] > 0.9
    assert plot.stat().st_size > 10_000
    stored = FeatureStore(store).icc()
    assert set(stored["by"]) == {"timepoint"}
    assert len(stored) == len(table)


def test_multi_rater_study_ranks_contour_sensitive_features_lower(tmp_path, spec):
    rows = []
    for patient in range(8):
        volume, mask = synthetic_case(patient, shape=SHAPE, spacing=SPACING)
        image = write_volume(volume, tmp_path / f"p{patient}.nii.gz")
        raters = {"a": mask.array, "b": ndimage.binary_dilation(mask.array),
                  "c": ndimage.binary_erosion(mask.array) | (mask.array & (patient % 2 == 0))}
        for rater, array in raters.items():
            rows.append({"case_id": f"p{patient}_{rater}", "roi": "1", "patient": f"p{patient}",
                         "rater": rater, "modality": "CT", "image": image,
                         "mask": write_volume(Mask(array=array, grid=mask.grid),
                                              tmp_path / f"p{patient}_{rater}.nii.gz")})
    store = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["batch", str(_manifest(tmp_path, rows)), "--spec", str(spec), "--store", store,
                 "--workers", "1"]) == 0
    assert main(["reliability", "--store", store, "--by", "rater", "--form", "ICC2"]) == 0
    icc = FeatureStore(store).icc().set_index("feature")["icc"]
    assert icc["morph_volume"] > icc["stat_min"]


def test_perturbation_study_stores_versions_and_writes_icc_once(tmp_path, spec, capsys):
    rows = []
    for case in range(3):
        volume, mask = synthetic_case(case + 3, shape=(10, 48, 48), spacing=(2.5, 1.0, 1.0))
        rows.append({"case_id": f"c{case}", "roi": "1", "modality": "CT",
                     "image": write_volume(volume, tmp_path / f"c{case}.nii.gz"),
                     "mask": write_volume(mask, tmp_path / f"c{case}_m.nii.gz")})
    manifest = _manifest(tmp_path, rows)
    store = f"sqlite:///{tmp_path / 's.db'}"
    args = ["perturb", str(manifest), "--spec", str(spec), "--store", store, "--n", "3",
            "--workers", "1", "--out", str(tmp_path / "icc.csv")]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "3 case(s) perturbed 3 times" in captured.err
    assert "ICC1 over 3 perturbations" in captured.out
    feature_store = FeatureStore(store)
    versions = feature_store.cases(perturbed=True)
    assert len(versions) == 9
    assert sorted(set(versions["perturbation"])) == ["p000", "p001", "p002"]
    assert feature_store.cases().empty  # perturbed versions are not plain cases
    table = pd.read_csv(tmp_path / "icc.csv")
    assert (table["n_subjects"] == 3).all()
    assert (table["n_raters"] == 3).all()
    assert np.isfinite(table["icc"]).sum() > len(table) // 2
    assert main(args) == 0  # rerun: nothing recomputed
    assert "0 case(s) perturbed 3 times, 3 already stored" in capsys.readouterr().err
