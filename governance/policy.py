"""Every rule an advisory vote must pass, from recommendation to execution. Each refusal names its :class:`Rule`.

``VotePolicy`` holds the configurable guardrails (``policy.*`` settings); the functions below are the fixed
rules ``governance.service`` runs at each step (the service only orchestrates). Cryptographic signature
checks live in ``governance.signatures`` and name ``bad_signature`` / ``not_owner`` there.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address

from governance.binding import signed_difference, stored_difference
from governance.chain.safe_tx import ZERO_ADDRESS, SafeTx, safe_tx_hash
from governance.errors import GovernanceRefusal, Rule
from governance.reports import ReportRef
from ingest.core.domain import PendingAction
from ingest.core.governor_abi import ProposalState

if TYPE_CHECKING:  # pragma: no cover
    from governance.chain.safe_service import Delegation

__all__ = [
    "VotePolicy",
    "check_as_recommended",
    "check_chain",
    "check_execution",
    "check_governor_proposal",
    "check_not_duplicate",
    "check_open",
    "check_proposer",
    "check_rejection_signer",
    "check_report_unchanged",
    "check_signed_tx",
    "check_stored_tx",
    "check_threshold",
    "check_votable",
]


@dataclass(frozen=True)
class VotePolicy:
    """Which DAOs and proposal kinds Concord may recommend votes on, and how cautiously.

    An empty ``allowed_daos`` allows none: a DAO must opt in (``CONCORD_POLICY__ALLOWED_DAOS``).
    """

    allowed_daos: tuple[str, ...] = ()
    allowed_kinds: tuple[str, ...] = ("governor",)
    min_confidence: float = 0.7
    expiry_hours: float = 72
    cooldown_hours: float = 1
    allow_refunds: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, policy: Any) -> VotePolicy:
        """Build from ``ConcordSettings.policy`` ."""
        return cls(
            allowed_daos=tuple(policy.allowed_daos),
            allowed_kinds=tuple(policy.allowed_kinds),
            min_confidence=float(policy.min_confidence),
            expiry_hours=float(policy.expiry_hours),
            cooldown_hours=float(policy.cooldown_hours),
            allow_refunds=bool(getattr(policy, "allow_refunds", False)),
        )

    def check_recommendation(self, ref: ReportRef, *, now: datetime, last_recommended_at: datetime | None) -> None:
        """Raise :class:`GovernanceRefusal` naming the first rule the recommendation breaks."""
        if ref.dao not in self.allowed_daos:
            allowed = ", ".join(self.allowed_daos) or "none"
            raise GovernanceRefusal(
                Rule.ALLOWED_DAOS, f"DAO {ref.dao!r} is not in the policy's allowed DAOs ({allowed}); add it to policy.allowed_daos."
            )
        if ref.proposal_kind not in self.allowed_kinds:
            raise GovernanceRefusal(
                Rule.ALLOWED_KINDS,
                f"proposal kind {ref.proposal_kind!r} is not allowed (allowed: {', '.join(self.allowed_kinds)}).",
            )
        if ref.prediction_missing is not None:
            raise GovernanceRefusal(
                Rule.NO_PREDICTION,
                f"no recommendation without a real outcome prediction: {ref.prediction_missing}. "
                "Ingest the DAO's closed proposals with their outcomes (`concord ingest snapshot` or `concord ingest governor`) "
                "and build the report again.",
            )
        if ref.confidence < self.min_confidence:
            raise GovernanceRefusal(
                Rule.MIN_CONFIDENCE,
                f"prediction confidence {ref.confidence:.2f} is below the policy minimum {self.min_confidence:.2f}.",
            )
        if last_recommended_at is not None:
            ready = last_recommended_at + timedelta(hours=self.cooldown_hours)
            if now < ready:
                raise GovernanceRefusal(
                    Rule.COOLDOWN,
                    f"the last recommendation for {ref.dao!r} was at {last_recommended_at:%Y-%m-%d %H:%M} UTC; "
                    f"the {self.cooldown_hours:g} h cool-down ends at {ready:%Y-%m-%d %H:%M} UTC.",
                )

    def check_refunds(self, tx: SafeTx) -> None:
        """A Safe transaction that pays a gas refund (gasPrice, gasToken or refundReceiver set) needs ``policy.allow_refunds``."""
        if self.allow_refunds:
            return
        paid = [
            label for label, is_set in (
                (f"gasPrice {tx.gas_price}", tx.gas_price != 0),
                (f"gasToken {tx.gas_token}", to_checksum_address(tx.gas_token) != ZERO_ADDRESS),
                (f"refundReceiver {tx.refund_receiver}", to_checksum_address(tx.refund_receiver) != ZERO_ADDRESS),
            ) if is_set
        ]
        if paid:
            raise GovernanceRefusal(
                Rule.REFUNDS_NOT_ALLOWED,
                f"the Safe transaction would pay a gas refund ({', '.join(paid)}); Concord's relayer pays its own gas. "
                "Set policy.allow_refunds only if the DAO wants refunds.",
            )

    def expires_at(self, now: datetime) -> datetime:
        """When a recommendation made ``now`` stops accepting signatures."""
        return now + timedelta(hours=self.expiry_hours)


# --- the action and its report -----------------------------------------------------------------


def check_open(action: PendingAction, *, now: datetime) -> None:
    """Signatures and execution only while the action is pending and not expired."""
    if action.status != "pending":
        raise GovernanceRefusal(Rule.NOT_PENDING, f"action {action.id} is {action.status}, not pending.")
    if now >= action.expires_at:
        raise GovernanceRefusal(Rule.EXPIRY, f"action {action.id} expired at {action.expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC.")


def check_report_unchanged(report_id: str, *, current: str, expected: str) -> None:
    """The report must hash as it did when the recommendation was made."""
    if current != expected:
        raise GovernanceRefusal(
            Rule.REPORT_CHANGED,
            f"report {report_id} now hashes to {current[:16]}…, not {expected[:16]}… as when it was recommended; "
            "make a new recommendation from the current report.",
        )


def check_governor_proposal(proposal_ref: str) -> int:
    """A Governor vote needs a numeric on-chain proposal id; returns it."""
    if not proposal_ref.isdigit():
        raise GovernanceRefusal(Rule.ALLOWED_KINDS, f"proposal {proposal_ref!r} is not an on-chain Governor proposal id.")
    return int(proposal_ref)


def check_votable(proposal_id: int, *, state: str, has_voted: bool | None = None) -> None:
    """Votes are cast only while the proposal is Active, and only once by the Safe (``has_voted`` None: not asked)."""
    if state != ProposalState.ACTIVE.label:
        raise GovernanceRefusal(Rule.PROPOSAL_NOT_ACTIVE, f"proposal {proposal_id} is {state}; votes are only cast while Active.")
    if has_voted:
        raise GovernanceRefusal(Rule.ALREADY_VOTED, f"the Safe already voted on proposal {proposal_id}.")


# --- the Safe transaction ----------------------------------------------------------------------


def check_stored_tx(canonical: SafeTx, stored: dict[str, Any], *, stored_hash: str) -> None:
    """The stored transaction and its hash must be exactly the one built from the action's columns."""
    difference = stored_difference(canonical, stored)
    if difference is not None:
        raise GovernanceRefusal(difference.rule, difference.message("the stored transaction"))
    extra = sorted(set(stored) - {"safe", "chain_id", "to", "value", "data", "operation", "safe_tx_gas", "base_gas",
                                  "gas_price", "gas_token", "refund_receiver", "nonce"})
    if extra:
        raise GovernanceRefusal(Rule.TAMPERED_HASH, f"the stored transaction carries unknown fields {extra}.")
    expected = "0x" + safe_tx_hash(canonical).hex()
    if str(stored_hash).lower() != expected:
        raise GovernanceRefusal(Rule.TAMPERED_HASH, f"the stored Safe tx hash is {stored_hash}, the action's transaction hashes to {expected}.")


