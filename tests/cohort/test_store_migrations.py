"""The feature store's schema versions: Alembic migrations, stores of older and newer radiome."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
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
    insert,
    inspect,
    text,
)

from radiome.cli import main
from radiome.cohort import FeatureStore, StoreError, read_manifest, run_batch
from radiome.cohort.schema import BASELINE, alembic_config, head_revision, metadata
from radiome.spec import load_spec
from radiome.synthetic import write_cohort

SPEC = {
    "preprocessing": {"discretisation": {"method": "fixed_bin_size", "bin_width": 25}},
    "features": {"families": ["morph", "stat"]},
}


def _old_metadata() -> MetaData:
    """The tables exactly as ``radiome.cohort.store`` defined them at commit 8b1c607."""
    meta = MetaData()
    Table("runs", meta,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("spec_hash", String(32), nullable=False, index=True),
          Column("spec", JSON, nullable=False),
          Column("radiome_version", String(32), nullable=False),
          Column("manifest", Text),
          Column("host", String(255)),
          Column("started_at", DateTime(timezone=True), nullable=False),
          Column("finished_at", DateTime(timezone=True)),
          Column("summary", JSON))
    Table("cases", meta,
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
          UniqueConstraint("case_id", "roi", "spec_hash", "perturbation",
                           name="uq_case_roi_spec"),
          Index("ix_cases_spec_case", "spec_hash", "case_id"))
    Table("features", meta,
          Column("case_pk", Integer, ForeignKey("cases.id", ondelete="CASCADE"),
                 nullable=False),
          Column("filter", String(255), nullable=False),
          Column("family", String(8), nullable=False),
          Column("feature", String(64), nullable=False),
          Column("ibsi_code", String(8), nullable=False),
          Column("aggregation", String(16), nullable=False),
          Column("value", Float),
          Column("unit", String(32), nullable=False),
          Index("ix_features_case", "case_pk"),
          Index("ix_features_feature", "feature", "aggregation", "filter"))
    Table("errors", meta,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("run_id", Integer, ForeignKey("runs.id"), nullable=False, index=True),
          Column("case_id", String(255), nullable=False),
          Column("roi", String(255), nullable=False),
          Column("spec_hash", String(32), nullable=False),
          Column("stage", String(32), nullable=False),
          Column("message", Text, nullable=False),
          Column("occurred_at", DateTime(timezone=True), nullable=False),
          Index("ix_errors_case", "spec_hash", "case_id", "roi"))
    Table("icc", meta,
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
          Index("ix_icc_spec", "spec_hash", "by", "form"))
    return meta


def _differences(url: str, meta: MetaData) -> list:
    """What Alembic finds different between the database at ``url`` and ``meta``."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), meta)
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    """Run the shipped migrations on ``url`` up (or down) to ``revision``."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            config = alembic_config(conn)
            (command.downgrade if down else command.upgrade)(config, revision)
    finally:
        engine.dispose()


def _old_store(url: str) -> None:
    """A store as radiome 8b1c607 left it: one run, one case with two features, two error rows
    for one case (concurrent batches could leave both), no ``alembic_version``."""
    engine = create_engine(url)
    meta = _old_metadata()
    meta.create_all(engine)
    t = meta.tables
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    try:
        with engine.begin() as conn:
            run = {"spec_hash": "oldspec", "spec": {}, "radiome_version": "0.0.9",
                   "started_at": now}
            finished, unfinished = (
                conn.execute(insert(t["runs"]).values(**run, **extra)).inserted_primary_key[0]
                for extra in ({"finished_at": now, "summary": {"done": 1}}, {}))
            case_pk = conn.execute(insert(t["cases"]).values(
                run_id=finished, case_id="case_0000", roi="1", spec_hash="oldspec",
                input_hash="i" * 64, image_hash="a" * 64, mask_hash="b" * 64, perturbation="",
                stored_at=now)).inserted_primary_key[0]
            conn.execute(insert(t["features"]), [
                {"case_pk": case_pk, "filter": "", "family": "morph", "feature": "morph_volume",
                 "ibsi_code": "RNU0", "aggregation": "", "value": 1234.5, "unit": "mm3"},
                {"case_pk": case_pk, "filter": "", "family": "stat", "feature": "stat_mean",
                 "ibsi_code": "Q4LE", "aggregation": "", "value": -12.25, "unit": "HU"}])
            for run_id, message in ((finished, "first attempt"), (unfinished, "second attempt")):
                conn.execute(insert(t["errors"]).values(
                    run_id=run_id, case_id="broken", roi="1", spec_hash="oldspec",
                    stage="read image", message=message, occurred_at=now))
    finally:
        engine.dispose()


def test_migrations_create_exactly_the_tables_the_code_queries(store_url):
    FeatureStore(store_url, create=True).close()
    assert _revision(store_url) == head_revision()
    assert _differences(store_url, metadata) == []


def test_baseline_revision_is_the_schema_of_commit_8b1c607(store_url):
    _migrate(store_url, BASELINE)
    assert _differences(store_url, _old_metadata()) == []


def test_downgrade_to_the_baseline_gives_back_the_old_schema(store_url):
    FeatureStore(store_url, create=True).close()
    _migrate(store_url, BASELINE, down=True)
    assert _revision(store_url) == BASELINE
    assert _differences(store_url, _old_metadata()) == []


def test_store_of_the_old_code_is_migrated_and_its_values_still_read(store_url):
    _old_store(store_url)
    assert _revision(store_url) is None
    store = FeatureStore(store_url)  # a reading open migrates too
    assert _revision(store_url) == head_revision()
    assert _differences(store_url, metadata) == []
    table = store.features(provenance=True).set_index("feature")
    assert table.loc["morph_volume", "value"] == 1234.5
    assert table.loc["stat_mean", "value"] == -12.25
    assert (table["radiome_version"] == "0.0.9").all()  # from the run: software unrecorded
    assert (table["software"] == "").all()
    assert store.runs().set_index("id")["status"].to_dict() == {1: "finished", 2: "interrupted"}
    errors = store.errors()
    assert errors["message"].tolist() == ["second attempt"]  # the latest attempt only
    store.close()


def test_new_batch_on_a_migrated_old_store_recomputes_its_unrecorded_cases(store_url, tmp_path):
    _old_store(store_url)
    write_cohort(tmp_path, n_cases=2, shape=(10, 32, 32), spacing=(2.5, 1.0, 1.0))
    spec = load_spec(SPEC)
    store = FeatureStore(store_url)
    engine = create_engine(store_url)
    with engine.begin() as conn:  # the old case is of the batch's spec
        conn.execute(text("UPDATE cases SET spec_hash = :h"), {"h": spec.hash})
    engine.dispose()
    summary = run_batch(read_manifest(tmp_path / "manifest.csv"), spec, store, workers=1)
    assert (summary.done, summary.failed) == (2, 0)
    assert summary.recomputed == {"unrecorded software": 1}
    cases = store.cases(spec.hash)
    assert cases["case_id"].tolist() == ["case_0000", "case_0001"]
    assert cases["software"].notna().all()
    assert (store.runs()["status"].iloc[-1]) == "finished"
    store.close()


def test_store_of_a_newer_schema_is_refused_in_one_line(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'future.db'}"
    FeatureStore(url, create=True).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
    engine.dispose()
    with pytest.raises(StoreError, match=r"schema revision 0099_future, newer than this radiome"):
        FeatureStore(url)
    assert main(["export", "--store", url, "--out", str(tmp_path / "f.csv")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "0099_future" in err
    assert not (tmp_path / "f.csv").exists()


@pytest.mark.parametrize("command", [
    ["export", "--out", "features.csv"],
    ["export", "--errors", "--out", "errors.csv"],
    ["reliability", "--by", "timepoint"],
])
def test_reading_commands_refuse_a_mistyped_sqlite_path_without_creating_it(
        tmp_path, capsys, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "sutdy.db"
    assert main([*command, "--store", f"sqlite:///{missing}"]) == 1
    err = capsys.readouterr().err
    assert err == (f"radiome: error: sqlite:///{missing}: no feature store at {missing} "
                   "(no such file); check the path, or run `radiome batch` to create one\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_database_without_a_store_is_refused_and_left_empty(tmp_path):
    path = tmp_path / "other.db"
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER)"))
    engine.dispose()
    with pytest.raises(StoreError, match="not a radiome feature store"):
        FeatureStore(url)
    engine = create_engine(url)
    assert inspect(engine).get_table_names() == ["notes"]
    engine.dispose()


def test_a_database_with_some_store_tables_only_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'partial.db'}"
    engine = create_engine(url)
    _old_metadata().tables["runs"].create(engine)
    engine.dispose()
    with pytest.raises(StoreError, match=r"holds only some feature-store tables \(runs; missing "
                                         r"cases, errors, features, icc\)"):
        FeatureStore(url, create=True)


def test_a_file_that_is_not_a_database_is_a_one_line_error(tmp_path):
    path = tmp_path / "features.csv"
    path.write_text("case_id,feature\nc1,morph_volume\n")
    with pytest.raises(StoreError, match=r"cannot open the feature store \(file is not a "
                                         r"database\)") as info:
        FeatureStore(f"sqlite:///{path}")
    assert "\n" not in str(info.value)
    assert path.read_text() == "case_id,feature\nc1,morph_volume\n"

