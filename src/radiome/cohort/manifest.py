"""The cohort manifest: one row per case and ROI (CSV).

Required columns ``case_id, image, mask``; ``roi`` (label value or structure name, may be
empty when the mask holds one ROI); optional ``patient, timepoint, rater, site, modality``.
A case may have one row per modality (CT and PT of one patient, same case_id and roi).
``image`` is a volume file, a DICOM series folder, or one file of a DICOM series (its series
is read from the file's folder).

Paths: a relative ``image`` or ``mask`` path is relative to the folder that holds the manifest
(not to the working directory); an absolute path stays as it is. :func:`write_manifest` (used
by ``radiome demo`` and ``radiome discover``) writes the paths inside the manifest's folder
relative to it, so the folder can be moved or shared as a whole, and the others absolute.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from radiome.errors import MissingFileError, RadiomeError, UnreadableFileError

__all__ = ["LABEL_COLUMNS", "MANIFEST_COLUMNS", "ManifestError", "read_manifest",
           "write_manifest"]

MANIFEST_COLUMNS = ("case_id", "image", "mask", "roi")
LABEL_COLUMNS = ("patient", "timepoint", "rater", "site", "modality")
_OPTIONAL = LABEL_COLUMNS


class ManifestError(RadiomeError, ValueError):
    """A manifest is malformed (missing columns, duplicate cases)."""


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Read and check a manifest; paths become absolute, missing optional columns empty.

    Relative ``image`` and ``mask`` paths are taken relative to the manifest's folder.

    Raises
    ------
    ManifestError
        A required column is missing, there is no row, a (case_id, roi) pair repeats within a
        modality, or a case_id is empty.
    """
    path = Path(path)
    if not path.exists():
        msg = f"{path}: manifest does not exist"
        raise MissingFileError(msg)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        msg = f"{path}: cannot read the manifest as CSV ({exc})"
        raise UnreadableFileError(msg) from None
    missing = [c for c in ("case_id", "image", "mask") if c not in table.columns]
    if missing:
        msg = (f"{path}: manifest lacks column(s) {', '.join(missing)}; it needs "
               f"{', '.join(MANIFEST_COLUMNS)} (optional: {', '.join(_OPTIONAL)})")
        raise ManifestError(msg)
    if table.empty:
        msg = f"{path}: manifest has no rows, only a header; add one row per case and ROI"
        raise ManifestError(msg)
    for column in ("roi", *_OPTIONAL):
        if column not in table.columns:
            table[column] = ""
    table = table.map(str.strip)
    empty = table.index[table["case_id"] == ""].tolist()
    if empty:
        msg = f"{path}: empty case_id on line(s) {', '.join(str(i + 2) for i in empty[:5])}"
        raise ManifestError(msg)
    dup = table.duplicated(["case_id", "roi", "modality"], keep=False)
    if dup.any():
        shown = table.loc[dup, ["case_id", "roi"]].drop_duplicates().head(3)
        pairs = ", ".join(f"{c}/{r or '-'}" for c, r in shown.itertuples(index=False))
        msg = f"{path}: case_id and roi must be unique (per modality); repeated: {pairs}"
        raise ManifestError(msg)
    base = path.resolve().parent
    for column in ("image", "mask"):
        table[column] = [str(p if Path(p).is_absolute() else base / p) if p else ""
                         for p in table[column]]
    return table


def write_manifest(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a manifest CSV whose paths follow the rule :func:`read_manifest` applies.

    ``image`` and ``mask`` paths of ``table`` (absolute, or relative to the working directory)
    are written relative to the manifest's folder when they lie inside it, else absolute.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    base = path.resolve().parent
    out = table.copy()
    for column in ("image", "mask"):
        if column in out.columns:
            out[column] = [_relative_to(p, base) if p else "" for p in out[column]]
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    return path


def _relative_to(value: str, base: Path) -> str:
    """``value`` (a path) relative to ``base`` when inside it, else absolute (POSIX form)."""
    full = Path(value).resolve()
    return (full.relative_to(base) if full.is_relative_to(base) else full).as_posix()
