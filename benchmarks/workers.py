"""The coordinator's side of a benchmark worker: spawn, talk JSON lines, time out, stop."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from pathlib import Path

from bench_config import BENCHMARKS, REPO, TOOLS
from envs import tool_environ

__all__ = ["Worker", "WorkerError"]

_READY_TIMEOUT_S = 300.0


class WorkerError(RuntimeError):
    """A worker failed a request, timed out or died; the message says which and why."""


class Worker:
    """One tool's worker process (see ``worker.py``), started at construction.

    Parameters
    ----------
    tool : str
        Key of :data:`bench_config.TOOLS`.
    log : Path
        File that receives the worker's stderr (library output, tracebacks).
    single_thread : bool
        Run the worker with one thread (numba, OpenMP and BLAS thread counts set to 1).

    Attributes
    ----------
    startup_s : float
        Interpreter start-up: from spawning to the first line of ``worker.py``.
    import_s : float
        Importing the tool (and its dependencies).
    versions : dict
        Versions the worker reports.
    """

    def __init__(self, tool: str, log: Path, *, single_thread: bool = False) -> None:
        self.tool = tool
        self.log = log
        python = TOOLS[tool].python_path
        if not python.exists():
            msg = f"{tool}: interpreter {python} does not exist (environment not installed)"
            raise WorkerError(msg)
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = log.open("a", encoding="utf-8")
        spawned = time.time()
        self._process = subprocess.Popen(
            [str(python), str(BENCHMARKS / "worker.py"), tool],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log_file,
            cwd=REPO, text=True, bufsize=1,
            env=tool_environ(TOOLS[tool], single_thread=single_thread),
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            ready = self._reply(_READY_TIMEOUT_S, "start")
        except WorkerError:
            self.close()
            raise
        self.startup_s = ready["t_main"] - spawned
        self.import_s = ready["t_ready"] - ready["t_main"]
        self.versions = ready.get("versions", {})

    def _read(self) -> None:
        for line in self._process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _reply(self, timeout: float, what: str) -> dict:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            msg = f"{self.tool}: no answer to {what} within {timeout:g} s (worker stopped)"
            raise WorkerError(msg) from None
        if line is None:
            code = self._process.wait()
            msg = f"{self.tool}: worker died during {what} (exit code {code}); {self._log_tail()}"
            raise WorkerError(msg)
        reply = json.loads(line)
        if not reply.get("ok"):
            msg = f"{self.tool}: {what} failed: {reply.get('error', 'unknown error')}"
            raise WorkerError(msg)
        return reply

    def _log_tail(self, n: int = 5) -> str:
        """Last lines of the worker's stderr log."""
        self._log_file.flush()
        lines = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return "stderr: " + " | ".join(lines[-n:]) if lines else "no stderr"

    def call(self, request: dict, timeout: float) -> dict:
        """Send one request and return the worker's reply (raises :class:`WorkerError`)."""
        if self._process.poll() is not None:
            msg = f"{self.tool}: worker is not running (exit code {self._process.returncode})"
            raise WorkerError(msg)
        try:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            msg = f"{self.tool}: cannot send {request['cmd']} ({exc}); {self._log_tail()}"
            raise WorkerError(msg) from None
        return self._reply(timeout, request["cmd"])

    def kill(self) -> None:
        """Stop this worker process now."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def close(self) -> None:
        """Ask the worker to quit; stop it if it does not within a few seconds."""
        if self._process.poll() is None:
            try:
                self._process.stdin.write('{"cmd": "quit"}\n')
                self._process.stdin.flush()
                self._process.wait(timeout=10)
            except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
                self.kill()
        self._log_file.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
