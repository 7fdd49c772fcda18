"""``make bench``: radiome against PyRadiomics and MIRP, scaling, and cohort throughput.

Usage (from the repository root; ``make bench`` runs it with no arguments)::

    .venv/bin/python benchmarks/run.py [--cases brain2,breast1] [--modes original,full_ibsi]
        [--reps 5] [--scaling-sizes 1000,10000] [--skip agreement,scaling,throughput]

Steps, each written to ``benchmarks/results.md`` (and the raw data to ``.bench/results.json``)
as soon as it is done: install PyRadiomics and MIRP into ``.bench/`` if needed; feature
whole process of one case from the command line against PyRadiomics' CLI
(``process.py``); agreement with PyRadiomics per case (untimed); speed per case and mode
(``speed.py``); speed and agreement against pictologics in two matched modes
(``vs_pictologics.py``);
scaling with ROI size (``scaling.py``); cohort throughput with 1 and 2 workers
(``throughput.py``); voxel-wise GLCM maps against PyRadiomics' voxel mode and flash-radiomics
(``maps.py``). A tool that fails on a case is recorded as failed with its error, and the
run goes on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

from agreement import agreement_case
from bench_config import BENCH_DIR, BENCHMARKS, CASES, MODES
from envs import ensure_env
from maps import MAP_CASES, run_maps
from process import run_process
from pyradiomics_pairs import DIFFERENCES
from report import render
from scaling import run_scaling
from speed import describe, mode_available, time_case_mode
from throughput import run_throughput
from vs_pictologics import run_pictologics

__all__ = ["main"]

_STEPS = ("process", "speed", "pictologics", "agreement", "scaling", "throughput", "maps")
_FULL_SCALING = [10**3, 10**4, 10**5, 10**6, 10**7]


def _machine() -> dict:
    """CPU model, cores, memory, OS and the current load."""
    cpu = platform.processor() or platform.machine()
    with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="ascii") as fh:
        kib = next(int(line.split()[1]) for line in fh if line.startswith("MemTotal"))
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": kib / 2**20,
            "os": platform.platform(), "python": platform.python_version(),
            "load_start": os.getloadavg()[0]}


def _names(text: str, allowed: dict | tuple, what: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        sys.exit(f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(allowed)})")
    return names


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated cases")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated modes")
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions (>= 5 to count)")
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="seconds one request to a worker may take")
    parser.add_argument("--skip", default="", help=f"steps to skip: {', '.join(_STEPS)}")
    parser.add_argument("--scaling-sizes", default=",".join(str(n) for n in _FULL_SCALING))
    parser.add_argument("--scaling-specs", default="original,full_ibsi",
                        help="modes whose (unfiltered) spec the scaling series runs")
    parser.add_argument("--scaling-repeats", type=int, default=3)
    parser.add_argument("--cohort-cases", type=int, default=48)
    parser.add_argument("--out", type=Path, default=BENCHMARKS / "results.md")
    args = parser.parse_args(argv)
    args.cases = _names(args.cases, CASES, "case")
    args.modes = _names(args.modes, MODES, "mode")
    args.skip = _names(args.skip, _STEPS, "step")
    args.scaling_specs = _names(args.scaling_specs, MODES, "scaling spec")
    args.scaling_sizes = [int(n) for n in args.scaling_sizes.split(",") if n.strip()]
    return args


def _smoke_reasons(args: argparse.Namespace) -> list[str]:
    """Why this run is not the full benchmark (empty when it is)."""
    reasons = []
    if args.reps < 5:
        reasons.append(f"{args.reps} repetition(s) instead of at least 5")
    if set(args.cases) != set(CASES):
        reasons.append(f"cases {', '.join(args.cases)} only")
    if set(args.modes) != set(MODES):
        reasons.append(f"modes {', '.join(args.modes)} only")
    if args.skip:
        reasons.append(f"skipped {', '.join(args.skip)}")
    if "scaling" not in args.skip and max(args.scaling_sizes, default=0) < 10**7:
        reasons.append("scaling series stops below 10^7 voxels")
    return reasons


def _write(results: dict, out: Path) -> None:
    """Write results.md and the raw JSON (.bench/results.json)."""
    results["duration_s"] = time.time() - results["_t0"]
    results["machine"]["load_end"] = os.getloadavg()[0]
    out.write_text(render(results, list(DIFFERENCES)), encoding="utf-8")
    BENCH_DIR.mkdir(exist_ok=True)
    raw = {k: v for k, v in results.items() if not k.startswith("_")}
    (BENCH_DIR / "results.json").write_text(json.dumps(raw, indent=1), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark steps and write the report."""
    argv = sys.argv[1:] if argv is None else argv
    args = _arguments(argv)
    command = " ".join([".venv/bin/python benchmarks/run.py", *argv])
    if os.environ.get("MAKELEVEL") and not argv:
        command = f"make bench ({command})"
    results = {"_t0": time.time(), "command": command, "machine": _machine(),
               "started": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
               "reps": args.reps, "modes": args.modes, "smoke_reasons": _smoke_reasons(args),
               "versions": {}, "process": [], "speed": [], "agreement": [], "scaling": [], "errors": [],
               "maps": [],
               "unavailable_modes": {}}
    print(f"radiome benchmark -> {args.out}")
    tools = {"radiome"} | {MODES[m].other for m in args.modes}
    if "process" not in args.skip:
        tools.add("pyradiomics")
    if "agreement" not in args.skip:
        tools |= {"pyradiomics", "mirp"}
    if "maps" not in args.skip:
        tools |= {"pyradiomics", "flash"}
    if "pictologics" not in args.skip:
        tools.add("pictologics")
    for tool in sorted(tools):
        problem = ensure_env(tool)
        if problem:
            results["errors"].append(f"{tool} environment: {problem}")
            print(f"  {tool}: {problem}")
    for name in args.modes:
        problem = mode_available(MODES[name])
        if problem:
            results["unavailable_modes"][name] = problem
            print(f"  mode {name} not available: {problem}")

    if "process" not in args.skip:
        print(f"whole process, one case ({args.reps} alternating runs of each command)")
        results["process"] = run_process([CASES[c] for c in args.cases], reps=args.reps)
        _write(results, args.out)

    if "agreement" not in args.skip:
        print("agreement with PyRadiomics (untimed)")
        for case in args.cases:
            found = agreement_case(CASES[case], timeout=args.timeout)
            results["agreement"].append(found)
            counts = found.get("counts", {}).get("same", {})
            print(f"  {case}: {counts.get('agree', '?')}/{counts.get('compared', '?')} "
                  f"same-definition features agree" if found["status"] == "ok"
                  else f"  {case}: failed: {found['error']}")
            _write(results, args.out)

    if "speed" not in args.skip:
        print(f"speed ({args.reps} repetitions after a warm-up)")
        for name in args.modes:
            if name in results["unavailable_modes"]:
                continue
            for case in args.cases:
                timed = time_case_mode(CASES[case], MODES[name], reps=args.reps,
                                       timeout=args.timeout)
                results["speed"].append(timed)
                for tool, record in timed["tools"].items():
                    if record.get("versions"):
                        results["versions"][tool] = record["versions"]
                print(describe(timed))
                _write(results, args.out)

    if "pictologics" not in args.skip:
        print(f"speed against pictologics ({args.reps} repetitions after a warm-up)")
        found = run_pictologics([CASES[c] for c in args.cases], reps=args.reps,
                                timeout=args.timeout)
        found.update(command=command, started=results["started"],
                     load_start=results["machine"]["load_start"], load_end=os.getloadavg()[0])
        results["pictologics"] = found
        _write(results, args.out)

    if "scaling" not in args.skip:
        for name in args.scaling_specs:
            print(f"scaling, {MODES[name].spec}")
            results["scaling"].append(run_scaling(MODES[name].spec_path, args.scaling_sizes,
                                                  repeats=args.scaling_repeats,
                                                  timeout=args.timeout))
            _write(results, args.out)

    if "maps" not in args.skip:
        print("voxel-wise GLCM maps (PyRadiomics runs once per case and radius, minutes each)")
        results["maps"] = run_maps([c for c in MAP_CASES if c in args.cases])
        _write(results, args.out)

    if "throughput" not in args.skip:
        print(f"cohort throughput, {args.cohort_cases} synthetic cases")
        try:
            results["throughput"] = run_throughput(args.cohort_cases)
        except Exception as exc:
            results["errors"].append(f"throughput: {type(exc).__name__}: {exc}")
            print(f"  failed: {exc}")
    _write(results, args.out)
    print(f"wrote {args.out} in {results['duration_s'] / 60:.1f} min")


if __name__ == "__main__":
    main()
