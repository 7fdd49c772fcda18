"""radiome against pictologics 0.9: speed in two matched modes and agreement by IBSI code.

A step of ``make bench`` (``run.py``) that also runs on its own and then replaces only its
section of ``benchmarks/results.md`` (the rest of the file is left as it is)::

    .venv/bin/python benchmarks/vs_pictologics.py [--cases lung2,brain1] [--reps 5]

Speed: for each case and mode of :data:`bench_config.PICTOLOGICS_MODES`, fresh workers of
radiome (one thread: ``NUMBA_NUM_THREADS=1``) and pictologics, timed exactly as the other
modes (``speed.time_case_mode``: warm-up, then alternating repetitions). Agreement: one
untimed run of each tool per case in the full mode, every pictologics value paired with
radiome's value of the same IBSI feature (:func:`radiome_name`), compared within
:data:`RELATIVE_TOLERANCE` relative; the differences of definition are :data:`DIFFERENCES`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from pathlib import Path

from bench_config import BENCH_DIR, BENCHMARKS, CASES, PICTOLOGICS_MODES, Case
from envs import ensure_env
from pyradiomics_pairs import RELATIVE_TOLERANCE, relative
from speed import case_request, describe, mode_request, time_case_mode
from workers import Worker, WorkerError

__all__ = ["DIFFERENCES", "agreement", "main", "radiome_name", "render", "run_pictologics",
           "splice"]

#: The speed ratio (pictologics' time over radiome's) the issue asks for on every case and mode.
TARGET = 1.5
#: The heading of this step's section in results.md.
HEADING = "## Speed against pictologics (issue 18)"

#: pictologics names whose IBSI code is not the one of the IBSI 1 reference manual's tables
#: (the manual's text prints the histogram percentiles' codes shifted by one, and the small
#: zone emphasis has none there): pictologics' code -> radiome's feature.
_CODE_FIXES = {"1PR": "ih_p10", "GPMT": "ih_p90", "P001": "szm_sze"}
#: Intensity-volume histogram features, keyed by code and pictologics' percentage suffix.
_IVH = {("BC2M", "10"): "ivh_v10", ("BC2M", "90"): "ivh_v90",
        ("GBPN", "10"): "ivh_i10", ("GBPN", "90"): "ivh_i90"}
_CODE = re.compile(r"_([A-Z0-9]{3,4})(?:_(\d+))?$")

#: Definition and implementation differences between the two tools (stated in results.md).
DIFFERENCES: tuple[str, ...] = (
    "Percentiles (stat_p10/p90, ih_p10/p90 and what uses them: the interquartile ranges, "
    "quartile coefficients of dispersion and robust mean absolute deviations): pictologics "
    "takes an order statistic (NumPy's `inverted_cdf`), radiome interpolates linearly "
    "between order statistics (NumPy's default `linear`), as the IBSI reference values of "
    "the digital phantom are computed; the two agree where the rank falls on a value.",
    "Oriented minimum bounding box (ZH1A, IQYR), not standardised by IBSI: pictologics "
    "takes the box aligned with the principal axes of the mesh vertices; radiome searches "
    "every hull facet orientation with rotating calipers (a smaller box, larger densities).",
    "Minimum volume enclosing ellipsoid (SWZ1, BRI8), not standardised by IBSI: pictologics "
    "runs Khachiyan's method with Wolfe-Atwood away steps until the Mahalanobis gap is "
    "3e-3; radiome runs the plain method until the step norm is 1e-3 (IBSI's default "
    "tolerance); the ellipsoids differ by a few tenths of a percent.",
    "Area under the IVH curve (9CMM): pictologics integrates the volume fraction over the "
    "intensities in their unit (HU, MR units), radiome over the intensity fraction γ in "
    "[0, 1], as IBSI defines the curve; they differ by the factor of the intensity range.",
    "Mesh: both run marching cubes at iso-level 0.5 on the mask padded with background, but "
    "pictologics' own marching cubes tiles the ambiguous cube configurations (mask voxels "
    "that touch only along an edge or at a corner) otherwise than Lewiner's method "
    "(scikit-image), which radiome follows and the IBSI phantom's reference values accept. "
    "Where no such cube occurs the meshes agree (brain2, breast1, lung1: volume, area and "
    "every feature derived from them within 1e-6); elsewhere the volume (RNU0) and area "
    "(C0JK) differ, and with them the sphere-likeness features, the densities and the "
    "integrated intensity (most on prostate_phantom, a thin and scattered ROI).",
    "IBSI codes: pictologics labels the 10th and 90th discretised-intensity percentiles 1PR "
    "and GPMT and small zone emphasis P001 (the IBSI 1 manual's tables: GPMT, OZ0C and 5QRC); "
    "they are paired by meaning.",
)


def radiome_name(key: str, codes: dict[str, str]) -> str | None:
    """radiome's feature name of a pictologics feature key (``..._CODE`` or ``..._CODE_10``).

    ``codes`` maps IBSI codes to radiome's feature names (radiome's registry); None when
    radiome has no feature of that code.
    """
    found = _CODE.search(key)
    if found is None:
        return None
    code, suffix = found.groups()
    if suffix is not None:
        return _IVH.get((code, suffix))
    if code in _CODE_FIXES:
        return _CODE_FIXES[code]
    return codes.get(code)


def _codes() -> dict[str, str]:
    """IBSI code -> radiome feature name, of every feature with a code of its own."""
    from radiome.features import REGISTRY

    by_code: dict[str, list[str]] = {}
    for name, feature in REGISTRY.items():
        by_code.setdefault(feature.ibsi, []).append(name)
    return {code: names[0] for code, names in by_code.items() if len(names) == 1}


def _values(tool: str, case: Case, timeout: float) -> dict[str, float]:
    """Feature values of one full-mode run of a tool on a case, in a fresh worker."""
    log = BENCH_DIR / "logs" / f"{case.name}_pictologics_agreement_{tool}.log"
    with Worker(tool, log, single_thread=tool == "radiome") as worker:
        worker.call({"cmd": "load", "case": case_request(case)}, timeout)
        worker.call({"cmd": "prepare", "mode": mode_request(PICTOLOGICS_MODES[
            "pictologics_full"])}, timeout)
        worker.call({"cmd": "run"}, timeout)
        return worker.call({"cmd": "values"}, timeout)["values"]


def agreement(case: Case, *, timeout: float) -> dict:
    """Every pictologics value of the full mode beside radiome's of the same IBSI feature."""
    try:
        theirs = _values("pictologics", case, timeout)
        ours = _values("radiome", case, timeout)
    except WorkerError as exc:
        return {"case": case.name, "status": "failed", "error": str(exc)}
    codes = _codes()
    mine = {}
    for key, value in ours.items():
        _, feature, aggregation = key.split("|")
        if aggregation in ("", "3d", "3d_vmrg"):
            mine[feature] = value
    rows = []
    for key, value in theirs.items():
        name = radiome_name(key, codes)
        ours_value = mine.get(name) if name else None
        rel = None if ours_value is None else relative(value, ours_value)
        rows.append({"pictologics": key, "radiome": name, "pictologics_value": value,
                     "radiome_value": ours_value, "relative": rel,
                     "agree": rel is not None and rel <= RELATIVE_TOLERANCE})
    return {"case": case.name, "status": "ok", "rows": rows,
            "agree": sum(r["agree"] for r in rows), "compared": len(rows)}


