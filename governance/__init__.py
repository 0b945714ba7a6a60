"""Concord governance: drafts, advisory votes that a Safe's owners approve, and the audit log.

Concord drafts and recommends; the DAO's signers decide. It never holds an owner key.

    governance.service      GovernanceService / build_governance — orchestration only: the one API the CLI, bot
                            and dashboard call
    governance.policy       every rule check (VotePolicy's guardrails and the fixed rules of each step)
    governance.errors       GovernanceRefusal and Rule, the one list of rule names
    governance.binding      an action's one canonical SafeTx, field differences, every field in words
    governance.reports      the report contract: hash, people counted, real predictions only
    governance.audit        append-only, hash-chained audit log (append, verify)
    governance.drafting     proposal drafts with cited posts, Snapshot payload, Governor propose() tx
    governance.signatures   owner signature checks (EIP-712, eth_sign, EIP-1271) and packing
    governance.snapshot     Snapshot vote/proposal typed data; a Safe's EIP-1271 vote check
    governance.chain        Safe tx hashing, Safe messages, chain gateway, keys and senders (chain.keys), the Safe
                            Transaction Service client (chain.safe_service), test-chain deployment
"""

from governance.errors import GovernanceRefusal, Rule

__all__ = ["GovernanceRefusal", "Rule"]
