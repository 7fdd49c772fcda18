"""The feature store: runs, cases, feature values, errors and warnings in a real database.

SQLite (``sqlite:///radiome.db``, embedded) by default, PostgreSQL by URL
(``postgresql+psycopg://user@host:port/db``), through SQLAlchemy 2; the schema is versioned
with Alembic (:mod:`radiome.cohort.schema`). Each case is written in one transaction by the
client process, so a crash never leaves half a case. A case is unique per (case_id, roi,
spec_hash, perturbation) and written with the database's own conflict handling (``INSERT ...
ON CONFLICT DO UPDATE``; on SQLite inside ``BEGIN IMMEDIATE``), so concurrent batches on one
store keep every case exactly once: when two of them compute the same case, the later write
replaces the earlier one. Each stored case records the software that computed it
(:func:`radiome.provenance.software_key`). Only acquisition metadata reaches the store, never
patient identifiers.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, delete, event, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError

from radiome.cohort.schema import (
    StoreError,
    cases,
    errors,
    features,
    icc_results,
    metadata,
    prepare,
    runs,
    warnings_,
)
from radiome.table import COLUMNS

__all__ = ["PROVENANCE_COLUMNS", "CaseRecord", "CaseWarning", "FeatureStore", "StoreError"]

#: Columns ``features(provenance=True)`` adds after the long-table contract columns.
PROVENANCE_COLUMNS = ("run_id", "input_hash", "image_hash", "mask_hash", "radiome_version",
                      "software")

_CASE_COLUMNS = ("patient", "timepoint", "rater", "site", "modality")
_CASE_KEY = ("case_id", "roi", "spec_hash", "perturbation")
_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


@dataclass(frozen=True)
class CaseWarning:
    """A radiome warning raised while a case was read and processed."""

    stage: str
    category: str
    message: str


@dataclass
class CaseRecord:
    """One finished case as the client writes it: identity, inputs, provenance, features.

    ``software`` is :func:`radiome.provenance.software_key` of the process that computed it.
    """

    case_id: str
    roi: str
    spec_hash: str
    input_hash: str
    image_hash: str
    mask_hash: str
    table: pd.DataFrame
    acquisition: dict[str, Any] = field(default_factory=dict)
    conformance: str = "warn"
    conformance_reasons: str = ""
    seconds: float = 0.0
    labels: dict[str, str | None] = field(default_factory=dict)
    perturbation: str = ""
    software: str = ""


def _versions(perturbed: bool) -> Any:
    """Condition selecting the perturbed versions of cases, or the plain cases."""
    return cases.c.perturbation != "" if perturbed else cases.c.perturbation == ""


def _same_case(table: Any, case_id: str, roi: str, spec_hash: str) -> Any:
    """Condition selecting the rows of ``table`` about one case, ROI and spec."""
    return (table.c.case_id == case_id) & (table.c.roi == roi) & (table.c.spec_hash == spec_hash)


def _feature_rows(case_pk: int, table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of the features table for one stored case."""
    return [
        {"case_pk": case_pk, "filter": f or "", "family": fam, "feature": name,
         "ibsi_code": code, "aggregation": agg or "", "value": float(v), "unit": unit or ""}
        for f, fam, name, code, agg, v, unit in zip(
            table["filter"], table["family"], table["feature"], table["ibsi_code"],
            table["aggregation"], table["value"], table["unit"], strict=True)
    ]


def _now() -> dt.datetime:
    """The current time in UTC."""
    return dt.datetime.now(dt.UTC)


def _one_line(exc: DBAPIError) -> str:
    """The database's own message, on one line."""
    return " ".join(str(exc.orig).split())


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection SQLite settings; transactions are begun by :func:`_sqlite_begin`."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in ("busy_timeout=30000", "foreign_keys=ON", "journal_mode=WAL",
                   "synchronous=FULL"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """BEGIN IMMEDIATE for writes (the write lock first, so no writer ever has to upgrade)."""
    mode = "IMMEDIATE" if conn.get_execution_options().get("radiome_write") else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


def _sqlite_file(engine: Engine) -> Path | None:
    """The database file of a SQLite URL (None: in memory)."""
    database = engine.url.database or ""
    if engine.url.query.get("uri"):
        database = database.removeprefix("file:")
    if database in ("", ":memory:") or engine.url.query.get("mode") == "memory":
        return None
    return Path(database)


