"""The package's public face: lazy exports visible to type checkers, the py.typed marker."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import radiome

LAZY_PACKAGES = ("radiome", "radiome.analysis", "radiome.filters", "radiome.reliability")


def _type_checking_names(module) -> set[str]:
    """Names imported in the module's ``if TYPE_CHECKING:`` block (what type checkers see)."""
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for statement in ast.walk(node):
                if isinstance(statement, ast.ImportFrom | ast.Import):
                    names |= {a.asname or a.name for a in statement.names}
    return names


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_public_name_resolves_and_type_checkers_see_it(package):
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"
    hidden = set(module.__all__) - _type_checking_names(module) - {"__version__"}
    assert not hidden, f"{package}: names not imported under TYPE_CHECKING: {sorted(hidden)}"


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_importing_a_package_loads_no_scientific_stack(package):
    code = (f"import sys, {package}; heavy = [m for m in ('pandas', 'scipy', 'sklearn', 'numba', "
            "'matplotlib', 'dask') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_py_typed_marker_is_shipped():
    assert (Path(radiome.__file__).parent / "py.typed").is_file()
    pyproject = Path(radiome.__file__).parents[2] / "pyproject.toml"
    if pyproject.is_file():  # a source checkout: the marker is in the package data
        assert '"py.typed"' in pyproject.read_text(encoding="utf-8")
