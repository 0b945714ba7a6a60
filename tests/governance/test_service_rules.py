"""The governance service's rules without an EVM: a stand-in chain (what ``ChainGateway`` answers, held in memory)
and a stand-in Safe Transaction Service client drive ``GovernanceService`` on an empty SQLite store; owners sign
with their own keys as their wallets would. Each test names the rule it guards (governance/service.py).

The same rules run against the real Safe and Governor in test_vote_flow.py and test_execute_rules.py; here they are
fast enough to be run once per mutant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import to_checksum_address
from sqlmodel import col, select

from governance.audit import GENESIS_HASH, Checkpointer, head_hash, verify
from governance.binding import canonical_safe_tx, fields_in_words
from governance.calldata import cast_vote_calldata, describe_vote_call
from governance.chain.gateway import ExecutionResult
from governance.chain.keys import LocalKeySender, LocalProposerKey, NodeAccountSender
from governance.chain.safe_service import Confirmation, Delegation
from governance.chain.safe_tx import (
    ZERO_ADDRESS,
    SafeTx,
    encode_transaction_data,
    safe_tx_hash,
    safe_tx_typed_data,
)
from governance.errors import GovernanceRefusal, Rule
from governance.policy import VotePolicy
from governance.reports import DirectoryReportSource, ReportRef
from governance.service import (
    MAX_REASON,
    GasTerms,
    GovernanceService,
    build_governance,
    rejection_message,
    vote_reason,
)
from governance.signatures import OwnerSignature, encode_safe_signatures, parse_hex_signature
from governance.views import ActionView
from ingest.core.domain import ActionSignature, AuditEntry, PendingAction
from ingest.core.errors import ConfigError, InputError, NotFoundError
from ingest.core.store import Store
from tests.governance.conftest import sign_as, write_report

OWNER_KEYS = ["0x" + f"{i:064x}" for i in (2, 3, 4)]
OWNERS = [Account.from_key(k).address for k in OWNER_KEYS]
OUTSIDER_KEY = "0x" + f"{7:064x}"
OUTSIDER = Account.from_key(OUTSIDER_KEY).address
PROPOSER_KEY = "0x" + f"{9:064x}"
SAFE = to_checksum_address("0x" + "5a" * 20)
GOVERNOR = to_checksum_address("0x" + "6b" * 20)
OTHER = to_checksum_address("0x" + "7c" * 20)
CHAIN_ID = 42161
PROPOSAL = 4242
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
RELAYER = to_checksum_address("0x" + "9e" * 20)


@dataclass
class StandInChain:
    """What the service asks a chain gateway, answered from fields a test sets; ``execTransaction`` is recorded."""

    chain_id: int = CHAIN_ID
    safe_address: str = SAFE
    governor_address: str = GOVERNOR
    owner_list: list[str] = field(default_factory=lambda: list(OWNERS))
    needed: int = 2
    safe_nonce: int = 5
    state: str = "Active"
    voted: bool = False
    succeeds: bool = True
    sent: list[tuple[SafeTx, bytes, Any]] = field(default_factory=list)
    asked_voted: list[tuple[int, str]] = field(default_factory=list)
    asked_state: list[int] = field(default_factory=list)
    executions: dict[str, ExecutionResult] = field(default_factory=dict)
    asked_execution: list[tuple[str, int, datetime]] = field(default_factory=list)
    w3: Any = None  # no contract owners here: ECDSA signatures only

    @property
    def safe(self) -> Any:
        return SimpleNamespace(address=self.safe_address)

    @property
    def governor(self) -> Any:
        return SimpleNamespace(address=self.governor_address)

    def owners(self) -> list[str]:
        return list(self.owner_list)

    def threshold(self) -> int:
        return self.needed

    def nonce(self) -> int:
        return self.safe_nonce

    def proposal_state(self, proposal_id: int) -> str:
        self.asked_state.append(proposal_id)
        return self.state

    def has_voted(self, proposal_id: int, account: str) -> bool:
        self.asked_voted.append((proposal_id, account))
        return self.voted

    def exec_transaction(self, tx: SafeTx, signatures: bytes, *, sender: Any) -> ExecutionResult:
        self.sent.append((tx, signatures, sender))
        return ExecutionResult(tx_hash="0x" + "ab" * 32, success=self.succeeds, block_number=77)

    def find_execution(self, safe_tx_hash_hex: str, *, nonce: int, since: datetime) -> ExecutionResult | None:
        self.asked_execution.append((safe_tx_hash_hex, nonce, since))
        return self.executions.get(safe_tx_hash_hex)


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(empty_store: Store) -> Store:
    empty_store.ensure_dao("testdao", "Test DAO")
    return empty_store


@pytest.fixture
def chain() -> StandInChain:
    return StandInChain()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_service(store: Store, chain: Any, report_dir: Path, clock: Clock, *, sender: Any = RELAYER,
                 checkpointer: Checkpointer | None = None, **policy: Any) -> GovernanceService:
    return GovernanceService(
        store, policy=VotePolicy(allowed_daos=("testdao",), **policy), reports=DirectoryReportSource(report_dir),
        chain=chain, sender=NodeAccountSender(sender) if sender else None, clock=clock, checkpointer=checkpointer,
    )


REPORT = {"proposal": str(PROPOSAL), "stance": {"for": 12, "against": 3}}


def ref_for(report_dir: Path, *, choice: str = "for", proposal: str = str(PROPOSAL), dao: str = "testdao",
            body: dict[str, Any] | None = None) -> ReportRef:
    digest = write_report(report_dir, "r1", body or REPORT)
    return ReportRef(report_id="r1", report_sha256=digest, dao=dao, proposal_ref=proposal, choice=choice,
                     confidence=0.9, reason="12 people for, 3 against.")


def entries(store: Store) -> list[AuditEntry]:
    with store.session() as session:
        return list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all())


def refused(call: Any, *args: Any, **kwargs: Any) -> GovernanceRefusal:
    with pytest.raises(GovernanceRefusal) as caught:
        call(*args, **kwargs)
    return caught.value


def last_refusal(store: Store) -> AuditEntry:
    found = [e for e in entries(store) if e.action == "refuse"]
    assert found, "the refusal was not written to the audit log"
    return found[-1]


def sign_all(service: GovernanceService, action: ActionView, keys: list[str] = OWNER_KEYS[:2]) -> ActionView:
    view = action
    for key in keys:
        view = service.submit_signature(action.id, signature=sign_as(key, action.typed_data), signer=Account.from_key(key).address)
    return view


def reject_signature(key: str, action: ActionView) -> str:
    message = encode_defunct(text=rejection_message(action.id, action.safe_tx_hash))
    return "0x" + bytes(Account.sign_message(message, private_key=key).signature).hex()


# --- the fixed texts and gas terms -----------------------------------------------------------------


def test_vote_reason_is_a_fixed_template_cut_at_its_limit() -> None:
    ref = ReportRef(report_id="r9", report_sha256="c" * 64, dao="d", proposal_ref="1", choice="against", confidence=0.5, reason="x")
    assert vote_reason(ref, report_link="https://c.example/reports/r9", audit_head="e" * 64) == (
        f"Concord advisory vote: against. Report r9 sha256:{'c' * 64} https://c.example/reports/r9 audit-head:{'e' * 64}"
    )
    long = vote_reason(ref, report_link="L" * 2000, audit_head="h")
    assert len(long) == MAX_REASON == 900 and long.startswith("Concord advisory vote: against. Report r9 ")


def test_rejection_message_names_the_action_and_its_safe_tx() -> None:
    assert rejection_message(12, "0xabc") == "Concord: reject action 12 (Safe tx 0xabc)"


def test_gas_terms_take_whole_numbers_below_two_to_the_63() -> None:
    assert GasTerms(safe_tx_gas=2**63 - 1, base_gas=0, gas_price=1).safe_tx_gas == 2**63 - 1
    for name in ("safe_tx_gas", "base_gas", "gas_price"):
        with pytest.raises(InputError) as caught:
            GasTerms(**{name: 2**63})
        assert str(caught.value) == f"{name} must be a whole number from 0 to 2^63-1, got {2**63}."
        with pytest.raises(InputError, match=f"^{name} must be a whole number from 0 to 2\\^63-1, got -1.$"):
            GasTerms(**{name: -1})
    assert GasTerms() == GasTerms(0, 0, 0, ZERO_ADDRESS, ZERO_ADDRESS)


# --- recommend: what is built, and every refusal -----------------------------------------------------


def test_recommend_builds_the_vote_for_the_configured_safe_and_governor(store: Store, chain: StandInChain, report_dir: Path,
                                                                        clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock, expiry_hours=10)
    ref = ref_for(report_dir, choice="against")
    action = service.recommend(ref)
    reason = f"Concord advisory vote: against. Report r1 sha256:{ref.report_sha256} concord:report/r1 audit-head:{GENESIS_HASH}"
    expected = SafeTx(safe=SAFE, chain_id=CHAIN_ID, to=GOVERNOR, data=cast_vote_calldata(PROPOSAL, 0, reason), nonce=5)
    assert action.status == "pending" and action.kind == "vote" and action.proposal == str(PROPOSAL)
    assert action.recommendation == {"choice": "against", "support": 0, "reason": reason, "short_reason": "12 people for, 3 against."}
    assert (action.chain_id, action.safe, action.governor, action.nonce) == (CHAIN_ID, SAFE, GOVERNOR, 5)
    assert action.safe_tx_hash == "0x" + safe_tx_hash(expected).hex()
    assert action.typed_data == safe_tx_typed_data(expected)
    assert action.calldata == "0x" + expected.data.hex()
    assert action.created_at == NOW.isoformat() and action.expires_at == (NOW + timedelta(hours=10)).isoformat()
    assert (action.report_id, action.report_sha256, action.confidence) == ("r1", ref.report_sha256, 0.9)
    # recommend checks that the vote can count; the signer's view (describe) asks again
    assert chain.asked_state == [PROPOSAL, PROPOSAL] and chain.asked_voted == [(PROPOSAL, SAFE)] * 2
    [entry] = entries(store)
    assert (entry.action, entry.actor, entry.subject) == ("recommend", "concord", f"action:{action.id}")
    assert entry.payload == {"report_id": "r1", "report_sha256": ref.report_sha256, "choice": "against", "confidence": 0.9,
                             "proposal": str(PROPOSAL), "safe_tx_hash": action.safe_tx_hash}
    with store.session() as session:
        row = session.get(PendingAction, action.id)
        assert row is not None and row.proposal_kind == "governor" and row.safe_tx == expected.to_json()
        assert (row.safe_nonce, row.gas_token, row.refund_receiver) == (5, ZERO_ADDRESS, ZERO_ADDRESS)


def test_recommend_puts_the_public_report_link_and_the_audit_head_in_the_reason(store: Store, chain: StandInChain,
                                                                              report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    service.public_url = "https://concord.example/"
    from governance import audit

    audit.append(store, actor="concord", action="ingest")
    anchored = head_hash(store)
    action = service.recommend(ref_for(report_dir))
    assert action.recommendation["reason"].endswith(f" https://concord.example/reports/r1 audit-head:{anchored}")


def test_recommend_carries_the_gas_terms_into_the_safe_tx(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock, allow_refunds=True)
    terms = GasTerms(safe_tx_gas=50_000, base_gas=2_000, gas_price=10**9, gas_token=OTHER.lower(), refund_receiver=RELAYER.lower())
    action = service.recommend(ref_for(report_dir), gas=terms)
    message = action.typed_data["message"]
    assert (message["safeTxGas"], message["baseGas"], message["gasPrice"]) == (50_000, 2_000, 10**9)
    assert (message["gasToken"], message["refundReceiver"]) == (OTHER, RELAYER)
    assert action.problems == []


def test_recommend_refusals_name_the_rule_and_are_audited(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    refusal = refused(service.recommend, ref_for(report_dir, dao="otherdao"))
    assert refusal.rule == Rule.ALLOWED_DAOS
    entry = last_refusal(store)
    assert (entry.actor, entry.subject) == ("concord", "report:r1")
    assert entry.payload == {"rule": "allowed_daos", "message": refusal.detail, "dao": "otherdao", "proposal": str(PROPOSAL)}

    assert refused(service.recommend, ref_for(report_dir, proposal="0xabc")).rule == Rule.ALLOWED_KINDS
    changed = ref_for(report_dir)
    write_report(report_dir, "r1", {**REPORT, "stance": {"for": 1}})
    assert refused(service.recommend, changed).rule == Rule.REPORT_CHANGED
    assert refused(service.recommend, ref_for(report_dir), gas=GasTerms(gas_price=1)).rule == Rule.REFUNDS_NOT_ALLOWED
    chain.state = "Pending"
    assert refused(service.recommend, ref_for(report_dir)).rule == Rule.PROPOSAL_NOT_ACTIVE
    chain.state, chain.voted = "Active", True
    assert refused(service.recommend, ref_for(report_dir)).rule == Rule.ALREADY_VOTED
    assert chain.asked_voted[-1] == (PROPOSAL, SAFE)
    assert [e.payload["rule"] for e in entries(store)] == ["allowed_daos", "allowed_kinds", "report_changed",
                                                            "refunds_not_allowed", "proposal_not_active", "already_voted"]
    with store.session() as session:
        assert session.exec(select(PendingAction)).all() == []


def test_recommend_needs_a_known_dao_and_a_chain(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    service.policy = VotePolicy(allowed_daos=("testdao", "ghost"))
    with pytest.raises(NotFoundError, match=r"^Unknown DAO 'ghost'; ingest it first \(`concord ingest \.\.\.`\)\.$"):
        service.recommend(ref_for(report_dir, dao="ghost"))
    service.chain = None
    with pytest.raises(ConfigError, match="^No chain configured: set CONCORD_CHAIN__RPC_URL"):
        service.recommend(ref_for(report_dir))
    assert entries(store) == []


def test_a_second_recommendation_for_a_dao_waits_for_the_cooldown(store: Store, chain: StandInChain, report_dir: Path,
                                                                  clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock, cooldown_hours=6)
    store.ensure_dao("otherdao", "Other DAO")
    service.policy = VotePolicy(allowed_daos=("testdao", "otherdao"), cooldown_hours=6)
    service.recommend(ref_for(report_dir))
    clock.now = NOW + timedelta(hours=5)
    service.recommend(ref_for(report_dir, dao="otherdao"))  # another DAO's cool-down is its own
    refusal = refused(service.recommend, ref_for(report_dir))
    assert refusal.rule == Rule.COOLDOWN and "2024-06-01 12:00 UTC" in refusal.detail
    clock.now = NOW + timedelta(hours=6)
    assert service.recommend(ref_for(report_dir)).status == "pending"
    clock.now = NOW + timedelta(hours=11)
    refusal = refused(service.recommend, ref_for(report_dir))
    assert refusal.rule == Rule.COOLDOWN and "2024-06-01 18:00 UTC" in refusal.detail  # the newest one counts


def test_recommend_from_a_hand_made_report_needs_every_field(store: Store, chain: StandInChain, report_dir: Path,
                                                             clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    digest = write_report(report_dir, "hand", {"summary": "made by hand"})
    with pytest.raises(InputError) as caught:
        service.recommend_from_report("hand", dao="testdao", proposal_ref=str(PROPOSAL), choice="For", confidence=0.8)
    assert str(caught.value) == ("Report 'hand' is not a Concord consensus report: pass --dao, --proposal, --choice, "
                                 "--confidence and --reason.")
    for missing in ("dao", "proposal_ref", "choice", "confidence"):
        given: dict[str, Any] = {"dao": "testdao", "proposal_ref": str(PROPOSAL), "choice": "For", "confidence": 0.8, "reason": "r"}
        given.pop(missing)
        with pytest.raises(InputError):
            service.recommend_from_report("hand", **given)
    action = service.recommend_from_report("hand", dao="testdao", proposal_ref=str(PROPOSAL), choice="ABSTAIN", confidence=0.0 + 0.8,
                                           reason="by hand")
    assert action.recommendation["choice"] == "abstain" and action.recommendation["short_reason"] == "by hand"
    assert action.report_sha256 == digest and action.confidence == 0.8
    write_report(report_dir, "half", {"proposal": {"dao": "otherdao", "external_id": "9"}})  # no stance: not a consensus report
    clock.now = NOW + timedelta(hours=2)
    half = service.recommend_from_report("half", dao="testdao", proposal_ref=str(PROPOSAL), choice="for", confidence=0.9, reason="r")
    assert (half.proposal, half.report_id, half.recommendation["choice"]) == (str(PROPOSAL), "half", "for")


# --- describe: what the signer sees is what executes ---------------------------------------------


def test_signers_see_the_transaction_that_executes(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    action = service.recommend(ref_for(report_dir))
    with store.session() as session:
        row = session.get(PendingAction, action.id)
        assert row is not None
        tx = canonical_safe_tx(row)
    assert action.typed_data == safe_tx_typed_data(tx)
    assert action.contract_owner_message == "0x" + encode_transaction_data(tx).hex()
    assert action.safe_tx == tx.to_json() and action.safe_tx_hash == "0x" + safe_tx_hash(tx).hex()
    assert action.rejection_message == rejection_message(action.id, action.safe_tx_hash)
    assert action.call == describe_vote_call(GOVERNOR, tx.data) and "castVoteWithReason: vote For on proposal 4242" in action.call
    assert action.fields == fields_in_words(tx, governor=GOVERNOR)
    assert action.owners == OWNERS and action.threshold == 2 and action.problems == [] and action.warnings == []
    done = sign_all(service, action)
    [(sent, signatures, sender)] = chain.sent
    assert sent == tx and safe_tx_hash(sent).hex() == action.safe_tx_hash.removeprefix("0x")
    signed = [OwnerSignature(owner=o, kind="eip712", signature=parse_hex_signature(sign_as(k, action.typed_data)))
              for o, k in zip(OWNERS[:2], OWNER_KEYS[:2], strict=True)]
    assert signatures == encode_safe_signatures(signed)
    assert sender.address == RELAYER
    assert done.status == "executed" and done.executed_tx_hash == "0x" + "ab" * 32
    assert [s.owner for s in done.signed_by] == OWNERS[:2] and {s.kind for s in done.signed_by} == {"eip712"}
    assert done.signed_by[0].at == service._signatures(action.id)[0].created_at.isoformat()


def test_on_another_chain_the_signer_sees_no_owners_and_a_problem(store: Store, chain: StandInChain, report_dir: Path,
                                                                 clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    action = service.recommend(ref_for(report_dir))
    chain.chain_id = 1
    view = service.describe(action.id)
    assert view.owners is None and view.threshold is None
    assert [p.rule for p in view.problems] == [Rule.WRONG_CHAIN] and view.problems[0].message == "connected to chain 1, the action is for chain 42161."
    assert view.typed_data is None and view.contract_owner_message is None
    assert view.governor == GOVERNOR and view.chain_id == CHAIN_ID
    service.chain = None
    offline = service.describe(action.id)
    assert offline.problems == [] and offline.owners is None and offline.typed_data == action.typed_data


def test_a_changed_report_or_column_is_a_problem_the_signer_sees(store: Store, chain: StandInChain, report_dir: Path,
                                                                 clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    action = service.recommend(ref_for(report_dir))
    write_report(report_dir, "r1", {**REPORT, "extra": 1})
    [changed] = service.describe(action.id).problems
    assert changed.rule == Rule.REPORT_CHANGED and changed.message.startswith("report r1 now hashes to ")
    write_report(report_dir, "r1", REPORT)
    with store.session() as session:
        row = session.get(PendingAction, action.id)
        assert row is not None
        audited = next(e for e in session.exec(select(AuditEntry)).all() if e.action == "recommend")
        audited.payload = {**audited.payload, "safe_tx_hash": "0x" + "00" * 32}
        session.add(audited)
        audited_id = audited.id
    assert [p.rule for p in service.describe(action.id).problems] == [Rule.NOT_AS_RECOMMENDED]
    service.chain = None
    assert [p.rule for p in service.describe(action.id).problems] == [Rule.NOT_AS_RECOMMENDED]
    with store.session() as session:
        audited = session.get(AuditEntry, audited_id)
        assert audited is not None
        audited.payload = {k: v for k, v in audited.payload.items() if k != "safe_tx_hash"}
        session.add(audited)
    [problem] = service.describe(action.id).problems
    assert (problem.rule, problem.message) == (Rule.NOT_AS_RECOMMENDED, "the audit log holds no recommendation for this action.")


def test_closed_actions_show_no_problems(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    action = service.recommend(ref_for(report_dir))
    service.reject(action.id, signer=OWNERS[0], signature=reject_signature(OWNER_KEYS[0], action))
    write_report(report_dir, "r1", {**REPORT, "extra": 1})
    assert service.describe(action.id).problems == []


def test_an_unknown_action_says_how_to_list_them(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    with pytest.raises(NotFoundError, match=r"^No pending action 99\. List them with `concord governance pending`\.$"):
        service.describe(99)


# --- submit_signature --------------------------------------------------------------------------------


def test_one_signature_waits_and_the_threshold_executes(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    action = service.recommend(ref_for(report_dir))
    first = service.submit_signature(action.id, signature=sign_as(OWNER_KEYS[2], action.typed_data))
    assert first.status == "pending" and [s.owner for s in first.signed_by] == [OWNERS[2]] and chain.sent == []
    done = service.submit_signature(action.id, signature=sign_as(OWNER_KEYS[0], action.typed_data), signer=OWNERS[0])
    assert done.status == "executed" and len(chain.sent) == 1
    log = entries(store)
    assert [e.action for e in log] == ["recommend", "approve", "approve", "execute"]
    assert [e.actor for e in log] == ["concord", OWNERS[2], OWNERS[0], "concord"]
    assert log[1].payload == {"kind": "eip712", "safe_tx_hash": action.safe_tx_hash} and log[1].subject == f"action:{action.id}"
    assert log[3].subject == f"action:{action.id}"
    assert log[3].payload == {"tx_hash": "0x" + "ab" * 32, "block": 77, "safe_tx_hash": action.safe_tx_hash,
                              "signers": [OWNERS[2], OWNERS[0]], "report_sha256": action.report_sha256}
    with store.session() as session:
        row = session.get(PendingAction, action.id)
        assert row is not None and row.status == "executed" and row.decided_at is not None
        assert row.decided_at.replace(tzinfo=UTC) == NOW
        stored = session.exec(select(ActionSignature).order_by(col(ActionSignature.id))).all()
        assert [s.signature for s in stored] == [sign_as(OWNER_KEYS[2], action.typed_data), sign_as(OWNER_KEYS[0], action.typed_data)]
    assert verify(store).ok


def test_the_threshold_is_the_safes_own(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    chain.needed = 3
    service = make_service(store, chain, report_dir, clock)
    action = service.recommend(ref_for(report_dir))
    assert sign_all(service, action).status == "pending" and chain.sent == []
    assert sign_all(service, action, OWNER_KEYS[2:]).status == "executed"


def test_signatures_are_only_collected_without_a_sender_or_auto_execute(store: Store, chain: StandInChain, report_dir: Path,
                                                                        clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock, sender=None)
    action = service.recommend(ref_for(report_dir))
    assert sign_all(service, action, OWNER_KEYS).status == "pending" and chain.sent == []
    other = make_service(store, chain, report_dir, clock, cooldown_hours=0)
    other.auto_execute = False
    clock.now = NOW + timedelta(minutes=1)
    second = other.recommend(ref_for(report_dir))
    assert sign_all(other, second, OWNER_KEYS).status == "pending" and chain.sent == []


def test_signature_refusals_name_the_rule_and_the_claimed_signer(store: Store, chain: StandInChain, report_dir: Path,
                                                                  clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    action = service.recommend(ref_for(report_dir))
    good = sign_as(OWNER_KEYS[0], action.typed_data)
    service.submit_signature(action.id, signature=good)
    refusal = refused(service.submit_signature, action.id, signature=good, signer=OWNERS[0])
    assert (refusal.rule, refusal.detail) == (Rule.DUPLICATE, f"{OWNERS[0]} has already signed action {action.id}.")
    entry = last_refusal(store)
    assert entry.subject == f"action:{action.id}" and entry.payload == {"rule": "duplicate", "message": refusal.detail, "signer": OWNERS[0]}
    assert refused(service.submit_signature, action.id, signature=sign_as(OUTSIDER_KEY, action.typed_data)).rule == Rule.NOT_OWNER
    assert last_refusal(store).payload["signer"] is None
    signed_tx = dict(action.typed_data["message"], nonce=6)
    assert refused(service.submit_signature, action.id, signature=sign_as(OWNER_KEYS[1], action.typed_data),
                   signed_tx=signed_tx).rule == Rule.TAMPERED_NONCE
    chain.safe_nonce = 6
    assert refused(service.submit_signature, action.id, signature=sign_as(OWNER_KEYS[1], action.typed_data)).rule == Rule.WRONG_NONCE
    chain.safe_nonce = 5
    write_report(report_dir, "r1", {**REPORT, "extra": 1})
    assert refused(service.submit_signature, action.id, signature=sign_as(OWNER_KEYS[1], action.typed_data)).rule == Rule.REPORT_CHANGED
    write_report(report_dir, "r1", REPORT)
    clock.now = NOW + timedelta(hours=72)
    assert refused(service.submit_signature, action.id, signature=sign_as(OWNER_KEYS[1], action.typed_data)).rule == Rule.EXPIRY
    assert chain.sent == [] and len(service._signatures(action.id)) == 1


def test_a_signature_checks_the_chain_before_the_audit_record(store: Store, chain: StandInChain, report_dir: Path,
                                                               clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    action = service.recommend(ref_for(report_dir))
    with store.session() as session:
        for entry in session.exec(select(AuditEntry)).all():
            session.delete(entry)
    refusal = refused(service.submit_signature, action.id, signature=sign_as(OWNER_KEYS[0], action.typed_data))
    assert refusal.rule == Rule.NOT_AS_RECOMMENDED
    chain.governor_address = OTHER
    assert refused(service.submit_signature, action.id, signature=sign_as(OWNER_KEYS[0], action.typed_data)).rule == Rule.WRONG_GOVERNOR
    service.chain = None
    with pytest.raises(ConfigError):
        service.submit_signature(action.id, signature=sign_as(OWNER_KEYS[0], action.typed_data))


def test_a_tampered_stored_transaction_is_refused(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    action = service.recommend(ref_for(report_dir))
    with store.session() as session:
        row = session.get(PendingAction, action.id)
        assert row is not None
        row.safe_tx_hash = "0x" + "11" * 32
        session.add(row)
    assert refused(service.submit_signature, action.id, signature=sign_as(OWNER_KEYS[0], action.typed_data)).rule == Rule.TAMPERED_HASH


# --- execute re-checks every rule itself ---------------------------------------------------------


def signed_by_two(store: Store, chain: StandInChain, report_dir: Path, clock: Clock, **kwargs: Any) -> tuple[GovernanceService, ActionView]:
    service = make_service(store, chain, report_dir, clock, **kwargs)
    service.auto_execute = False
    action = service.recommend(ref_for(report_dir))
    sign_all(service, action)
    return service, action


def assert_not_executed(store: Store, chain: StandInChain, service: GovernanceService, action_id: int, rule: Rule) -> None:
    assert chain.sent == [] or rule == Rule.EXECUTION_FAILED
    assert service.describe(action_id).status == "pending"
    entry = last_refusal(store)
    assert entry.payload["rule"] == rule and entry.subject == f"action:{action_id}" and set(entry.payload) == {"rule", "message"}
    assert "execute" not in [e.action for e in entries(store)]


def test_execute_checks_the_configured_safe(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service, action = signed_by_two(store, chain, report_dir, clock)
    chain.safe_address = OTHER
    assert refused(service.execute, action.id).rule == Rule.WRONG_SAFE
    assert_not_executed(store, chain, service, action.id, Rule.WRONG_SAFE)


def test_execute_checks_the_safe_has_not_voted(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service, action = signed_by_two(store, chain, report_dir, clock)
    chain.voted = True
    chain.asked_voted.clear()
    assert refused(service.execute, action.id).rule == Rule.ALREADY_VOTED
    assert chain.asked_voted == [(PROPOSAL, SAFE)]
    assert_not_executed(store, chain, service, action.id, Rule.ALREADY_VOTED)


def test_execute_checks_the_proposal_is_still_active(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service, action = signed_by_two(store, chain, report_dir, clock)
    chain.state = "Defeated"
    chain.asked_state.clear()
    refusal = refused(service.execute, action.id)
    assert refusal.rule == Rule.PROPOSAL_NOT_ACTIVE and chain.asked_state == [PROPOSAL]
    assert refusal.detail == f"proposal {PROPOSAL} is Defeated; votes are only cast while Active."
    assert_not_executed(store, chain, service, action.id, Rule.PROPOSAL_NOT_ACTIVE)


def test_a_failed_inner_call_is_execution_failed_not_executed(store: Store, chain: StandInChain, report_dir: Path,
                                                              clock: Clock) -> None:
    service, action = signed_by_two(store, chain, report_dir, clock)
    chain.succeeds = False
    refusal = refused(service.execute, action.id)
    assert refusal.rule == Rule.EXECUTION_FAILED and refusal.detail == f"execTransaction 0x{'ab' * 32} ran but the inner call failed."
    assert len(chain.sent) == 1
    assert_not_executed(store, chain, service, action.id, Rule.EXECUTION_FAILED)


def test_execute_waits_for_the_threshold(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    service.auto_execute = False
    action = service.recommend(ref_for(report_dir))
    assert refused(service.execute, action.id).rule == Rule.THRESHOLD
    sign_all(service, action, OWNER_KEYS[:1])
    refusal = refused(service.execute, action.id)
    assert refusal.rule == Rule.THRESHOLD and refusal.detail.startswith("1 of 2 required")
    assert_not_executed(store, chain, service, action.id, Rule.THRESHOLD)
    sign_all(service, action, OWNER_KEYS[1:2])
    chain.needed = 3
    assert refused(service.execute, action.id).rule == Rule.THRESHOLD


def test_execute_verifies_each_stored_signature_against_the_current_owners(store: Store, chain: StandInChain, report_dir: Path,
                                                                          clock: Clock) -> None:
    service, action = signed_by_two(store, chain, report_dir, clock)
    chain.owner_list = [OWNERS[1], OWNERS[2], OUTSIDER]
    assert refused(service.execute, action.id).rule == Rule.NOT_OWNER
    assert_not_executed(store, chain, service, action.id, Rule.NOT_OWNER)


def test_execute_rechecks_expiry_report_and_stored_transaction(store: Store, chain: StandInChain, report_dir: Path,
                                                                clock: Clock) -> None:
    service, action = signed_by_two(store, chain, report_dir, clock)
    write_report(report_dir, "r1", {**REPORT, "extra": 1})
    assert refused(service.execute, action.id).rule == Rule.REPORT_CHANGED
    write_report(report_dir, "r1", REPORT)
    chain.safe_nonce = 9
    assert refused(service.execute, action.id).rule == Rule.WRONG_NONCE
    chain.safe_nonce = 5
    clock.now = NOW + timedelta(hours=72)
    assert refused(service.execute, action.id).rule == Rule.EXPIRY
    assert chain.sent == []


def test_a_contract_owners_signature_is_checked_through_the_chain_at_signing_and_at_execution(
        store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    from governance.signatures import EIP1271_LEGACY_MAGIC
    from tests.governance.test_signature_rules import CONTRACT_OWNER, FakeContractOwner

    contract = FakeContractOwner(CONTRACT_OWNER, EIP1271_LEGACY_MAGIC)
    chain.w3 = contract
    chain.owner_list = [CONTRACT_OWNER, *OWNERS[:2]]
    service = make_service(store, chain, report_dir, clock)
    service.auto_execute = False
    action = service.recommend(ref_for(report_dir))
    view = service.submit_signature(action.id, signature="0x1234", signer=CONTRACT_OWNER.lower())
    assert [(s.owner, s.kind) for s in view.signed_by] == [(CONTRACT_OWNER, "eip1271")]
    sign_all(service, action, OWNER_KEYS[:1])
    service.execute(action.id)
    [(_, signatures, _)] = chain.sent
    assert len(contract.calls) == 2  # once when signed, again before execution
    assert signatures == encode_safe_signatures([
        OwnerSignature(owner=CONTRACT_OWNER, kind="eip1271", signature=b"\x12\x34"),
        OwnerSignature(owner=OWNERS[0], kind="eip712", signature=parse_hex_signature(sign_as(OWNER_KEYS[0], action.typed_data)))])


def test_execute_needs_a_sender(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service, action = signed_by_two(store, chain, report_dir, clock, sender=None)
    with pytest.raises(ConfigError, match=r"^No transaction sender configured: set a relayer \(it pays gas; it is not an owner\)\.$"):
        service.execute(action.id)
    assert chain.sent == []


def test_an_execution_is_checkpointed_at_once(store: Store, chain: StandInChain, report_dir: Path, clock: Clock,
                                              tmp_path: Path) -> None:
    checkpointer = Checkpointer(key="0x" + "4c" * 32, every=50, mirror=tmp_path / "mirror.jsonl")
    service, action = signed_by_two(store, chain, report_dir, clock, checkpointer=checkpointer)
    service.execute(action.id)
    log = entries(store)
    assert [e.action for e in log][-2:] == ["execute", "checkpoint"]
    assert log[-1].subject == f"action:{action.id}" and log[-1].payload["head_hash"] == log[-2].entry_hash
    assert verify(store, signer=checkpointer.address, mirror=checkpointer.mirror).ok
    refused(service.submit_signature, action.id, signature=sign_as(OWNER_KEYS[2], action.typed_data))
    assert [e.action for e in entries(store)][-1] == "refuse"
    every = Checkpointer(key="0x" + "4c" * 32, every=1)
    service.checkpointer = every
    refused(service.execute, action.id)
    assert [e.action for e in entries(store)][-2:] == ["refuse", "checkpoint"]  # refusals take the service's checkpointer
    clock.now = NOW + timedelta(hours=2)
    second = service.recommend(ref_for(report_dir))
    sign_all(service, second)
    service.execute(second.id)
    tail = entries(store)[-3:]
    assert [(e.action, e.subject) for e in tail] == [("execute", f"action:{second.id}"), ("checkpoint", "every"),
                                                     ("checkpoint", f"action:{second.id}")]  # the execute entry counts too


# --- reject, expire, list, recover ----------------------------------------------------------------


def test_an_owner_rejection_closes_the_action(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    action = service.recommend(ref_for(report_dir))
    clock.now = NOW + timedelta(hours=1)
    view = service.reject(action.id, signer=OWNERS[1].lower(), signature=reject_signature(OWNER_KEYS[1], action))
    assert view.status == "rejected" and view.note == f"rejected by {OWNERS[1]}"
    with store.session() as session:
        row = session.get(PendingAction, action.id)
        assert row is not None and row.decided_at is not None
        assert row.decided_at.replace(tzinfo=UTC) == NOW + timedelta(hours=1)
    entry = entries(store)[-1]
    assert (entry.action, entry.actor, entry.subject, entry.payload) == ("reject", OWNERS[1], f"action:{action.id}",
                                                                         {"safe_tx_hash": action.safe_tx_hash})
    assert refused(service.submit_signature, action.id, signature=sign_as(OWNER_KEYS[0], action.typed_data)).rule == Rule.NOT_PENDING
    assert refused(service.execute, action.id).rule == Rule.NOT_PENDING


def test_an_approval_is_checkpointed_like_every_entry(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock, checkpointer=Checkpointer(key="0x" + "4c" * 32, every=1))
    action = service.recommend(ref_for(report_dir))
    sign_all(service, action, OWNER_KEYS[:1])
    assert [e.action for e in entries(store)][-2:] == ["approve", "checkpoint"]


def test_a_rejection_is_checkpointed_like_every_entry(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock, checkpointer=Checkpointer(key="0x" + "4c" * 32, every=1))
    action = service.recommend(ref_for(report_dir))
    service.reject(action.id, signer=OWNERS[1], signature=reject_signature(OWNER_KEYS[1], action))
    assert [e.action for e in entries(store)][-2:] == ["reject", "checkpoint"]


def test_a_rejection_must_be_signed_by_the_owner_who_claims_it(store: Store, chain: StandInChain, report_dir: Path,
                                                               clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    action = service.recommend(ref_for(report_dir))
    refusal = refused(service.reject, action.id, signer=OWNERS[0], signature=reject_signature(OWNER_KEYS[1], action))
    assert refusal.rule == Rule.BAD_SIGNATURE
    assert last_refusal(store).payload == {"rule": "bad_signature", "message": refusal.detail, "signer": OWNERS[0]}
    assert last_refusal(store).subject == f"action:{action.id}"
    outsider = refused(service.reject, action.id, signer=OUTSIDER, signature=reject_signature(OUTSIDER_KEY, action))
    assert (outsider.rule, outsider.detail) == (Rule.NOT_OWNER, f"{OUTSIDER} is not an owner of Safe {SAFE}.")
    other = SimpleNamespace(id=action.id + 1, safe_tx_hash=action.safe_tx_hash)
    assert refused(service.reject, action.id, signer=OWNERS[0], signature=reject_signature(OWNER_KEYS[0], other)).rule == Rule.BAD_SIGNATURE
    clock.now = NOW + timedelta(hours=72)
    assert refused(service.reject, action.id, signer=OWNERS[0], signature=reject_signature(OWNER_KEYS[0], action)).rule == Rule.EXPIRY
    assert service.describe(action.id).status == "pending"
    service.chain = None
    clock.now = NOW
    with pytest.raises(ConfigError):
        service.reject(action.id, signer=OWNERS[0], signature=reject_signature(OWNER_KEYS[0], action))


def test_overdue_actions_expire_at_their_expiry(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock, expiry_hours=2)
    action = service.recommend(ref_for(report_dir))
    clock.now = NOW + timedelta(hours=2) - timedelta(microseconds=1)
    assert service.expire_overdue() == []
    [summary] = service.list_pending()
    assert (summary.id, summary.dao, summary.kind, summary.status, summary.proposal, summary.choice) == (
        action.id, "testdao", "vote", "pending", str(PROPOSAL), "for")
    assert (summary.confidence, summary.report_id, summary.report_sha256, summary.safe_tx_hash) == (
        0.9, "r1", action.report_sha256, action.safe_tx_hash)
    assert summary.expires_at == (NOW + timedelta(hours=2)).isoformat() and summary.signatures == 0
    assert summary.executed_tx_hash is None
    sign_all(service, action, OWNER_KEYS[:1])
    assert service.list_pending()[0].signatures == 1
    clock.now = NOW + timedelta(hours=2)
    assert service.list_pending() == []
    [closed] = service.list_pending(include_closed=True)
    assert closed.status == "expired"
    entry = entries(store)[-1]
    assert (entry.action, entry.actor, entry.subject) == ("expire", "concord", f"action:{action.id}")
    assert entry.payload == {"expires_at": (NOW + timedelta(hours=2)).isoformat()}
    assert service.expire_overdue() == []
    assert refused(service.execute, action.id).rule == Rule.NOT_PENDING


def test_expiry_is_recorded_with_its_time_and_checkpointed(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock, expiry_hours=2)
    action = service.recommend(ref_for(report_dir))
    service.checkpointer = Checkpointer(key="0x" + "4c" * 32, every=1)
    clock.now = NOW + timedelta(hours=3)
    assert service.expire_overdue() == [action.id]
    assert [e.action for e in entries(store)][-2:] == ["expire", "checkpoint"]
    with store.session() as session:
        row = session.get(PendingAction, action.id)
        assert row is not None and row.status == "expired" and row.decided_at is not None
        assert row.decided_at.replace(tzinfo=UTC) == NOW + timedelta(hours=3)


def test_the_list_shows_an_executed_actions_transaction(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    sign_all(service, service.recommend(ref_for(report_dir)))
    [summary] = service.list_pending(include_closed=True)
    assert (summary.status, summary.executed_tx_hash, summary.signatures) == ("executed", "0x" + "ab" * 32, 2)


def test_list_pending_shows_the_newest_first(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock, cooldown_hours=0)
    first = service.recommend(ref_for(report_dir))
    clock.now = NOW + timedelta(minutes=1)
    second = service.recommend(ref_for(report_dir))
    assert [a.id for a in service.list_pending()] == [second.id, first.id]
    assert service.expire_overdue() == []


def test_an_execution_found_on_chain_is_recorded_once(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service, action = signed_by_two(store, chain, report_dir, clock)
    assert service.recover_execution(action.id) is None
    chain.executions[action.safe_tx_hash] = ExecutionResult(tx_hash="0x" + "cd" * 32, success=True, block_number=12)
    view = service.recover_execution(action.id)
    assert view is not None and view.status == "executed" and view.executed_tx_hash == "0x" + "cd" * 32
    # the gateway is told the transaction's Safe nonce and when it was prepared, which bound what it must scan
    assert chain.asked_execution[-1] == (action.safe_tx_hash, action.nonce, NOW)
    entry = entries(store)[-1]
    assert (entry.action, entry.actor) == ("execute", "concord")
    assert entry.payload == {"tx_hash": "0x" + "cd" * 32, "block": 12, "safe_tx_hash": action.safe_tx_hash,
                             "signers": OWNERS[:2], "report_sha256": action.report_sha256, "recovered_from_chain": True}
    assert service.recover_execution(action.id) is None  # no longer pending
    assert [e.action for e in entries(store)].count("execute") == 1
    service.chain = None
    assert service.recover_execution(action.id) is None


def test_without_a_chain_there_is_nothing_to_recover(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service, action = signed_by_two(store, chain, report_dir, clock)
    chain.executions[action.safe_tx_hash] = ExecutionResult(tx_hash="0x" + "cd" * 32, success=True, block_number=12)
    service.chain = None
    assert service.recover_execution(action.id) is None
    assert service.describe(action.id).status == "pending"


# --- the Safe Transaction Service route -------------------------------------------------------------


@dataclass
class StandInSafeService:
    base_url: str = "https://safe-service.example"
    delegation_list: list[Delegation] = field(default_factory=list)
    proposed: list[tuple[SafeTx, str, str]] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    confirmations: list[Confirmation] = field(default_factory=list)

    def delegations(self, *, delegate: str) -> list[Delegation]:
        self.asked.append(delegate)
        return list(self.delegation_list)

    def propose(self, tx: SafeTx, *, sender: str, signature: str) -> str:
        self.proposed.append((tx, sender, signature))
        return "0x" + safe_tx_hash(tx).hex()

    def get_transaction(self, safe_tx_hash_hex: str) -> Any:
        self.asked.append(safe_tx_hash_hex)
        return SimpleNamespace(confirmations=list(self.confirmations))


def test_a_delegated_proposer_queues_the_action_and_it_is_audited(store: Store, chain: StandInChain, report_dir: Path,
                                                                   clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    action = service.recommend(ref_for(report_dir))
    proposer = LocalProposerKey(PROPOSER_KEY)
    client = StandInSafeService(delegation_list=[Delegation(delegate=proposer.address, delegator=OWNERS[1], safe=SAFE,
                                                            expiry_date=NOW + timedelta(seconds=1))])
    service.propose_to_safe_service(action.id, client=client, proposer=proposer)  # type: ignore[arg-type]
    [(tx, sender, signature)] = client.proposed
    assert "0x" + safe_tx_hash(tx).hex() == action.safe_tx_hash and sender == proposer.address
    assert signature == "0x" + proposer.sign_hash(safe_tx_hash(tx)).hex() and client.asked == [proposer.address]
    entry = entries(store)[-1]
    assert (entry.action, entry.actor, entry.subject) == ("propose_safe_service", proposer.address, f"action:{action.id}")
    assert entry.payload == {"safe_tx_hash": action.safe_tx_hash, "service": "https://safe-service.example", "delegator": OWNERS[1]}
    service.checkpointer = Checkpointer(key="0x" + "4c" * 32, every=1)
    service.propose_to_safe_service(action.id, client=client, proposer=proposer)  # type: ignore[arg-type]
    assert [e.action for e in entries(store)][-2:] == ["propose_safe_service", "checkpoint"]


def test_a_proposer_must_be_delegated_and_never_an_owner(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    action = service.recommend(ref_for(report_dir))
    proposer = LocalProposerKey(PROPOSER_KEY)
    client = StandInSafeService()
    assert refused(service.propose_to_safe_service, action.id, client=client, proposer=proposer).rule == Rule.NOT_A_PROPOSER
    client.delegation_list = [Delegation(delegate=proposer.address, delegator=OWNERS[0], expiry_date=NOW)]
    refusal = refused(service.propose_to_safe_service, action.id, client=client, proposer=proposer)
    assert refusal.rule == Rule.PROPOSER_EXPIRED
    assert last_refusal(store).payload == {"rule": "proposer_expired", "message": refusal.detail}
    assert last_refusal(store).subject == f"action:{action.id}"
    owner = LocalProposerKey(OWNER_KEYS[0])
    client.asked.clear()
    assert refused(service.propose_to_safe_service, action.id, client=client, proposer=owner).rule == Rule.PROPOSER_IS_OWNER
    assert client.asked == [] and client.proposed == []
    chain.safe_nonce = 6
    client.delegation_list = [Delegation(delegate=proposer.address, delegator=OWNERS[0])]
    assert refused(service.propose_to_safe_service, action.id, client=client, proposer=proposer).rule == Rule.WRONG_NONCE
    assert client.proposed == [] and client.asked == []


def test_confirmations_from_the_safe_service_are_verified_like_any_signature(store: Store, chain: StandInChain, report_dir: Path,
                                                                              clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    service.auto_execute = False
    action = service.recommend(ref_for(report_dir))
    sign_all(service, action, OWNER_KEYS[:1])
    client = StandInSafeService(confirmations=[
        Confirmation(owner=OWNERS[0], signature="0x00"),  # known already: not submitted again
        Confirmation(owner=OUTSIDER, signature=sign_as(OUTSIDER_KEY, action.typed_data)),
        Confirmation(owner=OWNERS[1], signature=sign_as(OWNER_KEYS[1], action.typed_data)),
    ])
    view = service.sync_from_safe_service(action.id, client=client)  # type: ignore[arg-type]
    assert client.asked == [action.safe_tx_hash]
    assert [s.owner for s in view.signed_by] == OWNERS[:2]
    [bad] = view.refused_confirmations
    assert (bad.owner, bad.rule) == (OUTSIDER, Rule.NOT_OWNER) and bad.message == last_refusal(store).payload["message"]
    assert [e.payload.get("signer") for e in entries(store) if e.action == "refuse"] == [OUTSIDER]


def test_confirmations_stop_once_the_action_executed(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    action = service.recommend(ref_for(report_dir))
    client = StandInSafeService(confirmations=[Confirmation(owner=o, signature=sign_as(k, action.typed_data))
                                               for o, k in zip(OWNERS, OWNER_KEYS, strict=True)])
    view = service.sync_from_safe_service(action.id, client=client)  # type: ignore[arg-type]
    assert view.status == "executed" and len(view.signed_by) == 2 and view.refused_confirmations == []
    assert len(chain.sent) == 1 and "refuse" not in [e.action for e in entries(store)]


# --- wiring from settings ---------------------------------------------------------------------------------


def test_build_governance_wires_chain_relayer_and_public_url(store: Store, tmp_path: Path) -> None:
    from web3 import Web3

    from governance.chain.gateway import ChainGateway
    from ingest.core.settings import ConcordSettings

    (tmp_path / "reports").mkdir()
    write_report(tmp_path / "reports", "r7", REPORT)
    retriever = object()
    bare = build_governance(ConcordSettings(data_dir=tmp_path), store=store, post_retriever=retriever)  # type: ignore[arg-type]
    assert bare.reports.read_report("r7") == REPORT and bare.post_retriever is retriever and bare.store is store
    with pytest.raises(NotFoundError):
        bare.reports.read_report("7")  # numeric ids are the store's reports
    assert bare.chain is None and bare.sender is None and bare.public_url is None and bare.checkpointer is not None
    assert bare.policy == VotePolicy.from_settings(ConcordSettings(data_dir=tmp_path).policy)
    settings = ConcordSettings(data_dir=tmp_path, chain={"safe_address": SAFE, "governor_address": GOVERNOR, "relayer_address": RELAYER},
                               web={"public_origins": ["https://concord.example"]})
    wired = build_governance(settings, store=store, w3=Web3())
    assert isinstance(wired.chain, ChainGateway) and (wired.chain.safe.address, wired.chain.governor.address) == (SAFE, GOVERNOR)
    assert isinstance(wired.sender, NodeAccountSender) and wired.public_url == "https://concord.example"
    keyed = ConcordSettings(data_dir=tmp_path, chain={"safe_address": SAFE, "governor_address": GOVERNOR,
                                                      "relayer_key": "0x" + "8f" * 32, "rpc_url": "http://127.0.0.1:1"})
    by_key = build_governance(keyed, store=store)
    assert isinstance(by_key.sender, LocalKeySender) and isinstance(by_key.chain, ChainGateway)
    assert by_key.sender.address == Account.from_key("0x" + "8f" * 32).address
    assert by_key.chain.w3.provider.endpoint_uri == "http://127.0.0.1:1"
    assert wired.sender.address == RELAYER and wired.chain.w3 is not by_key.chain.w3
    given = NodeAccountSender(RELAYER)
    assert build_governance(keyed, store=store, sender=given).sender is given
    no_rpc = ConcordSettings(data_dir=tmp_path, chain={"safe_address": SAFE, "governor_address": GOVERNOR})
    assert build_governance(no_rpc, store=store).chain is None
    half = ConcordSettings(data_dir=tmp_path, chain={"safe_address": SAFE, "rpc_url": "http://127.0.0.1:1"})
    assert build_governance(half, store=store).chain is None


# --- drafting -----------------------------------------------------------------------------------------


def test_a_draft_is_stored_and_audited_never_sent(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    import hashlib

    from ingest.core.domain import GovernanceDraft

    service = make_service(store, chain, report_dir, clock)
    target = to_checksum_address("0x" + "3d" * 20)
    view = service.draft(dao="testdao", idea="Fund a security audit of the bridge", title="Bridge audit",
                         actions=[f"{target}:transfer(address,uint256):{OUTSIDER},1000"], author=OWNERS[0])
    assert view.title == "Bridge audit" and view.governor_tx is not None
    assert view.governor_tx["to"] == GOVERNOR and view.governor_tx["targets"] == [target]  # the chain's Governor
    assert view.snapshot_payload["message"]["from"] == OWNERS[0]
    assert view.snapshot_payload["message"]["timestamp"] == int(NOW.timestamp())
    with store.session() as session:
        [row] = session.exec(select(GovernanceDraft)).all()
        assert (row.id, row.idea, row.title, row.body, row.governor_tx) == (view.id, "Fund a security audit of the bridge",
                                                                            "Bridge audit", view.body, view.governor_tx)
        assert row.created_at.replace(tzinfo=UTC) == NOW and len(row.actions) == len(view.actions) == 1 and row.citations == []
        assert row.snapshot_payload == view.snapshot_payload
    [entry] = entries(store)
    assert (entry.action, entry.actor, entry.subject) == ("draft", "concord", f"draft:{view.id}")
    assert entry.payload == {"dao": "testdao", "title": "Bridge audit", "cited_posts": [],
                             "governor_calldata_sha256": hashlib.sha256(view.governor_tx["data"].encode()).hexdigest()}
    assert chain.sent == []
    assert view.expectation is not None and view.expectation.prediction["method"] == "base-rate"  # the DAO's expectation
    other = service.draft(dao="testdao", idea="Rename the forum to the DAO hall", governor_address=OTHER, actions=[f"{target}:pause()"])
    assert other.governor_tx is not None and other.governor_tx["to"] == OTHER
    service.chain = None
    plain = service.draft(dao="testdao", idea="Rename the forum to the DAO hall", actions=[f"{target}:pause()"])
    assert plain.governor_tx is None and plain.snapshot_payload["message"]["from"] == ZERO_ADDRESS
    assert entries(store)[-1].payload["governor_calldata_sha256"] == hashlib.sha256(b"").hexdigest()


# --- recommendations read from a consensus report ------------------------------------------------------


ALICE = to_checksum_address("0x" + "a1" * 20)
CAROL = to_checksum_address("0x" + "c3" * 20)


def discussion(store: Store) -> tuple[dict[str, int], int]:
    """Alice (an address, posting on the forum and on Discord), Bob (no address) and Carol (an address) on a proposal
    Alice's address voted on with 100 and Carol's with 0.5."""
    from ingest.core.domain import Author, Dao, Post, Proposal, Source, Thread, Vote

    with store.session() as session:
        dao = session.exec(select(Dao).where(Dao.slug == "testdao")).one()
        forum = Source(dao_id=dao.id, kind="discourse", locator="https://forum.example")
        chat = Source(dao_id=dao.id, kind="discord", locator="123")
        session.add_all([forum, chat])
        session.flush()
        people = {"alice": Author(source_id=forum.id, handle="alice", address=ALICE),
                  "alice2": Author(source_id=chat.id, handle="alice#1", address=ALICE.lower()),
                  "bob": Author(source_id=forum.id, handle="bob"),
                  "carol": Author(source_id=forum.id, handle="carol", address=CAROL)}
        session.add_all(people.values())
        thread = Thread(source_id=forum.id, external_id="t1")
        session.add(thread)
        session.flush()
        posts = {}
        for n, name in enumerate(["alice", "alice2", "bob", "carol"], start=1):
            post = Post(source_id=people[name].source_id, thread_id=thread.id, external_id=f"p{n}", author_id=people[name].id,
                        text=f"post {n}", content_hash=f"{n:064x}")
            session.add(post)
            session.flush()
            posts[name] = int(post.id)
        proposal = Proposal(dao_id=dao.id, origin="governor", external_id=str(PROPOSAL))
        session.add(proposal)
        session.flush()
        session.add_all([Vote(proposal_id=proposal.id, voter=ALICE.lower(), voting_power=100.0),
                         Vote(proposal_id=proposal.id, voter=CAROL, voting_power=0.5)])
        return posts, int(proposal.id)


def consensus_report(report_dir: Path, posts: dict[str, int], proposal_row: Any, labels: dict[str, str]) -> str:
    body = {"proposal": {"id": proposal_row, "dao": "testdao", "external_id": str(PROPOSAL), "origin": "governor"},
            "stance": {"by_post": [{"post_id": posts[name], "label": label} for name, label in labels.items()]},
            "prediction": {"probability_pass": 0.8, "model": "logistic regression trained on 12 closed proposals"}}
    return write_report(report_dir, "c1", body)


def test_a_consensus_report_counts_people_through_the_stores_authors(store: Store, chain: StandInChain, report_dir: Path,
                                                                     clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    posts, proposal_row = discussion(store)
    digest = consensus_report(report_dir, posts, proposal_row, {"alice": "for", "alice2": "for", "bob": "against", "carol": "for"})
    ref = service.reference_from_report("c1")
    assert (ref.report_id, ref.report_sha256, ref.dao, ref.proposal_ref, ref.choice, ref.confidence) == (
        "c1", digest, "testdao", str(PROPOSAL), "for", 0.8)
    # Alice's two accounts are one person, her power counted once; Bob has no address and no power
    assert ref.reason == ("Discussion: 2 people for, 1 against, 0 neutral (linked voting power 100.5 for, 0 against); "
                          "predicted pass probability 0.80.")
    action = service.recommend_from_report("c1")
    assert action.recommendation["choice"] == "for" and action.recommendation["short_reason"] == ref.reason
    assert action.report_sha256 == digest and action.confidence == 0.8


def test_one_person_with_two_accounts_is_one_voice(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    posts, proposal_row = discussion(store)
    consensus_report(report_dir, posts, proposal_row, {"alice": "against", "alice2": "against", "bob": "for", "carol": "for"})
    ref = service.reference_from_report("c1")
    assert ref.reason.startswith("Discussion: 2 people for, 1 against, 0 neutral (linked voting power 0.5 for, 100 against)")
    consensus_report(report_dir, posts, str(proposal_row), {"alice": "against", "bob": "for"})  # no store id: no power
    assert service.reference_from_report("c1").reason.startswith("Discussion: 1 people for, 1 against, 0 neutral;")
    write_report(report_dir, "c1", {"proposal": {"dao": "testdao", "external_id": str(PROPOSAL)},
                                    "stance": {"by_post": [{"author": "x", "label": "for"}]}})
    assert service.reference_from_report("c1").reason.startswith("Discussion: 0 people for, 0 against, 0 neutral;")


def test_overrides_of_a_consensus_report_replace_only_what_is_given(store: Store, chain: StandInChain, report_dir: Path,
                                                                    clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    posts, proposal_row = discussion(store)
    consensus_report(report_dir, posts, proposal_row, {"alice": "for", "bob": "against", "carol": "for"})
    action = service.recommend_from_report("c1", choice="Against", confidence=0.75, reason="the delegates' call")
    assert action.recommendation["choice"] == "against" and action.confidence == 0.75
    assert action.recommendation["short_reason"] == "the delegates' call" and action.proposal == str(PROPOSAL)
    with pytest.raises(NotFoundError, match="^No report 'absent' at "):
        service.recommend_from_report("absent", dao="testdao", proposal_ref="1", choice="for", confidence=0.9, reason="r")


def test_a_draft_is_written_with_the_body_writer_it_is_given(store: Store, chain: StandInChain, report_dir: Path, clock: Clock) -> None:
    asked: list[tuple[str, str, tuple[str, ...]]] = []

    class StandInBodyWriter:
        model = "stand-in"

        def write_body(self, *, dao_name: str, title: str, headings: Any) -> str:
            asked.append((dao_name, title, tuple(headings)))
            return ""

    service = make_service(store, chain, report_dir, clock, checkpointer=Checkpointer(key="0x" + "4c" * 32, every=1))
    service.draft(dao="testdao", idea="Fund a security audit of the bridge", title="Bridge audit", body_writer=StandInBodyWriter())
    assert [(dao, title) for dao, title, _ in asked] == [("Test DAO", "Bridge audit")]
    assert [e.action for e in entries(store)] == ["draft", "checkpoint"]  # drafts take the service's checkpointer


def test_a_vote_that_can_no_longer_count_is_neither_signed_nor_queued(store: Store, chain: StandInChain, report_dir: Path,
                                                                      clock: Clock) -> None:
    service = make_service(store, chain, report_dir, clock)
    action = service.recommend(ref_for(report_dir))
    proposer = LocalProposerKey(PROPOSER_KEY)
    client = StandInSafeService(delegation_list=[Delegation(delegate=proposer.address, delegator=OWNERS[1], safe=SAFE)])
    chain.state = "Defeated"  # voting closed after the recommendation
    [problem] = service.describe(action.id).problems
    assert problem.rule == Rule.PROPOSAL_NOT_ACTIVE and problem.message == f"proposal {PROPOSAL} is Defeated; votes are only cast while Active."
    signing = refused(service.submit_signature, action.id, signature=sign_as(OWNER_KEYS[0], action.typed_data), signer=OWNERS[0])
    assert signing.rule == Rule.PROPOSAL_NOT_ACTIVE and last_refusal(store).payload["rule"] == "proposal_not_active"
    assert refused(service.propose_to_safe_service, action.id, client=client, proposer=proposer).rule == Rule.PROPOSAL_NOT_ACTIVE
    assert client.proposed == [] and client.asked == []
    chain.state, chain.voted = "Active", True  # the Safe voted some other way meanwhile
    assert [p.rule for p in service.describe(action.id).problems] == [Rule.ALREADY_VOTED]
    assert refused(service.submit_signature, action.id, signature=sign_as(OWNER_KEYS[0], action.typed_data)).rule == Rule.ALREADY_VOTED
    assert refused(service.propose_to_safe_service, action.id, client=client, proposer=proposer).rule == Rule.ALREADY_VOTED
    assert client.proposed == [] and service.describe(action.id).signed_by == []
    chain.voted = False
    assert service.describe(action.id).problems == []
    service.propose_to_safe_service(action.id, client=client, proposer=proposer)  # type: ignore[arg-type]
    assert len(client.proposed) == 1
