"""The feature store's tables and their versions: Alembic migrations shipped with radiome.

The tables below are the schema at the newest revision of ``radiome/cohort/migrations``
(the migrations create and upgrade stores; these definitions are what the code queries, and a
test checks that both agree). :func:`prepare` brings a database to that revision when the store
is opened: a new store is created (only when asked), a store of an older revision is migrated
in one transaction under a lock, a store written before radiome versioned its schema (tables
but no ``alembic_version``) is recognised as the first revision, and a store of a newer
revision than this radiome knows is refused with one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    text,
)
from sqlalchemy.engine import Connection, Engine

from radiome.errors import RadiomeError

__all__ = [
    "BASELINE",
    "StoreError",
    "alembic_config",
    "cases",
    "errors",
    "features",
    "head_revision",
    "icc_results",
    "metadata",
    "prepare",
    "runs",
    "warnings_",
]


class StoreError(RadiomeError, RuntimeError):
    """The feature store cannot be opened or written."""


#: The revision of the schema that radiome wrote before it versioned its stores.
BASELINE = "0001_baseline"
#: Tables every radiome store has had since the baseline revision.
_BASELINE_TABLES = frozenset({"runs", "cases", "features", "errors", "icc"})
#: Arbitrary constant key of the PostgreSQL advisory lock that serialises migrations.
_MIGRATION_LOCK = 0x7261646D

metadata = MetaData()

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("spec_hash", String(32), nullable=False, index=True),
    Column("spec", JSON, nullable=False),
    Column("radiome_version", String(32), nullable=False),
    Column("manifest", Text),
    Column("host", String(255)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("summary", JSON),
    Column("software", JSON),
    Column("status", String(16)),
)

cases = Table(
    "cases", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False, index=True),
    Column("case_id", String(255), nullable=False),
    Column("roi", String(255), nullable=False),
    Column("spec_hash", String(32), nullable=False),
    Column("input_hash", String(64), nullable=False),
    Column("image_hash", String(64), nullable=False),
    Column("mask_hash", String(64), nullable=False),
    Column("patient", String(255)),
    Column("timepoint", String(255)),
    Column("rater", String(255)),
    Column("site", String(255)),
    Column("modality", String(16)),
    Column("perturbation", String(32), nullable=False, default=""),
    Column("acquisition", JSON),
    Column("conformance", String(8)),
    Column("conformance_reasons", Text),
    Column("seconds", Float),
    Column("stored_at", DateTime(timezone=True), nullable=False),
    Column("software", Text),
    UniqueConstraint("case_id", "roi", "spec_hash", "perturbation", name="uq_case_roi_spec"),
    Index("ix_cases_spec_case", "spec_hash", "case_id"),
)

features = Table(
    "features", metadata,
    Column("case_pk", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("filter", String(255), nullable=False),
    Column("family", String(8), nullable=False),
    Column("feature", String(64), nullable=False),
    Column("ibsi_code", String(8), nullable=False),
    Column("aggregation", String(16), nullable=False),
    Column("value", Float),
    Column("unit", String(32), nullable=False),
    Index("ix_features_case", "case_pk"),
    Index("ix_features_feature", "feature", "aggregation", "filter"),
)

errors = Table(
    "errors", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False, index=True),
    Column("case_id", String(255), nullable=False),
    Column("roi", String(255), nullable=False),
    Column("spec_hash", String(32), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("message", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Index("uq_errors_case", "spec_hash", "case_id", "roi", unique=True),
)

warnings_ = Table(
    "warnings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False, index=True),
    Column("case_id", String(255), nullable=False),
    Column("roi", String(255), nullable=False),
    Column("spec_hash", String(32), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("category", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Index("ix_warnings_case", "spec_hash", "case_id", "roi"),
)

icc_results = Table(
    "icc", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("spec_hash", String(32), nullable=False),
    Column("by", String(32), nullable=False),
    Column("form", String(8), nullable=False),
    Column("filter", String(255), nullable=False),
    Column("family", String(8), nullable=False),
    Column("feature", String(64), nullable=False),
    Column("aggregation", String(16), nullable=False),
    Column("icc", Float),
    Column("ci_low", Float),
    Column("ci_high", Float),
    Column("n_subjects", Integer),
    Column("min_icc", Float),
    Column("passes", Integer),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Index("ix_icc_spec", "spec_hash", "by", "form"),
)


def alembic_config(connection: Connection | None = None):
    """Alembic ``Config`` of the migrations shipped in the package (no ``alembic.ini``).

    ``connection`` is the connection the migrations run on (``env.py`` reads it from
    ``config.attributes``); it is needed by every command that touches a database.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this radiome knows."""
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())


def prepare(engine: Engine, writer: Engine, url: str, *, create: bool) -> None:
    """Bring the store at ``engine`` to the head revision, or raise :class:`StoreError`.

    ``writer`` opens write transactions (on SQLite ``BEGIN IMMEDIATE``). With ``create`` an
    empty database becomes a new store; without it an empty database is an error.
    """
    head = head_revision()
    with engine.connect() as conn:
        if _revision(conn) == head:
            return
    with _locked(writer) as conn:  # state read again under the lock: another process may migrate
        revision, tables = _revision(conn), set(inspect(conn).get_table_names())
        known = _known_revisions()
        if revision is None:
            present = tables & _BASELINE_TABLES
            if present == _BASELINE_TABLES:
                _stamp(conn, BASELINE)
            elif present:
                msg = (f"{url}: holds only some feature-store tables ({', '.join(sorted(present))}"
                       f"; missing {', '.join(sorted(_BASELINE_TABLES - present))}), not a "
                       "radiome feature store")
                raise StoreError(msg)
            elif not create:
                msg = (f"{url}: not a radiome feature store (it has no runs or cases tables); "
                       "check the URL, or run `radiome batch` to create a store there")
                raise StoreError(msg)
        elif revision not in known:
            msg = (f"{url}: the feature store has schema revision {revision}, newer than this "
                   f"radiome reads (up to {head}); upgrade radiome to use it")
            raise StoreError(msg)
        _upgrade(conn, head)


def _revision(conn: Connection) -> str | None:
    """Schema revision stamped in the database (None: not versioned, or empty)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def _stamp(conn: Connection, revision: str) -> None:
    from alembic import command

    command.stamp(alembic_config(conn), revision)


def _upgrade(conn: Connection, revision: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(conn), revision)


@contextmanager
def _locked(writer: Engine) -> Iterator[Connection]:
    """A write transaction that holds the store's migration lock until it commits."""
    with writer.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        yield conn
