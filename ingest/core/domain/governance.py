"""Governance records: proposal drafts, pending actions that wait for signers, and their signatures.

Rows are written only through ``governance.service``; every change there is also written to the
hash-chained audit log (``AuditEntry``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel, UniqueConstraint

from ingest.core.domain._columns import UTCDateTime, json_column, text_column, utcnow

__all__ = ["ActionSignature", "GovernanceDraft", "PendingAction"]


class GovernanceDraft(SQLModel, table=True):
    """A proposal draft with its citations, a Snapshot payload and a Governor ``propose`` transaction (never sent)."""

    __tablename__ = "governance_draft"

    id: int | None = Field(default=None, primary_key=True)
    dao_id: int = Field(foreign_key="dao.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    idea: str = Field(sa_column=text_column(nullable=False))
    title: str = Field(max_length=500)
    body: str = Field(sa_column=text_column(nullable=False), description="Markdown in the DAO's usual sections")
    citations: list[dict[str, Any]] = Field(default_factory=list, sa_column=json_column(nullable=False))
    actions: list[dict[str, Any]] = Field(default_factory=list, sa_column=json_column(nullable=False))
    snapshot_payload: dict[str, Any] = Field(default_factory=dict, sa_column=json_column(nullable=False))
    governor_tx: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    status: str = Field(default="draft", max_length=30)


class PendingAction(SQLModel, table=True):
    """An action Concord recommends (e.g. an advisory vote) that runs only once the Safe's owners sign it."""

    __tablename__ = "pending_action"

    id: int | None = Field(default=None, primary_key=True)
    dao_id: int = Field(foreign_key="dao.id", index=True)
    kind: str = Field(max_length=30, description="'vote' (Governor castVoteWithReason through the Safe)")
    proposal_kind: str = Field(default="governor", max_length=30)
    proposal_ref: str = Field(max_length=200, description="On-chain proposal id (decimal)")
    status: str = Field(default="pending", max_length=20, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    report_id: str = Field(max_length=200)
    report_hash: str = Field(max_length=64)
    confidence: float
    recommendation: dict[str, Any] = Field(default_factory=dict, sa_column=json_column(nullable=False))
    chain_id: int = Field(sa_type=BigInteger, description="EIP-155 chain id (eth-tester's exceeds 32 bits)")
    safe_address: str = Field(max_length=42)
    governor_address: str = Field(max_length=42)
    safe_nonce: int = Field(default=0, sa_type=BigInteger, description="The Safe nonce the transaction is built for")
    safe_tx_gas: int = Field(default=0, sa_type=BigInteger)
    base_gas: int = Field(default=0, sa_type=BigInteger)
    gas_price: int = Field(default=0, sa_type=BigInteger, description="Non-zero only with policy.allow_refunds")
    gas_token: str = Field(default="0x0000000000000000000000000000000000000000", max_length=42)
    refund_receiver: str = Field(default="0x0000000000000000000000000000000000000000", max_length=42)
    safe_tx: dict[str, Any] = Field(
        default_factory=dict, sa_column=json_column(nullable=False),
        description="The transaction as built; must equal the one built from the columns above",
    )
    safe_tx_hash: str = Field(max_length=66)
    executed_tx_hash: str | None = Field(default=None, max_length=66)
    note: str = Field(default="", sa_column=text_column(nullable=False))


class ActionSignature(SQLModel, table=True):
    """One owner's verified signature over a pending action's Safe transaction hash."""

    __tablename__ = "action_signature"
    __table_args__ = (UniqueConstraint("action_id", "owner", name="uq_action_signature_owner"),)

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="pending_action.id", index=True)
    owner: str = Field(max_length=42)
    kind: str = Field(max_length=20, description="'eip712', 'eth_sign' or 'eip1271'")
    signature: str = Field(sa_column=text_column(nullable=False), description="0x-hex, as the Safe expects it")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
