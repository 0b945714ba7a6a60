"""governance: drafts, pending actions, action signatures

Revision ID: 0002_governance
Revises: 0001_foundation
Create Date: 2026-11-23
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002_governance"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def _str(length: int) -> sa.types.TypeEngine:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "governance_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dao_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("idea", sa.Text(), nullable=False),
        sa.Column("title", _str(500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("snapshot_payload", sa.JSON(), nullable=False),
        sa.Column("governor_tx", sa.JSON(), nullable=True),
        sa.Column("status", _str(30), nullable=False),
        sa.ForeignKeyConstraint(["dao_id"], ["dao.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_governance_draft_dao_id", "governance_draft", ["dao_id"])

    op.create_table(
        "pending_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dao_id", sa.Integer(), nullable=False),
        sa.Column("kind", _str(30), nullable=False),
        sa.Column("proposal_kind", _str(30), nullable=False),
        sa.Column("proposal_ref", _str(200), nullable=False),
        sa.Column("status", _str(20), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("report_id", _str(200), nullable=False),
        sa.Column("report_hash", _str(64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("recommendation", sa.JSON(), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("safe_address", _str(42), nullable=False),
        sa.Column("governor_address", _str(42), nullable=False),
        sa.Column("safe_tx", sa.JSON(), nullable=False),
        sa.Column("safe_tx_hash", _str(66), nullable=False),
        sa.Column("executed_tx_hash", _str(66), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["dao_id"], ["dao.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pending_action_dao_id", "pending_action", ["dao_id"])
    op.create_index("ix_pending_action_status", "pending_action", ["status"])

    op.create_table(
        "action_signature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("owner", _str(42), nullable=False),
        sa.Column("kind", _str(20), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["action_id"], ["pending_action.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("action_id", "owner", name="uq_action_signature_owner"),
    )
    op.create_index("ix_action_signature_action_id", "action_signature", ["action_id"])


def downgrade() -> None:
    op.drop_index("ix_action_signature_action_id", table_name="action_signature")
    op.drop_table("action_signature")
    op.drop_index("ix_pending_action_status", table_name="pending_action")
    op.drop_index("ix_pending_action_dao_id", table_name="pending_action")
    op.drop_table("pending_action")
    op.drop_index("ix_governance_draft_dao_id", table_name="governance_draft")
    op.drop_table("governance_draft")
