"""A benchmark worker: one tool in its own interpreter, driven over stdin/stdout in JSON lines.

Run as ``PYTHON benchmarks/worker.py TOOL`` with the tool's own interpreter (radiome: the
project's ``.venv``; PyRadiomics and MIRP: their throwaway environments under ``.bench/``).
Standard library only at module level, so it starts the same way in every environment.

Protocol: the worker first answers ``{"ok": true, "event": "ready", "t_main": ..., "t_ready":
...}`` (wall-clock times: ``t_main`` when this file starts running, after interpreter start-up,
``t_ready`` after the tool's imports). Then, one reply per request line:

- ``{"cmd": "load", "case": {...}}``: read the case's image and mask into memory, twice
  (``first_read_s`` includes modules that the tool imports lazily on first use; ``read_s``,
  the second, is the reading alone);
- ``{"cmd": "prepare", "mode": {...}, "match_pyradiomics_bins": false}``: configure the tool;
- ``{"cmd": "run", "loops": n}``: n (default 1) extractions back to back from the images in
  memory, timed together; ``seconds`` is their mean, ``cpu_seconds`` the mean CPU time of
  the process (all its threads);
- ``{"cmd": "values"}``: the feature values of the last run, ``{name: float}``;
- ``{"cmd": "rss"}``: peak resident memory (since start or the last reset) and the current;
- ``{"cmd": "reset_peak"}``: the peak so far, then restart peak tracking from now;
- ``{"cmd": "quit"}``.

A failing request answers ``{"ok": false, "error": "..."}`` and the worker goes on. Anything a
library prints goes to stderr, which the coordinator keeps in a log file.
"""

from __future__ import annotations

import time

T_MAIN = time.time()

import importlib
import json
import os
import resource
import sys
import traceback

__all__ = ["main"]


def current_rss() -> int:
    """Resident memory of this process now, bytes (Linux /proc)."""
    with open("/proc/self/statm", encoding="ascii") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def peak_rss() -> int:
    """Peak resident memory of this process so far, bytes: VmHWM of /proc/self/status.

    Not ``ru_maxrss``: Linux keeps that across fork and exec, so a worker started by a large
    coordinator would report at least the coordinator's peak. VmHWM belongs to this process's
    own memory and restarts from the current RSS after ``5 > /proc/self/clear_refs``.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _handle(adapter, request: dict) -> dict:
    """Carry out one request on the tool adapter; returns the reply's fields."""
    cmd = request["cmd"]
    if cmd == "load":
        times = []
        for _ in range(2):  # the first read also pays for modules that load lazily
            started = time.perf_counter()
            adapter.load(request["case"])
            times.append(time.perf_counter() - started)
        return {"first_read_s": times[0], "read_s": times[1], "rss": current_rss()}
    if cmd == "prepare":
        adapter.prepare(request["mode"], request.get("match_pyradiomics_bins", False))
        return {}
    if cmd == "run":
        loops = int(request.get("loops", 1))
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(loops):
            n_values = adapter.run()
        return {"seconds": (time.perf_counter() - started) / loops,
                "cpu_seconds": (time.process_time() - cpu) / loops, "n_values": n_values}
    if cmd == "values":
        return {"values": adapter.values()}
    if cmd == "rss":
        return {"peak_rss": peak_rss(), "rss": current_rss()}
    if cmd == "reset_peak":
        before = peak_rss()
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
                fh.write("5")  # Linux >= 4.0: the peak RSS starts again from the current RSS
        except OSError:
            return {"peak_before": before, "rss": current_rss(), "reset": False}
        return {"peak_before": before, "rss": current_rss(), "reset": True}
    msg = f"unknown command {cmd!r}"
    raise ValueError(msg)


def main() -> None:
    """Serve requests for the tool named on the command line until ``quit`` or end of input."""
    tool = sys.argv[1]
    reply_to = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # library output must not corrupt the protocol
    sys.stdout = sys.stderr

    def reply(**fields) -> None:
        reply_to.write(json.dumps(fields, allow_nan=True) + "\n")

    try:
        adapter = importlib.import_module(f"tool_{tool}").Adapter()
    except BaseException as exc:
        reply(ok=False, event="ready", error=f"{type(exc).__name__}: {exc}",
              traceback=traceback.format_exc())
        return
    reply(ok=True, event="ready", t_main=T_MAIN, t_ready=time.time(),
          versions=adapter.versions(), pid=os.getpid())
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if request["cmd"] == "quit":
            reply(ok=True)
            return
        try:
            reply(ok=True, **_handle(adapter, request))
        except Exception as exc:
            reply(ok=False, error=f"{type(exc).__name__}: {exc}",
                  traceback=traceback.format_exc())


if __name__ == "__main__":
    main()
