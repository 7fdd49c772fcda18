"""Habitats of a cohort: fit (or load) the habitat model, apply it unchanged to every case.

For each manifest row the fitted model gives the habitat label map on the image grid, written
as ``<case_id>_habitats.nii.gz`` with a figure ``<case_id>_habitats.png``; ``habitats.csv``
lists each case's habitat volume fractions and connected regions, and with ``stability`` the
file ``stability.csv`` each habitat's mean matched Dice under perturbation. In the feature
store each habitat is a case ROI ``<roi>#h<k>`` whose rows are its IBSI features and its
``hab_`` descriptors (:data:`~radiome.habitats.HABITAT_FEATURES`), computed with the run's spec.

Provenance: the habitat model's file hash is part of each habitat case's input hash and of the
software key stored with it (entry ``habitat_model``), so a case is recomputed when the model,
the inputs, the stability settings or the software change, and a model trained on habitat
features can tell which habitat model made them. A case whose stored habitats are unchanged
keeps them (its label map and figure are written again). A bad case is recorded as an error
of the ROI ``<roi>#*`` and the others go on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from radiome.cohort.runner import CaseOutcome, _guarded, input_hash
from radiome.cohort.store import CaseRecord, FeatureStore
from radiome.habitats.case import (
    CaseHabitats,
    habitat_features,
    habitat_roi,
    habitat_stability,
)
from radiome.habitats.model import HabitatModel, save_habitat_model
from radiome.habitats.plots import plot_habitats
from radiome.habitats.voxels import CaseMaps, HabitatError
from radiome.spec import Spec
from radiome.volume import Mask, Volume

__all__ = ["HabitatSummary", "run_habitats"]


@dataclass
class HabitatSummary:
    """What a habitat run did.

    ``done`` cases were computed and stored; ``unchanged`` ones were already stored with the
    same model, inputs and software (their label maps were written again); ``failed`` ones
    are recorded as errors (in ``errors``: case, ROI, stage, message).
    """

    total: int
    model_path: Path | None
    n_habitats: int = 0
    run_id: int | None = None
    done: int = 0
    unchanged: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[tuple[str, str, str, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        """Plain dict (stored with the run)."""
        return {"total": self.total, "n_habitats": self.n_habitats, "done": self.done,
                "unchanged": self.unchanged, "failed": self.failed, "seconds": self.seconds,
                "model": str(self.model_path or "")}


Progress = Callable[[int, int, str], None]


def run_habitats(
    manifest: pd.DataFrame,
    out: str | Path,
    *,
    model: HabitatModel,
    model_path: str | Path | None = None,
    spec: Spec | None = None,
    store: FeatureStore | None = None,
    stability: int = 0,
    seed: int = 0,
    manifest_name: str = "",
    on_progress: Progress | None = None,
) -> HabitatSummary:
    """Habitats of every case of a manifest: label maps, figures, tables and the store.

    Parameters
    ----------
    manifest : DataFrame
        From :func:`radiome.cohort.read_manifest`.
    out : path
        Folder for ``<case_id>_habitats.nii.gz`` and ``.png`` (``<case_id>_<roi>_...`` when a
        case has several ROIs), ``habitats.csv`` and, with ``stability``, ``stability.csv``.
    model : HabitatModel
        Fitted (applied as it is), or not (then fitted here on the manifest's cases and saved
        to ``model_path``).
    model_path : path, optional
        The model's file: where it was loaded from, or where it is saved when fitted here.
        Needed with a store (its hash is the habitats' provenance).
    spec : Spec, optional
        The IBSI features computed on each habitat; default: the model's spec.
    store : FeatureStore, optional
        Where each habitat's features go (without one, none are computed).
    stability : int, default 0
        Perturbed versions per case for the stability check (0: none).
    seed : int, default 0
        Seed of the perturbations.
    manifest_name : str
        Recorded with the run.
    on_progress : callable, optional
        ``on_progress(done, total, what)`` after each step.

    Returns
    -------
    HabitatSummary

    Raises
    ------
    HabitatError
        No case could be read to fit the model, or a store is given without a model file.
    """
    started = time.perf_counter()
    if store is not None and model_path is None:
        msg = "run_habitats: a store needs the habitat model's file (model_path) as provenance"
        raise HabitatError(msg)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = manifest.to_dict("records")
    fitting = not hasattr(model, "n_habitats_")
    steps = _Steps(len(rows) * (2 if fitting else 1) + fitting, on_progress)
    failures: dict[int, CaseOutcome] = {}
    maps: dict[int, CaseMaps] = {}
    if fitting:
        _fit(model, rows, maps, failures, steps)
        if model_path is not None:
            save_habitat_model(model, model_path, training={
                "manifest": manifest_name, "cases": [r["case_id"] for r in rows]})
    run = _Run(model, spec or model.spec_, out, stability, seed, store, model_path,
               manifest_name)
    summary = HabitatSummary(total=len(rows), model_path=run.model_path,
                             n_habitats=int(model.n_habitats_), run_id=run.run_id)
    several = manifest["case_id"].duplicated(keep=False).to_numpy()
    results: list[list[tuple]] = []
    status = "failed"
    try:
        for i, row in enumerate(rows):
            steps(f"habitats of {row['case_id']}")
            if i in failures:
                run.fail(row, failures[i], summary)
                continue
            found = run.case(row, bool(several[i]), maps.pop(i, None), summary)
            if found:
                results.append(found)
        status = "finished"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        summary.seconds = time.perf_counter() - started
        run.finish(summary, status)
    _write_tables(out, [r for found in results for r in found], bool(several.any()),
                  stability > 0)
    return summary


class _Steps:
    """Counts steps and reports them to ``on_progress``."""

    def __init__(self, total: int, on_progress: Progress | None) -> None:
        self.total, self.done, self.on_progress = total, 0, on_progress

    def __call__(self, what: str) -> None:
        self.done += 1
        if self.on_progress is not None:
            self.on_progress(self.done, self.total, what)


def _load(row: dict, stage: list[str]) -> tuple[Volume, Mask]:
    """Image and mask of a manifest row (``stage`` follows the reading, for errors)."""
    from radiome.io import load_mask, load_volume

    stage[0] = "read image"
    volume = load_volume(row["image"], modality=row.get("modality") or None)
    stage[0] = "read mask"
    return volume, load_mask(row["mask"], roi=row.get("roi") or None, reference=volume)


def _fit(model: HabitatModel, rows: list[dict], maps: dict[int, CaseMaps],
         failures: dict[int, CaseOutcome], steps: _Steps) -> None:
    """Maps of every readable case (kept in ``maps``), then the model fitted on them."""
    model._check_params()  # before hours of maps, not after
    for i, row in enumerate(rows):
        steps(f"maps of {row['case_id']}")

        def work(stage: list[str], i: int = i, row: dict = row) -> CaseOutcome:
            volume, mask = _load(row, stage)
            stage[0] = "maps"
            maps[i] = model.case_maps(volume, mask)
            return CaseOutcome(row["case_id"], row.get("roi", ""), "done")

        outcome = _guarded(row["case_id"], row.get("roi", ""), work)
        if outcome.status == "failed":
            failures[i] = outcome
    if not maps:
        msg = ("no case could be read to fit the habitat model (e.g. "
               f"{next(iter(failures.values())).message})")
        raise HabitatError(msg)
    steps(f"fitting habitats on {len(maps)} case(s)")
    model.fit(list(maps.values()))


class _Run:
    """What every case of a run shares: the model, spec, outputs and the store's run."""

    def __init__(self, model: HabitatModel, spec: Spec, out: Path, stability: int, seed: int,
                 store: FeatureStore | None, model_path: str | Path | None,
                 manifest_name: str) -> None:
        self.model, self.spec, self.out, self.store = model, spec, out, store
        self.stability, self.seed = stability, seed
        self.model_path = None if model_path is None else Path(model_path)
        self.run_id: int | None = None
        self._dice: dict[tuple[str, str], float] | None = None
        if store is None:
            return
        from radiome.cohort.runner import file_hash
        from radiome.provenance import software_key, software_versions

        self.model_hash = file_hash(self.model_path)
        software = {**software_versions(), "habitat_model": self.model_hash[:16]}
        self.software = software_key(software)
        self.run_id = store.start_run(spec.model_dump(mode="json"), spec.hash, manifest_name,
                                      software)
        self.stored = store.stored_inputs(spec.hash)

    def fail(self, row: dict, outcome: CaseOutcome, summary: HabitatSummary) -> None:
        """Count a failed case and record it (ROI ``<roi>#*``) in the store."""
        roi = row.get("roi", "")
        summary.failed += 1
        summary.errors.append((row["case_id"], roi, outcome.stage, outcome.message))
        if self.store is not None:
            self.store.write_error(self.run_id, case_id=row["case_id"], roi=f"{roi}#*",
                                   spec_hash=self.spec.hash, stage=outcome.stage,
                                   message=outcome.message, warnings=outcome.warnings)

    def finish(self, summary: HabitatSummary, status: str) -> None:
        """Close the store's run."""
        if self.store is not None:
            self.store.finish_run(self.run_id, summary.as_dict(), status)

    def case(self, row: dict, several: bool, maps: CaseMaps | None,
             summary: HabitatSummary) -> list[tuple]:
        """Habitats of one row: outputs written, store updated; its table rows ([] if failed)."""
        found: list[tuple] = []
        start = time.perf_counter()

        def work(stage: list[str]) -> CaseOutcome:
            rows, records = self._compute(row, several, maps, stage)
            found.extend(rows)
            return CaseOutcome(row["case_id"], row.get("roi", ""),
                               "unchanged" if records is None else "done",
                               records=tuple(records or ()))

        outcome = _guarded(row["case_id"], row.get("roi", ""), work)
        if outcome.status == "failed":
            self.fail(row, outcome, summary)
            return []
        if outcome.status == "unchanged":
            summary.unchanged += 1
            return found
        if outcome.records:
            seconds = (time.perf_counter() - start) / len(outcome.records)
            self.store.write_parts(
                self.run_id, row.get("roi", ""),
                *(dataclasses.replace(r, seconds=seconds) for r in outcome.records),
                warnings=outcome.warnings)
        summary.done += 1
        return found

    def _compute(self, row: dict, several: bool, maps: CaseMaps | None,
                 stage: list[str]) -> tuple[list[tuple], list[CaseRecord] | None]:
        """Table rows of one case and its store records (None: stored unchanged)."""
        case_id, roi = row["case_id"], row.get("roi", "")
        volume, mask = _load(row, stage)
        stage[0] = "maps"
        maps = maps or self.model.case_maps(volume, mask)
        stage[0] = "habitats"
        found = CaseHabitats(labels=self.model.predict([maps])[0], grid=mask.grid,
                             n_habitats=int(self.model.n_habitats_), source=mask.source)
        stage[0] = "write outputs"
        stem = _stem(case_id, roi if several else None)
        _write_map(found, self.out / f"{stem}_habitats.nii.gz")
        plot_habitats(volume, found, self.out / f"{stem}_habitats.png",
                      title=f"{case_id} {roi}".strip())
        hashes = self._hashes(row) if self.store is not None else None
        key = (case_id, habitat_roi(roi, 1))
        if hashes is not None and self.stored.get(key) == (hashes[2], self.software):
            return _rows(row, found, self._stored_dice(case_id, roi)), None
        dice = None
        if self.stability:
            stage[0] = "stability"
            table = habitat_stability(self.model, volume, mask, n=self.stability,
                                      seed=self.seed, reference=found)
            dice = table.groupby("habitat")["dice"].mean().reindex(
                range(1, found.n_habitats + 1)).to_numpy()
        if hashes is None:
            return _rows(row, found, dice), []
        stage[0] = "features"
        table = habitat_features(volume, found, spec=self.spec, case_id=case_id, roi=roi,
                                 dice=dice)
        return _rows(row, found, dice), self._records(row, volume, table, hashes)

    def _hashes(self, row: dict) -> tuple[str, str, str]:
        """Image, mask and habitat input hash (salted with the model and stability settings)."""
        image, mask = input_hash(row["image"]), input_hash(row["mask"])
        text = ":".join([image, mask, row.get("roi", ""), "habitats", self.model_hash,
                         str(self.stability), str(self.seed)])
        return image, mask, hashlib.sha256(text.encode()).hexdigest()

    def _records(self, row: dict, volume: Volume, table: pd.DataFrame,
                 hashes: tuple[str, str, str]) -> list[CaseRecord]:
        """One store record per habitat ROI of a case."""
        from radiome.cohort.conformance import check_conformance

        conformance = check_conformance(self.spec.acquisition, volume.metadata)
        labels = {c: row.get(c) or None for c in ("patient", "timepoint", "rater", "site",
                                                  "modality")}
        return [CaseRecord(case_id=row["case_id"], roi=name, spec_hash=self.spec.hash,
                           input_hash=hashes[2], image_hash=hashes[0], mask_hash=hashes[1],
                           table=part, conformance=conformance.status,
                           conformance_reasons=conformance.text(), labels=labels,
                           software=self.software)
                for name, part in table.groupby("roi", sort=False)]

    def _stored_dice(self, case_id: str, roi: str) -> np.ndarray | None:
        """The stored stability (``hab_dice``) of each habitat of a case (None: not computed)."""
        if not self.stability:
            return None
        if self._dice is None:
            stored = self.store.features(spec_hash=self.spec.hash)
            stored = stored[stored["feature"] == "hab_dice"]
            self._dice = dict(zip(zip(stored["case_id"], stored["roi"], strict=True),
                                  stored["value"], strict=True))
        return np.array([self._dice.get((case_id, habitat_roi(roi, k)), np.nan)
                         for k in range(1, int(self.model.n_habitats_) + 1)])


def _stem(case_id: str, roi: str | None) -> str:
    """File name stem of a case's outputs (characters unsafe in file names replaced by _)."""
    text = case_id if roi is None else f"{case_id}_{roi}"
    return re.sub(r"[^\w.-]", "_", text)


def _write_map(found: CaseHabitats, path: Path) -> None:
    """Write a label map whole or not at all."""
    from radiome._output import written

    with written(path, "habitat label map") as partial:
        found.write(partial)


def _rows(row: dict, found: CaseHabitats, dice: np.ndarray | None) -> list[tuple]:
    """(case_id, roi, habitat, volume_fraction, n_regions, dice) of each habitat of a case."""
    fractions, regions = found.fractions, found.n_regions
    return [(row["case_id"], row.get("roi", ""), k, float(fractions[k - 1]),
             int(regions[k - 1]), np.nan if dice is None else float(dice[k - 1]))
            for k in range(1, found.n_habitats + 1)]


def _write_tables(out: Path, rows: list[tuple], with_roi: bool, stability: bool) -> None:
    """``habitats.csv`` (and ``stability.csv``): ``roi`` only when a case has several ROIs."""
    from radiome._output import written

    table = pd.DataFrame(rows, columns=["case_id", "roi", "habitat", "volume_fraction",
                                        "n_regions", "dice"])
    keys = ["case_id", "roi", "habitat"] if with_roi else ["case_id", "habitat"]
    with written(out / "habitats.csv", "habitat table") as partial:
        table[[*keys, "volume_fraction", "n_regions"]].to_csv(partial, index=False,
                                                             float_format="%.17g")
    if stability:
        with written(out / "stability.csv", "stability table") as partial:
            table[[*keys, "dice"]].to_csv(partial, index=False, float_format="%.17g")
