"""Discovery: a manifest from a folder of DICOM files at any depth.

Instances are grouped into series by SeriesInstanceUID (file names and folder layout carry no
meaning). Each RTSTRUCT or SEG is paired with the image series it references
(ReferencedSeriesInstanceUID), else with the only image series of its FrameOfReferenceUID.
One manifest row per image series and structure (segment). Case ids and patient keys are
keyed-hash pseudonyms; no name, birth date or raw identifier reaches the manifest.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from radiome.cohort.manifest import LABEL_COLUMNS, MANIFEST_COLUMNS
from radiome.cohort.privacy import pseudonym
from radiome.io import is_dicom_file

__all__ = ["Discovery", "discover"]

_IMAGE_MODALITIES = ("CT", "MR", "PT")
_IMAGE_TAGS = [
    "SeriesInstanceUID", "StudyInstanceUID", "FrameOfReferenceUID", "PatientID", "Modality",
    "ImageType", "StudyDate", "StudyTime", "SeriesDescription", "ImagePositionPatient",
    "NumberOfFrames", "SOPClassUID",
]


@dataclass
class _Series:
    uid: str
    modality: str
    frame_uid: str
    patient: str
    study: str
    study_date: str
    files: list[Path] = field(default_factory=list)
    localizer: bool = False
    frames: int = 1

    def folder(self) -> Path:
        """The deepest folder holding every file of the series."""
        parents = {p.parent for p in self.files}
        common = Path(*Path(next(iter(parents))).parts)
        for parent in parents:
            while not parent.is_relative_to(common):
                common = common.parent
        return common


@dataclass(frozen=True)
class Discovery:
    """The manifest found, and every file or series left out with the reason."""

    manifest: pd.DataFrame
    skipped: pd.DataFrame


def _referenced_series(ds: Dataset) -> set[str]:
    found = set()
    for frame in ds.get("ReferencedFrameOfReferenceSequence", []):
        for study in frame.get("RTReferencedStudySequence", []):
            for series in study.get("RTReferencedSeriesSequence", []):
                found.add(str(series.SeriesInstanceUID))
    for series in ds.get("ReferencedSeriesSequence", []):
        found.add(str(series.get("SeriesInstanceUID", "")))
    return found - {""}


def _frames_of(ds: Dataset) -> set[str]:
    found = {str(ds.get("FrameOfReferenceUID", ""))}
    for frame in ds.get("ReferencedFrameOfReferenceSequence", []):
        found.add(str(frame.get("FrameOfReferenceUID", "")))
    return found - {""}


def _structures(ds: Dataset) -> list[str]:
    if ds.Modality == "SEG":
        return [str(s.SegmentLabel) for s in ds.get("SegmentSequence", [])]
    with_contours = {int(c.ReferencedROINumber) for c in ds.get("ROIContourSequence", [])
                     if "ContourSequence" in c}
    return [str(r.ROIName) for r in ds.get("StructureSetROISequence", [])
            if int(r.ROINumber) in with_contours]


def discover(root: str | Path, key: bytes) -> Discovery:
    """Find image series and their RTSTRUCT/SEG masks under ``root``; see the module docstring.

    Parameters
    ----------
    root : path
        Folder searched at any depth.
    key : bytes
        Pseudonymisation key (:func:`radiome.cohort.privacy.load_key`).

    Returns
    -------
    Discovery
        ``manifest`` with columns case_id, image, mask, roi, patient, timepoint, rater, site,
        modality (image is the series folder, or one file of the series when its folder holds
        other series too); ``skipped`` with columns path, reason.
    """
    root = Path(root)
    series: dict[str, _Series] = {}
    masks: list[tuple[Path, Dataset]] = []
    skipped: list[tuple[str, str]] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if not is_dicom_file(path):
            continue
        try:
            head = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_IMAGE_TAGS)
        except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
            skipped.append((str(path), f"unreadable DICOM ({exc})"))
            continue
        modality = str(head.get("Modality", ""))
        if modality in ("RTSTRUCT", "SEG"):
            masks.append((path, pydicom.dcmread(path, stop_before_pixels=True)))
            continue
        if "ImagePositionPatient" not in head and int(head.get("NumberOfFrames", 1) or 1) <= 1:
            skipped.append((str(path), f"{modality or 'DICOM'} object without image geometry"))
            continue
        uid = str(head.get("SeriesInstanceUID", ""))
        entry = series.get(uid)
        if entry is None:
            entry = series[uid] = _Series(
                uid=uid, modality=modality, frame_uid=str(head.get("FrameOfReferenceUID", "")),
                patient=str(head.get("PatientID", "")), study=str(head.get("StudyInstanceUID", "")),
                study_date=f"{head.get('StudyDate', '')}{head.get('StudyTime', '')}",
            )
        entry.files.append(path)
        entry.localizer |= "LOCALIZER" in [str(v).upper() for v in head.get("ImageType", [])]
        entry.frames = max(entry.frames, int(head.get("NumberOfFrames", 1) or 1))

    usable: dict[str, _Series] = {}
    for entry in series.values():
        reason = None
        if entry.localizer:
            reason = "localizer series"
        elif entry.modality not in _IMAGE_MODALITIES:
            reason = f"unsupported modality {entry.modality or 'none'}"
        elif len(entry.files) == 1 and entry.frames <= 1:
            reason = "single slice, not a volume"
        if reason:
            skipped.append((str(entry.folder()), f"series {entry.uid}: {reason}"))
        else:
            usable[entry.uid] = entry
    by_frame: dict[str, list[_Series]] = defaultdict(list)
    for entry in usable.values():
        by_frame[entry.frame_uid].append(entry)

    studies: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for entry in usable.values():
        studies[entry.patient].append((entry.study_date, entry.study))
    timepoint = {
        (patient, study): str(rank + 1)
        for patient, found in studies.items()
        for rank, (_, study) in enumerate(sorted(set(found)))
    }

    in_folder: dict[Path, set[str]] = defaultdict(set)
    for entry in series.values():
        for path in entry.files:
            in_folder[path.parent].add(entry.uid)

    def image_path(entry: _Series) -> str:
        """The series folder, or one of its files where the folder holds other series too."""
        folder = entry.folder()
        others = set().union(*(u for f, u in in_folder.items() if f.is_relative_to(folder)))
        return str(folder if others == {entry.uid} else sorted(entry.files)[0])

    rows, paired = [], set()
    for path, ds in masks:
        targets = [usable[u] for u in _referenced_series(ds) if u in usable]
        if not targets:
            candidates = [s for f in _frames_of(ds) for s in by_frame.get(f, [])]
            targets = candidates if len(candidates) == 1 else []
        if not targets:
            skipped.append((str(path), f"orphan {ds.Modality}: no image series under the root "
                                       "matches its referenced series or frame of reference"))
            continue
        target = targets[0]
        paired.add(target.uid)
        names = _structures(ds)
        if not names:
            skipped.append((str(path), f"{ds.Modality} without any structure/segment"))
        case_id = pseudonym(key, target.patient, target.study, target.uid, prefix="c")
        for name in names:
            rows.append({
                "case_id": case_id,
                "image": image_path(target),
                "mask": str(path),
                "roi": name,
                "patient": pseudonym(key, target.patient, prefix="p", length=12),
                "timepoint": timepoint[(target.patient, target.study)],
                "rater": "",
                "site": "",
                "modality": target.modality,
            })
    for entry in usable.values():
        if entry.uid not in paired:
            skipped.append((str(entry.folder()),
                            f"series {entry.uid}: no RTSTRUCT or SEG references it"))
    columns = [*MANIFEST_COLUMNS, *LABEL_COLUMNS]
    manifest = pd.DataFrame(rows, columns=columns).sort_values(["case_id", "roi"],
                                                               ignore_index=True)
    return Discovery(manifest=manifest,
                     skipped=pd.DataFrame(skipped, columns=["path", "reason"]))
