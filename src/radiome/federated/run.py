"""A whole federated study on this machine: a SuperLink and one SuperNode per site on loopback.

For tests, demonstrations and a hospital's dry run. Every Flower process is a separate process
started with this interpreter's Flower scripts, telemetry and update checks off, runtime
dependency installation disabled (the app's dependencies are radiome's own), the SuperLink's
state in memory (fresh for every study: a persisted database with stale SuperNode entries breaks
SecAgg+, and on disk every round of a study grew slower) and free loopback ports (``--insecure``
is used only there). The study is submitted with ``flwr run`` and its log streamed; at the end,
or on any failure, every process started here and every process they started
(``flower-superexec``) gets SIGTERM together, then SIGKILL after a grace period.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack, closing
from pathlib import Path

import pandas as pd

from radiome.errors import AnalysisError
from radiome.federated.protocol import round_budget

__all__ = ["default_features", "run_study", "study_settings", "write_app"]

_HOST = "127.0.0.1"
_GRACE = 10.0  # seconds between SIGTERM and SIGKILL
_APP = """[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "radiome-federated"
version = "1.0.0"
description = "radiome federated study (the code is radiome's own, installed at every site)"
dependencies = []

[tool.hatch.build.targets.wheel]
packages = ["."]

[tool.flwr.app]
publisher = "radiome"

[tool.flwr.app.components]
serverapp = "radiome.federated.app:server_app"
clientapp = "radiome.federated.app:client_app"

[tool.flwr.app.config]
features = ""
id = "case_id"
outcome = "outcome"
time = ""
event = ""
l2 = 1.0
loso = true
secagg = true
epsilon = 0.0
max_newton = 30
combat = false
covariates = ""
top_k = 0
sites = 3
timeout = 120.0
out = ""
"""


def write_app(folder: Path, settings: dict) -> Path:
    """Write the Flower app folder: ``pyproject.toml`` and ``run.toml`` (the study's settings).

    ``pyproject.toml`` names radiome's ServerApp and ClientApp (the code itself is the installed
    radiome); ``run.toml`` holds the run configuration for ``flwr run --run-config``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(_APP, encoding="utf-8")
    (folder / "run.toml").write_text(
        "".join(f"{k} = {_toml(v)}\n" for k, v in settings.items()), encoding="utf-8")
    return folder


def study_settings(*, features: list[str], id_col: str, outcome: str, out: Path, n_sites: int,
                   time_col: str | None = None, event_col: str | None = None, l2: float = 1.0,
                   secagg: bool = True, loso: bool = True, epsilon: float | None = None,
                   max_newton: int = 30, combat: bool = False, covariates: list[str] = (),
                   top_k: int | None = None, timeout: float = 120.0) -> dict:
    """The run configuration of a study (see :mod:`radiome.federated.app`).

    Parameters
    ----------
    features, id_col, outcome, time_col, event_col : str
        Columns of the site tables (Cox model when ``time_col`` and ``event_col`` are given).
    out : Path
        Folder of ``statistics.csv``, ``model.json`` and ``summary.json``.
    n_sites : int
    l2 : float
        L2 penalty of the logistic model on the z-scored features (0: maximum likelihood).
    secagg : bool
        Secure aggregation by SecAgg+ (needs at least 3 sites).
    loso : bool
        Leave-one-site-out fits.
    epsilon : float, optional
        Differential privacy of the logistic rounds at this ε (δ = 1e-5), per site.
    max_newton : int
        Newton rounds at most (the model says whether it converged).
    combat : bool
        Harmonise the features by federated ComBat first, preserving ``covariates``.
    covariates : list of str
        Numeric covariate columns of ComBat.
    top_k : int, optional
        The logistic model uses the ``top_k`` features of highest ANOVA F.
    timeout : float
        Seconds each round (and each process start) may take.
    """
    return {"features": ",".join(features), "id": id_col, "outcome": outcome,
            "time": time_col or "", "event": event_col or "", "l2": float(l2), "loso": loso,
            "secagg": secagg, "epsilon": float(epsilon or 0.0), "max_newton": int(max_newton),
            "combat": bool(combat), "covariates": ",".join(covariates), "top_k": int(top_k or 0),
            "sites": n_sites, "timeout": float(timeout), "out": str(Path(out).resolve())}


def default_features(table: str | Path, exclude: list[str]) -> list[str]:
    """Numeric columns of a site table other than ``exclude`` (id, outcome, survival)."""
    path = Path(table)
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    return [c for c in frame.columns
            if c not in exclude and pd.api.types.is_numeric_dtype(frame[c])]


def run_study(sites: dict[str, Path], out: Path, *, timeout: float = 120.0,
              echo: Callable[[str], None] = print, **options) -> dict:
    """Run a federated study over ``sites`` with Flower processes on loopback; returns the summary.

    Parameters
    ----------
    sites : dict
        Site name -> its feature table (CSV or Parquet), read only by that site's SuperNode.
    out : Path
        Folder of ``statistics.csv``, ``model.json`` and ``summary.json``.
    timeout : float
        Seconds each round (and each process start) may take.
    echo : callable
        Receives the progress lines (the streamed ``flwr run`` log).
    **options
        The study: ``features``, ``id_col``, ``outcome`` and the optional settings of
        :func:`study_settings`.

    Returns
    -------
    dict
        The summary written to ``summary.json`` (``error`` is None when every site took part).

    Raises
    ------
    AnalysisError
        A site table is missing, a process could not start, or ``flwr run`` failed.
    """
    missing = [f"{name}: {path}" for name, path in sites.items() if not Path(path).is_file()]
    if missing:
        msg = f"federated run: site table(s) not found: {', '.join(missing)}"
        raise AnalysisError(msg)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").unlink(missing_ok=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="radiome-flower-") as tmp, ExitStack() as stack:
        tmp = Path(tmp)
        env = _environment(tmp)
        ports = _free_ports(1 + len(sites))
        procs: list = []
        stack.callback(_stop, procs)
        link = _start(stack, procs, tmp, "superlink", [
            _script("flower-superlink"), "--insecure",
            "--host", _HOST, "--port", str(ports[0]), "--disable-runtime-dependency-installation",
        ], env)
        _wait_for_port(ports[0], link, timeout)
        for (name, path), port in zip(sites.items(), ports[1:], strict=True):
            node_config = f"data={json.dumps(str(Path(path).resolve()))} site={json.dumps(name)}"
            _start(stack, procs, tmp, f"supernode-{name}", [
                _script("flower-supernode"), "--insecure", "--superlink",
                f"{_HOST}:{ports[0]}", "--host", _HOST, "--port", str(port),
                "--node-config", node_config,
            ], env)
        (tmp / "flwr" / "config.toml").write_text(
            f'[superlink]\ndefault = "radiome"\n\n[superlink.radiome]\n'
            f'address = "{_HOST}:{ports[0]}"\ninsecure = true\n', encoding="utf-8")
        settings = study_settings(out=out, n_sites=len(sites), timeout=timeout, **options)
        app = write_app(tmp / "app", settings)
        rounds = round_budget(settings["max_newton"], len(sites), settings["secagg"])
        _submit(app, env, echo, deadline=timeout * (rounds + 2))
    summary_path = out / "summary.json"
    if not summary_path.is_file():
        msg = f"{out}: the federated run ended without results (see the log above)"
        raise AnalysisError(msg)
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary["study_seconds"], summary["seconds"] = summary["seconds"], round(
        time.perf_counter() - start, 3)
    summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def _submit(app: Path, env: dict, echo: Callable[[str], None], *, deadline: float) -> None:
    """Run ``flwr run --stream`` on the app and echo its log until it ends (or ``deadline``)."""
    command = [_script("flwr"), "run", str(app), "radiome", "--run-config",
               str(app / "run.toml"), "--stream"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    ends = time.monotonic() + deadline
    try:
        while (line := _next_line(lines, ends)) is not None:
            echo(line.rstrip())
        if time.monotonic() > ends:
            msg = f"federated run: no result after {deadline:g} s; stopped"
            raise AnalysisError(msg)
        proc.wait(timeout=max(1.0, ends - time.monotonic()))
    finally:
        _stop([proc])
    if proc.returncode != 0:
        msg = f"federated run: flwr run exited with status {proc.returncode}"
        raise AnalysisError(msg)


def _pump(stream, lines: queue.Queue) -> None:
    """Copy the lines of ``stream`` to ``lines``, then None."""
    for line in stream:
        lines.put(line)
    lines.put(None)


def _next_line(lines: queue.Queue, ends: float) -> str | None:
    """The next line, or None at the end of the stream or after ``ends``."""
    while time.monotonic() < ends:
        try:
            return lines.get(timeout=1.0)
        except queue.Empty:
            continue
    return None


def _environment(tmp: Path) -> dict:
    """Environment of the Flower processes: offline, no telemetry, private Flower home."""
    (tmp / "flwr").mkdir()
    env = dict(os.environ, FLWR_TELEMETRY_ENABLED="0", FLWR_DISABLE_UPDATE_CHECK="1",
               FLWR_HOME=str(tmp / "flwr"), PYTHONUNBUFFERED="1")
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _script(name: str) -> str:
    """Path of a Flower console script of this interpreter's environment."""
    path = Path(sys.executable).parent / name
    if not path.is_file():
        msg = f"{path}: Flower is not installed here; install radiome[federated]"
        raise AnalysisError(msg)
    return str(path)


def _free_ports(n: int) -> list[int]:
    """``n`` distinct loopback ports that were free a moment ago."""
    with ExitStack() as stack:
        socks = [stack.enter_context(closing(socket.socket())) for _ in range(n)]
        for s in socks:
            s.bind((_HOST, 0))
        return [s.getsockname()[1] for s in socks]


def _start(stack: ExitStack, procs: list, tmp: Path, name: str, command: list[str], env: dict):
    """Start a Flower process logging to ``tmp/name.log`` and add it to ``procs``, all of which
    are stopped together when ``stack`` closes."""
    log = (tmp / f"{name}.log").open("w", encoding="utf-8")
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                            cwd=tmp, start_new_session=True)
    stack.callback(log.close)
    procs.append(proc)
    proc.log_path = tmp / f"{name}.log"
    return proc


def _wait_for_port(port: int, proc, timeout: float) -> None:
    """Wait until the SuperLink listens on ``port``; an error when it exits or cannot bind."""
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        if proc.poll() is not None or "address already in use" in proc.log_path.read_text():
            tail = " | ".join(proc.log_path.read_text().splitlines()[-3:])
            msg = f"federated run: the SuperLink did not start on port {port}: {tail}"
            raise AnalysisError(msg)
        with closing(socket.socket()) as s:
            if s.connect_ex((_HOST, port)) == 0:
                return
        time.sleep(0.2)
    msg = f"federated run: the SuperLink did not listen on port {port} within {timeout:g} s"
    raise AnalysisError(msg)


def _stop(procs: list) -> None:
    """SIGTERM to ``procs``, their descendants and their process groups (each was started in a
    session of its own, so a child orphaned by a killed SuperNode is still found), SIGKILL to
    those alive after the grace."""
    import psutil

    family = {}
    groups = {proc.pid for proc in procs}
    for member in psutil.process_iter():
        try:
            if os.getpgid(member.pid) in groups:
                family[member.pid] = member
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    for proc in procs:
        try:
            parent = psutil.Process(proc.pid)
            family |= {m.pid: m for m in [parent, *parent.children(recursive=True)]}
        except psutil.NoSuchProcess:
            continue
    family = list(family.values())
    for member in family:
        try:
            member.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            continue
    _, alive = psutil.wait_procs(family, timeout=_GRACE)
    for member in alive:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(alive, timeout=_GRACE)
    for proc in procs:
        proc.poll()


def _toml(value) -> str:
    """A TOML literal of a string, bool, int or float."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value)
