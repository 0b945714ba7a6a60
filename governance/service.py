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
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eth_utils import keccak, to_checksum_address
from sqlmodel import col, select

from governance import audit
from governance import policy as rules
from governance.binding import canonical_safe_tx, fields_in_words
from governance.calldata import cast_vote_calldata, describe_vote_call
from governance.chain.gateway import ChainGateway, ExecutionResult
from governance.chain.keys import ProposerKey, TransactionSender
from governance.chain.safe_tx import (
    ZERO_ADDRESS,
    SafeTx,
    encode_transaction_data,
    safe_tx_hash,
    safe_tx_typed_data,
)
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
from governance.views import ActionSummary, ActionView, DraftView, Problem, RefusedConfirmation, SignatureView
from ingest.core.domain import ActionSignature, AuditEntry, Dao, GovernanceDraft, PendingAction, utcnow
from ingest.core.errors import ConfigError, InputError, NotFoundError

if TYPE_CHECKING:  # pragma: no cover
    from governance.chain.safe_service import SafeTransactionServiceClient
    from governance.drafting import PostRetriever

if TYPE_CHECKING:  # pragma: no cover
    from ingest.core.settings import ConcordSettings
    from ingest.core.store import Store

__all__ = ["GasTerms", "GovernanceService", "build_governance", "rejection_message", "vote_reason"]

MAX_REASON = 900


@dataclass(frozen=True)
class GasTerms:
    """The gas and refund fields of a Safe transaction. All zero (the default) means the relayer pays its own gas
    and a failed vote reverts; anything paying a refund needs ``policy.allow_refunds``."""

    safe_tx_gas: int = 0
    base_gas: int = 0
    gas_price: int = 0
    gas_token: str = ZERO_ADDRESS
    refund_receiver: str = ZERO_ADDRESS

    def __post_init__(self) -> None:
        for name in ("safe_tx_gas", "base_gas", "gas_price"):
            if not 0 <= int(getattr(self, name)) < 2**63:
                raise InputError(f"{name} must be a whole number from 0 to 2^63-1, got {getattr(self, name)}.")


def vote_reason(ref: ReportRef, *, report_link: str, audit_head: str) -> str:
    """The on-chain reason: a fixed template of the choice, the report's id, hash and link, and the audit head.

    No model or forum text ever goes into it (a report's words can be steered by what people post).
    """
    return (
        f"Concord advisory vote: {ref.choice}. Report {ref.report_id} sha256:{ref.report_sha256} {report_link} "
        f"audit-head:{audit_head}"
    )[:MAX_REASON]


