"""Same numbers, not just same speed: radiome against PyRadiomics, feature by feature.

An untimed comparison per case on the original image. PyRadiomics runs with the benchmark's
settings; radiome runs the original mode's spec with a re-segmentation minimum of
``floor(min / 25) * 25`` (see ``tool_radiome.pyradiomics_bins_spec``), which reproduces
PyRadiomics' bin edges and removes no voxel, so both tools see identical grey levels.

Every PyRadiomics feature is mapped in :data:`pyradiomics_pairs.PAIRS` to its IBSI counterpart,
with a kind:

- ``same``: the definitions coincide; counted as agreeing when within 1e-6 relative;
- ``converted``: a documented closed-form difference (e.g. PyRadiomics' kurtosis is IBSI's
  excess kurtosis + 3); compared after converting radiome's value;
- ``differs``: the definitions differ (reason in ``note``); compared and shown, never counted.

PyRadiomics features without an IBSI counterpart are listed in
:data:`pyradiomics_pairs.UNMATCHED`.
"""

from __future__ import annotations

from bench_config import BENCH_DIR, BIN_WIDTH, MODES, Case
from pyradiomics_pairs import PAIRS, RELATIVE_TOLERANCE, UNMATCHED, converted, relative
from speed import case_request, mode_request
from workers import Worker, WorkerError

__all__ = ["agreement_case", "compare", "mirp_name"]

_MIRP_SUFFIXES = {"ih": "_fbs_w{w}", "cm": "_d1_{agg}_fbs_w{w}", "rlm": "_{agg}_fbs_w{w}",
                  "szm": "_3d_fbs_w{w}", "ngt": "_3d_fbs_w{w}", "ngl": "_d1_a0.0_3d_fbs_w{w}"}


def mirp_name(feature: str, aggregation: str) -> str:
    """MIRP's column name of an original-image feature of the benchmark's settings."""
    family = feature.split("_", 1)[0]
    if family not in _MIRP_SUFFIXES:
        return feature
    agg = {"3d_vmrg": "3d_v_mrg"}.get(aggregation, aggregation)
    return feature + _MIRP_SUFFIXES[family].format(agg=agg, w=BIN_WIDTH)


def compare(pyradiomics: dict[str, float], ours: dict[str, float], n_voxels: int,
            mirp: dict[str, float] | None = None) -> list[dict]:
    """One row per pair: values, relative differences and agreement (radiome's converted).

    ``mirp`` (MIRP's values with the same grey levels) adds a cross-check of radiome's
    unconverted value against MIRP, another IBSI implementation.
    """
    rows = []
    for pair in PAIRS:
        theirs = pyradiomics.get("original_" + pair.pyradiomics)
        mine = ours.get(f"|{pair.radiome}|{pair.aggregation}")
        row = {"pyradiomics": pair.pyradiomics, "radiome": pair.radiome,
               "aggregation": pair.aggregation, "kind": pair.kind, "pyradiomics_value": theirs,
               "radiome_value": mine, "mirp_value": None, "relative_mirp": None,
               "agree_mirp": None}
        other = (mirp or {}).get(mirp_name(pair.radiome, pair.aggregation))
        if other is not None and mine is not None:
            rel = relative(other, mine)
            row.update(mirp_value=other, relative_mirp=rel, agree_mirp=rel <= RELATIVE_TOLERANCE)
        if theirs is None or mine is None:
            row.update(relative=None, agree=False, missing=True)
        else:
            if pair.kind == "converted":
                mine = converted(pair, mine, n_voxels)
                row["radiome_value"] = mine
            rel = relative(theirs, mine)
            row.update(relative=rel, agree=rel <= RELATIVE_TOLERANCE, missing=False)
        rows.append(row)
    return rows


def _values(tool: str, case: Case, match_bins: bool, timeout: float) -> dict[str, float]:
    """Feature values of one original-mode run of a tool on a case, in a fresh worker."""
    log = BENCH_DIR / "logs" / f"{case.name}_agreement_{tool}.log"
    with Worker(tool, log) as worker:
        worker.call({"cmd": "load", "case": case_request(case)}, timeout)
        worker.call({"cmd": "prepare", "mode": mode_request(MODES["original"]),
                     "match_pyradiomics_bins": match_bins}, timeout)
        worker.call({"cmd": "run"}, timeout)
        return worker.call({"cmd": "values"}, timeout)["values"]


def _n_voxels(case: Case) -> int:
    """Voxels in the case's ROI."""
    import numpy as np

    import radiome

    volume = radiome.load_volume(case.image_path, modality=case.modality)
    mask = radiome.load_mask(case.mask_path, roi=case.label, reference=volume)
    return int(np.count_nonzero(mask.array))


def agreement_case(case: Case, *, timeout: float, with_mirp: bool = True) -> dict:
    """Compare PyRadiomics, radiome (and MIRP) on one case; counts per kind and every row."""
    try:
        theirs = _values("pyradiomics", case, False, timeout)
        ours = _values("radiome", case, True, timeout)
    except WorkerError as exc:
        return {"case": case.name, "status": "failed", "error": str(exc)}
    mirp, mirp_error = {}, ""
    if with_mirp:
        try:
            mirp = _values("mirp", case, True, timeout)
        except WorkerError as exc:
            mirp_error = str(exc)
    rows = compare(theirs, ours, _n_voxels(case), mirp)
    counts = {}
    for kind in ("same", "converted", "differs"):
        of_kind = [r for r in rows if r["kind"] == kind]
        counts[kind] = {"compared": sum(not r["missing"] for r in of_kind),
                        "agree": sum(r["agree"] for r in of_kind), "total": len(of_kind)}
    checked = [r for r in rows if r["agree_mirp"] is not None]
    counts["mirp"] = {"compared": len(checked), "agree": sum(r["agree_mirp"] for r in checked),
                      "error": mirp_error}
    unmapped = sorted(k.removeprefix("original_") for k in theirs
                      if k.startswith("original_")
                      and k.removeprefix("original_") not in {p.pyradiomics for p in PAIRS}
                      and k.removeprefix("original_") not in UNMATCHED)
    return {"case": case.name, "status": "ok", "counts": counts, "rows": rows,
            "unmapped": unmapped, "n_pyradiomics": len(theirs), "n_radiome": len(ours)}
