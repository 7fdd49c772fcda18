"""Layers import downward only (ARCHITECTURE.md): every import of every module, at any depth.

The order, lowest first: volume and io (files to volumes), preprocess, filters, features,
extraction (one case), maps (per-voxel features), cohort (batches, store), then reliability,
habitats (which read images) and analysis; the command line sits on top. Analysis works on
feature tables and never reads images.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import radiome

SRC = Path(radiome.__file__).parent

#: Part of radiome -> parts it must never import.
FORBIDDEN = {
    "volume": ("io", "preprocess", "filters", "features", "extraction", "maps", "cohort",
               "reliability", "habitats", "analysis", "cli"),
    "io": ("preprocess", "filters", "features", "extraction", "maps", "cohort", "reliability",
           "habitats", "analysis", "cli"),
    "preprocess": ("filters", "features", "extraction", "maps", "cohort", "reliability",
                   "habitats", "analysis", "cli"),
    "filters": ("io", "features", "extraction", "maps", "cohort", "reliability", "habitats",
                "analysis", "cli"),
    "features": ("io", "extraction", "maps", "cohort", "reliability", "habitats", "analysis",
                 "cli"),
    "extraction": ("maps", "cohort", "reliability", "habitats", "analysis", "cli"),
    "maps": ("cohort", "reliability", "habitats", "analysis", "cli"),
    "cohort": ("reliability", "habitats", "analysis", "cli"),
    "reliability": ("habitats", "analysis", "cli"),
    "habitats": ("analysis", "cli"),
    "analysis": ("io", "preprocess", "filters", "features", "extraction", "maps", "habitats",
                 "cli"),
}


def _part(module: str) -> str:
    """The part of radiome a dotted module name belongs to (``radiome.io.dicom`` -> ``io``)."""
    return module.split(".")[1] if module.count(".") else ""


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every radiome import in a file, at any depth (functions included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("radiome.")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "radiome":
                found += [(node.lineno, f"radiome.{a.name}") for a in node.names]
            elif node.module.startswith("radiome."):
                found.append((node.lineno, node.module))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(SRC).as_posix())
def test_module_imports_no_higher_layer(path):
    relative = path.relative_to(SRC).with_suffix("")
    part = relative.parts[0]
    forbidden = FORBIDDEN.get(part, ())
    wrong = [f"line {line}: {module}" for line, module in _imports(path)
             if _part(module) in forbidden]
    assert not wrong, f"{relative} ({part}) imports a higher layer: {wrong}"


def test_every_layer_rule_names_existing_parts():
    parts = {p.relative_to(SRC).with_suffix("").parts[0] for p in _modules()}
    named = set(FORBIDDEN) | {p for banned in FORBIDDEN.values() for p in banned}
    assert named <= parts, named - parts
