"""Cohort batches on dask.distributed: workers compute, the client stores, nothing is lost.

Each manifest row becomes one task. The worker hashes the case's input files, returns at once
when the store already holds the case with the same spec and inputs, and otherwise reads,
checks conformance and extracts. The client writes each finished case in one transaction as it
arrives, so killing the batch at any moment and rerunning it stores every good case exactly
once. A bad case (missing or corrupt file, mask mismatch, empty or unknown ROI, unsupported
modality, a worker that dies) becomes an error row with its stage and a one-line reason.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pydicom

from radiome.cohort.conformance import Conformance, check_conformance
from radiome.cohort.store import CaseRecord, FeatureStore
from radiome.errors import MissingFileError, RadiomeError
from radiome.io import is_dicom_file, load_mask, load_volume
from radiome.spec import Spec
from radiome.volume import AcquisitionMetadata, Mask, Volume

__all__ = [
    "BatchSummary",
    "CaseOutcome",
    "file_hash",
    "input_hash",
    "run_batch",
    "run_case",
    "run_perturbed_case",
]

_CHUNK = 1 << 20


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def input_hash(path: str | Path) -> str:
    """SHA-256 of an input: a file, or every file (relative name and bytes) of a folder.

    A DICOM image file that stands for its series (manifest ``image``) hashes its folder.
    """
    path = Path(path)
    if path.is_file():
        if not (is_dicom_file(path) and _is_series_member(path)):
            return file_hash(path)
        path = path.parent
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(item.relative_to(path)).encode() + b"\x00")
        digest.update(file_hash(item).encode())
    return digest.hexdigest()


def _is_series_member(path: Path) -> bool:
    head = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["Modality"])
    return str(head.get("Modality", "")) not in ("RTSTRUCT", "SEG")


@dataclass
class CaseOutcome:
    """What a worker returns for one case (several records: its perturbed versions)."""

    case_id: str
    roi: str
    status: str  # "done", "unchanged", "nonconformant" or "failed"
    stage: str = ""
    message: str = ""
    records: tuple[CaseRecord, ...] = ()


def _store_metadata(meta: AcquisitionMetadata) -> dict[str, Any]:
    """Acquisition metadata as stored: the series date is reduced to its year."""
    stored = meta.as_dict()
    date = stored.pop("series_date") or ""
    stored["series_year"] = int(date[:4]) if date[:4].isdigit() else None
    return stored


def _metadata(volume: Volume) -> AcquisitionMetadata:
    meta = volume.metadata
    if meta.modality is None and volume.modality != "OT":
        meta = dataclasses.replace(meta, modality=volume.modality)
    return meta


def _guarded(case_id: str, roi: str, work: Callable[[list[str]], CaseOutcome]) -> CaseOutcome:
    """Run ``work`` with a stage tracker; any error becomes a failed outcome with its stage."""
    stage = ["read inputs"]
    try:
        return work(stage)
    except RadiomeError as exc:
        return CaseOutcome(case_id, roi, "failed", stage[0], str(exc))
    except OSError as exc:
        return CaseOutcome(case_id, roi, "failed", stage[0],
                           f"{exc.filename or ''}: {exc.strerror or exc}")
    except Exception as exc:  # a bug must not stop the batch; the case records it
        return CaseOutcome(case_id, roi, "failed", stage[0],
                           f"internal error {type(exc).__name__}: {exc}")


def _load(row: dict[str, str], spec: Spec, stage: list[str]) -> tuple[Volume, Mask]:
    stage[0] = "read image"
    volume = load_volume(row["image"], modality=row.get("modality") or None)
    stage[0] = "read mask"
    roi = row.get("roi", "")
    return volume, load_mask(row["mask"], roi=roi or spec.roi.name, reference=volume)


def _record(row: dict[str, str], spec: Spec, hashes: tuple[str, str, str], table: pd.DataFrame,
            meta: AcquisitionMetadata, conformance: Conformance, seconds: float,
            perturbation: str = "") -> CaseRecord:
    return CaseRecord(
        case_id=row["case_id"], roi=row.get("roi", ""), spec_hash=spec.hash,
        input_hash=hashes[2], image_hash=hashes[0], mask_hash=hashes[1], table=table,
        acquisition=_store_metadata(meta), conformance=conformance.status,
        conformance_reasons=conformance.text(), seconds=seconds,
        labels={c: row.get(c) or None for c in ("patient", "timepoint", "rater", "site",
                                                "modality")},
        perturbation=perturbation,
    )


def _hashes(row: dict[str, str], *salt: object) -> tuple[str, str, str]:
    """Image, mask and combined input hash of a row (``salt``: what else defines the result)."""
    for what in ("image", "mask"):
        if not row[what] or not Path(row[what]).exists():
            msg = f"{row[what] or '(empty path)'}: {what} does not exist"
            raise MissingFileError(msg)
    image_hash, mask_hash = input_hash(row["image"]), input_hash(row["mask"])
    text = ":".join([image_hash, mask_hash, row.get("roi", ""), *map(str, salt)])
    return image_hash, mask_hash, hashlib.sha256(text.encode()).hexdigest()


def run_case(row: dict[str, str], spec: Spec, stored_hash: str | None,
             strict: bool = False) -> CaseOutcome:
    """Process one manifest row (runs on a worker; never raises for bad input)."""
    from radiome.extraction import extract

    case_id, roi = row["case_id"], row.get("roi", "")

    def work(stage: list[str]) -> CaseOutcome:
        hashes = _hashes(row)
        if stored_hash == hashes[2]:
            return CaseOutcome(case_id, roi, "unchanged")
        start = time.perf_counter()
        volume, mask = _load(row, spec, stage)
        stage[0] = "conformance"
        meta = _metadata(volume)
        conformance = check_conformance(spec.acquisition, meta)
        if strict and conformance.status == "fail":
            return CaseOutcome(case_id, roi, "nonconformant", stage[0], conformance.text())
        stage[0] = "extract"
        table = extract(volume, mask, spec=spec, case_id=case_id)
        record = _record(row, spec, hashes, table, meta, conformance,
                         time.perf_counter() - start)
        return CaseOutcome(case_id, roi, "done", records=(record,))

    return _guarded(case_id, roi, work)


def run_perturbed_case(row: dict[str, str], spec: Spec, stored_hash: str | None,
                       strict: bool = False, *, n: int = 10, seed: int = 0) -> CaseOutcome:
    """Extract ``n`` seeded perturbed versions of one manifest row (Zwanenburg et al. 2019).

    Every version is a record of the same case and ROI with ``perturbation`` ``p000``,
    ``p001``...; see :func:`radiome.reliability.perturb` for what is perturbed.
    """
    from radiome.extraction import extract
    from radiome.reliability import perturb

    case_id, roi = row["case_id"], row.get("roi", "")

    def work(stage: list[str]) -> CaseOutcome:
        hashes = _hashes(row, "perturb", n, seed)
        if stored_hash == hashes[2]:
            return CaseOutcome(case_id, roi, "unchanged")
        volume, mask = _load(row, spec, stage)
        stage[0] = "conformance"
        meta = _metadata(volume)
        conformance = check_conformance(spec.acquisition, meta)
        if strict and conformance.status == "fail":
            return CaseOutcome(case_id, roi, "nonconformant", stage[0], conformance.text())
        records = []
        for version, version_mask, description in perturb(volume, mask, n=n, seed=seed):
            stage[0] = "perturb and extract"
            start = time.perf_counter()
            table = extract(version, version_mask, spec=spec, case_id=case_id)
            records.append(_record(row, spec, hashes, table, meta, conformance,
                                   time.perf_counter() - start,
                                   perturbation=description["perturbation"]))
        return CaseOutcome(case_id, roi, "done", records=tuple(records))

    return _guarded(case_id, roi, work)


@dataclass
class BatchSummary:
    """Counts of a batch run."""

    run_id: int
    total: int
    done: int = 0
    unchanged: int = 0
    nonconformant: int = 0
    failed: int = 0
    seconds: float = 0.0

    @property
    def skipped(self) -> int:
        """Cases not computed: already stored unchanged, or refused by --strict."""
        return self.unchanged + self.nonconformant

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (stored with the run)."""
        return {**dataclasses.asdict(self), "skipped": self.skipped}


