"""Cohort throughput: cases per minute of ``radiome.cohort.run_batch`` with 1 and 2 workers.

A synthetic CT cohort (``radiome.synthetic.write_cohort``: 48 x 128 x 128 chest slabs with
one textured lesion each, NIfTI) is written once to ``.bench/cohort/``; each worker count runs
the whole cohort into a fresh SQLite feature store with radiome's default CT spec (what
``radiome batch`` uses without ``--spec``). Two rates: over the wall time of ``run_batch``
(Dask cluster start-up and storing included: what a user waits for), and the steady rate
between the first and the last finished case, which leaves the start-up out.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench_config import BENCH_DIR

__all__ = ["run_throughput"]


def _cohort(n_cases: int) -> Path:
    """The manifest of a synthetic cohort of ``n_cases`` (seed 0), written if missing."""
    from radiome.synthetic import write_cohort

    folder = BENCH_DIR / "cohort" / f"synthetic_{n_cases}"
    manifest = folder / "manifest.csv"
    if not manifest.exists():
        write_cohort(folder, n_cases=n_cases, seed=0)
    return manifest


def run_throughput(n_cases: int, worker_counts: tuple[int, ...] = (1, 2),
                   progress=print) -> dict:
    """Cases per minute for each worker count, and the ratio of the last to the first."""
    from radiome import default_spec
    from radiome.cohort import FeatureStore, read_manifest, run_batch

    manifest_path = _cohort(n_cases)
    manifest = read_manifest(manifest_path)
    spec = default_spec("CT")
    runs = []
    for workers in worker_counts:
        with tempfile.TemporaryDirectory(dir=BENCH_DIR) as tmp:
            store = FeatureStore(f"sqlite:///{tmp}/features.db", create=True)
            finished: list[float] = []
            started = time.perf_counter()
            summary = run_batch(manifest, spec, store, workers=workers,
                                manifest_name=str(manifest_path),
                                on_progress=lambda *_: finished.append(time.perf_counter()))
            seconds = time.perf_counter() - started
            store.close()
        run = {"workers": workers, "seconds": seconds, "done": summary.done,
               "failed": summary.failed, "cases_per_min": 60.0 * summary.done / seconds,
               "first_case_s": finished[0] - started if finished else None}
        if len(finished) >= 2 and finished[-1] > finished[0]:
            run["steady_cases_per_min"] = 60.0 * (len(finished) - 1) / (finished[-1] - finished[0])
        runs.append(run)
        progress(f"    {workers} worker(s): {summary.done} cases in {seconds:.1f} s = "
                 f"{run['cases_per_min']:.1f} cases/min, steady "
                 f"{run.get('steady_cases_per_min', float('nan')):.1f} ({summary.failed} failed)")
    result = {"n_cases": n_cases, "spec": "default CT spec", "runs": runs}
    if len(runs) >= 2 and runs[0]["cases_per_min"] > 0:
        result["ratio"] = runs[-1]["cases_per_min"] / runs[0]["cases_per_min"]
        if "steady_cases_per_min" in runs[0] and "steady_cases_per_min" in runs[-1]:
            result["steady_ratio"] = (runs[-1]["steady_cases_per_min"]
                                      / runs[0]["steady_cases_per_min"])
    return result
