"""Several writers on one store: concurrent batches, conflicting writes, runs always closed."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from radiome import provenance
from radiome.cohort import (
    CaseRecord,
    FeatureStore,
    StoreError,
    read_manifest,
    run_batch,
)
from radiome.spec import load_spec
from radiome.synthetic import write_cohort

SPEC = {
    "preprocessing": {"discretisation": {"method": "fixed_bin_size", "bin_width": 25}},
    "features": {"families": ["morph", "stat"]},
}
_SHAPE = {"shape": (10, 32, 32), "spacing": (2.5, 1.0, 1.0)}


def _batch(folder: Path, url: str) -> list[str]:
    return [sys.executable, "-m", "radiome.cli", "batch", str(folder / "manifest.csv"),
            "--spec", str(folder / "spec.yaml"), "--store", url, "--workers", "1"]


def _cohort(folder: Path, n_cases: int, **kwargs) -> pd.DataFrame:
    manifest = write_cohort(folder, n_cases=n_cases, **_SHAPE, **kwargs)
    (folder / "spec.yaml").write_text(yaml.safe_dump(SPEC))
    return manifest


def _record(case_id: str, value: float) -> CaseRecord:
    table = pd.DataFrame({
        "case_id": [case_id], "roi": ["1"], "filter": [""], "family": ["morph"],
        "feature": ["morph_volume"], "ibsi_code": ["RNU0"], "aggregation": [""],
        "value": [value], "unit": ["mm3"], "spec_hash": ["spec"]})
    return CaseRecord(case_id=case_id, roi="1", spec_hash="spec", input_hash="i", image_hash="a",
                      mask_hash="b", table=table, software=provenance.software_key())


def test_two_concurrent_batches_store_every_case_exactly_once(tmp_path, store_url):
    """Both start on a new store, so both create it and both compute every case."""
    manifest = _cohort(tmp_path, 8, broken=["missing_image"])
    processes = [subprocess.Popen(_batch(tmp_path, store_url), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in processes]
    for process, (_, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 1, err  # the broken case failed, nothing else
        assert "Error" not in err and "Traceback" not in err, err
        assert "1 failed" in err
    store = FeatureStore(store_url)
    spec_hash = load_spec(tmp_path / "spec.yaml").hash
    good = sorted(manifest.loc[manifest["expect"] == "ok", "case_id"])
    assert store.cases(spec_hash)["case_id"].tolist() == good
    features = store.features(spec_hash=spec_hash)
    assert not features.duplicated(["case_id", "roi", "feature", "aggregation", "filter"]).any()
    assert features.groupby("case_id").size().nunique() == 1
    assert store.errors(spec_hash)["case_id"].tolist() == ["broken_missing_image"]
    runs = store.runs()
    assert runs["status"].tolist() == ["finished", "finished"]
    done = [summary["done"] + summary["unchanged"] for summary in runs["summary"]]
    assert done == [len(good), len(good)]
    store.close()


def test_concurrent_writes_of_the_same_cases_keep_one_row_each(store_url):
    """Four threads, each with its own store connection, write the same 10 cases 5 times."""
    FeatureStore(store_url, create=True).close()
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        store = FeatureStore(store_url)
        try:
            run_id = store.start_run({}, "spec", "", provenance.software_versions())
            for _ in range(5):
                for i in range(10):
                    store.write_case(run_id, _record(f"case_{i}", 100.0 + i))
                    store.write_error(run_id, case_id="bad", roi="1", spec_hash="spec",
                                      stage="read image", message=f"writer {n}")
        except BaseException as exc:  # collected: an IntegrityError fails the test below
            failures.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    store = FeatureStore(store_url)
    assert store.cases()["case_id"].tolist() == [f"case_{i}" for i in range(10)]
    features = store.features()
    assert features["value"].tolist() == [100.0 + i for i in range(10)]
    assert len(store.errors()) == 1
    store.close()


def test_second_write_of_a_case_replaces_the_first(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    first, second = FeatureStore(url, create=True), FeatureStore(url)
    software = provenance.software_versions()
    run_a = first.start_run({}, "spec", "", software)
    run_b = second.start_run({}, "spec", "", software)
    first.write_case(run_a, _record("c", 1.0))
    second.write_case(run_b, _record("c", 1.0))
    cases = first.cases()
    assert cases[["case_id", "run_id"]].values.tolist() == [["c", run_b]]
    assert first.features()["value"].tolist() == [1.0]


def test_a_run_whose_client_fails_is_closed_as_failed(tmp_path):
    _cohort(tmp_path, 2)
    store = FeatureStore(f"sqlite:///{tmp_path / 's.db'}", create=True)

    def explode(_summary, _outcome) -> None:
        msg = "the progress display broke"
        raise RuntimeError(msg)

    with pytest.raises(RuntimeError, match="the progress display broke"):
        run_batch(read_manifest(tmp_path / "manifest.csv"), load_spec(SPEC), store, workers=1,
                  on_progress=explode)
    run = store.runs().iloc[-1]
    assert run["status"] == "failed"
    assert run["finished_at"] is not None and not pd.isna(run["finished_at"])
    assert run["summary"]["done"] == 1  # the case stored before the failure counts


def test_sigterm_ends_a_batch_as_interrupted_with_its_run_closed(tmp_path):
    _cohort(tmp_path, 40)
    url = f"sqlite:///{tmp_path / 's.db'}"
    process = subprocess.Popen(_batch(tmp_path, url), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while True:
        assert process.poll() is None, "the batch ended before it could be interrupted"
        assert time.monotonic() < deadline, "the batch made no progress"
        try:
            store = FeatureStore(url)
        except StoreError:  # not created yet
            time.sleep(0.1)
            continue
        stored = len(store.cases())
        store.close()
        if stored:
            break
        time.sleep(0.1)
    os.kill(process.pid, signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == (
        "radiome: batch interrupted; the cases stored so far stay stored, and running the "
        "same command again resumes")
    store = FeatureStore(url)
    run = store.runs().iloc[-1]
    assert run["status"] == "interrupted"
    assert not pd.isna(run["finished_at"])
    assert 1 <= run["summary"]["done"] < 40
    assert len(store.cases()) == run["summary"]["done"]


def test_a_batch_leaves_the_distributed_log_levels_as_it_found_them(tmp_path):
    _cohort(tmp_path, 1)
    logger = logging.getLogger("distributed")
    before = (logger.level, [h.level for h in logger.handlers])
    logger.setLevel(logging.INFO)
    try:
        store = FeatureStore(f"sqlite:///{tmp_path / 's.db'}", create=True)
        run_batch(read_manifest(tmp_path / "manifest.csv"), load_spec(SPEC), store, workers=1)
        assert logger.level == logging.INFO
        assert [h.level for h in logger.handlers] == before[1]
    finally:
        logger.setLevel(before[0])


def test_a_signal_during_a_store_write_interrupts_the_batch_after_that_write(tmp_path,
                                                                               monkeypatch):
    """An interrupt raised inside a write transaction could leave SQLite's write lock held
    (the run then failed to close: "database is locked"); the batch defers it past the write."""
    from radiome.cli import main

    _cohort(tmp_path, 3)
    url = f"sqlite:///{tmp_path / 's.db'}"
    original = FeatureStore.write_case

    def write_case_and_receive_sigterm(self, *args, **kwargs):
        with self._transaction():
            os.kill(os.getpid(), signal.SIGTERM)
            assert self.writing  # the handler ran and did not raise inside the transaction
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FeatureStore, "write_case", write_case_and_receive_sigterm)
    code = main(["batch", str(tmp_path / "manifest.csv"), "--spec", str(tmp_path / "spec.yaml"),
                 "--store", url, "--workers", "1"])
    assert code == 130
    store = FeatureStore(url)
    run = store.runs().iloc[-1]
    assert run["status"] == "interrupted"
    assert run["summary"]["done"] == len(store.cases()) == 1
