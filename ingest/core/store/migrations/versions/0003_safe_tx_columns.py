"""pending actions: every Safe transaction field as its own column (nonce, gas and refund)

Revision ID: 0003_safe_tx_columns
Revises: 0002_governance
Create Date: 2026-12-01
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003_safe_tx_columns"
down_revision = "0002_governance"
branch_labels = None
depends_on = None

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def upgrade() -> None:
    with op.batch_alter_table("pending_action") as batch:
        batch.add_column(sa.Column("safe_nonce", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("safe_tx_gas", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("base_gas", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("gas_price", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("gas_token", sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False, server_default=ZERO_ADDRESS))
        batch.add_column(sa.Column("refund_receiver", sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False, server_default=ZERO_ADDRESS))
    # Actions recorded before: their nonce comes from the transaction they were built with (gas fields were all zero).
    table = sa.table("pending_action", sa.column("id", sa.Integer()), sa.column("safe_tx", sa.JSON()), sa.column("safe_nonce", sa.BigInteger()))
    connection = op.get_bind()
    for row_id, safe_tx in connection.execute(sa.select(table.c.id, table.c.safe_tx)).all():
        nonce = int((safe_tx or {}).get("nonce", 0))
        connection.execute(table.update().where(table.c.id == row_id).values(safe_nonce=nonce))


def downgrade() -> None:
    with op.batch_alter_table("pending_action") as batch:
        for name in ("refund_receiver", "gas_token", "gas_price", "base_gas", "safe_tx_gas", "safe_nonce"):
            batch.drop_column(name)
