"""Shared test fixtures: the one place that finds the reference data in ``../shared/data``."""

from __future__ import annotations

import csv
import importlib
import os
from pathlib import Path
from types import ModuleType

import pytest

_REPO = Path(__file__).resolve().parents[1]


def _data_candidates() -> list[Path]:
    env = os.environ.get("RADIOME_TEST_DATA")
    if env:
        return [Path(env)]
    return [_REPO.parent / "shared" / "data", Path("/work/shared/data")]


def find_data_root() -> Path | None:
    """The shared data folder, or None when it is not there (collection-time use)."""
    return next((p for p in _data_candidates() if (p / "ibsi1").is_dir()), None)


def _required() -> bool:
    """True in CI (``RADIOME_REQUIRE_DATA=1``): what a test needs must be there."""
    return os.environ.get("RADIOME_REQUIRE_DATA") == "1"


def require_module(name: str) -> ModuleType:
    """The module ``name`` (an oracle package a test compares with), imported.

    Without it the test (or, called at module level, the whole module) skips, unless
    ``RADIOME_REQUIRE_DATA=1`` (CI), where it fails: a missing oracle must not turn a
    comparison into a silent skip. Test modules import it as
    ``from tests.conftest import require_module``.
    """
    if not _required():
        return pytest.importorskip(name)
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        pytest.fail(f"oracle package {name!r} cannot be imported ({exc}) and "
                    "RADIOME_REQUIRE_DATA=1", pytrace=False)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the read-only reference data (IBSI phantoms, clinical cases, tables).

    Looked up in ``$RADIOME_TEST_DATA``, else ``../shared/data`` next to the repository.
    Tests that need it skip when it is missing, unless ``RADIOME_REQUIRE_DATA=1`` (CI), where
    they fail instead.
    """
    root = find_data_root()
    if root is not None:
        return root
    where = ", ".join(str(p) for p in _data_candidates())
    if _required():
        pytest.fail(f"reference data not found (looked in {where}) and RADIOME_REQUIRE_DATA=1")
    pytest.skip(f"reference data not found (looked in {where})")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``row`` with the rows of the CSV(s) named by ``@pytest.mark.reference_rows``.

    ``@pytest.mark.reference_rows("ibsi1/reference_values/x.csv", id="{config}-{feature_tag}")``
    gives one test per row (a dict of strings) of that table under the shared data; the path
    may be a glob pattern (``ibsi1/reference_values/*_diagnostics.csv``), whose tables are read
    in name order, and it is an error when nothing matches. Without the data, a single
    ``no-data`` case asks for ``shared_data`` and so skips (or fails in CI).
    """
    marker = metafunc.definition.get_closest_marker("reference_rows")
    if marker is None or "row" not in metafunc.fixturenames:
        return
    root = find_data_root()
    if root is None:
        metafunc.parametrize("row", [None], ids=["no-data"])
        return
    id_format = marker.kwargs.get("id", "{feature_tag}")
    paths = sorted(root.glob(marker.args[0]))
    if not paths:
        msg = f"{root / marker.args[0]}: no reference table matches"
        raise FileNotFoundError(msg)
    rows = []
    for path in paths:
        with path.open(newline="", encoding="utf-8") as fh:
            rows += list(csv.DictReader(fh))
    metafunc.parametrize("row", rows, ids=[id_format.format(**r) for r in rows])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Real-process Flower studies first: with ``-n`` (whole files per worker, pyproject.toml)
    their minutes of waiting on Flower's polling overlap the rest of the suite."""
    items.sort(key=lambda item: "test_flower_run" not in item.nodeid)
