"""The cohort of a study report: cases, labels, conformance, errors, inclusion, quality pictures.

The store keeps each case's input hashes, not its file paths; the paths come from the
manifest each run recorded (``runs.manifest``), or from one given to the report, and every
file is checked against the stored hash before its picture is drawn, so a picture always shows
the very image and mask the features were computed from.
"""

from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["CaseImages", "Thumbnail", "cohort_facts", "plain_cases", "resolve_inputs", "thumbnails"]

#: Pixels of the long side of each view of a quality picture (shown at half size until clicked).
_VIEW_PX = 150
#: Contour colour (Okabe–Ito orange: visible on grey for every common colour-vision type).
_CONTOUR = (230, 159, 0)


def plain_cases(cases: pd.DataFrame) -> pd.DataFrame:
    """The stored cases of whole ROIs (habitat parts ``roi#h<k>`` left out)."""
    return cases[~cases["roi"].str.contains("#", regex=False)].reset_index(drop=True)


def _distinct(values: pd.Series) -> int:
    """Number of distinct non-empty labels."""
    values = values.fillna("").astype(str)
    return int(values[values != ""].nunique())


def _labels(values: pd.Series, missing: str) -> dict[str, int]:
    """Cases per label, empty labels counted under ``missing``."""
    values = values.fillna("").astype(str)
    return values.where(values != "", missing).value_counts().sort_index().to_dict()


def _scanner(acquisition: dict | None) -> str | None:
    """``manufacturer model`` of a case's acquisition metadata (None when unrecorded)."""
    if not acquisition:
        return None
    name = " ".join(str(acquisition[k]) for k in ("manufacturer", "model") if acquisition.get(k))
    return name or None


def cohort_facts(cases: pd.DataFrame, errors: pd.DataFrame, warnings: pd.DataFrame,
                 runs: pd.DataFrame) -> dict:
    """Counts and tables of the cohort section, from the store's tables.

    ``cases`` are the plain stored cases (see :func:`plain_cases`). Patients are counted by the
    ``patient`` label, and a case without one is its own patient.
    """
    patients = cases["patient"].fillna("")
    patients = patients.where(patients != "", cases["case_id"])
    scanners = cases["acquisition"].map(_scanner)
    conformance = {s: int((cases["conformance"] == s).sum()) for s in ("pass", "warn", "fail")}
    reasons = (cases[cases["conformance"] != "pass"]
               .assign(reason=lambda t: t["conformance_reasons"].fillna("").str.split("; "))
               .explode("reason"))
    reasons = (reasons[reasons["reason"] != ""].groupby(["conformance", "reason"]).size()
               .rename("cases").reset_index().sort_values(["conformance", "cases"],
                                                          ascending=[True, False]))
    by_stage = errors.groupby("stage").size().rename("cases").reset_index()
    latest = runs.iloc[-1] if len(runs) else None
    manifest_rows = int((latest["summary"] or {}).get("total", 0)) if latest is not None else 0
    return {
        "n_cases": len(cases),
        "n_case_ids": int(cases["case_id"].nunique()),
        "n_patients": int(patients.nunique()),
        "n_sites": _distinct(cases["site"]),
        "n_scanners": int(scanners.dropna().nunique()),
        "n_timepoints": _distinct(cases["timepoint"]),
        "n_raters": _distinct(cases["rater"]),
        "n_errors": len(errors),
        "n_warned": int(warnings[["case_id", "roi"]].drop_duplicates().shape[0]),
        "n_runs": len(runs),
        "manifest_rows": manifest_rows,
        "conformance": conformance,
        "reasons": reasons.to_dict("records"),
        "errors": errors[["case_id", "roi", "stage", "message"]].to_dict("records"),
        "errors_by_stage": by_stage.to_dict("records"),
        "sites": _labels(cases["site"], "(none)"),
        "scanners": _labels(scanners, "(not recorded)"),
    }


@dataclass
class CaseImages:
    """Where the image and mask of a stored case are, and whether they match the store."""

    case_id: str
    roi: str
    image: Path | None = None
    mask: Path | None = None
    modality: str | None = None
    problems: list[str] = field(default_factory=list)


def resolve_inputs(cases: pd.DataFrame, runs: pd.DataFrame,
                   manifest: str | Path | None = None) -> tuple[list[CaseImages], str]:
    """The input files of every case, from the manifests of the runs (or ``manifest``).

    Returns the cases' files (each checked against the stored image and mask hashes) and one
    sentence saying how they were found, for the report.
    """
    from radiome.cohort import read_manifest
    from radiome.cohort.runner import input_hash
    from radiome.errors import RadiomeError

    sources = ([Path(manifest)] if manifest is not None
               else [Path(m) for m in runs["manifest"].dropna().unique() if m])
    rows: dict[tuple[str, str], dict] = {}
    unreadable = []
    for source in sources:
        try:
            table = read_manifest(source)
        except RadiomeError as exc:
            unreadable.append(str(exc))
            continue
        for row in table.to_dict("records"):
            rows.setdefault((row["case_id"], row.get("roi", "") or ""), row)
    found = []
    for case in cases.itertuples(index=False):
        item = CaseImages(case.case_id, case.roi)
        row = rows.get((case.case_id, case.roi))
        if row is None:
            item.problems.append("not in any recorded manifest")
        else:
            item.image, item.mask = Path(row["image"]), Path(row["mask"])
            item.modality = row.get("modality") or case.modality or None
            for what, path, stored in (("image", item.image, case.image_hash),
                                       ("mask", item.mask, case.mask_hash)):
                if not path.exists():
                    item.problems.append(f"{what} {path} is missing")
                elif input_hash(path) != stored:
                    item.problems.append(f"{what} {path} changed since it was stored")
        found.append(item)
    where = (f"the manifest given to the report ({manifest})" if manifest is not None
             else "the manifest(s) recorded with the runs ("
             + (", ".join(map(str, sources)) or "none recorded") + ")")
    note = (f"Images and masks were located through {where} and each file was checked "
            "against the SHA-256 hash stored with its case.")
    if unreadable:
        note += " Unreadable manifest(s): " + "; ".join(unreadable) + "."
    return found, note


