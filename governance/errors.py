"""Governance errors and the one list of rule names. A refusal names the rule that refused, so people can see why.

    ConcordError
    └── InputError
        └── GovernanceRefusal   a policy guardrail or a signature check said no (``rule`` says which)

:class:`Rule` is every rule a refusal can name; refusals, audit entries, tests and the README use it.
"""

from __future__ import annotations

from enum import StrEnum

from ingest.core.errors import InputError

__all__ = ["GovernanceRefusal", "Rule"]


class Rule(StrEnum):
    """The rules a governance refusal can name (the value is what audit entries and JSON carry)."""

    # policy: which recommendations may be made at all
    ALLOWED_DAOS = "allowed_daos"
    ALLOWED_KINDS = "allowed_kinds"
    MIN_CONFIDENCE = "min_confidence"
    NO_PREDICTION = "no_prediction"
    COOLDOWN = "cooldown"
    REFUNDS_NOT_ALLOWED = "refunds_not_allowed"
    # the action's state and its report
    NOT_PENDING = "not_pending"
    EXPIRY = "expiry"
    REPORT_CHANGED = "report_changed"
    UNKNOWN_PROPOSAL = "unknown_proposal"
    PROPOSAL_NOT_ACTIVE = "proposal_not_active"
    ALREADY_VOTED = "already_voted"
    # the Safe transaction: every field bound to the action's own columns
    WRONG_CHAIN = "wrong_chain"
    WRONG_SAFE = "wrong_safe"
    WRONG_GOVERNOR = "wrong_governor"
    WRONG_NONCE = "wrong_nonce"
    TAMPERED_TO = "tampered_to"
    TAMPERED_VALUE = "tampered_value"
    TAMPERED_CALLDATA = "tampered_calldata"
    TAMPERED_OPERATION = "tampered_operation"
    TAMPERED_SAFE_TX_GAS = "tampered_safe_tx_gas"
    TAMPERED_BASE_GAS = "tampered_base_gas"
    TAMPERED_GAS_PRICE = "tampered_gas_price"
    TAMPERED_GAS_TOKEN = "tampered_gas_token"
    TAMPERED_REFUND_RECEIVER = "tampered_refund_receiver"
    TAMPERED_NONCE = "tampered_nonce"
    TAMPERED_HASH = "tampered_hash"
    NOT_AS_RECOMMENDED = "not_as_recommended"
    # signatures
    BAD_SIGNATURE = "bad_signature"
    NOT_OWNER = "not_owner"
    DUPLICATE = "duplicate"
    THRESHOLD = "threshold"
    # execution
    SAFE_REJECTED = "safe_rejected"
    EXECUTION_FAILED = "execution_failed"
    # the Safe Transaction Service route
    PROPOSER_IS_OWNER = "proposer_is_owner"
    NOT_A_PROPOSER = "not_a_proposer"
    PROPOSER_EXPIRED = "proposer_expired"
    # forecasts committed before the vote
    FORECAST_BEFORE_VOTE = "forecast_before_vote"
    ONE_FORECAST_PER_PROPOSAL = "one_forecast_per_proposal"


class GovernanceRefusal(InputError):
    """An action, a signature or an execution was refused; ``rule`` names the rule that refused it."""

    def __init__(self, rule: Rule, message: str) -> None:
        self.rule = Rule(rule)
        super().__init__(f"Refused by rule '{self.rule}': {message}")
        self.detail = message