def _engine(url: str, create: bool) -> Engine:
    """An engine on a SQLite or PostgreSQL store (SQLite: the file must exist unless created)."""
    try:
        engine = create_engine(url)
    except (ArgumentError, ImportError) as exc:
        msg = f"{url}: not a usable database URL ({exc})"
        raise StoreError(msg) from None
    if engine.dialect.name not in _INSERTS:
        msg = f"{url}: the feature store lives in SQLite or PostgreSQL, not {engine.dialect.name}"
        raise StoreError(msg)
    if engine.dialect.name == "sqlite":
        path = _sqlite_file(engine)
        if not create and path is not None and not path.is_file():
            msg = (f"{url}: no feature store at {path} (no such file); check the path, or run "
                   "`radiome batch` to create one")
            raise StoreError(msg)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


class FeatureStore:
    """A feature store at a SQLAlchemy URL, migrated to this radiome's schema when opened.

    Parameters
    ----------
    url : str
        ``sqlite:///path.db`` (default embedded database) or a PostgreSQL URL.
    create : bool
        Create the store when the database holds none (SQLite: also the file). Commands that
        only read pass False, so a mistyped path is an error rather than a new empty store.

    Raises
    ------
    StoreError
        The URL is unusable, there is no store (and ``create`` is False), the database holds
        something else, or its schema is newer than this radiome.
    """

    def __init__(self, url: str = "sqlite:///radiome.db", *, create: bool = False) -> None:
        self.url = url
        self.writing = 0
        self.engine: Engine = _engine(url, create)
        self._writer = self.engine.execution_options(radiome_write=True)
        self._insert = _INSERTS[self.engine.dialect.name]
        try:
            prepare(self.engine, self._writer, url, create=create)
        except DBAPIError as exc:
            self.engine.dispose()
            msg = f"{url}: cannot open the feature store ({_one_line(exc)})"
            raise StoreError(msg) from None
        except StoreError:
            self.engine.dispose()
            raise

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    @contextmanager
    def _transaction(self):
        """A write transaction; :attr:`writing` counts the open ones.

        A ``KeyboardInterrupt`` raised by a signal handler inside SQLAlchemy's begin can leave
        the connection's write lock held (SQLite: every later write then waits and fails with
        "database is locked"), so handlers defer their interrupt while ``writing`` is non-zero.
        """
        self.writing += 1
        try:
            with self._writer.begin() as conn:
                yield conn
        finally:
            self.writing -= 1

    # -- runs -----------------------------------------------------------------------------
    def start_run(self, spec: dict, spec_hash: str, manifest: str,
                  software: dict[str, str]) -> int:
        """Record the start of a batch run (status ``running``); returns its id.

        ``software`` is :func:`radiome.provenance.software_versions` of the client.
        """
        with self._transaction() as conn:
            result = conn.execute(insert(runs).values(
                spec_hash=spec_hash, spec=spec, radiome_version=software["radiome"],
                software=software, manifest=manifest, host=socket.gethostname(),
                started_at=_now(), status="running",
            ))
            return int(result.inserted_primary_key[0])

    def finish_run(self, run_id: int, summary: dict, status: str = "finished") -> None:
        """Record the end of a run: its status (``finished``, ``failed``, ``interrupted``)."""
        with self._transaction() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id)
                         .values(finished_at=_now(), summary=summary, status=status))

    def runs(self) -> pd.DataFrame:
        """Every run, newest last."""
        with self.engine.connect() as conn:
            return pd.read_sql(select(runs).order_by(runs.c.id), conn)

    # -- cases ----------------------------------------------------------------------------
    def stored_inputs(
        self, spec_hash: str, *, perturbed: bool = False,
    ) -> dict[tuple[str, str], tuple[str, str | None]]:
        """Input hash and software key of every case stored for a spec, by (case_id, roi).

        The software key is None for cases stored before radiome recorded it. With
        ``perturbed``, the cases of a perturbation study (all versions of a case share one
        input hash and software) instead of the plain ones.
        """
        query = select(cases.c.case_id, cases.c.roi, cases.c.input_hash, cases.c.software).where(
            (cases.c.spec_hash == spec_hash) & _versions(perturbed))
        with self.engine.connect() as conn:
            return {(c, r): (h, s) for c, r, h, s in conn.execute(query)}

    def write_case(self, run_id: int, *records: CaseRecord,
                   warnings: Sequence[CaseWarning] = ()) -> None:
        """Store one case in one transaction, replacing any stored version of it.

        Several records are the perturbed versions of one case (same case_id and roi,
        different ``perturbation``): they replace every stored version together. The case's
        error row goes, and ``warnings`` replace its stored warnings.
        """
        first = records[0]
        key = _same_case(cases, first.case_id, first.roi, first.spec_hash) & _versions(
            bool(first.perturbation))
        self._replace(run_id, records, key, first.roi, warnings)

    def _upsert_case(self, conn: Connection, run_id: int, record: CaseRecord) -> int:
        """Insert a case row, or update the stored one with the same key; returns its id."""
        values = {
            "run_id": run_id, "case_id": record.case_id, "roi": record.roi,
            "spec_hash": record.spec_hash, "input_hash": record.input_hash,
            "image_hash": record.image_hash, "mask_hash": record.mask_hash,
            "acquisition": record.acquisition, "conformance": record.conformance,
            "conformance_reasons": record.conformance_reasons, "seconds": record.seconds,
            "perturbation": record.perturbation, "stored_at": _now(),
            "software": record.software or None,
            **{c: record.labels.get(c) for c in _CASE_COLUMNS},
        }
        statement = self._insert(cases).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=list(_CASE_KEY),
            set_={c: statement.excluded[c] for c in values if c not in _CASE_KEY},
        ).returning(cases.c.id)
        return int(conn.execute(statement).scalar_one())

    def write_parts(self, run_id: int, parent: str, *records: CaseRecord,
                    warnings: Sequence[CaseWarning] = ()) -> None:
        """Store the parts of one case's ROI ``parent`` (its habitats) in one transaction.

        The records are ROIs named ``parent#<part>`` of one case and spec. They replace every
        stored part of that ROI: a stored part not among them goes (a habitat model with
        fewer habitats leaves none behind). Errors and warnings of the parts are kept under
        the ROI ``parent#*``: its error row goes, and ``warnings`` replace its warnings.
        """
        first = records[0]
        parts = ((cases.c.case_id == first.case_id) & (cases.c.spec_hash == first.spec_hash)
                 & (cases.c.perturbation == "")
                 & cases.c.roi.startswith(f"{parent}#", autoescape=True))
        self._replace(run_id, records, parts, f"{parent}#*", warnings)

    def _replace(self, run_id: int, records: Sequence[CaseRecord], key: Any, roi: str,
                 warnings: Sequence[CaseWarning]) -> None:
        """Write ``records`` in one transaction in place of the stored cases ``key`` selects.

        The error row of the records' case at ``roi`` goes and ``warnings`` replace its own.
        """
        first = records[0]
        with self._transaction() as conn:
            pks = [self._upsert_case(conn, run_id, record) for record in records]
            conn.execute(delete(features).where(
                features.c.case_pk.in_(select(cases.c.id).where(key))))
            conn.execute(delete(cases).where(key & cases.c.id.not_in(pks)))
            for pk, record in zip(pks, records, strict=True):
                rows = _feature_rows(pk, record.table)
                if rows:
                    conn.execute(insert(features), rows)
            conn.execute(delete(errors).where(
                _same_case(errors, first.case_id, roi, first.spec_hash)))
            _replace_warnings(conn, run_id, first.case_id, roi, first.spec_hash, warnings)

    def write_error(self, run_id: int, *, case_id: str, roi: str, spec_hash: str, stage: str,
                    message: str, warnings: Sequence[CaseWarning] = ()) -> None:
        """Record why a case failed (the latest attempt replaces earlier ones) and its warnings."""
        values = {"run_id": run_id, "case_id": case_id, "roi": roi, "spec_hash": spec_hash,
                  "stage": stage, "message": message, "occurred_at": _now()}
        statement = self._insert(errors).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=["spec_hash", "case_id", "roi"],
            set_={c: statement.excluded[c] for c in ("run_id", "stage", "message",
                                                       "occurred_at")},
        )
        with self._transaction() as conn:
            conn.execute(statement)
            _replace_warnings(conn, run_id, case_id, roi, spec_hash, warnings)

    def cases(self, spec_hash: str | None = None, *, perturbed: bool = False) -> pd.DataFrame:
        """Stored cases (one row per case and ROI; per version for perturbed cases)."""
        query = select(cases).where(_versions(perturbed))
        if spec_hash is not None:
            query = query.where(cases.c.spec_hash == spec_hash)
        with self.engine.connect() as conn:
            return pd.read_sql(query.order_by(cases.c.case_id, cases.c.roi), conn)

    def errors(self, spec_hash: str | None = None) -> pd.DataFrame:
        """Recorded errors (latest attempt per case, ROI and spec)."""
        query = select(errors)
        if spec_hash is not None:
            query = query.where(errors.c.spec_hash == spec_hash)
        with self.engine.connect() as conn:
            return pd.read_sql(query.order_by(errors.c.case_id), conn)

    def warnings(self, spec_hash: str | None = None) -> pd.DataFrame:
        """Radiome warnings of the latest attempt at each case (stage, category, message)."""
        query = select(warnings_)
        if spec_hash is not None:
            query = query.where(warnings_.c.spec_hash == spec_hash)
        with self.engine.connect() as conn:
            return pd.read_sql(query.order_by(warnings_.c.case_id, warnings_.c.roi,
                                              warnings_.c.id), conn)

    def features(
        self, *, run_id: int | None = None, spec_hash: str | None = None,
        labels: Iterable[str] = (), perturbed: bool = False, provenance: bool = False,
    ) -> pd.DataFrame:
        """The long feature table of the stored cases, optionally with case labels.

        Parameters
        ----------
        run_id : int, optional
            Only cases stored by this run.
        spec_hash : str, optional
            Only cases of this spec.
        labels : iterable of str
            Extra case columns to add (``patient``, ``timepoint``, ``rater``, ``site``,
            ``modality``, ``perturbation``).
        perturbed : bool
            The perturbed versions of a perturbation study instead of the plain cases.
        provenance : bool
            Add :data:`PROVENANCE_COLUMNS` after the labels: the run that stored the case, its
            input hashes, and the software that computed it (``software``: the canonical key
            of :func:`radiome.provenance.software_versions`, empty for cases stored before
            radiome recorded it; ``radiome_version`` then falls back to the run's).
        """
        labels = list(labels)
        extra = [cases.c[c] for c in labels]
        if provenance:
            extra += [cases.c[c] for c in PROVENANCE_COLUMNS if c != "radiome_version"]
            extra.append(runs.c.radiome_version.label("run_version"))
        query = select(
            cases.c.case_id, cases.c.roi, features.c.filter, features.c.family,
            features.c.feature, features.c.ibsi_code, features.c.aggregation, features.c.value,
            features.c.unit, cases.c.spec_hash, *extra,
        ).join(cases, features.c.case_pk == cases.c.id).join(
            runs, cases.c.run_id == runs.c.id).where(_versions(perturbed))
        if run_id is not None:
            query = query.where(cases.c.run_id == run_id)
        if spec_hash is not None:
            query = query.where(cases.c.spec_hash == spec_hash)
        query = query.order_by(cases.c.case_id, cases.c.roi, features.c.filter,
                               features.c.family, features.c.feature, features.c.aggregation)
        with self.engine.connect() as conn:
            table = pd.read_sql(query, conn)
        if not provenance:
            return table[[*COLUMNS, *labels]]
        recorded = {key: json.loads(key).get("radiome") for key in table["software"].dropna()
                    .unique()}
        table["radiome_version"] = table["software"].map(recorded).fillna(table["run_version"])
        table["software"] = table["software"].fillna("")
        return table[[*COLUMNS, *labels, *PROVENANCE_COLUMNS]]

    # -- reliability ----------------------------------------------------------------------
    def write_icc(self, spec_hash: str, by: str, form: str, min_icc: float,
                  table: pd.DataFrame) -> None:
        """Store per-feature ICCs of a reliability analysis (replacing earlier ones)."""
        rows = [
            {"spec_hash": spec_hash, "by": by, "form": form, "filter": r["filter"],
             "family": r["family"], "feature": r["feature"], "aggregation": r["aggregation"],
             "icc": r["icc"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
             "n_subjects": int(r["n_subjects"]), "min_icc": min_icc, "passes": int(r["passes"]),
             "computed_at": _now()}
            for r in table.to_dict("records")
        ]
        with self._transaction() as conn:
            conn.execute(delete(icc_results).where(
                (icc_results.c.spec_hash == spec_hash) & (icc_results.c.by == by)
                & (icc_results.c.form == form)))
            if rows:
                conn.execute(insert(icc_results), rows)

    def icc(self, spec_hash: str | None = None) -> pd.DataFrame:
        """Stored reliability results."""
        query = select(icc_results)
        if spec_hash is not None:
            query = query.where(icc_results.c.spec_hash == spec_hash)
        with self.engine.connect() as conn:
            return pd.read_sql(query, conn)

    def dump_text(self) -> str:
        """Every value of every table as text (to audit what the store holds)."""
        parts = []
        with self.engine.connect() as conn:
            for table in metadata.sorted_tables:
                for row in conn.execute(select(table)):
                    parts.append(json.dumps([str(v) for v in row]))
        return "\n".join(parts)


def _replace_warnings(conn: Connection, run_id: int, case_id: str, roi: str, spec_hash: str,
                      caught: Sequence[CaseWarning]) -> None:
    """Replace the stored warnings of one case, ROI and spec by those of the latest attempt."""
    conn.execute(delete(warnings_).where(_same_case(warnings_, case_id, roi, spec_hash)))
    if caught:
        now = _now()
        conn.execute(insert(warnings_), [
            {"run_id": run_id, "case_id": case_id, "roi": roi, "spec_hash": spec_hash,
             "stage": w.stage, "category": w.category, "message": w.message, "occurred_at": now}
            for w in caught])
