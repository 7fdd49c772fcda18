"""Software provenance of runs and cases, run status, case warnings, one error row per case.

Revision ID: 0002_provenance
Revises: 0001_baseline

- ``runs.software`` (JSON: :func:`radiome.provenance.software_versions` of the client) and
  ``runs.status`` (``running``, ``finished``, ``failed``, ``interrupted``); runs of older
  radiome versions become ``finished`` when they recorded an end, else ``interrupted``.
- ``cases.software`` (:func:`radiome.provenance.software_key` of the worker that computed the
  case); NULL for cases stored before, which a batch treats as computed by other software.
- ``warnings``: every radiome warning raised while a case was read and processed.
- ``errors``: at most one row per (spec_hash, case_id, roi), the latest attempt (older
  duplicates, which concurrent batches could leave, are dropped), so writers can upsert.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_provenance"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add software provenance, run status, warnings; make errors unique per case."""
    op.add_column("runs", sa.Column("software", sa.JSON))
    op.add_column("runs", sa.Column("status", sa.String(16)))
    op.execute("UPDATE runs SET status = CASE WHEN finished_at IS NULL THEN 'interrupted' "
               "ELSE 'finished' END")
    op.add_column("cases", sa.Column("software", sa.Text))
    op.create_table(
        "warnings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("case_id", sa.String(255), nullable=False),
        sa.Column("roi", sa.String(255), nullable=False),
        sa.Column("spec_hash", sa.String(32), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_warnings_run_id", "warnings", ["run_id"])
    op.create_index("ix_warnings_case", "warnings", ["spec_hash", "case_id", "roi"])
    op.execute("DELETE FROM errors WHERE id NOT IN (SELECT MAX(id) FROM errors "
               "GROUP BY spec_hash, case_id, roi)")
    op.drop_index("ix_errors_case", table_name="errors")
    op.create_index("uq_errors_case", "errors", ["spec_hash", "case_id", "roi"], unique=True)


def downgrade() -> None:
    """Back to the baseline schema (software provenance, statuses and warnings are lost)."""
    op.drop_index("uq_errors_case", table_name="errors")
    op.create_index("ix_errors_case", "errors", ["spec_hash", "case_id", "roi"])
    op.drop_index("ix_warnings_case", table_name="warnings")
    op.drop_index("ix_warnings_run_id", table_name="warnings")
    op.drop_table("warnings")
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35), not a batch copy: on SQLite a copy drops
    # the old cases table, and its ON DELETE CASCADE would empty the features table.
    op.drop_column("cases", "software")
    op.drop_column("runs", "status")
    op.drop_column("runs", "software")
