"""Cohort batches on dask.distributed: workers compute, the client stores, nothing is lost.

Each manifest row becomes one task. The worker hashes the case's input files, returns at once
when the store already holds the case with the same spec and inputs, and otherwise reads,
checks conformance and extracts. The client writes each finished case in one transaction as it
arrives, so killing the batch at any moment and rerunning it stores every good case exactly
once. A bad case (missing or corrupt file, mask mismatch, empty or unknown ROI, unsupported
modality, a worker that dies) becomes an error row with its stage and a one-line reason.

Every stored case records the software that computed it (radiome version, value-code digest,
numerical libraries: :mod:`radiome.provenance`); a case stored by other software is
recomputed unless the batch is asked to keep it. Radiome warnings raised while a case is read
and processed travel back with the case and are stored with it. The run itself is always
closed, with status ``finished``, ``failed`` (an exception in the client) or ``interrupted``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pydicom

from radiome.cohort.conformance import Conformance, check_conformance
from radiome.cohort.store import CaseRecord, CaseWarning, FeatureStore
from radiome.errors import MissingFileError, RadiomeError, RadiomeWarning
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
    warnings: tuple[CaseWarning, ...] = ()


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
    """Run ``work`` with a stage tracker, recording its radiome warnings in the outcome."""
    stage = ["read inputs"]
    caught: list[CaseWarning] = []
    with _recording(caught, stage):
        outcome = _attempt(case_id, roi, work, stage)
    return dataclasses.replace(outcome, warnings=tuple(dict.fromkeys(caught)))


@contextlib.contextmanager
def _recording(caught: list[CaseWarning], stage: list[str]) -> Iterator[None]:
    """Record every radiome warning (with its stage) in ``caught``; others are shown as usual.

    Warning filters are process state: a worker runs one case at a time (one thread).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("always", RadiomeWarning)
        show = warnings.showwarning

        def record(message, category, filename, lineno, file=None, line=None) -> None:
            if issubclass(category, RadiomeWarning):
                caught.append(CaseWarning(stage[0], category.__name__, str(message)))
            else:
                show(message, category, filename, lineno, file, line)

        warnings.showwarning = record
        yield


