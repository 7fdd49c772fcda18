"""Discovery: a manifest from a folder of DICOM files at any depth.

Instances are grouped into series by SeriesInstanceUID (file names and folder layout carry no
meaning). Each RTSTRUCT or SEG is paired with the image series it references
(ReferencedSeriesInstanceUID), else with the only image series of its FrameOfReferenceUID.
One manifest row per image series and structure (segment). Case ids and patient keys are
keyed-hash pseudonyms; no name, birth date or raw identifier reaches the manifest.

Several RTSTRUCTs (SEGs) on one series that name the same structure are several raters: each
gets its own row and case id, with ``rater`` set to the file's StructureSetLabel (RTSTRUCT) or
SeriesDescription (SEG), or to ``rater1``, ``rater2``, ... (in SOPInstanceUID order) when those
labels are missing or equal. A file that cannot be used (unreadable or malformed header, a tag
of the wrong kind, a copy of another file) is listed in ``skipped`` with the reason; discovery
goes on with the others.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pydicom
from pydicom.dataset import Dataset

from radiome.cohort.manifest import LABEL_COLUMNS, MANIFEST_COLUMNS
from radiome.cohort.privacy import pseudonym
from radiome.errors import DicomError
from radiome.io import is_dicom_file

__all__ = ["Discovery", "discover"]

_IMAGE_MODALITIES = ("CT", "MR", "PT")
_MASK_MODALITIES = ("RTSTRUCT", "SEG")
_DICOMDIR = "1.2.840.10008.1.3.10"  # Media Storage Directory Storage
_IMAGE_TAGS = [
    "SeriesInstanceUID", "StudyInstanceUID", "FrameOfReferenceUID", "PatientID", "Modality",
    "ImageType", "StudyDate", "StudyTime", "SeriesDescription", "ImagePositionPatient",
    "NumberOfFrames", "SOPClassUID", "SOPInstanceUID",
]


@dataclass(frozen=True)
class _ImageFile:
    """What discovery needs of one image instance."""

    path: Path
    modality: str
    series_uid: str
    frame_uid: str
    patient: str
    study: str
    study_date: str
    localizer: bool
    frames: int
    has_position: bool


@dataclass(frozen=True)
class _MaskFile:
    """What discovery needs of one RTSTRUCT or SEG file."""

    path: Path
    modality: str
    sop_uid: str
    label: str
    referenced: frozenset[str]
    frames: frozenset[str]
    structures: tuple[str, ...]


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
        other series too; paths as found under ``root``); ``skipped`` with columns path, reason.

    Raises
    ------
    DicomError
        No DICOM file (Part 10, "DICM" at byte 128) at all under ``root``.
    """
    root = Path(root)
    skipped: list[tuple[str, str]] = []
    images, masks = _scan(root, skipped)
    series = _group_series(images)
    usable = _usable_series(series, skipped)
    pairs = _pair_masks(masks, usable, skipped)
    rows = _rows(pairs, _image_paths(series), _timepoints(usable), key, skipped)
    paired = {target.uid for _, target in pairs}
    for entry in usable.values():
        if entry.uid not in paired:
            skipped.append((str(entry.folder()),
                            f"series {entry.uid}: no RTSTRUCT or SEG references it"))
    columns = [*MANIFEST_COLUMNS, *LABEL_COLUMNS]
    manifest = pd.DataFrame(rows, columns=columns).sort_values(["case_id", "roi"],
                                                               ignore_index=True)
    return Discovery(manifest=manifest,
                     skipped=pd.DataFrame(skipped, columns=["path", "reason"]))


def _scan(root: Path, skipped: list) -> tuple[list[_ImageFile], list[_MaskFile]]:
    """Image instances and mask files under ``root``; unusable files go to ``skipped``."""
    images: list[_ImageFile] = []
    masks: dict[tuple, _MaskFile] = {}
    n_dicom = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if not is_dicom_file(path):
            continue
        n_dicom += 1
        found = _read_file(path)
        if isinstance(found, str):
            skipped.append((str(path), found))
        elif isinstance(found, _MaskFile):
            same = (found.sop_uid or str(path), found.label, found.referenced, found.frames,
                    found.structures)
            if same in masks:
                skipped.append((str(path), f"copy of {masks[same].path} (same SOPInstanceUID "
                                           "and structures)"))
            else:
                masks[same] = found
        elif not found.series_uid:
            skipped.append((str(path), f"{found.modality or 'DICOM'} object without "
                                       "SeriesInstanceUID"))
        elif not found.has_position and found.frames <= 1:
            skipped.append((str(path), f"{found.modality or 'DICOM'} object without image "
                                       "geometry"))
        else:
            images.append(found)
    if n_dicom == 0:
        msg = f"{root}: no DICOM file (Part 10, 'DICM' at byte 128) found at any depth"
        raise DicomError(msg)
    return images, list(masks.values())


