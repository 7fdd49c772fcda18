"""Cohort batches: 200+ cases, broken ones among them, killed half-way and resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from radiome.cohort import FeatureStore, StoreError, read_manifest, run_batch, run_case
from radiome.spec import load_spec
from radiome.synthetic import BROKEN_KINDS, write_cohort

SPEC = {
    "acquisition": {"modality": ["CT"], "kvp": {"min": 100, "max": 130}},
    "preprocessing": {
        "round_intensities": True,
        "resegmentation": {"range": {"min": -1000, "max": 400}},
        "discretisation": {"method": "fixed_bin_size", "bin_width": 25},
    },
    "features": {"families": ["morph", "stat", "ih"]},
}
_STAGE = {
    "missing_image": "read inputs",
    "missing_mask": "read inputs",
    "corrupt_image": "read image",
    "mask_mismatch": "read mask",
    "empty_roi": "read mask",
    "unknown_roi": "read mask",
    "unsupported_modality": "read image",
}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> tuple[Path, pd.DataFrame, Path]:
    """200 good cases (6 of them DICOM + RTSTRUCT) and one case of every broken kind."""
    folder = tmp_path_factory.mktemp("cohort")
    manifest = write_cohort(folder, n_cases=200, shape=(12, 40, 40), spacing=(2.5, 1.0, 1.0),
                            n_dicom=6, broken=BROKEN_KINDS)
    spec = folder / "spec.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    return folder / "manifest.csv", manifest, spec


def _batch(manifest: Path, spec: Path, url: str) -> list[str]:
    return [sys.executable, "-m", "radiome.cli", "batch", str(manifest), "--spec", str(spec),
            "--store", url, "--workers", "2"]


def _stored(url: str) -> int:
    try:
        store = FeatureStore(url)
    except StoreError:  # the batch has not created the store yet
        return 0
    try:
        return len(store.cases())
    finally:
        store.close()


def test_killed_batch_resumes_with_every_good_case_exactly_once(cohort, store_url):
    manifest_path, manifest, spec_path = cohort
    good = set(manifest.loc[manifest["expect"] == "ok", "case_id"])
    broken = manifest.loc[manifest["expect"] != "ok"].set_index("case_id")["expect"]
    process = subprocess.Popen(_batch(manifest_path, spec_path, store_url),
                               start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while _stored(store_url) < len(good) // 2:
        assert process.poll() is None, "the batch ended before it could be killed"
        assert time.monotonic() < deadline, "the batch made no progress"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = _stored(store_url)
    assert len(good) // 2 <= killed_at < len(good) + len(broken)

    done = subprocess.run(_batch(manifest_path, spec_path, store_url), capture_output=True,
                          text=True, check=False, timeout=600)
    assert done.returncode == 1, done.stderr  # some cases failed
    assert f"{len(broken)} failed" in done.stderr
    assert "already stored" in done.stderr

    store = FeatureStore(store_url)
    spec_hash = load_spec(spec_path).hash
    cases = store.cases(spec_hash)
    assert sorted(cases["case_id"]) == sorted(good)  # every good case, exactly once
    features = store.features(spec_hash=spec_hash)
    per_case = features.groupby("case_id").size()
    assert per_case.nunique() == 1
    assert per_case.iloc[0] == 29 + 18 + 23
    assert not features.duplicated(["case_id", "roi", "feature", "aggregation", "filter"]).any()
    errors = store.errors(spec_hash).set_index("case_id")
    assert sorted(errors.index) == sorted(broken.index)
    for case_id, kind in broken.items():
        assert errors.at[case_id, "stage"] == _STAGE[kind], (kind, errors.at[case_id, "message"])
        assert "\n" not in errors.at[case_id, "message"]
    # DICOM cases record kVp 120 (inside [100, 130]); NIfTI records no kVp: a warning.
    conformance = cases.set_index("case_id")["conformance"]
    dicom = {f"case_{i:04d}" for i in range(6)}
    assert (conformance[sorted(dicom)] == "pass").all()
    assert (conformance.drop(sorted(dicom)) == "warn").all()
    store.close()


@pytest.mark.parametrize("workers", [1, 0], ids=["dask", "in_process"])
def test_rerun_skips_unchanged_and_recomputes_changed_inputs(tmp_path, store_url, workers):
    manifest = write_cohort(tmp_path, n_cases=3, shape=(10, 32, 32), spacing=(2.5, 1.0, 1.0))
    spec = load_spec(SPEC)
    store = FeatureStore(store_url, create=True)
    table = read_manifest(tmp_path / "manifest.csv")
    first = run_batch(table, spec, store, workers=workers)
    assert (first.done, first.unchanged, first.failed) == (3, 0, 0)
    again = run_batch(table, spec, store, workers=workers)
    assert (again.done, again.unchanged) == (0, 3)
    before = store.cases(spec.hash).set_index("case_id")["input_hash"]
    changed = Path(manifest.loc[1, "image"])
    write_cohort(tmp_path / "other", n_cases=1, shape=(10, 32, 32), spacing=(2.5, 1.0, 1.0),
                 seed=50)
    changed.write_bytes((tmp_path / "other" / "images" / "case_0000.nii.gz").read_bytes())
    third = run_batch(table, spec, store, workers=workers)
    assert (third.done, third.unchanged) == (1, 2)
    after = store.cases(spec.hash).set_index("case_id")["input_hash"]
    assert after["case_0001"] != before["case_0001"]
    assert (after.drop("case_0001") == before.drop("case_0001")).all()
    assert len(store.cases(spec.hash)) == 3
    assert (store.runs()["status"] == "finished").all()
    store.close()


def test_a_dying_worker_becomes_an_error_row(tmp_path):
    """A task that kills its worker process every time ends as a 'worker' error; others go on."""
    import dask

    write_cohort(tmp_path, n_cases=3, shape=(10, 32, 32), spacing=(2.5, 1.0, 1.0))
    table = read_manifest(tmp_path / "manifest.csv")
    store = FeatureStore(f"sqlite:///{tmp_path / 's.db'}", create=True)

    def crash_on_second(row, spec, stored_hash, strict):
        if row["case_id"] == "case_0001":
            os._exit(13)
        return run_case(row, spec, stored_hash, strict)

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        summary = run_batch(table, load_spec(SPEC), store, workers=2, task=crash_on_second)
    assert (summary.done, summary.failed) == (2, 1)
    errors = store.errors()
    assert errors["case_id"].tolist() == ["case_0001"]
    assert errors["stage"].tolist() == ["worker"]
    assert "KilledWorker" in errors["message"].iloc[0]


def test_batch_on_an_existing_dask_scheduler(tmp_path, capsys):
    """--scheduler tcp://... sends the work to a running cluster instead of a local one."""
    from dask.distributed import LocalCluster

    from radiome.cli import main

    write_cohort(tmp_path, n_cases=3, shape=(10, 32, 32), spacing=(2.5, 1.0, 1.0))
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    store = f"sqlite:///{tmp_path / 's.db'}"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        args = ["batch", str(tmp_path / "manifest.csv"), "--spec", str(spec), "--store", store]
        assert main([*args, "--scheduler", cluster.scheduler_address]) == 0
        assert main([*args, "--scheduler", cluster.scheduler_address, "--workers", "2"]) == 2
    assert "give --workers or --scheduler, not both" in capsys.readouterr().err
    assert len(FeatureStore(store).cases()) == 3
