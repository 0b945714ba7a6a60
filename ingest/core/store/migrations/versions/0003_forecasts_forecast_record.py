"""forecasts: forecasts committed before a vote, scored after

Revision ID: 0003_forecasts
Revises: 0001_foundation
Create Date: 2026-12-01
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003_forecasts"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def _str(length: int) -> sa.types.TypeEngine:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "forecast_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("dao_id", sa.Integer(), nullable=False),
        sa.Column("committed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("voting_starts_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("p_pass", sa.Float(), nullable=False),
        sa.Column("shares", sa.JSON(), nullable=True),
        sa.Column("model_hash", _str(64), nullable=False),
        sa.Column("inputs_hash", _str(64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("forecast_sha256", _str(64), nullable=False),
        sa.Column("signer", _str(42), nullable=False),
        sa.Column("signature", _str(140), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("audit_entry_id", sa.Integer(), nullable=True),
        sa.Column("outcome", _str(20), nullable=True),
        sa.Column("scored_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposal.id"]),
        sa.ForeignKeyConstraint(["dao_id"], ["dao.id"]),
        sa.ForeignKeyConstraint(["audit_entry_id"], ["audit_entry.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("forecast_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_forecast_record_proposal_id"), ["proposal_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_forecast_record_dao_id"), ["dao_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_forecast_record_forecast_sha256"), ["forecast_sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("forecast_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forecast_record_forecast_sha256"))
        batch_op.drop_index(batch_op.f("ix_forecast_record_dao_id"))
        batch_op.drop_index(batch_op.f("ix_forecast_record_proposal_id"))
    op.drop_table("forecast_record")
