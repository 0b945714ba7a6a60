"""The one governance service the CLI, the Discord bot and the dashboard call.

Flow of an advisory vote::

    recommend(ReportRef)  -> policy guardrails -> PendingAction (Safe tx: Governor.castVoteWithReason)
    describe(id)          -> calldata in words, Safe tx hash, EIP-712 typed data, who signed, threshold
    submit_signature(id)  -> checks (expiry, integrity, report hash, chain, nonce, owner, duplicate, ECDSA/1271)
                          -> when the threshold is met: execute(id) -> execTransaction -> vote on chain
    reject(id)            -> an owner's signed rejection closes the action

Every step is written to the hash-chained audit log, refusals included (with the rule that refused).
Concord never holds an owner key: owners sign in their own wallets; a relayer only pays gas.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from eth_utils import keccak, to_checksum_address
from sqlmodel import col, select

from governance import audit
from governance.calldata import CAST_VOTE_WITH_REASON, cast_vote_calldata, decode_call, describe_vote_call
from governance.chain.gateway import ChainGateway, TransactionSender
from governance.chain.safe_tx import SafeTx, encode_transaction_data, safe_tx_hash, safe_tx_typed_data
from governance.errors import GovernanceRefusal
from governance.policy import VotePolicy
from governance.reports import ReportRef, ReportSource
from governance.signatures import (
    OwnerSignature,
    encode_safe_signatures,
    parse_hex_signature,
    recover_ecdsa,
    verify_owner_signature,
)
from ingest.domain import ActionSignature, Dao, GovernanceDraft, PendingAction, utcnow
from ingest.errors import ConfigError, InputError, NotFoundError

if TYPE_CHECKING:  # pragma: no cover
    from governance.drafting import PostRetriever
    from governance.safe_service import SafeTransactionServiceClient

if TYPE_CHECKING:  # pragma: no cover
    from ingest.settings import ConcordSettings
    from ingest.store import Store

__all__ = ["GovernanceService", "LocalProposerKey", "ProposerKey", "build_governance", "rejection_message", "vote_reason"]

MAX_REASON = 900


@runtime_checkable
class ProposerKey(Protocol):
    """A Safe *proposer* key (a delegate that may only queue transactions; never an owner)."""

    @property
    def address(self) -> str: ...

    def sign_hash(self, digest: bytes) -> bytes: ...


class LocalProposerKey:
    """A proposer key the caller hands in (there is no setting for it; it is never a Safe owner): it can queue, not approve."""

    def __init__(self, private_key: str) -> None:
        from eth_account import Account

        self._account = Account.from_key(private_key)

    @property
    def address(self) -> str:
        """The proposer's address."""
        return str(self._account.address)

    def sign_hash(self, digest: bytes) -> bytes:
        """ECDSA over a 32-byte hash (v = 27/28)."""
        return bytes(self._account.unsafe_sign_hash(digest).signature)


def vote_reason(ref: ReportRef) -> str:
    """The on-chain reason: the short reason plus the report id and its SHA-256."""
    tag = f" [Concord report {ref.report_id} sha256:{ref.report_sha256}]"
    return ref.reason.strip()[: MAX_REASON - len(tag)] + tag


