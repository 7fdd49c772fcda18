"""The feature store as radiome wrote it before its schema was versioned (commit 8b1c607).

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Runs, cases, feature values, errors and ICC results."""
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("spec_hash", sa.String(32), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("radiome_version", sa.String(32), nullable=False),
        sa.Column("manifest", sa.Text),
        sa.Column("host", sa.String(255)),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("summary", sa.JSON),
    )
    op.create_index("ix_runs_spec_hash", "runs", ["spec_hash"])
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("case_id", sa.String(255), nullable=False),
        sa.Column("roi", sa.String(255), nullable=False),
        sa.Column("spec_hash", sa.String(32), nullable=False),
        sa.Column("input_hash", sa.String(64), nullable=False),
        sa.Column("image_hash", sa.String(64), nullable=False),
        sa.Column("mask_hash", sa.String(64), nullable=False),
        sa.Column("patient", sa.String(255)),
        sa.Column("timepoint", sa.String(255)),
        sa.Column("rater", sa.String(255)),
        sa.Column("site", sa.String(255)),
        sa.Column("modality", sa.String(16)),
        sa.Column("perturbation", sa.String(32), nullable=False),
        sa.Column("acquisition", sa.JSON),
        sa.Column("conformance", sa.String(8)),
        sa.Column("conformance_reasons", sa.Text),
        sa.Column("seconds", sa.Float),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("case_id", "roi", "spec_hash", "perturbation",
                            name="uq_case_roi_spec"),
    )
    op.create_index("ix_cases_run_id", "cases", ["run_id"])
    op.create_index("ix_cases_spec_case", "cases", ["spec_hash", "case_id"])
    op.create_table(
        "features",
        sa.Column("case_pk", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("filter", sa.String(255), nullable=False),
        sa.Column("family", sa.String(8), nullable=False),
        sa.Column("feature", sa.String(64), nullable=False),
        sa.Column("ibsi_code", sa.String(8), nullable=False),
        sa.Column("aggregation", sa.String(16), nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("unit", sa.String(32), nullable=False),
    )
    op.create_index("ix_features_case", "features", ["case_pk"])
    op.create_index("ix_features_feature", "features", ["feature", "aggregation", "filter"])
    op.create_table(
        "errors",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("case_id", sa.String(255), nullable=False),
        sa.Column("roi", sa.String(255), nullable=False),
        sa.Column("spec_hash", sa.String(32), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_errors_run_id", "errors", ["run_id"])
    op.create_index("ix_errors_case", "errors", ["spec_hash", "case_id", "roi"])
    op.create_table(
        "icc",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("spec_hash", sa.String(32), nullable=False),
        sa.Column("by", sa.String(32), nullable=False),
        sa.Column("form", sa.String(8), nullable=False),
        sa.Column("filter", sa.String(255), nullable=False),
        sa.Column("family", sa.String(8), nullable=False),
        sa.Column("feature", sa.String(64), nullable=False),
        sa.Column("aggregation", sa.String(16), nullable=False),
        sa.Column("icc", sa.Float),
        sa.Column("ci_low", sa.Float),
        sa.Column("ci_high", sa.Float),
        sa.Column("n_subjects", sa.Integer),
        sa.Column("min_icc", sa.Float),
        sa.Column("passes", sa.Integer),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_icc_spec", "icc", ["spec_hash", "by", "form"])


def downgrade() -> None:
    """Drop every table."""
    for table in ("icc", "errors", "features", "cases", "runs"):
        op.drop_table(table)