def check_as_recommended(canonical: SafeTx, *, recorded_hash: str | None) -> None:
    """The transaction must hash to what the audit log recorded when the recommendation was made."""
    expected = "0x" + safe_tx_hash(canonical).hex()
    if recorded_hash is None:
        raise GovernanceRefusal(Rule.NOT_AS_RECOMMENDED, "the audit log holds no recommendation for this action.")
    if recorded_hash.lower() != expected:
        raise GovernanceRefusal(
            Rule.NOT_AS_RECOMMENDED,
            f"the action's transaction hashes to {expected}, but the audit log recorded {recorded_hash} when it was "
            "recommended: its columns were changed afterwards.",
        )


def check_signed_tx(canonical: SafeTx, signed_tx: dict[str, Any] | None) -> None:
    """What the wallet says it signed must be the action's transaction, field by field."""
    if not signed_tx:
        return
    difference = signed_difference(canonical, signed_tx)
    if difference is not None:
        raise GovernanceRefusal(difference.rule, difference.message("the signed transaction"))


def check_chain(tx: SafeTx, *, chain_id: int, safe: str, governor: str, nonce: int) -> None:
    """The connected chain, Safe, Governor and the Safe's next nonce must be the transaction's."""
    if chain_id != tx.chain_id:
        raise GovernanceRefusal(Rule.WRONG_CHAIN, f"connected to chain {chain_id}, the action is for chain {tx.chain_id}.")
    if to_checksum_address(safe) != to_checksum_address(tx.safe):
        raise GovernanceRefusal(Rule.WRONG_SAFE, f"configured Safe {safe} is not the action's {tx.safe}.")
    if to_checksum_address(governor) != to_checksum_address(tx.to):
        raise GovernanceRefusal(Rule.WRONG_GOVERNOR, f"configured Governor {governor} is not the action's target {tx.to}.")
    if nonce != tx.nonce:
        raise GovernanceRefusal(
            Rule.WRONG_NONCE,
            f"the Safe's nonce is {nonce} but the action was built for nonce {tx.nonce} "
            "(another transaction ran first); make a new recommendation.",
        )


