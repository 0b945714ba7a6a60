"""agent loop: one row per step key (stage, proposal, version) per DAO

Revision ID: 0003_agent_steps
Revises: 0002_governance
Create Date: 2026-12-01
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003_agent_steps"
down_revision = "0002_governance"
branch_labels = None
depends_on = None


def _str(length: int) -> sa.types.TypeEngine:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "agent_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dao", _str(100), nullable=False),
        sa.Column("step_key", _str(300), nullable=False),
        sa.Column("stage", _str(40), nullable=False),
        sa.Column("proposal_ref", _str(200), nullable=False),
        sa.Column("status", _str(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dao", "step_key", name="uq_agent_step_key"),
    )
    op.create_index("ix_agent_step_dao", "agent_step", ["dao"])
    op.create_index("ix_agent_step_stage", "agent_step", ["stage"])


def downgrade() -> None:
    op.drop_index("ix_agent_step_stage", table_name="agent_step")
    op.drop_index("ix_agent_step_dao", table_name="agent_step")
    op.drop_table("agent_step")