def rejection_message(action_id: int, safe_tx_hash_hex: str) -> str:
    """The text an owner signs (``personal_sign``) to reject an action."""
    return f"Concord: reject action {action_id} (Safe tx {safe_tx_hash_hex})"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class GovernanceService:
    """Recommendations, the approval queue, signature checks and execution over one store and chain."""

    def __init__(
        self,
        store: Store,
        *,
        policy: VotePolicy,
        reports: ReportSource,
        chain: ChainGateway | None = None,
        sender: TransactionSender | None = None,
        auto_execute: bool = True,
        clock: Callable[[], datetime] = utcnow,
        actor: str = "concord",
        post_retriever: PostRetriever | None = None,
    ) -> None:
        self.store = store
        self.post_retriever = post_retriever  # what drafts cite; keyword search over the store when not given
        self.policy = policy
        self.reports = reports
        self.chain = chain
        self.sender = sender
        self.auto_execute = auto_execute
        self.clock = clock
        self.actor = actor

    # --- helpers ------------------------------------------------------------------------------

    def _require_chain(self) -> ChainGateway:
        if self.chain is None:
            raise ConfigError(
                "No chain configured: set CONCORD_CHAIN__RPC_URL, CONCORD_CHAIN__SAFE_ADDRESS and "
                "CONCORD_CHAIN__GOVERNOR_ADDRESS (or pass --rpc-url/--safe/--governor)."
            )
        return self.chain

    def _load(self, action_id: int) -> PendingAction:
        with self.store.session() as session:
            action = session.get(PendingAction, action_id)
        if action is None:
            raise NotFoundError(f"No pending action {action_id}. List them with `concord governance pending`.")
        return action

    def _signatures(self, action_id: int) -> list[ActionSignature]:
        with self.store.session() as session:
            rows = session.exec(
                select(ActionSignature).where(ActionSignature.action_id == action_id).order_by(col(ActionSignature.id))
            ).all()
        return list(rows)

    def _refuse(self, refusal: GovernanceRefusal, *, subject: str, payload: dict[str, Any] | None = None) -> GovernanceRefusal:
        audit.append(
            self.store, actor=self.actor, action="refuse", subject=subject,
            payload={"rule": refusal.rule, "message": refusal.detail, **(payload or {})},
        )
        return refusal

    @staticmethod
    def _safe_tx(action: PendingAction) -> SafeTx:
        return SafeTx.from_json(action.safe_tx)

    def _check_open(self, action: PendingAction) -> None:
        if action.status != "pending":
            raise GovernanceRefusal("not_pending", f"action {action.id} is {action.status}, not pending.")
        if self.clock() >= _aware(action.expires_at):
            raise GovernanceRefusal("expiry", f"action {action.id} expired at {_aware(action.expires_at):%Y-%m-%d %H:%M} UTC.")

    def _check_integrity(self, action: PendingAction) -> SafeTx:
        """The stored transaction must still hash to the stored hash and carry the recommended vote."""
        tx = self._safe_tx(action)
        recomputed = "0x" + safe_tx_hash(tx).hex()
        rec = action.recommendation
        expected = cast_vote_calldata(int(action.proposal_ref), int(rec["support"]), str(rec["reason"]))
        if (
            recomputed != action.safe_tx_hash
            or tx.data != expected
            or to_checksum_address(tx.to) != to_checksum_address(action.governor_address)
            or tx.value != 0
            or tx.operation != 0
        ):
            raise GovernanceRefusal(
                "tampered_calldata",
                f"action {action.id}'s stored Safe transaction no longer matches its recommendation "
                f"(stored hash {action.safe_tx_hash}, contents hash to {recomputed}).",
            )
        return tx

    def _check_report(self, action: PendingAction) -> None:
        current = self.reports.current_sha256(action.report_id)
        if current != action.report_hash:
            raise GovernanceRefusal(
                "report_changed",
                f"report {action.report_id} now hashes to {current[:16]}…, not {action.report_hash[:16]}… as when "
                "it was recommended; make a new recommendation from the current report.",
            )

    def _recheck(self, action: PendingAction) -> tuple[SafeTx, ChainGateway]:
        """Every check an action must pass again before it goes anywhere: open, untampered, report unchanged, chain."""
        self._check_open(action)
        tx = self._check_integrity(action)
        self._check_report(action)
        return tx, self._check_chain(action, tx)

    def _check_chain(self, action: PendingAction, tx: SafeTx) -> ChainGateway:
        chain = self._require_chain()
        if chain.chain_id != action.chain_id:
            raise GovernanceRefusal("wrong_chain", f"connected to chain {chain.chain_id}, the action is for chain {action.chain_id}.")
        if to_checksum_address(chain.safe.address) != to_checksum_address(action.safe_address):
            raise GovernanceRefusal("wrong_safe", f"configured Safe {chain.safe.address} is not the action's {action.safe_address}.")
        nonce = chain.nonce()
        if nonce != tx.nonce:
            raise GovernanceRefusal(
                "wrong_nonce",
                f"the Safe's nonce is {nonce} but action {action.id} was built for nonce {tx.nonce} "
                "(another transaction ran first); make a new recommendation.",
            )
        return chain

    @staticmethod
    def _check_signed_tx(tx: SafeTx, signed_tx: dict[str, Any] | None) -> None:
        """Compare what the wallet says it signed with the action's transaction, field by field."""
        if not signed_tx:
            return
        message = signed_tx.get("message", signed_tx)
        domain = signed_tx.get("domain", {})
        if "chainId" in domain and int(domain["chainId"]) != tx.chain_id:
            raise GovernanceRefusal("wrong_chain", f"the signature is for chain {domain['chainId']}, the action is for chain {tx.chain_id}.")
        if "verifyingContract" in domain and to_checksum_address(domain["verifyingContract"]) != to_checksum_address(tx.safe):
            raise GovernanceRefusal("wrong_safe", f"the signature is for Safe {domain['verifyingContract']}, not {tx.safe}.")
        if "nonce" in message and int(message["nonce"]) != tx.nonce:
            raise GovernanceRefusal("wrong_nonce", f"the signature is for nonce {message['nonce']}, the action uses nonce {tx.nonce}.")
        data = str(message.get("data", "0x" + tx.data.hex())).lower()
        if data != "0x" + tx.data.hex() or ("to" in message and to_checksum_address(message["to"]) != to_checksum_address(tx.to)):
            raise GovernanceRefusal("tampered_calldata", "the signed transaction's target or calldata differ from the action's.")

    # --- drafting -----------------------------------------------------------------------------

    def draft(
        self,
        *,
        dao: str,
        idea: str,
        title: str | None = None,
        actions: Sequence[str] = (),
        k: int = 5,
        author: str | None = None,
        governor_address: str | None = None,
        chat: Any = None,
    ) -> dict[str, Any]:
        """Draft a proposal (stored, audited, never submitted) and return it with its id, prior art and P(pass)."""
        from embeddings.keyword import KeywordRetriever
        from governance.drafting import ZERO_ADDRESS, build_draft, parse_action

        parsed = [parse_action(a) for a in actions]
        retriever = self.post_retriever or KeywordRetriever(self.store)
        with self.store.session() as session:
            draft = build_draft(
                session, dao_slug=dao, idea=idea, title=title, actions=parsed, k=k, now=self.clock(), retriever=retriever,
                author=author or ZERO_ADDRESS,
                governor_address=governor_address or (self.chain.governor.address if self.chain is not None else None),
                embedder=getattr(self.post_retriever, "embedder", None), chat=chat, expect=self._draft_expectation(dao),
            )
            dao_row = session.exec(select(Dao).where(Dao.slug == dao)).one()
            view = draft.as_dict()
            row = GovernanceDraft(
                dao_id=dao_row.id,  # type: ignore[arg-type]
                idea=idea, title=draft.title, body=draft.body, citations=view["citations"], actions=view["actions"],
                snapshot_payload=draft.snapshot_payload, governor_tx=draft.governor_tx, created_at=self.clock(),
            )
            session.add(row)
            session.flush()
            audit.append_in_session(
                session, actor=self.actor, action="draft", subject=f"draft:{row.id}",
                payload={"dao": dao, "title": draft.title, "cited_posts": [c.post_id for c in draft.citations],
                         "governor_calldata_sha256": hashlib.sha256((draft.governor_tx or {}).get("data", "").encode()).hexdigest()},
            )
            return {"id": row.id, **view}

    def _draft_expectation(self, dao: str) -> Any:
        from governance.draft_expect import draft_expectation

        return draft_expectation(self.store, dao=dao, opens_at=self.clock())

    # --- recommendation -----------------------------------------------------------------------

    def recommend_from_report(self, report_id: str, *, choice: str | None = None, confidence: float | None = None,
                              reason: str | None = None, dao: str | None = None, proposal_ref: str | None = None) -> dict[str, Any]:
        """Read a stored report and recommend what it supports (overrides are allowed but audited).

        A report that is not a Concord consensus report (hand-made) needs every field given.
        """
        from dataclasses import replace

        from governance.reports import recommendation_from_report

        data = self.reports.read_report(report_id)
        if "proposal" in data and "stance" in data:
            ref = recommendation_from_report(data, report_id=report_id)
        elif dao and proposal_ref and choice and confidence is not None and reason:
            ref = ReportRef(report_id=report_id, report_sha256=self.reports.current_sha256(report_id), dao=dao,
                            proposal_ref=proposal_ref, choice=choice.lower(), confidence=confidence, reason=reason)
        else:
            raise InputError(
                f"Report {report_id!r} is not a Concord consensus report: pass --dao, --proposal, --choice, --confidence and --reason."
            )
        overrides = {k: v for k, v in {"dao": dao, "proposal_ref": proposal_ref, "choice": choice and choice.lower(),
                                       "confidence": confidence, "reason": reason}.items() if v is not None}
        return self.recommend(replace(ref, **overrides) if overrides else ref)

    def recommend(self, ref: ReportRef) -> dict[str, Any]:
        """Turn a report's recommendation into a pending action, or refuse naming the rule."""
        subject = f"report:{ref.report_id}"
        now = self.clock()
        with self.store.session() as session:
            dao = session.exec(select(Dao).where(Dao.slug == ref.dao)).first()
            last = session.exec(
                select(PendingAction.created_at)
                .join(Dao, col(Dao.id) == PendingAction.dao_id)
                .where(Dao.slug == ref.dao)
                .order_by(col(PendingAction.created_at).desc())
                .limit(1)
            ).first()
        try:
            self.policy.check_recommendation(ref, now=now, last_recommended_at=_aware(last) if last else None)
            if dao is None:
                raise NotFoundError(f"Unknown DAO {ref.dao!r}; ingest it first (`concord ingest ...`).")
            current = self.reports.current_sha256(ref.report_id)
            if current != ref.report_sha256:
                raise GovernanceRefusal("report_changed", f"report {ref.report_id} hashes to {current[:16]}…, not {ref.report_sha256[:16]}….")
            chain = self._require_chain()
            if not ref.proposal_ref.isdigit():
                raise GovernanceRefusal("allowed_kinds", f"proposal {ref.proposal_ref!r} is not an on-chain Governor proposal id.")
            proposal_id = int(ref.proposal_ref)
            state = chain.proposal_state(proposal_id)
            if state != "Active":
                raise GovernanceRefusal("proposal_not_active", f"proposal {proposal_id} is {state}; votes are only cast while Active.")
            if chain.has_voted(proposal_id, chain.safe.address):
                raise GovernanceRefusal("already_voted", f"the Safe already voted on proposal {proposal_id}.")
        except GovernanceRefusal as refusal:
            raise self._refuse(refusal, subject=subject, payload={"dao": ref.dao, "proposal": ref.proposal_ref}) from None

        reason = vote_reason(ref)
        tx = SafeTx(
            safe=to_checksum_address(chain.safe.address),
            chain_id=chain.chain_id,
            to=to_checksum_address(chain.governor.address),
            data=cast_vote_calldata(proposal_id, ref.support, reason),
            nonce=chain.nonce(),
        )
        tx_hash = "0x" + safe_tx_hash(tx).hex()
        recommendation = {"choice": ref.choice, "support": ref.support, "reason": reason, "short_reason": ref.reason}
        with self.store.session() as session:
            action = PendingAction(
                dao_id=dao.id,  # type: ignore[arg-type]
                kind="vote",
                proposal_kind=ref.proposal_kind,
                proposal_ref=str(proposal_id),
                created_at=now,
                expires_at=self.policy.expires_at(now),
                report_id=ref.report_id,
                report_hash=ref.report_sha256,
                confidence=ref.confidence,
                recommendation=recommendation,
                chain_id=tx.chain_id,
                safe_address=tx.safe,
                governor_address=tx.to,
                safe_tx=tx.to_json(),
                safe_tx_hash=tx_hash,
            )
            session.add(action)
            session.flush()
            audit.append_in_session(
                session, actor=self.actor, action="recommend", subject=f"action:{action.id}",
                payload={"report_id": ref.report_id, "report_sha256": ref.report_sha256, "choice": ref.choice,
                         "confidence": ref.confidence, "proposal": str(proposal_id), "safe_tx_hash": tx_hash},
            )
            action_id = int(action.id)  # type: ignore[arg-type]
        return self.describe(action_id)

    # --- reading ------------------------------------------------------------------------------

    def expire_overdue(self) -> list[int]:
        """Mark pending actions past their expiry as ``expired`` (audited); returns their ids."""
        now = self.clock()
        expired: list[int] = []
        with self.store.session() as session:
            for row in session.exec(select(PendingAction).where(PendingAction.status == "pending")).all():
                if now >= _aware(row.expires_at):
                    row.status = "expired"
                    row.decided_at = now
                    session.add(row)
                    audit.append_in_session(session, actor=self.actor, action="expire", subject=f"action:{row.id}",
                                            payload={"expires_at": _aware(row.expires_at).isoformat()})
                    expired.append(int(row.id))  # type: ignore[arg-type]
        return expired

    def list_pending(self, *, include_closed: bool = False) -> list[dict[str, Any]]:
        """Pending actions (or all, newest first) as JSON-ready summaries; overdue ones are expired first."""
        self.expire_overdue()
        with self.store.session() as session:
            query = select(PendingAction, Dao.slug).join(Dao, col(Dao.id) == PendingAction.dao_id)
            if not include_closed:
                query = query.where(PendingAction.status == "pending")
            rows = session.exec(query.order_by(col(PendingAction.id).desc())).all()
        return [
            {
                "id": action.id,
                "dao": slug,
                "kind": action.kind,
                "status": action.status,
                "proposal": action.proposal_ref,
                "choice": action.recommendation.get("choice"),
                "confidence": action.confidence,
                "report_id": action.report_id,
                "report_sha256": action.report_hash,
                "safe_tx_hash": action.safe_tx_hash,
                "expires_at": _aware(action.expires_at).isoformat(),
                "signatures": len(self._signatures(int(action.id))),  # type: ignore[arg-type]
                "executed_tx_hash": action.executed_tx_hash,
            }
            for action, slug in rows
        ]

    def describe(self, action_id: int) -> dict[str, Any]:
        """Everything a signer needs: the call in words, the Safe tx hash, typed data, who signed."""
        action = self._load(action_id)
        tx = self._safe_tx(action)
        signed = [{"owner": s.owner, "kind": s.kind, "at": _aware(s.created_at).isoformat()} for s in self._signatures(action_id)]
        out: dict[str, Any] = {
            "id": action.id,
            "kind": action.kind,
            "status": action.status,
            "proposal": action.proposal_ref,
            "recommendation": action.recommendation,
            "confidence": action.confidence,
            "report_id": action.report_id,
            "report_sha256": action.report_hash,
            "chain_id": action.chain_id,
            "safe": action.safe_address,
            "governor": action.governor_address,
            "call": describe_vote_call(action.governor_address, tx.data),
            "calldata": "0x" + tx.data.hex(),
            "nonce": tx.nonce,
            "safe_tx_hash": action.safe_tx_hash,
            "typed_data": safe_tx_typed_data(tx),
            "contract_owner_message": "0x" + encode_transaction_data(tx).hex(),
            "rejection_message": rejection_message(int(action.id), action.safe_tx_hash),  # type: ignore[arg-type]
            "signed_by": signed,
            "created_at": _aware(action.created_at).isoformat(),
            "expires_at": _aware(action.expires_at).isoformat(),
            "executed_tx_hash": action.executed_tx_hash,
            "note": action.note,
        }
        if self.chain is not None and self.chain.chain_id == action.chain_id:
            out["owners"] = self.chain.owners()
            out["threshold"] = self.chain.threshold()
        return out

    # --- approval -----------------------------------------------------------------------------

    def submit_signature(
        self,
        action_id: int,
        *,
        signature: str,
        signer: str | None = None,
        signed_tx: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Verify one owner's signature and record it; execute once the threshold is met.

        ``signed_tx`` (optional) is the typed data the wallet showed, compared field by field so a
        refusal can say *what* differs (chain id, nonce, calldata).
        """
        subject = f"action:{action_id}"
        action = self._load(action_id)
        try:
            self._check_open(action)
            tx = self._check_integrity(action)
            self._check_report(action)
            self._check_signed_tx(tx, signed_tx)
            chain = self._check_chain(action, tx)
            verified = verify_owner_signature(
                chain.w3, tx, signature=parse_hex_signature(signature), owners=chain.owners(), signer=signer
            )
            if any(s.owner == verified.owner for s in self._signatures(action_id)):
                raise GovernanceRefusal("duplicate", f"{verified.owner} has already signed action {action_id}.")
        except GovernanceRefusal as refusal:
            raise self._refuse(refusal, subject=subject, payload={"signer": signer}) from None
        with self.store.session() as session:
            session.add(ActionSignature(action_id=action_id, owner=verified.owner, kind=verified.kind, signature="0x" + verified.signature.hex()))
            audit.append_in_session(
                session, actor=verified.owner, action="approve", subject=subject,
                payload={"kind": verified.kind, "safe_tx_hash": action.safe_tx_hash},
            )
        if self.auto_execute and self.sender is not None and len(self._signatures(action_id)) >= chain.threshold():
            return self.execute(action_id)
        return self.describe(action_id)

    def reject(self, action_id: int, *, signer: str, signature: str) -> dict[str, Any]:
        """An owner closes the action by signing :func:`rejection_message` (``personal_sign``)."""
        subject = f"action:{action_id}"
        action = self._load(action_id)
        try:
            self._check_open(action)
            chain = self._require_chain()
            message = rejection_message(action_id, action.safe_tx_hash).encode("utf-8")
            digest = keccak(b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + message)
            recovered = recover_ecdsa(digest, parse_hex_signature(signature))
            if recovered is None or recovered != to_checksum_address(signer):
                raise GovernanceRefusal("bad_signature", f"the rejection is not signed by {signer}.")
            if recovered not in chain.owners():
                raise GovernanceRefusal("not_owner", f"{recovered} is not an owner of Safe {action.safe_address}.")
        except GovernanceRefusal as refusal:
            raise self._refuse(refusal, subject=subject, payload={"signer": signer}) from None
        with self.store.session() as session:
            row = session.get(PendingAction, action_id)
            assert row is not None
            row.status = "rejected"
            row.decided_at = self.clock()
            row.note = f"rejected by {recovered}"
            session.add(row)
            audit.append_in_session(session, actor=recovered, action="reject", subject=subject, payload={"safe_tx_hash": action.safe_tx_hash})
        return self.describe(action_id)

    # --- execution ----------------------------------------------------------------------------

    def execute(self, action_id: int) -> dict[str, Any]:
        """Re-check everything, then send ``execTransaction`` with the owners' signatures."""
        subject = f"action:{action_id}"
        action = self._load(action_id)
        try:
            tx, chain = self._recheck(action)
            if self.sender is None:
                raise ConfigError("No transaction sender configured: set a relayer (it pays gas; it is not an owner).")
            owners = chain.owners()
            verified: list[OwnerSignature] = []
            for row in self._signatures(action_id):
                verified.append(
                    verify_owner_signature(chain.w3, tx, signature=parse_hex_signature(row.signature), owners=owners, signer=row.owner)
                )
            threshold = chain.threshold()
            if len(verified) < threshold:
                raise GovernanceRefusal(
                    "threshold", f"{len(verified)} of {threshold} required owner signatures; waiting for more owners to sign."
                )
            proposal_id = int(decode_call(CAST_VOTE_WITH_REASON, tx.data)[0])
            state = chain.proposal_state(proposal_id)
            if state != "Active":
                raise GovernanceRefusal("proposal_not_active", f"proposal {proposal_id} is {state}; the vote can no longer be cast.")
            result = chain.exec_transaction(tx, encode_safe_signatures(verified), sender=self.sender)
            if not result.success:
                raise GovernanceRefusal("execution_failed", f"execTransaction {result.tx_hash} ran but the inner call failed.")
        except GovernanceRefusal as refusal:
            raise self._refuse(refusal, subject=subject) from None
        with self.store.session() as session:
            row = session.get(PendingAction, action_id)
            assert row is not None
            row.status = "executed"
            row.decided_at = self.clock()
            row.executed_tx_hash = result.tx_hash
            session.add(row)
            audit.append_in_session(
                session, actor=self.actor, action="execute", subject=subject,
                payload={"tx_hash": result.tx_hash, "block": result.block_number, "safe_tx_hash": action.safe_tx_hash,
                         "signers": [s.owner for s in verified], "report_sha256": action.report_hash},
            )
        return self.describe(action_id)

    # --- other routes: the Safe Transaction Service -------------------------------------------

    def propose_to_safe_service(self, action_id: int, *, client: SafeTransactionServiceClient, proposer: ProposerKey) -> dict[str, Any]:
        """Queue the action's Safe transaction in the Safe Transaction Service as a registered proposer.

        The proposer key may only queue: it must be a delegate the owners registered, and never an owner.
        """
        subject = f"action:{action_id}"
        action = self._load(action_id)
        try:
            tx, chain = self._recheck(action)
            if proposer.address in chain.owners():
                raise GovernanceRefusal("proposer_is_owner", f"{proposer.address} is a Safe owner; Concord never holds an owner key.")
            if proposer.address not in client.list_delegates(action.safe_address):
                raise GovernanceRefusal(
                    "not_a_proposer",
                    f"{proposer.address} is not a registered proposer of Safe {action.safe_address}; an owner must add it in Safe{{Wallet}}.",
                )
            signature = "0x" + proposer.sign_hash(safe_tx_hash(tx)).hex()
            tx_hash = client.propose(tx, sender=proposer.address, signature=signature)
        except GovernanceRefusal as refusal:
            raise self._refuse(refusal, subject=subject) from None
        audit.append(self.store, actor=proposer.address, action="propose_safe_service", subject=subject,
                     payload={"safe_tx_hash": tx_hash, "service": client.base_url})
        return self.describe(action_id)

    def sync_from_safe_service(self, action_id: int, *, client: SafeTransactionServiceClient) -> dict[str, Any]:
        """Pull owners' confirmations made in Safe{Wallet}; each is verified like any other signature."""
        action = self._load(action_id)
        queued = client.get_transaction(action.safe_tx_hash)
        known = {s.owner for s in self._signatures(action_id)}
        refused: list[dict[str, str]] = []
        for confirmation in queued.confirmations:
            if confirmation.owner in known or self._load(action_id).status != "pending":
                continue
            try:
                self.submit_signature(action_id, signature=confirmation.signature, signer=confirmation.owner)
            except GovernanceRefusal as refusal:
                refused.append({"owner": confirmation.owner, "rule": refusal.rule, "message": refusal.detail})
        return {**self.describe(action_id), "refused_confirmations": refused}


def build_governance(settings: ConcordSettings, *, store: Store, w3: Any | None = None, sender: TransactionSender | None = None,
                     post_retriever: PostRetriever | None = None) -> GovernanceService:
    """Wire the service from settings: policy, reports (stored records or ``<data_dir>/reports`` files), the chain.

    The relayer that submits ``execTransaction`` (it pays gas and is never an owner) comes from ``sender``,
    or from ``chain.relayer_key`` / ``chain.relayer_address`` when the settings define them; without one,
    approvals are collected and ``execute`` says what is missing.
    """
    from governance.reports import CombinedReportSource

    chain_settings = settings.chain
    chain: ChainGateway | None = None
    if chain_settings.safe_address and chain_settings.governor_address and (w3 is not None or chain_settings.rpc_url):
        if w3 is None:
            from web3 import HTTPProvider, Web3

            w3 = Web3(HTTPProvider(chain_settings.rpc_url))
        chain = ChainGateway(w3, safe_address=chain_settings.safe_address, governor_address=chain_settings.governor_address)
    if sender is None:
        from governance.chain.gateway import LocalKeySender, NodeAccountSender

        if chain_settings.relayer_key is not None:
            sender = LocalKeySender(chain_settings.relayer_key.get_secret_value())
        elif chain_settings.relayer_address:
            sender = NodeAccountSender(chain_settings.relayer_address)
    return GovernanceService(
        store,
        policy=VotePolicy.from_settings(settings.policy),
        reports=CombinedReportSource(store, settings.reports_dir),
        chain=chain,
        sender=sender,
        post_retriever=post_retriever,
    )
