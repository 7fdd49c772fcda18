"""Shared test fixtures: the one place that finds the reference data in ``../shared/data``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[1]


def _data_candidates() -> list[Path]:
    env = os.environ.get("RADIOME_TEST_DATA")
    if env:
        return [Path(env)]
    return [_REPO.parent / "shared" / "data", Path("/work/shared/data")]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the read-only reference data (IBSI phantoms, clinical cases, tables).

    Looked up in ``$RADIOME_TEST_DATA``, else ``../shared/data`` next to the repository.
    Tests that need it skip when it is missing, unless ``RADIOME_REQUIRE_DATA=1`` (CI), where
    they fail instead.
    """
    for path in _data_candidates():
        if (path / "ibsi1").is_dir():
            return path
    where = ", ".join(str(p) for p in _data_candidates())
    if os.environ.get("RADIOME_REQUIRE_DATA") == "1":
        pytest.fail(f"reference data not found (looked in {where}) and RADIOME_REQUIRE_DATA=1")
    pytest.skip(f"reference data not found (looked in {where})")