def run_pictologics(cases: list[Case], *, reps: int, timeout: float, progress=print,
                    one_thread: bool = False) -> dict:
    """Speed of both modes on every case, then the agreement per case.

    radiome runs with one thread; pictologics too with ``one_thread``, else with its default.
    """
    found = {"speed": [], "agreement": [], "versions": {}, "one_thread": one_thread}
    single = ("radiome", "pictologics") if one_thread else ("radiome",)
    for mode in PICTOLOGICS_MODES.values():
        for case in cases:
            timed = time_case_mode(case, mode, reps=reps, timeout=timeout, progress=progress,
                                   single_thread=single)
            found["speed"].append(timed)
            for tool, record in timed["tools"].items():
                if record.get("versions"):
                    found["versions"][tool] = record["versions"]
            progress(describe(timed))
    for case in cases:
        checked = agreement(case, timeout=timeout)
        found["agreement"].append(checked)
        progress(f"  {case.name}: {checked.get('agree', '?')}/{checked.get('compared', '?')} "
                 "pictologics values agree with radiome" if checked["status"] == "ok"
                 else f"  {case.name}: agreement failed: {checked['error']}")
    return found


def _cpu(record: dict) -> str:
    return "–" if "cpu_median_s" not in record else f"{record['cpu_median_s'] * 1e3:.1f} ms"


def _ms(record: dict) -> str:
    if record.get("status") != "ok" or "median_s" not in record:
        return f"failed: {record.get('error', '?')}"
    return (f"{record['median_s'] * 1e3:.1f} ms ({record['min_s'] * 1e3:.1f}–"
            f"{record['max_s'] * 1e3:.1f})")


def _value(v: float | None) -> str:
    return "–" if v is None else f"{v:.10g}"