def _attempt(case_id: str, roi: str, work: Callable[[list[str]], CaseOutcome],
             stage: list[str]) -> CaseOutcome:
    """Run ``work``; any error becomes a failed outcome with its stage."""
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
    """The record of one computed case, stamped with the software of this process."""
    from radiome.provenance import software_key

    return CaseRecord(
        case_id=row["case_id"], roi=row.get("roi", ""), spec_hash=spec.hash,
        input_hash=hashes[2], image_hash=hashes[0], mask_hash=hashes[1], table=table,
        acquisition=_store_metadata(meta), conformance=conformance.status,
        conformance_reasons=conformance.text(), seconds=seconds,
        labels={c: row.get(c) or None for c in ("patient", "timepoint", "rater", "site",
                                                "modality")},
        perturbation=perturbation, software=software_key(),
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


def run_case(row: dict[str, str], spec: Spec, stored_hash: str | None, strict: bool = False,
             *, versions: Callable[[Volume, Mask], Iterator[tuple[Volume, Mask, str]]] | None = None,
             salt: tuple = ()) -> CaseOutcome:
    """Process one manifest row (runs on a worker; never raises for bad input).

    ``versions`` replaces the case by versions of it, each ``(volume, mask, label)`` stored as
    a record with ``perturbation`` = label (a perturbation study:
    :func:`radiome.reliability.perturbed_versions`); ``salt`` is what else defines the result
    (the versions' settings), part of the input hash.
    """
    from radiome.extraction import extract

    case_id, roi = row["case_id"], row.get("roi", "")

    def work(stage: list[str]) -> CaseOutcome:
        hashes = _hashes(row, *salt)
        if stored_hash == hashes[2]:
            return CaseOutcome(case_id, roi, "unchanged")
        start = time.perf_counter()
        volume, mask = _load(row, spec, stage)
        stage[0] = "conformance"
        meta = _metadata(volume)
        conformance = check_conformance(spec.acquisition, meta)
        if strict and conformance.status == "fail":
            return CaseOutcome(case_id, roi, "nonconformant", stage[0], conformance.text())
        stage[0] = "extract" if versions is None else "perturb and extract"
        cases = [(volume, mask, "")] if versions is None else versions(volume, mask)
        records = []
        for version, version_mask, label in cases:
            table = extract(version, version_mask, spec=spec, case_id=case_id)
            records.append(_record(row, spec, hashes, table, meta, conformance,
                                   time.perf_counter() - start, perturbation=label))
            start = time.perf_counter()
        return CaseOutcome(case_id, roi, "done", records=tuple(records))

    return _guarded(case_id, roi, work)


@dataclass
class BatchSummary:
    """Counts of a batch run.

    ``recomputed`` and ``kept`` count, by the software that stored them (what differs from
    this software, :func:`radiome.provenance.software_difference`), the cases found stored
    by other software: recomputed (the default), or kept with ``keep_other_versions``.
    """

    run_id: int
    total: int
    done: int = 0
    unchanged: int = 0
    nonconformant: int = 0
    failed: int = 0
    warned: int = 0
    seconds: float = 0.0
    recomputed: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)

    @property
    def skipped(self) -> int:
        """Cases not computed: already stored unchanged or kept, or refused by --strict."""
        return self.unchanged + sum(self.kept.values()) + self.nonconformant

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (stored with the run)."""
        return {**dataclasses.asdict(self), "skipped": self.skipped}

    def software_note(self) -> str:
        """One clause on the cases found stored by other software ("" when there were none)."""
        parts = []
        if self.recomputed:
            parts.append(f"{sum(self.recomputed.values())} recomputed because stored by other "
                         f"software ({_by_software(self.recomputed)})")
        if self.kept:
            parts.append(f"{sum(self.kept.values())} kept as stored by other software "
                         f"({_by_software(self.kept)})")
        return "; ".join(parts)


def _by_software(counts: dict[str, int]) -> str:
    """``3 by [radiome 0.1.0]; 1 by [unrecorded software]``."""
    return "; ".join(f"{n} by [{label}]" for label, n in counts.items())


def _client(workers: int | None, scheduler: str | None):
    """A Dask client on ``scheduler``, or on a new local cluster (returned to be closed)."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError) as exc:
            msg = f"{scheduler}: cannot reach the Dask scheduler ({exc})"
            raise RadiomeError(msg) from None
    n = workers or os.cpu_count() or 1
    # silence_logs quiets this cluster's log handlers while it runs and restores them after.
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR,
                           env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
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
    keep_other_versions: bool = False,
) -> BatchSummary:
    """Extract every manifest row in parallel and store the results.

    A case already stored with the same spec, inputs and software is not computed again; one
    stored by other software (another radiome version or value code, other numerical library
    versions, or unrecorded) is recomputed, or kept with ``keep_other_versions``.

    Parameters
    ----------
    manifest : DataFrame
        From :func:`radiome.cohort.read_manifest`.
    spec : Spec
        The measurand; its hash keys the stored cases.
    store : FeatureStore
        Where cases, features, errors and warnings go (written by this process only; other
        batches may write the same store at the same time).
    workers : int, optional
        Worker processes of the local cluster (default: the number of cores); 0 runs every
        case in this process, one after the other, without starting Dask (a few small cases).
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:port``) to use instead. Its
        workers should run the same installation: each case records the software of the
        worker that computed it, and resuming compares it with this process's software.
    strict : bool
        Skip cases whose acquisition fails the spec's profile (recorded as errors).
    on_progress : callable, optional
        Called after each case with the running summary and the case's outcome.
    task : callable
        What a worker runs per row (default :func:`run_case`, same signature).
    perturbed : bool
        The task writes perturbed versions (``functools.partial(run_case, versions=..., salt=...)``):
        resume against the stored perturbation study, not the plain cases.
    keep_other_versions : bool
        Keep cases stored by other software (with unchanged inputs) instead of recomputing
        them; the summary counts them by software.

    Returns
    -------
    BatchSummary
        The counts, also stored with the run. The run is closed (status ``finished``,
        ``failed`` or ``interrupted``) however this function ends.
    """
    from radiome.provenance import software_key, software_versions

    started = time.perf_counter()
    software = software_versions()
    run_id = store.start_run(spec.model_dump(mode="json"), spec.hash, manifest_name, software)
    summary = BatchSummary(run_id=run_id, total=len(manifest))
    status = "failed"
    try:
        plan = _resume_plan(store.stored_inputs(spec.hash, perturbed=perturbed),
                            software_key(software), software, keep_other_versions)
        _compute(manifest, spec, store, summary, plan, workers=workers, scheduler=scheduler,
                 strict=strict, on_progress=on_progress, task=task)
        status = "finished"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        summary.seconds = time.perf_counter() - started
        store.finish_run(run_id, summary.as_dict(), status)
    return summary