def rejection_message(action_id: int, safe_tx_hash_hex: str) -> str:
    """The text an owner signs (``personal_sign``) to reject an action."""
    return f"Concord: reject action {action_id} (Safe tx {safe_tx_hash_hex})"


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
        public_url: str | None = None,
        post_retriever: PostRetriever | None = None,
        checkpointer: audit.Checkpointer | None = None,
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
        self.public_url = public_url
        self.checkpointer = checkpointer

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
            self.store, checkpointer=self.checkpointer, actor=self.actor, action="refuse", subject=subject,
            payload={"rule": refusal.rule, "message": refusal.detail, **(payload or {})},
        )
        return refusal

    def _recorded_safe_tx_hash(self, action_id: int) -> str | None:
        """The Safe tx hash the audit log recorded when the action was recommended."""
        with self.store.session() as session:
            entry = session.exec(
                select(AuditEntry)
                .where(AuditEntry.subject == f"action:{action_id}", AuditEntry.action == "recommend")
                .order_by(col(AuditEntry.id))
                .limit(1)
            ).first()
        return None if entry is None else str((entry.payload or {}).get("safe_tx_hash") or "") or None

    def _check_open(self, action: PendingAction) -> None:
        rules.check_open(action, now=self.clock())

    def _check_integrity(self, action: PendingAction) -> SafeTx:
        """The action's one canonical transaction (from its columns): the stored copy and hash must be it, refunds
        need the policy, and it must hash to what the audit log recorded at recommendation."""
        tx = canonical_safe_tx(action)
        rules.check_stored_tx(tx, action.safe_tx, stored_hash=action.safe_tx_hash)
        self.policy.check_refunds(tx)
        return tx

    def _check_recorded(self, action: PendingAction, tx: SafeTx) -> None:
        rules.check_as_recommended(tx, recorded_hash=self._recorded_safe_tx_hash(int(action.id)))  # type: ignore[arg-type]

    def _check_report(self, action: PendingAction) -> None:
        rules.check_report_unchanged(action.report_id, current=self.reports.current_sha256(action.report_id), expected=action.report_hash)

    def _check_chain(self, tx: SafeTx) -> ChainGateway:
        chain = self._require_chain()
        rules.check_chain(tx, chain_id=chain.chain_id, safe=chain.safe.address, governor=chain.governor.address, nonce=chain.nonce())
        return chain

    @staticmethod
    def _check_votable(action: PendingAction, chain: ChainGateway) -> None:
        """The vote can still count: its proposal is Active and the Safe has not voted on it (else the Governor
        reverts the cast, so signing or queueing it would only spend the owners' attention)."""
        proposal_id = int(action.proposal_ref)
        rules.check_votable(proposal_id, state=chain.proposal_state(proposal_id), has_voted=chain.has_voted(proposal_id, action.safe_address))

    def _check_transaction(self, action: PendingAction) -> tuple[SafeTx, ChainGateway]:
        """The transaction checks, in order: stored copy, refunds, chain, audit record."""
        tx = self._check_integrity(action)
        chain = self._check_chain(tx)
        self._check_recorded(action, tx)
        return tx, chain

    def _recheck(self, action: PendingAction) -> tuple[SafeTx, ChainGateway]:
        """Every check an action must pass again before it goes anywhere: open, untampered, report unchanged, chain."""
        self._check_open(action)
        tx, chain = self._check_transaction(action)
        self._check_report(action)
        return tx, chain

    def _problems(self, action: PendingAction) -> list[Problem]:
        """Why a pending action must not be signed now (empty when it may), for the signer's view."""
        if action.status != "pending":
            return []
        try:
            tx = self._check_integrity(action)
            if self.chain is not None:
                self._check_votable(action, self._check_chain(tx))
            self._check_recorded(action, tx)
            self._check_report(action)
        except GovernanceRefusal as refusal:
            return [Problem(rule=refusal.rule, message=refusal.detail)]
        return []

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
        body_writer: Any = None,
        rooms: Any = None,
    ) -> DraftView:
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
                body_writer=body_writer, rooms=rooms,
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
                session, checkpointer=self.checkpointer, actor=self.actor, action="draft", subject=f"draft:{row.id}",
                payload={"dao": dao, "title": draft.title, "cited_posts": [c.post_id for c in draft.citations],
                         "governor_calldata_sha256": hashlib.sha256((draft.governor_tx or {}).get("data", "").encode()).hexdigest()},
            )
            return DraftView.from_json({"id": row.id, **view})

    def _draft_expectation(self, dao: str) -> Any:
        from governance.draft_expect import draft_expectation

        return draft_expectation(self.store, dao=dao, opens_at=self.clock())

    # --- recommendation -----------------------------------------------------------------------

    def recommend_from_report(self, report_id: str, *, choice: str | None = None, confidence: float | None = None,
                              reason: str | None = None, dao: str | None = None,
                              proposal_ref: str | None = None) -> ActionView:
        """Read a stored report and recommend what it supports (overrides are allowed but audited).

        A report that is not a Concord consensus report (hand-made) needs every field given.
        """
        from dataclasses import replace

        data = self.reports.read_report(report_id)
        if "proposal" in data and "stance" in data:
            ref = self.reference_from_report(report_id)
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

    def reference_from_report(self, report_id: str) -> ReportRef:
        """What a stored consensus report recommends, its people counted through the store's authors."""
        from governance.reports import recommendation_from_report

        data = self.reports.read_report(report_id)
        author_of, power_of = self._people_of(data)
        return recommendation_from_report(data, report_id=report_id, author_of=author_of, power_of=power_of)

    def _people_of(self, data: dict[str, Any]) -> tuple[dict[int, str], dict[str, float]]:
        """Who wrote each classified post (one key per person: their linked address, else their author id) and the
        voting power each linked person cast on the proposal."""
        from ingest.core.domain import Author, Post
        from ingest.identity.service import voting_power_by_author

        post_ids = [int(e["post_id"]) for e in (data.get("stance") or {}).get("by_post") or [] if "post_id" in e]
        if not post_ids:
            return {}, {}
        with self.store.session() as session:
            rows = session.exec(
                select(Post.id, Author.id, Author.address).join(Author, col(Author.id) == Post.author_id).where(col(Post.id).in_(post_ids))
            ).all()
        person = {int(author_id): (address.lower() if address else f"author:{author_id}") for _, author_id, address in rows}
        author_of = {int(post_id): person[int(author_id)] for post_id, author_id, _ in rows}
        proposal_id = (data.get("proposal") or {}).get("id")
        power: dict[str, float] = {}
        if isinstance(proposal_id, int):
            for author_id, vp in voting_power_by_author(self.store, proposal_id).items():
                if author_id in person:
                    power[person[author_id]] = max(power.get(person[author_id], 0.0), vp)
        return author_of, power

    def _report_link(self, report_id: str) -> str:
        return f"{self.public_url.rstrip('/')}/reports/{report_id}" if self.public_url else f"concord:report/{report_id}"

    def recommend(self, ref: ReportRef, *, gas: GasTerms | None = None) -> ActionView:
        """Turn a report's recommendation into a pending action, or refuse naming the rule."""
        gas = gas or GasTerms()
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
            self.policy.check_recommendation(ref, now=now, last_recommended_at=last)
            if dao is None:
                raise NotFoundError(f"Unknown DAO {ref.dao!r}; ingest it first (`concord ingest ...`).")
            rules.check_report_unchanged(ref.report_id, current=self.reports.current_sha256(ref.report_id), expected=ref.report_sha256)
            chain = self._require_chain()
            proposal_id = rules.check_governor_proposal(ref.proposal_ref)
            rules.check_votable(proposal_id, state=chain.proposal_state(proposal_id), has_voted=chain.has_voted(proposal_id, chain.safe.address))
            reason = vote_reason(ref, report_link=self._report_link(ref.report_id), audit_head=audit.head_hash(self.store))
            tx = SafeTx(
                safe=to_checksum_address(chain.safe.address),
                chain_id=chain.chain_id,
                to=to_checksum_address(chain.governor.address),
                data=cast_vote_calldata(proposal_id, ref.support, reason),
                nonce=chain.nonce(),
                safe_tx_gas=gas.safe_tx_gas,
                base_gas=gas.base_gas,
                gas_price=gas.gas_price,
                gas_token=to_checksum_address(gas.gas_token),
                refund_receiver=to_checksum_address(gas.refund_receiver),
            )
            self.policy.check_refunds(tx)
        except GovernanceRefusal as refusal:
            raise self._refuse(refusal, subject=subject, payload={"dao": ref.dao, "proposal": ref.proposal_ref}) from None

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
                safe_nonce=tx.nonce,
                safe_tx_gas=tx.safe_tx_gas,
                base_gas=tx.base_gas,
                gas_price=tx.gas_price,
                gas_token=tx.gas_token,
                refund_receiver=tx.refund_receiver,
                safe_tx=tx.to_json(),
                safe_tx_hash=tx_hash,
            )
            session.add(action)
            session.flush()
            audit.append_in_session(
                session, checkpointer=self.checkpointer, actor=self.actor, action="recommend", subject=f"action:{action.id}",
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
                if now >= row.expires_at:
                    row.status = "expired"
                    row.decided_at = now
                    session.add(row)
                    audit.append_in_session(session, checkpointer=self.checkpointer, actor=self.actor, action="expire", subject=f"action:{row.id}",
                                            payload={"expires_at": row.expires_at.isoformat()})
                    expired.append(int(row.id))  # type: ignore[arg-type]
        return expired

    def list_pending(self, *, include_closed: bool = False) -> list[ActionSummary]:
        """Pending actions (or all, newest first); overdue ones are expired first."""
        self.expire_overdue()
        with self.store.session() as session:
            query = select(PendingAction, Dao.slug).join(Dao, col(Dao.id) == PendingAction.dao_id)
            if not include_closed:
                query = query.where(PendingAction.status == "pending")
            rows = session.exec(query.order_by(col(PendingAction.id).desc())).all()
        return [
            ActionSummary(
                id=int(action.id),  # type: ignore[arg-type]
                dao=slug,
                kind=action.kind,
                status=action.status,
                proposal=action.proposal_ref,
                choice=action.recommendation.get("choice"),
                confidence=action.confidence,
                report_id=action.report_id,
                report_sha256=action.report_hash,
                safe_tx_hash=action.safe_tx_hash,
                expires_at=action.expires_at.isoformat(),
                signatures=len(self._signatures(int(action.id))),  # type: ignore[arg-type]
                executed_tx_hash=action.executed_tx_hash,
            )
            for action, slug in rows
        ]

    def describe(self, action_id: int, *, refused_confirmations: Sequence[RefusedConfirmation] = ()) -> ActionView:
        """Everything a signer needs: every field of the one canonical transaction in words, its hash, the EIP-712
        typed data to sign (none while a problem stands), who signed, and any problem that forbids signing."""
        action = self._load(action_id)
        tx = canonical_safe_tx(action)
        problems = self._problems(action)
        governor = self.chain.governor.address if self.chain is not None else action.governor_address
        on_chain = self.chain is not None and self.chain.chain_id == action.chain_id
        return ActionView(
            id=int(action.id),  # type: ignore[arg-type]
            kind=action.kind,
            status=action.status,
            proposal=action.proposal_ref,
            recommendation=dict(action.recommendation),
            confidence=action.confidence,
            report_id=action.report_id,
            report_sha256=action.report_hash,
            chain_id=tx.chain_id,
            safe=tx.safe,
            governor=tx.to,
            call=describe_vote_call(tx.to, tx.data),
            calldata="0x" + tx.data.hex(),
            nonce=tx.nonce,
            safe_tx=tx.to_json(),
            safe_tx_hash="0x" + safe_tx_hash(tx).hex(),
            fields=(fields := fields_in_words(tx, governor=governor)),
            warnings=[f"{f.name}: {f.warning}" for f in fields if f.warning],
            problems=problems,
            typed_data=None if problems else safe_tx_typed_data(tx),
            contract_owner_message=None if problems else "0x" + encode_transaction_data(tx).hex(),
            rejection_message=rejection_message(int(action.id), action.safe_tx_hash),  # type: ignore[arg-type]
            signed_by=[SignatureView(owner=s.owner, kind=s.kind, at=s.created_at.isoformat()) for s in self._signatures(action_id)],
            created_at=action.created_at.isoformat(),
            expires_at=action.expires_at.isoformat(),
            executed_tx_hash=action.executed_tx_hash,
            note=action.note,
            owners=self.chain.owners() if on_chain else None,  # type: ignore[union-attr]
            threshold=self.chain.threshold() if on_chain else None,  # type: ignore[union-attr]
            refused_confirmations=list(refused_confirmations),
        )

    # --- approval -----------------------------------------------------------------------------

    def submit_signature(
        self,
        action_id: int,
        *,
        signature: str,
        signer: str | None = None,
        signed_tx: dict[str, Any] | None = None,
    ) -> ActionView:
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
            rules.check_signed_tx(tx, signed_tx)
            chain = self._check_chain(tx)
            self._check_recorded(action, tx)
            self._check_votable(action, chain)
            verified = verify_owner_signature(
                chain.w3, tx, signature=parse_hex_signature(signature), owners=chain.owners(), signer=signer
            )
            rules.check_not_duplicate(verified.owner, signed={s.owner for s in self._signatures(action_id)}, action_id=action_id)
        except GovernanceRefusal as refusal:
            raise self._refuse(refusal, subject=subject, payload={"signer": signer}) from None
        with self.store.session() as session:
            session.add(ActionSignature(action_id=action_id, owner=verified.owner, kind=verified.kind, signature="0x" + verified.signature.hex()))
            audit.append_in_session(
                session, checkpointer=self.checkpointer, actor=verified.owner, action="approve", subject=subject,
                payload={"kind": verified.kind, "safe_tx_hash": action.safe_tx_hash},
            )
        if self.auto_execute and self.sender is not None and len(self._signatures(action_id)) >= chain.threshold():
            return self.execute(action_id)
        return self.describe(action_id)

    def reject(self, action_id: int, *, signer: str, signature: str) -> ActionView:
        """An owner closes the action by signing :func:`rejection_message` (``personal_sign``)."""
        subject = f"action:{action_id}"
        action = self._load(action_id)
        try:
            self._check_open(action)
            chain = self._require_chain()
            message = rejection_message(action_id, action.safe_tx_hash).encode("utf-8")
            digest = keccak(b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + message)
            recovered = rules.check_rejection_signer(
                recover_ecdsa(digest, parse_hex_signature(signature)), signer=signer, owners=chain.owners(), safe=action.safe_address
            )
        except GovernanceRefusal as refusal:
            raise self._refuse(refusal, subject=subject, payload={"signer": signer}) from None
        with self.store.session() as session:
            row = session.get(PendingAction, action_id)
            assert row is not None
            row.status = "rejected"
            row.decided_at = self.clock()
            row.note = f"rejected by {recovered}"
            session.add(row)
            audit.append_in_session(session, checkpointer=self.checkpointer, actor=recovered, action="reject", subject=subject, payload={"safe_tx_hash": action.safe_tx_hash})
        return self.describe(action_id)

    # --- execution ----------------------------------------------------------------------------

    def execute(self, action_id: int) -> ActionView:
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
            rules.check_threshold(len(verified), threshold=chain.threshold())
            self._check_votable(action, chain)
            result = chain.exec_transaction(tx, encode_safe_signatures(verified), sender=self.sender)
            rules.check_execution(success=result.success, tx_hash=result.tx_hash)
        except GovernanceRefusal as refusal:
            raise self._refuse(refusal, subject=subject) from None
        self._record_execution(action, result, signers=[s.owner for s in verified])
        return self.describe(action_id)

    def recover_execution(self, action_id: int) -> ActionView | None:
        """Record an execution the chain has and the store lacks (a crash between sending ``execTransaction`` and
        recording it); None when the action is not pending or the Safe never executed its transaction."""
        action = self._load(action_id)
        if action.status != "pending" or self.chain is None:
            return None
        found = self.chain.find_execution(action.safe_tx_hash, nonce=SafeTx.from_json(action.safe_tx).nonce,
                                          since=action.created_at)
        if found is None:
            return None
        self._record_execution(action, found, signers=[s.owner for s in self._signatures(action_id)], recovered=True)
        return self.describe(action_id)

    def _record_execution(self, action: PendingAction, result: ExecutionResult, *, signers: list[str], recovered: bool = False) -> None:
        subject = f"action:{action.id}"
        payload = {"tx_hash": result.tx_hash, "block": result.block_number, "safe_tx_hash": action.safe_tx_hash,
                   "signers": signers, "report_sha256": action.report_hash}
        with self.store.session() as session:
            row = session.get(PendingAction, action.id)
            assert row is not None
            row.status = "executed"
            row.decided_at = self.clock()
            row.executed_tx_hash = result.tx_hash
            session.add(row)
            audit.append_in_session(session, checkpointer=self.checkpointer, actor=self.actor, action="execute", subject=subject,
                                    payload={**payload, "recovered_from_chain": True} if recovered else payload)
            if self.checkpointer is not None:
                audit.checkpoint_in_session(session, self.checkpointer, reason=subject)

    # --- other routes: the Safe Transaction Service -------------------------------------------

    def propose_to_safe_service(self, action_id: int, *, client: SafeTransactionServiceClient, proposer: ProposerKey) -> ActionView:
        """Queue the action's Safe transaction in the Safe Transaction Service as a registered proposer.

        The proposer key may only queue: it must hold a delegation the service honours (from a current owner, for
        this Safe or every Safe, not expired), and never be an owner.
        """
        subject = f"action:{action_id}"
        action = self._load(action_id)
        try:
            tx, chain = self._recheck(action)
            self._check_votable(action, chain)
            owners = chain.owners()
            delegations = [] if proposer.address in owners else client.delegations(delegate=proposer.address)
            delegator = rules.check_proposer(proposer.address, owners=owners, delegations=delegations,
                                             safe=action.safe_address, now=self.clock())
            signature = "0x" + proposer.sign_hash(safe_tx_hash(tx)).hex()
            tx_hash = client.propose(tx, sender=proposer.address, signature=signature)
        except GovernanceRefusal as refusal:
            raise self._refuse(refusal, subject=subject) from None
        audit.append(self.store, checkpointer=self.checkpointer, actor=proposer.address, action="propose_safe_service",
                     subject=subject, payload={"safe_tx_hash": tx_hash, "service": client.base_url, "delegator": delegator})
        return self.describe(action_id)

    def sync_from_safe_service(self, action_id: int, *, client: SafeTransactionServiceClient) -> ActionView:
        """Pull owners' confirmations made in Safe{Wallet}; each is verified like any other signature."""
        action = self._load(action_id)
        queued = client.get_transaction(action.safe_tx_hash)
        known = {s.owner for s in self._signatures(action_id)}
        refused: list[RefusedConfirmation] = []
        for confirmation in queued.confirmations:
            if confirmation.owner in known or self._load(action_id).status != "pending":
                continue
            try:
                self.submit_signature(action_id, signature=confirmation.signature, signer=confirmation.owner)
            except GovernanceRefusal as refusal:
                refused.append(RefusedConfirmation(owner=confirmation.owner, rule=refusal.rule, message=refusal.detail))
        return self.describe(action_id, refused_confirmations=refused)


def build_governance(settings: ConcordSettings, *, store: Store, w3: Any | None = None, sender: TransactionSender | None = None,
                     post_retriever: PostRetriever | None = None) -> GovernanceService:
    """Wire the service from settings: policy, reports (stored records or ``<data_dir>/reports`` files), the chain.

    The relayer that submits ``execTransaction`` (it pays gas and is never an owner) comes from ``sender``,
    or from ``chain.relayer_key`` / ``chain.relayer_address`` when the settings define them; without one,
    approvals are collected and ``execute`` says what is missing.
    """
    from governance.audit_checkpoints import checkpointer_from_settings
    from governance.reports import CombinedReportSource

    chain_settings = settings.chain
    chain: ChainGateway | None = None
    if chain_settings.safe_address and chain_settings.governor_address and (w3 is not None or chain_settings.rpc_url):
        if w3 is None:
            from web3 import HTTPProvider, Web3

            w3 = Web3(HTTPProvider(chain_settings.rpc_url))
        chain = ChainGateway(w3, safe_address=chain_settings.safe_address, governor_address=chain_settings.governor_address)
    if sender is None:
        from governance.chain.keys import LocalKeySender, NodeAccountSender

        if chain_settings.relayer_key is not None:
            sender = LocalKeySender(chain_settings.relayer_key.get_secret_value())
        elif chain_settings.relayer_address:
            sender = NodeAccountSender(chain_settings.relayer_address)
    origins = list(getattr(settings.web, "public_origins", None) or [])
    return GovernanceService(
        store,
        policy=VotePolicy.from_settings(settings.policy),
        reports=CombinedReportSource(store, settings.reports_dir),
        chain=chain,
        sender=sender,
        public_url=str(origins[0]) if origins else None,
        post_retriever=post_retriever,
        checkpointer=checkpointer_from_settings(settings),
    )