@dataclass
class Thumbnail:
    """A case's quality picture (axial, coronal, sagittal strip) or why there is none."""

    case_id: str
    roi: str
    flags: list[str]
    uri: str | None = None
    width: int = 0
    height: int = 0
    problem: str = ""


def thumbnails(inputs: list[CaseImages], flags: dict[tuple[str, str], list[str]]
               ) -> list[Thumbnail]:
    """Quality pictures of every case, flagged cases first (then by case and ROI).

    The pictures are drawn in threads (one per core): reading and decoding the files, most of
    the work, runs outside Python's lock.
    """
    from concurrent.futures import ThreadPoolExecutor

    def draw(item: CaseImages) -> Thumbnail:
        return _thumbnail(item, flags.get((item.case_id, item.roi), []))

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        out = list(pool.map(draw, inputs))
    return sorted(out, key=lambda t: (not t.flags, t.case_id, t.roi))


def _thumbnail(item: CaseImages, flags: list[str]) -> Thumbnail:
    """The quality picture of one case, or why there is none."""
    from radiome.errors import RadiomeError

    picture = Thumbnail(item.case_id, item.roi, [*item.problems, *flags])
    if item.image is None or item.problems:
        picture.problem = "; ".join(item.problems)
        return picture
    try:
        picture.uri, picture.width, picture.height = _picture(item)
    except (RadiomeError, OSError, ValueError) as exc:
        picture.problem = " ".join(str(exc).split())
        picture.flags.append("picture could not be drawn")
    return picture


def _picture(item: CaseImages) -> tuple[str, int, int]:
    """JPEG data URI of the three central views with the mask contour; its pixel size."""
    from PIL import Image

    from radiome.io import load_mask, load_volume

    volume = load_volume(item.image, modality=item.modality)
    roi = item.roi if item.roi else None
    mask = load_mask(item.mask, roi=roi, reference=volume).array
    if not mask.any():
        msg = f"{item.mask}: the ROI {item.roi!r} is empty"
        raise ValueError(msg)
    image = np.asarray(volume.array, dtype=np.float32)
    spacing = np.asarray(volume.grid.spacing, float)
    low, high = _window(image[mask], volume.modality)
    centre = np.round(np.argwhere(mask).mean(axis=0)).astype(int)
    box = _box(mask, spacing)
    views = []
    for axis in range(3):
        index = [slice(b[0], b[1]) for b in box]
        index[axis] = centre[axis]
        grey, edge = image[tuple(index)], _edge(mask[tuple(index)])
        pixel = np.delete(spacing, axis)
        if axis > 0:  # coronal and sagittal: the head at the top
            grey, edge = grey[::-1], edge[::-1]
        views.append(_view(grey, edge, pixel, low, high))
    height = max(v.height for v in views)
    strip = Image.new("RGB", (sum(v.width for v in views) + 4 * (len(views) - 1), height),
                      (255, 255, 255))
    x = 0
    for view in views:
        strip.paste(view, (x, (height - view.height) // 2))
        x += view.width + 4
    buffer = io.BytesIO()
    strip.save(buffer, format="JPEG", quality=72, optimize=True)
    uri = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return uri, strip.width, strip.height


def _window(values: np.ndarray, modality: str) -> tuple[float, float]:
    """Display window: soft tissue for CT, else the ROI's 1st-99th percentiles widened."""
    if modality == "CT":
        return -160.0, 240.0
    low, high = np.percentile(values, [1, 99])
    spread = max(float(high - low), 1e-6)
    return float(low - spread), float(high + spread)


def _box(mask: np.ndarray, spacing: np.ndarray) -> list[tuple[int, int]]:
    """The ROI's bounding box widened by its own size (at least 20 mm) each side, per axis."""
    where = np.argwhere(mask)
    first, last = where.min(axis=0), where.max(axis=0) + 1
    margin = np.maximum(last - first, np.ceil(20.0 / spacing).astype(int))
    return [(int(max(0, f - m)), int(min(n, e + m)))
            for f, e, m, n in zip(first, last, margin, mask.shape, strict=True)]


def _edge(mask: np.ndarray) -> np.ndarray:
    """The in-plane border pixels of a 2D mask (inside pixels with an outside 4-neighbour)."""
    padded = np.pad(mask, 1)
    inner = (padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
    return mask & ~inner


def _view(grey: np.ndarray, edge: np.ndarray, pixel: np.ndarray, low: float, high: float):
    """One view as an RGB image scaled to physical proportions, contour drawn in colour."""
    from PIL import Image

    scaled = np.clip((grey - low) / (high - low), 0.0, 1.0) * 255.0
    rgb = np.repeat(scaled.astype(np.uint8)[..., None], 3, axis=2)
    rgb[edge] = _CONTOUR
    size_mm = np.asarray(grey.shape, float) * pixel
    scale = _VIEW_PX / size_mm.max()
    height, width = (max(1, round(s * scale)) for s in size_mm)
    return Image.fromarray(rgb).resize((width, height), Image.Resampling.NEAREST)