def _read_file(path: Path) -> _ImageFile | _MaskFile | str:
    """The header of one DICOM file, or the reason it cannot be used."""
    try:
        with warnings.catch_warnings():  # pydicom warns on every odd value; a skip says why
            warnings.simplefilter("ignore")
            head = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_IMAGE_TAGS)
            meta = getattr(head, "file_meta", None) or Dataset()
            if _text(meta, "MediaStorageSOPClassUID") == _DICOMDIR:
                return "DICOMDIR (an index of the files on a medium), not an image"
            modality = _text(head, "Modality")
            if modality in _MASK_MODALITIES:
                return _mask_file(path, pydicom.dcmread(path, stop_before_pixels=True))
            return _image_file(path, head, modality)
    except Exception as exc:  # noqa: BLE001 - any broken header is one skipped file
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"unreadable DICOM header ({type(exc).__name__}{': ' + detail if detail else ''})"


def _text(ds: Dataset, keyword: str) -> str:
    """A tag's value as stripped text ('' when absent or empty)."""
    value = ds.get(keyword, "")
    return "" if value is None else str(value).strip()


def _frames(ds: Dataset) -> int:
    """NumberOfFrames (1 when absent); ValueError names a value that is not a whole number."""
    raw = ds.get("NumberOfFrames", None)
    if raw is None or str(raw).strip() == "":
        return 1
    try:
        return max(int(str(raw).strip()), 1)
    except ValueError:
        msg = f"NumberOfFrames {str(raw)!r} is not a whole number"
        raise ValueError(msg) from None


def _image_file(path: Path, head: Dataset, modality: str) -> _ImageFile:
    """The image facts of a header read with the image tags."""
    image_type = head.get("ImageType", []) or []
    if isinstance(image_type, str):
        image_type = image_type.split("\\")
    return _ImageFile(
        path=path, modality=modality, series_uid=_text(head, "SeriesInstanceUID"),
        frame_uid=_text(head, "FrameOfReferenceUID"), patient=_text(head, "PatientID"),
        study=_text(head, "StudyInstanceUID"),
        study_date=_text(head, "StudyDate") + _text(head, "StudyTime"),
        localizer="LOCALIZER" in [str(v).upper() for v in image_type],
        frames=_frames(head), has_position=bool(head.get("ImagePositionPatient", None)),
    )


def _mask_file(path: Path, ds: Dataset) -> _MaskFile:
    """The pairing facts and structure names of a full RTSTRUCT or SEG header."""
    referenced = set()
    for frame in ds.get("ReferencedFrameOfReferenceSequence", None) or []:
        for study in frame.get("RTReferencedStudySequence", None) or []:
            for series in study.get("RTReferencedSeriesSequence", None) or []:
                referenced.add(_text(series, "SeriesInstanceUID"))
    for series in ds.get("ReferencedSeriesSequence", None) or []:
        referenced.add(_text(series, "SeriesInstanceUID"))
    frames = {_text(ds, "FrameOfReferenceUID")}
    for frame in ds.get("ReferencedFrameOfReferenceSequence", None) or []:
        frames.add(_text(frame, "FrameOfReferenceUID"))
    modality = _text(ds, "Modality")
    label = _text(ds, "StructureSetLabel" if modality == "RTSTRUCT" else "SeriesDescription")
    return _MaskFile(path=path, modality=modality, sop_uid=_text(ds, "SOPInstanceUID"),
                     label=label, referenced=frozenset(referenced - {""}),
                     frames=frozenset(frames - {""}), structures=_structures(ds, modality))


def _structures(ds: Dataset, modality: str) -> tuple[str, ...]:
    """Structure (segment) names of a mask file: contoured ROIs of an RTSTRUCT, SEG segments."""
    if modality == "SEG":
        return tuple(_text(s, "SegmentLabel") for s in ds.get("SegmentSequence", None) or [])
    with_contours = {int(c.ReferencedROINumber) for c in ds.get("ROIContourSequence", None) or []
                     if "ContourSequence" in c}
    return tuple(_text(r, "ROIName") for r in ds.get("StructureSetROISequence", None) or []
                 if int(r.ROINumber) in with_contours)


