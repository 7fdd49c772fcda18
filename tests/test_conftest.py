"""The shared test helpers: a missing oracle package skips locally and fails in CI."""

from __future__ import annotations

import json

import pytest
from tests.conftest import require_module

MISSING = "radiome_no_such_oracle_package"


def test_require_module_returns_the_imported_module(monkeypatch):
    monkeypatch.setenv("RADIOME_REQUIRE_DATA", "1")
    assert require_module("json") is json


@pytest.mark.parametrize("setting", [None, "0"])
def test_missing_oracle_skips_naming_it_without_require_data(monkeypatch, setting):
    if setting is None:
        monkeypatch.delenv("RADIOME_REQUIRE_DATA", raising=False)
    else:
        monkeypatch.setenv("RADIOME_REQUIRE_DATA", setting)
    with pytest.raises(pytest.skip.Exception, match=f"could not import '{MISSING}'"):
        require_module(MISSING)


def test_missing_oracle_fails_naming_it_with_require_data(monkeypatch):
    monkeypatch.setenv("RADIOME_REQUIRE_DATA", "1")
    with pytest.raises(pytest.fail.Exception,
                       match=f"oracle package '{MISSING}' cannot be imported .*REQUIRE_DATA=1"):
        require_module(MISSING)


def test_oracle_that_breaks_on_import_fails_with_require_data(monkeypatch, tmp_path):
    """An installed package whose own import fails (a missing dependency) fails too."""
    (tmp_path / "radiome_broken_oracle.py").write_text("import radiome_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("RADIOME_REQUIRE_DATA", "1")
    with pytest.raises(pytest.fail.Exception, match="radiome_no_such_dependency"):
        require_module("radiome_broken_oracle")