def _client(workers: int | None, scheduler: str | None):
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError) as exc:
            msg = f"{scheduler}: cannot reach the Dask scheduler ({exc})"
            raise RadiomeError(msg) from None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=None, env={"OMP_NUM_THREADS": "1",
                                                        "OPENBLAS_NUM_THREADS": "1",
                                                        "MKL_NUM_THREADS": "1"})
    return Client(cluster), cluster


def run_batch(
    manifest: pd.DataFrame,
    spec: Spec,
    store: FeatureStore,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    strict: bool = False,
    manifest_name: str = "",
    on_progress: Callable[[BatchSummary, CaseOutcome], None] | None = None,
    task: Callable[..., CaseOutcome] = run_case,
    perturbed: bool = False,
) -> BatchSummary:
    """Extract every manifest row in parallel and store the results.

    Parameters
    ----------
    manifest : DataFrame
        From :func:`radiome.cohort.read_manifest`.
    spec : Spec
        The measurand; its hash keys the stored cases.
    store : FeatureStore
        Where cases, features and errors go (written by this process only).
    workers : int, optional
        Worker processes of the local cluster (default: the number of cores).
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:port``) to use instead.
    strict : bool
        Skip cases whose acquisition fails the spec's profile (recorded as errors).
    on_progress : callable, optional
        Called after each case with the running summary and the case's outcome.
    task : callable
        What a worker runs per row (default :func:`run_case`, same signature).
    perturbed : bool
        The task writes perturbed versions (``functools.partial(run_perturbed_case, n=...)``):
        resume against the stored perturbation study, not the plain cases.
    """
    from radiome import __version__

    logging.getLogger("distributed").setLevel(logging.ERROR)
    started = time.perf_counter()
    run_id = store.start_run(spec.model_dump(mode="json"), spec.hash, manifest_name, __version__)
    summary = BatchSummary(run_id=run_id, total=len(manifest))
    stored = store.stored_inputs(spec.hash, perturbed=perturbed)
    client, cluster = _client(workers, scheduler)
    try:
        spec_future = client.scatter(spec, broadcast=True)
        futures = {}
        for row in manifest.to_dict("records"):
            key = (row["case_id"], row.get("roi", ""))
            future = client.submit(task, row, spec_future, stored.get(key), strict,
                                   pure=False)
            futures[future] = key
        from dask.distributed import as_completed

        for future in as_completed(futures):
            case_id, roi = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # KilledWorker, lost connection: the case records it
                outcome = CaseOutcome(case_id, roi, "failed", "worker",
                                      f"{type(exc).__name__}: {exc}")
            _store_outcome(store, run_id, spec.hash, outcome, summary)
            if on_progress is not None:
                on_progress(summary, outcome)
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    summary.seconds = time.perf_counter() - started
    store.finish_run(run_id, summary.as_dict())
    return summary


def _store_outcome(store: FeatureStore, run_id: int, spec_hash: str, outcome: CaseOutcome,
                   summary: BatchSummary) -> None:
    if outcome.status == "done":
        store.write_case(run_id, *outcome.records)
        summary.done += 1
    elif outcome.status == "unchanged":
        summary.unchanged += 1
    else:
        store.write_error(run_id, case_id=outcome.case_id, roi=outcome.roi, spec_hash=spec_hash,
                          stage=outcome.stage, message=outcome.message)
        if outcome.status == "nonconformant":
            summary.nonconformant += 1
        else:
            summary.failed += 1
