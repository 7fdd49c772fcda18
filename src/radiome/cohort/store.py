"""The feature store: runs, cases, feature values and errors in a real database (SQLAlchemy 2).

SQLite (``sqlite:///radiome.db``, embedded) by default, PostgreSQL by URL
(``postgresql+psycopg://user@host:port/db``). Each case is written in one transaction by the
client process, so a crash never leaves half a case; a case is unique per
(case_id, roi, spec_hash), so rerunning a batch stores every good case exactly once. Only
acquisition metadata reaches the store, never patient identifiers.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
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
    create_engine,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, OperationalError

from radiome.errors import RadiomeError
from radiome.table import COLUMNS

__all__ = ["CaseRecord", "FeatureStore", "StoreError"]


class StoreError(RadiomeError, RuntimeError):
    """The feature store cannot be opened or written."""


_meta = MetaData()

runs = Table(
    "runs", _meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("spec_hash", String(32), nullable=False, index=True),
    Column("spec", JSON, nullable=False),
    Column("radiome_version", String(32), nullable=False),
    Column("manifest", Text),
    Column("host", String(255)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("summary", JSON),
)

cases = Table(
    "cases", _meta,
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
    UniqueConstraint("case_id", "roi", "spec_hash", "perturbation", name="uq_case_roi_spec"),
    Index("ix_cases_spec_case", "spec_hash", "case_id"),
)

features = Table(
    "features", _meta,
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
    "errors", _meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False, index=True),
    Column("case_id", String(255), nullable=False),
    Column("roi", String(255), nullable=False),
    Column("spec_hash", String(32), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("message", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Index("ix_errors_case", "spec_hash", "case_id", "roi"),
)

icc_results = Table(
    "icc", _meta,
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

_CASE_COLUMNS = ("patient", "timepoint", "rater", "site", "modality")


@dataclass
class CaseRecord:
    """One finished case as the client writes it: identity, inputs, provenance, features."""

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


def _versions(perturbed: bool) -> Any:
    """Condition selecting the perturbed versions of cases, or the plain cases."""
    return cases.c.perturbation != "" if perturbed else cases.c.perturbation == ""


def _feature_rows(case_pk: int, table: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {"case_pk": case_pk, "filter": f or "", "family": fam, "feature": name,
         "ibsi_code": code, "aggregation": agg or "", "value": float(v), "unit": unit or ""}
        for f, fam, name, code, agg, v, unit in zip(
            table["filter"], table["family"], table["feature"], table["ibsi_code"],
            table["aggregation"], table["value"], table["unit"], strict=True)
    ]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class FeatureStore:
    """A feature store at a SQLAlchemy URL; creates its tables when they are missing.

    Parameters
    ----------
    url : str
        ``sqlite:///path.db`` (default embedded database) or a PostgreSQL URL.
    """

    def __init__(self, url: str = "sqlite:///radiome.db") -> None:
        self.url = url
        try:
            self.engine: Engine = create_engine(url, future=True)
        except (ArgumentError, ImportError) as exc:
            msg = f"{url}: not a usable database URL ({exc})"
            raise StoreError(msg) from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            _meta.create_all(self.engine)
        except OperationalError as exc:
            msg = f"{url}: cannot open the feature store ({exc.orig})"
            raise StoreError(msg) from None

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    # -- runs -----------------------------------------------------------------------------
    def start_run(self, spec: dict, spec_hash: str, manifest: str, version: str) -> int:
        """Record the start of a batch run; returns its id."""
        with self.engine.begin() as conn:
            result = conn.execute(insert(runs).values(
                spec_hash=spec_hash, spec=spec, radiome_version=version, manifest=manifest,
                host=socket.gethostname(), started_at=_now(),
            ))
            return int(result.inserted_primary_key[0])

    def finish_run(self, run_id: int, summary: dict) -> None:
        """Record the end of a run and its summary counts."""
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id)
                         .values(finished_at=_now(), summary=summary))

    def runs(self) -> pd.DataFrame:
        """Every run, newest last."""
        with self.engine.connect() as conn:
            return pd.read_sql(select(runs).order_by(runs.c.id), conn)

    # -- cases ----------------------------------------------------------------------------
    def stored_inputs(self, spec_hash: str, *, perturbed: bool = False) -> dict[tuple[str, str], str]:
        """Input hash of every case stored for a spec, keyed by (case_id, roi).

        With ``perturbed``, the cases of a perturbation study (all versions of a case share
        one input hash) instead of the plain ones.
        """
        kind = _versions(perturbed)
        query = select(cases.c.case_id, cases.c.roi, cases.c.input_hash).where(
            (cases.c.spec_hash == spec_hash) & kind)
        with self.engine.connect() as conn:
            return {(c, r): h for c, r, h in conn.execute(query)}

    def write_case(self, run_id: int, *records: CaseRecord) -> None:
        """Store one case in one transaction, replacing an older version of it.

        Several records are the perturbed versions of one case (same case_id and roi,
        different ``perturbation``): they replace every stored version together.
        """
        first = records[0]
        kind = _versions(bool(first.perturbation))
        key = (cases.c.case_id == first.case_id) & (cases.c.roi == first.roi) & (
            cases.c.spec_hash == first.spec_hash) & kind
        with self.engine.begin() as conn:
            old = conn.execute(select(cases.c.id).where(key)).scalars().all()
            if old:
                conn.execute(delete(features).where(features.c.case_pk.in_(old)))
                conn.execute(delete(cases).where(cases.c.id.in_(old)))
            for record in records:
                pk = conn.execute(insert(cases).values(
                    run_id=run_id, case_id=record.case_id, roi=record.roi,
                    spec_hash=record.spec_hash, input_hash=record.input_hash,
                    image_hash=record.image_hash, mask_hash=record.mask_hash,
                    acquisition=record.acquisition, conformance=record.conformance,
                    conformance_reasons=record.conformance_reasons, seconds=record.seconds,
                    perturbation=record.perturbation, stored_at=_now(),
                    **{c: record.labels.get(c) for c in _CASE_COLUMNS},
                )).inserted_primary_key[0]
                rows = _feature_rows(pk, record.table)
                if rows:
                    conn.execute(insert(features), rows)
            conn.execute(delete(errors).where(
                (errors.c.case_id == first.case_id) & (errors.c.roi == first.roi)
                & (errors.c.spec_hash == first.spec_hash)))

    def write_error(self, run_id: int, *, case_id: str, roi: str, spec_hash: str, stage: str,
                    message: str) -> None:
        """Record why a case failed (the latest attempt replaces earlier ones)."""
        with self.engine.begin() as conn:
            conn.execute(delete(errors).where(
                (errors.c.case_id == case_id) & (errors.c.roi == roi)
                & (errors.c.spec_hash == spec_hash)))
            conn.execute(insert(errors).values(
                run_id=run_id, case_id=case_id, roi=roi, spec_hash=spec_hash, stage=stage,
                message=message, occurred_at=_now()))

    def cases(self, spec_hash: str | None = None, *, perturbed: bool = False) -> pd.DataFrame:
        """Stored cases (one row per case and ROI; per version for perturbed cases)."""
        query = select(cases).where(
            _versions(perturbed))
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

    def features(
        self, *, run_id: int | None = None, spec_hash: str | None = None,
        labels: Iterable[str] = (), perturbed: bool = False,
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
        """
        labels = list(labels)
        extra = [cases.c[c] for c in labels]
        query = select(
            cases.c.case_id, cases.c.roi, features.c.filter, features.c.family,
            features.c.feature, features.c.ibsi_code, features.c.aggregation, features.c.value,
            features.c.unit, cases.c.spec_hash, *extra,
        ).join(cases, features.c.case_pk == cases.c.id).where(
            _versions(perturbed))
        if run_id is not None:
            query = query.where(cases.c.run_id == run_id)
        if spec_hash is not None:
            query = query.where(cases.c.spec_hash == spec_hash)
        query = query.order_by(cases.c.case_id, cases.c.roi, features.c.filter,
                               features.c.family, features.c.feature, features.c.aggregation)
        with self.engine.connect() as conn:
            table = pd.read_sql(query, conn)
        return table[[*COLUMNS, *labels]]

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
        with self.engine.begin() as conn:
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
            for table in _meta.sorted_tables:
                for row in conn.execute(select(table)):
                    parts.append(json.dumps([str(v) for v in row]))
        return "\n".join(parts)