# --- signatures and execution ------------------------------------------------------------------


def check_not_duplicate(owner: str, *, signed: Collection[str], action_id: int) -> None:
    """One signature per owner."""
    if owner in signed:
        raise GovernanceRefusal(Rule.DUPLICATE, f"{owner} has already signed action {action_id}.")


def check_threshold(signatures: int, *, threshold: int) -> None:
    """Nothing executes below the Safe's threshold."""
    if signatures < threshold:
        raise GovernanceRefusal(Rule.THRESHOLD, f"{signatures} of {threshold} required owner signatures; waiting for more owners to sign.")


def check_execution(*, success: bool, tx_hash: str) -> None:
    """``execTransaction`` mined but the inner call failed."""
    if not success:
        raise GovernanceRefusal(Rule.EXECUTION_FAILED, f"execTransaction {tx_hash} ran but the inner call failed.")


def check_rejection_signer(recovered: str | None, *, signer: str, owners: Collection[str], safe: str) -> str:
    """A rejection must be signed by the owner who claims it; returns that owner."""
    if recovered is None or recovered != to_checksum_address(signer):
        raise GovernanceRefusal(Rule.BAD_SIGNATURE, f"the rejection is not signed by {signer}.")
    if recovered not in owners:
        raise GovernanceRefusal(Rule.NOT_OWNER, f"{recovered} is not an owner of Safe {safe}.")
    return recovered


def check_proposer(proposer: str, *, owners: list[str], delegations: Sequence[Delegation], safe: str, now: datetime) -> str:
    """A Safe Transaction Service proposer is never an owner, and holds a delegation the service honours for ``safe``
    now (naming it or no Safe, from a current owner, not expired); returns the delegator the service will record."""
    if proposer in owners:
        raise GovernanceRefusal(Rule.PROPOSER_IS_OWNER, f"{proposer} is a Safe owner; Concord never holds an owner key.")
    mine = [d for d in delegations if d.delegate == proposer]
    valid = [d for d in mine if d.valid_for(safe, owners=owners, now=now)]
    if valid:
        return valid[0].delegator
    expired = [d for d in mine if d.expiry_date is not None and d.expiry_date <= now
               and (d.safe is None or d.safe == to_checksum_address(safe)) and d.delegator in owners]
    if expired:
        raise GovernanceRefusal(
            Rule.PROPOSER_EXPIRED,
            f"{proposer}'s delegation from {expired[0].delegator} expired at {expired[0].expiry_date:%Y-%m-%d %H:%M} UTC; "
            "an owner must renew it in Safe{Wallet}.",
        )
    raise GovernanceRefusal(
        Rule.NOT_A_PROPOSER,
        f"{proposer} is not a registered proposer of Safe {safe} (no delegation naming it or every Safe, from a current "
        "owner); an owner must add it in Safe{Wallet}.",
    )