def _group_series(images: list[_ImageFile]) -> dict[str, _Series]:
    """Image instances grouped by SeriesInstanceUID (the first instance names the series)."""
    series: dict[str, _Series] = {}
    for image in images:
        entry = series.get(image.series_uid)
        if entry is None:
            entry = series[image.series_uid] = _Series(
                uid=image.series_uid, modality=image.modality, frame_uid=image.frame_uid,
                patient=image.patient, study=image.study, study_date=image.study_date,
            )
        entry.files.append(image.path)
        entry.localizer |= image.localizer
        entry.frames = max(entry.frames, image.frames)
    return series


def _usable_series(series: dict[str, _Series], skipped: list) -> dict[str, _Series]:
    """The volume series of a supported modality; the others go to ``skipped``."""
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
    return usable


def _timepoints(usable: dict[str, _Series]) -> dict[tuple[str, str], str]:
    """Rank ('1', '2', ...) of each (patient, study) among the patient's studies, by date."""
    studies: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for entry in usable.values():
        studies[entry.patient].add((entry.study_date, entry.study))
    return {(patient, study): str(rank + 1)
            for patient, found in studies.items()
            for rank, (_, study) in enumerate(sorted(found))}


def _image_paths(series: dict[str, _Series]) -> dict[str, str]:
    """Manifest image path of every series: its folder, or one of its files when shared."""
    in_folder: dict[Path, set[str]] = defaultdict(set)
    for entry in series.values():
        for path in entry.files:
            in_folder[path.parent].add(entry.uid)
    paths = {}
    for entry in series.values():
        folder = entry.folder()
        others = set().union(*(u for f, u in in_folder.items() if f.is_relative_to(folder)))
        paths[entry.uid] = str(folder if others == {entry.uid} else sorted(entry.files)[0])
    return paths


def _pair_masks(masks: list[_MaskFile], usable: dict[str, _Series],
                skipped: list) -> list[tuple[_MaskFile, _Series]]:
    """(mask file, image series) pairs; orphan or empty mask files go to ``skipped``."""
    by_frame: dict[str, list[_Series]] = defaultdict(list)
    for entry in usable.values():
        by_frame[entry.frame_uid].append(entry)
    pairs = []
    for mask in masks:
        targets = sorted((usable[u] for u in mask.referenced if u in usable),
                         key=lambda s: s.uid)
        if not targets:
            candidates = [s for f in sorted(mask.frames) for s in by_frame.get(f, [])]
            targets = candidates if len(candidates) == 1 else []
        if not targets:
            skipped.append((str(mask.path), f"orphan {mask.modality}: no image series under the "
                                            "root matches its referenced series or frame of "
                                            "reference"))
        elif not mask.structures:
            skipped.append((str(mask.path), f"{mask.modality} without any structure/segment"))
        else:
            pairs.append((mask, targets[0]))
    return pairs


def _raters(masks: list[_MaskFile]) -> dict[Path, str]:
    """Rater label of each mask file on one series: its own label, else rater1, rater2, ..."""
    ordered = sorted(masks, key=lambda m: (m.sop_uid, str(m.path)))
    labels = [m.label for m in ordered]
    if all(labels) and len(set(labels)) == len(labels):
        return {m.path: m.label for m in ordered}
    return {m.path: f"rater{i + 1}" for i, m in enumerate(ordered)}


def _rows(pairs: list[tuple[_MaskFile, _Series]], image_paths: dict[str, str],
          timepoint: dict[tuple[str, str], str], key: bytes, skipped: list) -> list[dict]:
    """Manifest rows of the pairs: one per structure, one per rater of a repeated structure."""
    on_series: dict[str, list[_MaskFile]] = defaultdict(list)
    for mask, target in pairs:
        on_series[target.uid].append(mask)
    raters = {path: label for masks in on_series.values() for path, label in _raters(masks).items()}
    rows = []
    for mask, target in pairs:
        names_elsewhere = {n for m in on_series[target.uid] if m is not mask for n in m.structures}
        seen = set()
        for name in mask.structures:
            if name in seen:
                skipped.append((str(mask.path), f"{mask.modality} names structure {name!r} "
                                                "twice; only its first one is used"))
                continue
            seen.add(name)
            rater = raters[mask.path] if name in names_elsewhere else ""
            rows.append({
                "case_id": pseudonym(key, target.patient, target.study, target.uid,
                                     *([rater] if rater else []), prefix="c"),
                "image": image_paths[target.uid],
                "mask": str(mask.path),
                "roi": name,
                "patient": pseudonym(key, target.patient, prefix="p", length=12),
                "timepoint": timepoint[(target.patient, target.study)],
                "rater": rater,
                "site": "",
                "modality": target.modality,
            })
    return rows
