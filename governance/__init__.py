"""Concord governance: drafts, advisory votes that a Safe's owners approve, and the audit log.

Concord drafts and recommends; the DAO's signers decide. It never holds an owner key.

    governance.service      GovernanceService / build_governance — the one API the CLI, bot and dashboard call
    governance.audit        append-only, hash-chained audit log (append, verify)
    governance.drafting     proposal drafts with cited posts, Snapshot payload, Governor propose() tx
    governance.policy       guardrails (allowed DAOs and kinds, min confidence, expiry, cool-down)
    governance.signatures   owner signature checks (EIP-712, eth_sign, EIP-1271) and packing
    governance.safe_service typed Safe Transaction Service client (proposer route)
    governance.snapshot     Snapshot vote/proposal typed data; a Safe's EIP-1271 vote check
    governance.chain        Safe tx hashing, Safe messages, chain gateway, test-chain deployment
"""

from governance.errors import GovernanceRefusal

__all__ = ["GovernanceRefusal"]