@dataclass
class _Plan:
    """Per stored case: the input hash a worker may skip on, and other software's label."""

    skip_on: dict[tuple[str, str], str]
    other: dict[tuple[str, str], str]


def _resume_plan(stored: dict[tuple[str, str], tuple[str, str | None]], current: str,
                 software: dict[str, str], keep: bool) -> _Plan:
    """Which stored cases a worker may skip when their inputs are unchanged."""
    from radiome.provenance import software_difference

    plan = _Plan({}, {})
    for key, (input_hash_, stored_software) in stored.items():
        if stored_software != current:
            plan.other[key] = software_difference(stored_software, software)
            if not keep:
                continue
        plan.skip_on[key] = input_hash_
    return plan


def _compute(manifest: pd.DataFrame, spec: Spec, store: FeatureStore, summary: BatchSummary,
             plan: _Plan, *, workers: int | None, scheduler: str | None, strict: bool,
             on_progress: Callable[[BatchSummary, CaseOutcome], None] | None,
             task: Callable[..., CaseOutcome]) -> None:
    """Submit every row to Dask (or run it here with ``workers=0``); store each outcome."""
    def finished(case_id: str, roi: str, outcome: CaseOutcome) -> None:
        _store_outcome(store, spec.hash, outcome, summary, plan.other.get((case_id, roi)))
        if on_progress is not None:
            on_progress(summary, outcome)

    if workers == 0 and scheduler is None:
        for row in manifest.to_dict("records"):
            key = (row["case_id"], row.get("roi", ""))
            finished(*key, task(row, spec, plan.skip_on.get(key), strict))
        return
    from dask.distributed import as_completed

    client, cluster = _client(workers, scheduler)
    try:
        spec_future = client.scatter(spec, broadcast=True)
        futures = {}
        for row in manifest.to_dict("records"):
            key = (row["case_id"], row.get("roi", ""))
            future = client.submit(task, row, spec_future, plan.skip_on.get(key), strict,
                                   pure=False)
            futures[future] = key
        for future in as_completed(futures):
            case_id, roi = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # KilledWorker, lost connection: the case records it
                outcome = CaseOutcome(case_id, roi, "failed", "worker",
                                      f"{type(exc).__name__}: {exc}")
            finished(case_id, roi, outcome)
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _store_outcome(store: FeatureStore, spec_hash: str, outcome: CaseOutcome,
                   summary: BatchSummary, other: str | None) -> None:
    """Write one outcome to the store and count it (``other``: stored by that software)."""
    summary.warned += bool(outcome.warnings)
    if outcome.status == "done":
        store.write_case(summary.run_id, *outcome.records, warnings=outcome.warnings)
        summary.done += 1
        if other is not None:
            summary.recomputed[other] = summary.recomputed.get(other, 0) + 1
    elif outcome.status == "unchanged":
        if other is None:
            summary.unchanged += 1
        else:
            summary.kept[other] = summary.kept.get(other, 0) + 1
    else:
        store.write_error(summary.run_id, case_id=outcome.case_id, roi=outcome.roi,
                          spec_hash=spec_hash, stage=outcome.stage, message=outcome.message,
                          warnings=outcome.warnings)
        if outcome.status == "nonconformant":
            summary.nonconformant += 1
        else:
            summary.failed += 1
