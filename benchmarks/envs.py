"""Throwaway virtual environments for the other tools, under ``.bench/`` (git-ignored).

PyRadiomics and MIRP are benchmark-only: never dependencies of radiome. Each gets its own
environment, created with the interpreter that runs the benchmark and the pinned requirement
of :data:`bench_config.TOOLS` (``pyradiomics-bhklab==3.1.4``: PyRadiomics 3.1 with wheels for
current Python and NumPy 2, import name ``radiomics``; ``mirp==2.7.0``;
``flash-radiomics==1.0.0`` with the dependencies its README lists). A stamp file records
the requirement, so later runs reuse the environment.

pictologics needs Python >= 3.12: its environment is created with the interpreter of the pyenv
version the tool names (``PYENV_VERSION=3.12.1 pyenv which python3.12``), or ``python3.12`` on
the PATH without pyenv. Its first import compiles its numba kernels (minutes): that import is
the last install step, with ``NUMBA_CACHE_DIR`` in ``.bench/numba_cache/``, which the workers
use too, so later runs start in seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from bench_config import BENCH_DIR, TOOLS, Tool

__all__ = ["ensure_env", "tool_environ"]

_INSTALL_TIMEOUT_S = 3600


_THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                     "MKL_NUM_THREADS")


def tool_environ(tool: Tool, *, single_thread: bool = False) -> dict[str, str]:
    """The environment variables of the tool's processes: its numba cache, if any, and with
    ``single_thread`` one thread for numba, OpenMP and BLAS."""
    environ = dict(os.environ)
    if tool.numba_cache is not None:
        environ["NUMBA_CACHE_DIR"] = str(tool.numba_cache)
    if single_thread:
        environ.update(dict.fromkeys(_THREAD_VARIABLES, "1"))
    return environ


def _base_python(tool: Tool) -> str | None:
    """The interpreter that creates the tool's environment, or None when it is not found."""
    if tool.pyenv_version is None:
        return sys.executable
    short = "python" + ".".join(tool.pyenv_version.split(".")[:2])
    if shutil.which("pyenv"):
        found = subprocess.run(["pyenv", "which", short], capture_output=True, text=True,
                               env={**os.environ, "PYENV_VERSION": tool.pyenv_version},
                               check=False)
        if found.returncode == 0:
            return found.stdout.strip()
    return shutil.which(short)


def ensure_env(tool_name: str, progress=print) -> str | None:
    """Make sure the tool's environment exists; None when ready, else the reason it is not."""
    tool = TOOLS[tool_name]
    if tool.requirement is None:
        return None
    root = tool.python_path.parent.parent
    stamp = root / ".installed"
    installed = stamp.read_text().strip() if stamp.exists() else ""
    warm = [[str(tool.python_path), "-c", f"import {tool.warm_import}"]] if tool.warm_import else []
    if tool.python_path.exists() and installed == tool.requirement:
        if tool.numba_cache is None or tool.numba_cache.exists():
            return None
        steps = warm  # the environment is there, its numba cache is not
    else:
        base = _base_python(tool)
        if base is None:
            return f"no Python {tool.pyenv_version} interpreter (pyenv or on the PATH)"
        steps = [[base, "-m", "venv", "--clear", str(root)],
                 [str(tool.python_path), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
                 [str(tool.python_path), "-m", "pip", "install", "--quiet",
                  *tool.requirement.split()], *warm]
    log = BENCH_DIR / "logs" / f"install_{tool_name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    progress(f"  installing {tool.requirement} into {root.relative_to(BENCH_DIR.parent)} "
             f"(log: {log.relative_to(BENCH_DIR.parent)})")
    with log.open("w", encoding="utf-8") as out:
        for step in steps:
            try:
                done = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT,
                                      timeout=_INSTALL_TIMEOUT_S, check=False,
                                      env=tool_environ(tool))
            except subprocess.TimeoutExpired:
                return f"{' '.join(step[-2:])} did not finish within {_INSTALL_TIMEOUT_S} s"
            if done.returncode != 0:
                return f"`{' '.join(step[2:])}` failed (exit code {done.returncode}); see {log}"
    stamp.write_text(tool.requirement + "\n")
    return None
