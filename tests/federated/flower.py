"""Helpers of the tests that start real Flower processes (`radiome federated run`)."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import psutil

from radiome.cli import main
from radiome.federated import multisite_tables
from radiome.federated.demo import FEATURES

FEATS = list(FEATURES)
_TAG = "RADIOME_TEST_FLOWER_RUN"


def site_tables(folder: Path) -> tuple[Path, dict[str, Path]]:
    """The demo's three site tables written to ``folder``, by site name."""
    paths = {}
    for name, table in multisite_tables(0).items():
        paths[name] = folder / f"{name}.csv"
        table.to_csv(paths[name], index=False)
    return folder, paths


def flower_pids(tag: str) -> set[int]:
    """Flower processes (SuperLink, SuperNodes, SuperExecs, apps, flwr) of the run ``tag``.

    The tag is an environment variable the run's processes inherit, so runs of other test
    workers on this machine are not counted.
    """
    found = set()
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "flower-" not in cmdline and "flwr" not in cmdline:
            continue
        try:
            if proc.environ().get(_TAG) == tag:
                found.add(proc.pid)
        except psutil.Error:
            continue
    return found


def run_study(args: list[str]) -> tuple[int, set[int]]:
    """``radiome federated run ARGS``: its exit code and the Flower processes it left running."""
    tag = uuid.uuid4().hex
    os.environ[_TAG] = tag
    try:
        code = main(["federated", "run", *args])
    finally:
        del os.environ[_TAG]
    time.sleep(2)  # a killed node's SuperExec notices its parent is gone
    return code, flower_pids(tag)


def study_args(tables, out: Path, *extra: str) -> list[str]:
    """Arguments of a study of the demo features over ``tables``, results in ``out``."""
    _, paths = tables
    return [*(f"--site={name}={path}" for name, path in paths.items()), "--id", "case_id",
            "--outcome", "grade", "--features", ",".join(FEATS), "--out", str(out),
            "--timeout", "120", *extra]


def kill_when(victim: str, process: str, killed: list) -> None:
    """Kill the SuperNode of the site table ``victim`` (and its children) once a ``process``
    (``flwr-serverapp`` of this test's run, ``flwr-clientapp`` under that SuperNode) runs."""
    me = psutil.Process()
    ends = time.monotonic() + 600
    while time.monotonic() < ends and not killed:
        for node in psutil.process_iter(["cmdline"]):
            if "flower-supernode" not in " ".join(node.info["cmdline"] or []) or victim not in \
                    " ".join(node.info["cmdline"] or []):
                continue
            try:  # processes come and go while they are looked at
                children = node.children(recursive=True)
                running = (me.children(recursive=True) if process == "flwr-serverapp"
                           else children)
                if any(process in " ".join(_cmdline(p)) for p in running):
                    for doomed in (node, *children):
                        _kill(doomed)
                    killed.append(node.pid)
            except psutil.Error:
                continue
        time.sleep(0.1)


def _cmdline(process: psutil.Process) -> list[str]:
    """The command line of ``process``, empty once it has ended."""
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def _kill(process: psutil.Process) -> None:
    """Kill ``process`` unless it has already ended."""
    try:
        process.kill()
    except psutil.NoSuchProcess:
        pass
