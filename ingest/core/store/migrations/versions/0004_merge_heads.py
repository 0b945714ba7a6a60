"""One head again: the reports, governance (Safe transaction columns, agent steps), quarantine and forecast
branches meet here, so `alembic heads` names one revision and later migrations have one parent.

Revision ID: 0004_merge_heads
Revises: 0002_reports, 0003_agent_steps, 0003_forecasts, 0003_ingest_quarantine, 0003_safe_tx_columns
"""

from __future__ import annotations

revision = "0004_merge_heads"
down_revision = ("0002_reports", "0003_agent_steps", "0003_forecasts", "0003_ingest_quarantine", "0003_safe_tx_columns")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the merge only joins the branches."""


def downgrade() -> None:
    """Nothing to change: the merge only joins the branches."""
