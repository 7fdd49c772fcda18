"""Feature-store URLs for the cohort tests: embedded SQLite and a real PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_ENV = "RADIOME_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store: a SQLite file, or a new database on the PostgreSQL server.

    The server comes from ``$RADIOME_TEST_POSTGRES_URL`` (``.ci/run`` starts a throwaway
    one); without it the PostgreSQL cases skip, unless ``RADIOME_REQUIRE_POSTGRES=1``.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'radiome.db'}"
        return
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        if os.environ.get("RADIOME_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{POSTGRES_ENV} is not set and RADIOME_REQUIRE_POSTGRES=1")
        pytest.skip(f"no PostgreSQL server ({POSTGRES_ENV} not set)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"radiome_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
