"""Speed: radiome and another tool, each in its own worker, alternating runs from memory.

For one (case, mode): start a fresh worker per tool (interpreter start-up and imports are
timed apart), let each read the case into memory (timed apart), configure the mode, run one
untimed warm-up each (a first run, then more until they add up to a second, so that fast tools
settle too), restart peak-memory tracking, then alternate radiome, other, radiome,
other ... for ``reps`` repetitions (a repetition of a tool faster than 0.2 s is the mean of
as many back-to-back runs as make 0.2 s, the count fixed in the warm-up), and finally ask each worker for its peak resident memory
during the timed runs (the process's peak including the warm-up is kept too). A tool that
fails is recorded with its error; the other goes on.
"""

from __future__ import annotations

import math
import os
import statistics

from bench_config import BENCH_DIR, Case, Mode
from workers import Worker, WorkerError

__all__ = ["case_request", "describe", "mode_available", "mode_request", "time_case_mode"]

#: Warm-up: after the first run (which pays for JIT compilation and lazy imports), more runs
#: until they add up to this many seconds ...
WARMUP_S = 1.0
#: ... at most this many ...
WARMUP_RUNS = 20
#: ... and none when the first run took longer than this (a long run is its own warm-up).
SETTLED_S = 10.0
#: A timed repetition of a tool faster than this runs it back to back until it lasts this
#: long and reports the mean (as ``timeit`` does): a lone run of milliseconds right after
#: the other tool's run would time the idle core waking up, not the tool.
REPETITION_S = 0.2


def mode_available(mode: Mode) -> str | None:
    """None when radiome's spec of the mode validates, else why the mode cannot run."""
    import radiome

    try:
        radiome.load_spec(mode.spec_path)
    except radiome.RadiomeError as exc:
        return str(exc)
    return None


def case_request(case: Case) -> dict:
    """The case as workers receive it."""
    return {"name": case.name, "image": str(case.image_path), "mask": str(case.mask_path),
            "modality": case.modality, "label": case.label}


def mode_request(mode: Mode) -> dict:
    """The mode as workers receive it."""
    return {"name": mode.name, "spec_path": str(mode.spec_path), "filtered": mode.filtered}


def _start(tool: str, case: Case, mode: Mode, record: dict, timeout: float,
           single_thread: bool = False) -> Worker:
    """Start a tool's worker, load the case and prepare the mode; fills ``record``."""
    log = BENCH_DIR / "logs" / f"{case.name}_{mode.name}_{tool}.log"
    worker = Worker(tool, log, single_thread=single_thread)
    try:
        record.update(startup_s=worker.startup_s, import_s=worker.import_s,
                      versions=worker.versions)
        loaded = worker.call({"cmd": "load", "case": case_request(case)}, timeout)
        record.update(read_s=loaded["read_s"], rss_loaded=loaded["rss"],
                      lazy_import_s=max(loaded["first_read_s"] - loaded["read_s"], 0.0))
        worker.call({"cmd": "prepare", "mode": mode_request(mode)}, timeout)
    except WorkerError:
        worker.close()
        raise
    return worker


def _settle(worker: Worker, first: float, timeout: float) -> tuple[int, float]:
    """Untimed runs after the first warm-up run, until :data:`WARMUP_S` seconds have gone
    into them (at most :data:`WARMUP_RUNS`; none after a first run over :data:`SETTLED_S`),
    so that a tool taking milliseconds reaches its steady state (allocator, caches) as one
    taking seconds does. Returns how many it made and the last one's time."""
    runs = 0
    spent = 0.0
    last = first
    while first <= SETTLED_S and spent < WARMUP_S and runs < WARMUP_RUNS:
        last = worker.call({"cmd": "run"}, timeout)["seconds"]
        spent += last
        runs += 1
    return runs, last


def _summary(record: dict) -> None:
    """Add median, min and max of the timed repetitions."""
    times = record["times"]
    if record["status"] == "ok" and times:
        record.update(median_s=statistics.median(times), min_s=min(times), max_s=max(times))
    if record["status"] == "ok" and record.get("cpu_times"):
        record["cpu_median_s"] = statistics.median(record["cpu_times"])


