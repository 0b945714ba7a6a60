"""report records (consensus reports and their inputs, for stale detection)

Revision ID: 0002_reports
Revises: 0001_foundation
Create Date: 2026-11-23
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002_reports"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("schema_version", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("inputs_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("report_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("signer", sqlmodel.sql.sqltypes.AutoString(length=42), nullable=True),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("post_ids", sa.JSON(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposal.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("report_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_record_proposal_id"), ["proposal_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_record_inputs_hash"), ["inputs_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_record_report_sha256"), ["report_sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("report_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_record_report_sha256"))
        batch_op.drop_index(batch_op.f("ix_report_record_inputs_hash"))
        batch_op.drop_index(batch_op.f("ix_report_record_proposal_id"))
    op.drop_table("report_record")
