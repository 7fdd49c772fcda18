"""One stored study for the report tests, built once: store, images, ICCs, a model JSON.

Six synthetic patients at two sites (NIfTI images and masks written by
:func:`radiome.synthetic.write_cohort`), each segmented by two raters (rater b reuses rater
a's mask, so Dice is 1 and HD95 0); one case fails its conformance check, one carries a
warning, one more manifest row failed at ``read image``; ICCs of every feature; habitat parts
of one case; and the JSON of a binary model evaluation (the keys of ``radiome model evaluate
--json``, calibration and decision curve included). Features are made up with a site shift so
that harmonisation has something to remove; every value the page shows can be traced back.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

_FEATURES = ("stat_mean", "morph_volume", "cm_contrast", "szm_zs_entr", "stat_var", "ih_entropy")


@dataclass(frozen=True)
class Study:
    """What the fixture made: the store URL, model JSON, the report and its text."""

    store: str
    model: Path
    report: Path
    html: str
    folder: Path


def _table(values: dict[str, float]) -> pd.DataFrame:
    """A long feature table of one case (unfiltered, no aggregation)."""
    return pd.DataFrame({
        "filter": "", "family": [f.split("_")[0] for f in values], "feature": list(values),
        "ibsi_code": "XXXX", "aggregation": "", "value": list(values.values()), "unit": "",
    })


def _evaluation() -> dict:
    """A binary evaluation as ``radiome model evaluate --json`` writes it (curves computed)."""
    from radiome.analysis.curves import calibration_bins, roc_band

    thresholds = [0.1, 0.2, 0.3, 0.4, 0.5]
    y = np.array([0, 1, 0, 1, 1, 0])
    risk = np.array([[0.2, 0.7, 0.4, 0.6, 0.9, 0.3], [0.1, 0.8, 0.5, 0.4, 0.7, 0.2]])
    curves = {"roc": roc_band(y, risk, n_points=21, n_boot=50),
              "calibration": calibration_bins(y, risk, n_bins=3)}
    return {"curves": curves,
        "task": "binary", "n_features": 6, "harmonized": True, "spec_hash": "to be set",
        "dropped_features": [], "n_missing_values": 0, "n": 6, "n_repeats": 2, "n_splits": 3,
        "ci_method": "95% CI: percentile bootstrap over cases (200 resamples) of the mean over "
                     "2 repeats",
        "n_positive": 3, "auc": 0.8123, "auc_ci_low": 0.61, "auc_ci_high": 0.97,
        "sensitivity": 0.6667, "sensitivity_ci_low": 0.2, "sensitivity_ci_high": 1.0,
        "specificity": None, "auc_sd_repeats": 0.021,
        "calibration_intercept": -0.12, "calibration_intercept_ci_low": -0.9,
        "calibration_intercept_ci_high": 0.7, "calibration_slope": 0.84,
        "calibration_slope_ci_low": 0.3, "calibration_slope_ci_high": 1.6, "brier": 0.187,
        "brier_ci_low": 0.1, "brier_ci_high": 0.26,
        "net_benefit": {"thresholds": thresholds, "values": [0.4, 0.35, 0.3, 0.2, 0.1],
                        "treat_all": [0.44, 0.37, 0.28, 0.16, 0.0],
                        "treat_none": [0.0] * 5},
    }


@pytest.fixture(scope="session")
def study(tmp_path_factory) -> Study:
    """The stored study and its report (written once for all report tests)."""
    from radiome.cohort import CaseRecord, CaseWarning, FeatureStore
    from radiome.cohort.manifest import write_manifest
    from radiome.cohort.runner import input_hash
    from radiome.provenance import software_key, software_versions
    from radiome.report import write_report
    from radiome.spec import default_spec
    from radiome.synthetic import write_cohort

    folder = tmp_path_factory.mktemp("study")
    cohort = write_cohort(folder, n_cases=6, shape=(16, 48, 48), spacing=(2.5, 1.0, 1.0))
    rows = []
    for i, case in enumerate(cohort.itertuples(index=False)):
        for rater in ("a", "b"):
            rows.append({"case_id": f"{case.case_id}{'' if rater == 'a' else '_b'}",
                         "image": case.image, "mask": case.mask, "roi": case.roi,
                         "patient": case.case_id, "timepoint": "T0", "rater": rater,
                         "site": "north" if i < 3 else "south", "modality": "CT"})
    rows.append({"case_id": "broken", "image": str(folder / "missing.nii.gz"),
                 "mask": cohort["mask"].iloc[0], "roi": "1", "patient": "broken",
                 "timepoint": "T0", "rater": "a", "site": "north", "modality": "CT"})
    manifest = pd.DataFrame(rows)
    manifest_path = write_manifest(manifest, folder / "manifest.csv")

    spec = default_spec("CT")
    software = software_versions()
    url = f"sqlite:///{folder / 'study.db'}"
    store = FeatureStore(url, create=True)
    run_id = store.start_run(spec.model_dump(mode="json"), spec.hash, str(manifest_path),
                             software)
    rng = np.random.default_rng(7)
    for k, row in enumerate(rows[:-1]):
        shift = 5.0 if row["site"] == "south" else 0.0
        values = {f: float(10 * (j + 1) + shift + rng.normal()) for j, f in enumerate(_FEATURES)}
        record = CaseRecord(
            case_id=row["case_id"], roi=row["roi"], spec_hash=spec.hash,
            input_hash=f"in{k}", image_hash=input_hash(row["image"]),
            mask_hash=input_hash(row["mask"]), table=_table(values),
            conformance="fail" if k == 2 else "warn",
            conformance_reasons="slice thickness 5 mm outside [1, 3] mm" if k == 2
            else "kvp not recorded", seconds=0.5,
            labels={c: row[c] for c in ("patient", "timepoint", "rater", "site", "modality")},
            software=software_key(software),
        )
        warned = [CaseWarning("extract", "FeatureWarning", "ROI has 12 voxels")] if k == 4 else []
        store.write_case(run_id, record, warnings=warned)
    store.write_error(run_id, case_id="broken", roi="1", spec_hash=spec.hash,
                      stage="read image", message=f"{folder / 'missing.nii.gz'}: no such file")
    parts = [CaseRecord(case_id=rows[0]["case_id"], roi=f"1#h{h}", spec_hash=spec.hash,
                        input_hash="hab", image_hash="x", mask_hash="y",
                        table=_table({"hab_fraction": fraction}), labels={"rater": "a"})
             for h, fraction in ((1, 0.25), (2, 0.75))]
    store.write_parts(run_id, "1", *parts)
    store.finish_run(run_id, {"total": len(rows), "done": len(rows) - 1, "failed": 1})
    icc = pd.DataFrame({
        "filter": "", "family": [f.split("_")[0] for f in _FEATURES], "feature": _FEATURES,
        "aggregation": "", "icc": [0.95, 0.91, 0.62, 0.88, 0.4, 0.97],
        "ci_low": [0.9, 0.8, 0.3, 0.7, 0.1, 0.93], "ci_high": [0.99, 0.97, 0.85, 0.95, 0.7, 0.99],
        "n_subjects": 6, "passes": [1, 1, 0, 0, 0, 1]})
    store.write_icc(spec.hash, "rater", "2,1", 0.75, icc)
    store.close()

    model = folder / "evaluation.json"
    model.write_text(json.dumps({**_evaluation(), "spec_hash": spec.hash}), encoding="utf-8")
    report = write_report(url, folder / "report.html", models=[model],
                          cache=folder / "cache")
    return Study(url, model, report, report.read_text(encoding="utf-8"), folder)


@dataclass(frozen=True)
class Demo:
    """``radiome demo`` of three cases: its folder, report and printed text."""

    folder: Path
    report: Path
    printed: str


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Demo:
    """``radiome demo --cases 3`` run once (what ``make demo`` runs, smaller)."""
    from radiome.cli import main

    folder = tmp_path_factory.mktemp("demo") / "demo"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["demo", "--out", str(folder), "--cases", "3"]) == 0
    return Demo(folder, folder / "report.html", printed.getvalue())