def render(found: dict) -> list[str]:
    """The section's markdown lines."""
    lines = [HEADING, ""]
    versions = found.get("versions", {})
    lines += [
        f"- Command: `{found.get('command', '')}`; started {found.get('started', '?')}; "
        f"1-minute load average {found.get('load_start', math.nan):.2f} at the start, "
        f"{found.get('load_end', math.nan):.2f} at the end (2 cores, shared with other work: "
        "the ratios of alternating runs are the numbers to read).",
        "- " + "; ".join(f"{tool}: " + ", ".join(f"{k} {v}" for k, v in vals.items())
                         for tool, vals in versions.items()),
        "- radiome runs with one thread (`NUMBA_NUM_THREADS`, `OMP_NUM_THREADS` and the BLAS "
        "threads 1; the FFTs of Moran's I and Geary's C use pocketfft's `workers=-1`), "
        + ("pictologics too (`NUMBA_NUM_THREADS=1`, which pictologics follows)."
           if found.get("one_thread") else
           "pictologics with its default (every core of the process).")
        + " Both read the case once into memory; the time is one "
        "extraction from memory (radiome: `radiome.extract()` on a `Volume`/`Mask`, its long "
        "pandas table included; pictologics: `RadiomicsPipeline.run()` on `Image`s, its "
        "pandas Series included), median of the alternating repetitions (min–max), each "
        "the mean of as many back-to-back runs as make 0.2 s. CPU: the median CPU time of "
        "the worker process (all its threads) per extraction over the same repetitions; on a "
        "machine loaded by other work it is the steadier measure (a one-thread process gets "
        "a smaller share of the cores than a two-thread one).",
        "",
    ]
    met = [r for r in found.get("speed", []) if r.get("ratio", 0.0) >= TARGET]
    timed = [r for r in found.get("speed", []) if "ratio" in r]
    lines += [f"Target (issue 18): radiome at least {TARGET:g}× as fast as pictologics on every "
              f"case in both modes: met on {len(met)} of {len(timed)} (wall-time ratios).", ""]
    for name, mode in PICTOLOGICS_MODES.items():
        lines += [f"### {name}: {mode.title}", "",
                  f"radiome spec: `benchmarks/specs/{mode.spec}`.", "",
                  "| case | radiome | pictologics | ratio | CPU radiome / pictologics | CPU ratio "
                  "| values radiome / pictologics |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for r in found.get("speed", []):
            if r["mode"] != name:
                continue
            ours, other = r["tools"]["radiome"], r["tools"]["pictologics"]
            ratio = f"**{r['ratio']:.2f}×**" if "ratio" in r else "–"
            cpu_ratio = f"**{r['cpu_ratio']:.2f}×**" if "cpu_ratio" in r else "–"
            lines.append(f"| {r['case']} | {_ms(ours)} | {_ms(other)} | {ratio} | "
                         f"{_cpu(ours)} / {_cpu(other)} | {cpu_ratio} | "
                         f"{ours.get('n_values', '–')} / {other.get('n_values', '–')} |")
        lines.append("")
    lines += ["### Agreement with pictologics (full mode, by IBSI code)", "",
              f"Within {RELATIVE_TOLERANCE:g} relative. Values that differ:", "",
              "| case | agree | pictologics feature | radiome feature | pictologics | radiome "
              "| relative difference |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for a in found.get("agreement", []):
        if a["status"] != "ok":
            lines.append(f"| {a['case']} | failed: {a['error']} | | | | | |")
            continue
        lines.append(f"| {a['case']} | {a['agree']}/{a['compared']} | | | | | |")
        for row in a["rows"]:
            if row["agree"]:
                continue
            rel = "no counterpart" if row["relative"] is None else f"{row['relative']:.2e}"
            lines.append(f"| | | {row['pictologics']} | {row['radiome'] or '–'} | "
                         f"{_value(row['pictologics_value'])} | "
                         f"{_value(row['radiome_value'])} | {rel} |")
    lines += ["", "Definition differences:", "", *[f"- {d}" for d in DIFFERENCES], ""]
    return lines


def splice(text: str, section: list[str]) -> str:
    """``text`` (results.md) with this step's section replaced, or appended when absent."""
    lines = text.rstrip("\n").split("\n")
    if HEADING in lines:
        start = lines.index(HEADING)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                   len(lines))
        lines[start:end] = section
    else:
        lines += ["", *section]
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> None:
    """Run the step alone and splice its section into results.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated cases")
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--out", default=str(BENCHMARKS / "results.md"))
    parser.add_argument("--one-thread", action="store_true",
                        help="pictologics with one thread too (default: its own default)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    cases = [CASES[c.strip()] for c in args.cases.split(",") if c.strip()]
    for tool in ("radiome", "pictologics"):
        problem = ensure_env(tool)
        if problem:
            sys.exit(f"{tool} environment: {problem}")
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    load_start = os.getloadavg()[0]
    found = run_pictologics(cases, reps=args.reps, timeout=args.timeout,
                            one_thread=args.one_thread)
    found.update(command=" ".join([".venv/bin/python benchmarks/vs_pictologics.py",
                                   *(sys.argv[1:] if argv is None else argv)]),
                 started=started, load_start=load_start, load_end=os.getloadavg()[0])
    BENCH_DIR.mkdir(exist_ok=True)
    (BENCH_DIR / "pictologics.json").write_text(json.dumps(found, indent=1), encoding="utf-8")
    out = Path(args.out)
    text = out.read_text(encoding="utf-8") if out.exists() else ""  # read just before writing
    out.write_text(splice(text, render(found)), encoding="utf-8")
    print(f"wrote the pictologics section of {args.out}")


if __name__ == "__main__":
    main()
