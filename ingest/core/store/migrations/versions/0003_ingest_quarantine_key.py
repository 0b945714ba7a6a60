"""quarantine rows keyed by their record (reruns update, never add), with status and attempts

Revision ID: 0003_ingest_quarantine
Revises: 0001_foundation
Create Date: 2026-12-01
"""

import hashlib

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003_ingest_quarantine"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quarantined_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default="open")
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # Rows written before keys existed keep one row each: their key is derived from their id.
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, created_at FROM quarantined_record")).all()
    for row_id, created in rows:
        key = hashlib.sha256(f"legacy\x1f{row_id}".encode()).hexdigest()
        connection.execute(
            sa.text("UPDATE quarantined_record SET key = :key, updated_at = :at WHERE id = :id"),
            {"key": key, "at": created, "id": row_id},
        )
    with op.batch_alter_table("quarantined_record", schema=None) as batch_op:
        batch_op.alter_column("key", existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False)
        batch_op.alter_column("updated_at", existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False)
        batch_op.alter_column("status", server_default=None)
        batch_op.alter_column("attempts", server_default=None)
        batch_op.create_unique_constraint("uq_quarantine_key", ["key"])
        batch_op.create_index(batch_op.f("ix_quarantined_record_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quarantined_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantined_record_status"))
        batch_op.drop_constraint("uq_quarantine_key", type_="unique")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("status")
        batch_op.drop_column("key")
