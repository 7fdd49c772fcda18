"""Throwaway virtual environments for the other tools, under ``.bench/`` (git-ignored).

PyRadiomics and MIRP are benchmark-only: never dependencies of radiome. Each gets its own
environment, created with the interpreter that runs the benchmark and the pinned requirement
of :data:`bench_config.TOOLS` (``pyradiomics-bhklab==3.1.4``: PyRadiomics 3.1 with wheels for
current Python and NumPy 2, import name ``radiomics``; ``mirp==2.7.0``;
``flash-radiomics==1.0.0`` with the dependencies its README lists). A stamp file records
the requirement, so later runs reuse the environment.
"""

from __future__ import annotations

import subprocess
import sys

from bench_config import BENCH_DIR, TOOLS

__all__ = ["ensure_env"]

_INSTALL_TIMEOUT_S = 3600


def ensure_env(tool_name: str, progress=print) -> str | None:
    """Make sure the tool's environment exists; None when ready, else the reason it is not."""
    tool = TOOLS[tool_name]
    if tool.requirement is None:
        return None
    root = tool.python_path.parent.parent
    stamp = root / ".installed"
    installed = stamp.read_text().strip() if stamp.exists() else ""
    if tool.python_path.exists() and installed == tool.requirement:
        return None
    log = BENCH_DIR / "logs" / f"install_{tool_name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    progress(f"  installing {tool.requirement} into {root.relative_to(BENCH_DIR.parent)} "
             f"(log: {log.relative_to(BENCH_DIR.parent)})")
    steps = ([sys.executable, "-m", "venv", "--clear", str(root)],
             [str(tool.python_path), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
             [str(tool.python_path), "-m", "pip", "install", "--quiet",
              *tool.requirement.split()])
    with log.open("w", encoding="utf-8") as out:
        for step in steps:
            try:
                done = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT,
                                      timeout=_INSTALL_TIMEOUT_S, check=False)
            except subprocess.TimeoutExpired:
                return f"{' '.join(step[-2:])} did not finish within {_INSTALL_TIMEOUT_S} s"
            if done.returncode != 0:
                return f"`{' '.join(step[2:])}` failed (exit code {done.returncode}); see {log}"
    stamp.write_text(tool.requirement + "\n")
    return None
