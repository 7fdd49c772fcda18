"""Whole process, one case: ``radiome extract`` against ``pyradiomics IMAGE MASK`` from a shell.

What a user waits for when extracting one case from the command line: interpreter start-up,
imports, reading both files, computing, writing the table. Each tool runs as a fresh process
(``radiome extract IMAGE MASK --spec original.yaml --out x.csv`` and PyRadiomics' own CLI,
``pyradiomics IMAGE MASK -o x.csv -f csv`` with its defaults: binWidth 25, label 1, the
original image, every feature class; radiome is given the same label with ``--roi``), alternating radiome, PyRadiomics, radiome ... after one untimed run of
each (so both read their files from the page cache). Times are the CPU time of the child
process (user + system, from ``getrusage``) and its wall time; ratios are PyRadiomics' median
over radiome's.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench_config import REPO, SPECS_DIR, TOOLS, Case

__all__ = ["run_process"]


def _commands(case: Case, out_dir: Path) -> dict[str, list[str]]:
    radiome = REPO / ".venv" / "bin" / "radiome"
    pyradiomics = TOOLS["pyradiomics"].python_path.parent / "pyradiomics"
    return {
        "radiome": [str(radiome), "extract", str(case.image_path), str(case.mask_path),
                    "--modality", case.modality, "--roi", str(case.label),
                    "--spec", str(SPECS_DIR / "original.yaml"),
                    "--out", str(out_dir / "radiome.csv")],
        "pyradiomics": [str(pyradiomics), str(case.image_path), str(case.mask_path),
                        "-o", str(out_dir / "pyradiomics.csv"), "-f", "csv"],
    }


def _run(command: list[str], out: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of ``command`` as a child process."""
    out.unlink(missing_ok=True)  # PyRadiomics appends to its output
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or not out.exists():
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        msg = f"{command[0]} exited {done.returncode}: {tail}"
        raise RuntimeError(msg)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def run_process(cases: list[Case], reps: int = 5, progress=print) -> list[dict]:
    """Per case: both tools' CPU and wall times (median, min, max) and the median ratios."""
    results = []
    for case in cases:
        record: dict = {"case": case.name, "tools": {}}
        with tempfile.TemporaryDirectory() as tmp:
            commands = _commands(case, Path(tmp))
            outs = {"radiome": Path(tmp) / "radiome.csv",
                    "pyradiomics": Path(tmp) / "pyradiomics.csv"}
            times: dict[str, list[tuple[float, float]]] = {tool: [] for tool in commands}
            try:
                for tool, command in commands.items():  # untimed: page cache, numba's cache
                    _run(command, outs[tool])
                for _ in range(reps):
                    for tool, command in commands.items():
                        times[tool].append(_run(command, outs[tool]))
            except RuntimeError as exc:
                record["error"] = str(exc)
                progress(f"  {case.name}: failed: {exc}")
                results.append(record)
                continue
        for tool, runs in times.items():
            cpu = [c for c, _ in runs]
            wall = [w for _, w in runs]
            record["tools"][tool] = {
                "cpu_median_s": statistics.median(cpu), "cpu_min_s": min(cpu),
                "cpu_max_s": max(cpu), "wall_median_s": statistics.median(wall),
                "wall_min_s": min(wall), "wall_max_s": max(wall)}
        ours, theirs = record["tools"]["radiome"], record["tools"]["pyradiomics"]
        record["cpu_ratio"] = theirs["cpu_median_s"] / ours["cpu_median_s"]
        record["wall_ratio"] = theirs["wall_median_s"] / ours["wall_median_s"]
        progress(f"  {case.name}: radiome {ours['cpu_median_s']:.2f} s CPU, PyRadiomics "
                 f"{theirs['cpu_median_s']:.2f} s: {record['cpu_ratio']:.2f}x "
                 f"(wall {record['wall_ratio']:.2f}x)")
        results.append(record)
    return results