def time_case_mode(case: Case, mode: Mode, *, reps: int, timeout: float,
                   progress=print, single_thread: tuple[str, ...] = ()) -> dict:
    """Time radiome against the mode's other tool on one case.

    The tools named in ``single_thread`` run with one thread (see ``workers.Worker``).

    Returns
    -------
    dict
        ``case``, ``mode``, ``load_before``/``load_after`` (1-minute load averages), ``tools``
        (per tool: status, error, startup_s, import_s, lazy_import_s (first read minus second),
        read_s, warmup_s, times, median_s, min_s, max_s, cpu_times (the process's CPU time
        of each repetition), cpu_median_s, n_values, rss_loaded,
        rss_before_runs, peak_rss (timed runs), process_peak_rss (warm-up included),
        peak_reset, versions), ``ratio`` (other's median over radiome's) and ``cpu_ratio``
        (the same of the CPU times) when both succeeded.
    """
    tools = ("radiome", mode.other)
    records = {t: {"tool": t, "status": "ok", "error": "", "times": []} for t in tools}
    workers: dict[str, Worker] = {}
    load_before = os.getloadavg()[0]

    def fail(tool: str, exc: Exception) -> None:
        records[tool].update(status="failed", error=str(exc))
        progress(f"    {tool} failed: {exc}")
        worker = workers.pop(tool, None)
        if worker is not None:
            worker.close()

    try:
        for tool in tools:
            try:
                workers[tool] = _start(tool, case, mode, records[tool], timeout,
                                       single_thread=tool in single_thread)
            except WorkerError as exc:
                fail(tool, exc)
        for rep in range(reps + 1):  # repetition 0 is the warm-up
            for tool in tools:
                if tool not in workers:
                    continue
                try:
                    reply = workers[tool].call(
                        {"cmd": "run", "loops": records[tool].get("loops", 1)}, timeout)
                except WorkerError as exc:
                    fail(tool, exc)
                    continue
                records[tool]["n_values"] = reply["n_values"]
                if rep > 0:
                    records[tool]["times"].append(reply["seconds"])
                    records[tool].setdefault("cpu_times", []).append(reply["cpu_seconds"])
                    continue
                records[tool]["warmup_s"] = reply["seconds"]
                try:
                    settled, last = _settle(workers[tool], reply["seconds"], timeout)
                    records[tool]["warmup_runs"] = 1 + settled
                    records[tool]["loops"] = max(1, math.ceil(REPETITION_S / last))
                    reset = workers[tool].call({"cmd": "reset_peak"}, timeout)
                except WorkerError as exc:
                    fail(tool, exc)
                    continue
                records[tool].update(process_peak_rss=reset["peak_before"],
                                     rss_before_runs=reset["rss"], peak_reset=reset["reset"])
        for tool, worker in list(workers.items()):
            try:
                peak = worker.call({"cmd": "rss"}, timeout)["peak_rss"]
                record = records[tool]
                record.update(peak_rss=peak,
                              process_peak_rss=max(peak, record["process_peak_rss"]))
            except WorkerError as exc:
                fail(tool, exc)
    finally:
        for worker in workers.values():
            worker.close()
    for record in records.values():
        _summary(record)
    result = {"case": case.name, "mode": mode.name, "tools": records,
              "load_before": load_before, "load_after": os.getloadavg()[0]}
    ours, other = records["radiome"], records[mode.other]
    if "median_s" in ours and "median_s" in other:
        result["ratio"] = other["median_s"] / ours["median_s"]
    if ours.get("cpu_median_s") and other.get("cpu_median_s"):
        result["cpu_ratio"] = other["cpu_median_s"] / ours["cpu_median_s"]
    return result


def describe(result: dict) -> str:
    """One line for the console."""
    parts = []
    for tool, record in result["tools"].items():
        if record["status"] != "ok" or "median_s" not in record:
            parts.append(f"{tool} FAILED")
        else:
            parts.append(f"{tool} {record['median_s']:.3f} s")
    ratio = f"  ratio {result['ratio']:.1f}x" if "ratio" in result else ""
    return f"  {result['case']:>16} {result['mode']:<18} " + ", ".join(parts) + ratio
