"""End to end on a real EVM: proposal on chain -> report -> recommendation -> two owner signatures -> vote cast."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from eth_account import Account

from governance.audit import verify
from governance.chain.gateway import ChainGateway
from governance.chain.keys import NodeAccountSender
from governance.chain.safe_tx import SafeTx, safe_tx_hash
from governance.errors import GovernanceRefusal, Rule
from governance.policy import VotePolicy
from governance.reports import DirectoryReportSource, ReportRef
from governance.service import GovernanceService
from governance.views import ActionView
from ingest.core.domain import AuditEntry, PendingAction
from ingest.core.store import Store
from tests.governance.conftest import ChainEnv, sign_as, write_report

pytestmark = pytest.mark.chain


def make_service(store: Store, chain: ChainEnv, report_dir: Path, **policy: object) -> GovernanceService:
    store.ensure_dao("testdao", "Test DAO")
    return GovernanceService(
        store,
        policy=VotePolicy(allowed_daos=("testdao",), **policy),  # type: ignore[arg-type]
        reports=DirectoryReportSource(report_dir),
        chain=ChainGateway(chain.w3, safe_address=chain.safe.address, governor_address=chain.governor.address),
        sender=NodeAccountSender(chain.relayer),
    )


def recommend(service: GovernanceService, chain: ChainEnv, report_dir: Path, *, choice: str = "for", confidence: float = 0.9,
              gas: object = None) -> ActionView:
    digest = write_report(report_dir, "r1", {"proposal": str(chain.proposal_id), "stance": {"for": 12, "against": 3}})
    ref = ReportRef(report_id="r1", report_sha256=digest, dao="testdao", proposal_ref=str(chain.proposal_id),
                    choice=choice, confidence=confidence, reason="Most delegates support the refund in the forum.")
    return service.recommend(ref, gas=gas)  # type: ignore[arg-type]


def test_safe_tx_hash_matches_the_safe_contract(chain: ChainEnv) -> None:
    gateway = ChainGateway(chain.w3, safe_address=chain.safe.address, governor_address=chain.governor.address)
    tx = SafeTx(safe=chain.safe.address, chain_id=chain.w3.eth.chain_id, to=chain.governor.address, data=b"\x12\x34", nonce=gateway.nonce())
    assert gateway.onchain_tx_hash(tx) == safe_tx_hash(tx)


def test_chain_reads_are_kept_for_one_block_only(chain: ChainEnv) -> None:
    gateway = ChainGateway(chain.w3, safe_address=chain.safe.address, governor_address=chain.governor.address)
    calls: list[str] = []
    real_call = chain.w3.eth.call

    def counting_call(*args: object, **kwargs: object) -> object:
        calls.append("eth_call")
        return real_call(*args, **kwargs)

    chain.w3.eth.call = counting_call  # type: ignore[method-assign]
    try:
        assert not gateway.has_voted(chain.proposal_id, chain.safe.address) and gateway.threshold() == 2
        assert not gateway.has_voted(chain.proposal_id, chain.safe.address) and gateway.threshold() == 2
        assert len(calls) == 2  # the second pair came from the same block's reads
        snapshot = chain.w3.testing.snapshot()
        chain.w3.eth.send_transaction({"from": chain.relayer, "to": chain.relayer, "value": 0})  # a new block
        gateway.threshold()
        assert len(calls) == 3  # a new block: read again
        chain.w3.testing.revert(snapshot)
        chain.w3.testing.mine(1)  # same number as the block just dropped, another block
        gateway.threshold()
        assert len(calls) == 4
    finally:
        chain.w3.eth.call = real_call  # type: ignore[method-assign]


def test_two_owner_signatures_cast_the_vote(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    assert action.status == "pending"
    assert "castVoteWithReason: vote For on proposal" in action.call
    assert action.threshold == 2 and len(action.owners) == 3
    assert action.report_sha256 in action.recommendation["reason"]

    after_one = service.submit_signature(action.id, signature=sign_as(chain.owner_keys[0], action.typed_data))
    assert after_one.status == "pending" and len(after_one.signed_by) == 1
    assert chain.governor.functions.proposalVotes(chain.proposal_id).call() == [0, 0, 0]

    done = service.submit_signature(
        action.id, signature=sign_as(chain.owner_keys[2], action.typed_data), signer=Account.from_key(chain.owner_keys[2]).address
    )
    assert done.status == "executed" and done.executed_tx_hash.startswith("0x")
    against, for_votes, abstain = chain.governor.functions.proposalVotes(chain.proposal_id).call()
    assert (against, abstain) == (0, 0) and for_votes == 100_000 * 10**18
    assert chain.governor.functions.hasVoted(chain.proposal_id, chain.safe.address).call()
    receipt = chain.w3.eth.get_transaction_receipt(done.executed_tx_hash)
    logs = chain.governor.events.VoteCast().process_receipt(receipt, errors=__import__("web3").logs.DISCARD)
    assert action.report_sha256 in logs[0]["args"]["reason"]

    actions = [e.action for e in store.session().__enter__().exec(__import__("sqlmodel").select(AuditEntry)).all()]
    assert actions == ["recommend", "approve", "approve", "execute"]
    assert verify(store).ok


def test_one_signature_is_not_enough(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    service.submit_signature(action.id, signature=sign_as(chain.owner_keys[1], action.typed_data))
    with pytest.raises(GovernanceRefusal) as refused:
        service.execute(action.id)
    assert refused.value.rule == Rule.THRESHOLD
    assert chain.governor.functions.proposalVotes(chain.proposal_id).call() == [0, 0, 0]


def test_the_safe_itself_refuses_one_signature(chain: ChainEnv) -> None:
    """Even bypassing the service's threshold check, the Safe contract refuses (GS020)."""
    from governance.calldata import cast_vote_calldata
    from governance.chain.gateway import ChainGateway as Gateway
    from governance.chain.safe_tx import safe_tx_typed_data
    from governance.signatures import encode_safe_signatures, parse_hex_signature, verify_owner_signature

    gateway = Gateway(chain.w3, safe_address=chain.safe.address, governor_address=chain.governor.address)
    tx = SafeTx(safe=chain.safe.address, chain_id=gateway.chain_id, to=chain.governor.address,
                data=cast_vote_calldata(chain.proposal_id, 1, "x"), nonce=gateway.nonce())
    sig = verify_owner_signature(chain.w3, tx, signature=parse_hex_signature(sign_as(chain.owner_keys[0], safe_tx_typed_data(tx))), owners=gateway.owners())
    with pytest.raises(GovernanceRefusal, match="GS020"):
        gateway.exec_transaction(tx, encode_safe_signatures([sig]), sender=NodeAccountSender(chain.relayer))


def test_non_owner_signature_is_refused(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    outsider = "0x" + f"{7:064x}"
    with pytest.raises(GovernanceRefusal) as refused:
        service.submit_signature(action.id, signature=sign_as(outsider, action.typed_data))
    assert refused.value.rule == Rule.NOT_OWNER
    with pytest.raises(GovernanceRefusal) as claimed:
        service.submit_signature(action.id, signature=sign_as(outsider, action.typed_data), signer=Account.from_key(outsider).address)
    assert claimed.value.rule == Rule.NOT_OWNER
    assert service.describe(action.id).signed_by == []


def test_replayed_signature_is_refused(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    signature = sign_as(chain.owner_keys[0], action.typed_data)
    service.submit_signature(action.id, signature=signature)
    with pytest.raises(GovernanceRefusal) as refused:
        service.submit_signature(action.id, signature=signature)
    assert refused.value.rule == Rule.DUPLICATE
    assert len(service.describe(action.id).signed_by) == 1


def test_tampered_calldata_is_refused(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    owner = Account.from_key(chain.owner_keys[0]).address
    # An owner is shown (or signs) a transaction voting Against instead of For.
    tampered = dict(action.typed_data)
    tampered["message"] = dict(tampered["message"])
    from governance.calldata import cast_vote_calldata

    tampered["message"]["data"] = "0x" + cast_vote_calldata(chain.proposal_id, 0, action.recommendation["reason"]).hex()
    bad_signature = sign_as(chain.owner_keys[0], tampered)
    with pytest.raises(GovernanceRefusal) as with_claim:
        service.submit_signature(action.id, signature=bad_signature, signer=owner)
    assert with_claim.value.rule == Rule.BAD_SIGNATURE
    with pytest.raises(GovernanceRefusal) as with_typed:
        service.submit_signature(action.id, signature=bad_signature, signed_tx=tampered)
    assert with_typed.value.rule == Rule.TAMPERED_CALLDATA

    # Someone edits the stored transaction in the database after the owners saw it.
    service.submit_signature(action.id, signature=sign_as(chain.owner_keys[0], action.typed_data))
    with store.session() as session:
        row = session.get(PendingAction, action.id)
        row.safe_tx = {**row.safe_tx, "data": tampered["message"]["data"]}
        session.add(row)
    with pytest.raises(GovernanceRefusal) as in_db:
        service.submit_signature(action.id, signature=sign_as(chain.owner_keys[1], action.typed_data))
    assert in_db.value.rule == Rule.TAMPERED_CALLDATA
    assert chain.governor.functions.proposalVotes(chain.proposal_id).call() == [0, 0, 0]


def test_wrong_chain_is_refused(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    other_chain = dict(action.typed_data)
    other_chain["domain"] = {**other_chain["domain"], "chainId": 1}
    signature = sign_as(chain.owner_keys[0], other_chain)
    with pytest.raises(GovernanceRefusal) as refused:
        service.submit_signature(action.id, signature=signature, signed_tx=other_chain)
    assert refused.value.rule == Rule.WRONG_CHAIN
    with pytest.raises(GovernanceRefusal) as unexplained:
        service.submit_signature(action.id, signature=signature)
    assert unexplained.value.rule == Rule.NOT_OWNER  # recovers to some unrelated address
    # The action itself recorded for another chain is refused against this one.
    with store.session() as session:
        row = session.get(PendingAction, action.id)
        row.chain_id = 1
        session.add(row)
    with pytest.raises(GovernanceRefusal) as stored:
        service.submit_signature(action.id, signature=sign_as(chain.owner_keys[0], action.typed_data))
    assert stored.value.rule == Rule.WRONG_CHAIN


def test_wrong_nonce_and_old_signatures_are_refused(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    from tests.governance.conftest import calldata, exec_as_owners

    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    # Another Safe transaction runs first and uses the nonce.
    exec_as_owners(chain.w3, chain.safe, to=chain.token.address, data=calldata(chain.token, "delegate", chain.safe.address),
                   keys=chain.owner_keys[:2], sender=chain.relayer)
    with pytest.raises(GovernanceRefusal) as refused:
        service.submit_signature(action.id, signature=sign_as(chain.owner_keys[0], action.typed_data))
    assert refused.value.rule == Rule.WRONG_NONCE


def test_changed_report_is_refused(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    service.submit_signature(action.id, signature=sign_as(chain.owner_keys[0], action.typed_data))
    write_report(report_dir, "r1", {"proposal": str(chain.proposal_id), "stance": {"for": 3, "against": 12}})
    with pytest.raises(GovernanceRefusal) as refused:
        service.submit_signature(action.id, signature=sign_as(chain.owner_keys[1], action.typed_data))
    assert refused.value.rule == Rule.REPORT_CHANGED
    with pytest.raises(GovernanceRefusal) as at_exec:
        service.execute(action.id)
    assert at_exec.value.rule == Rule.REPORT_CHANGED


def test_policy_guardrails_name_their_rule(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    service = make_service(store, chain, report_dir, min_confidence=0.8, cooldown_hours=1, expiry_hours=2)
    with pytest.raises(GovernanceRefusal) as low:
        recommend(service, chain, report_dir, confidence=0.5)
    assert low.value.rule == Rule.MIN_CONFIDENCE
    digest = write_report(report_dir, "r2", {"x": 1})
    with pytest.raises(GovernanceRefusal) as dao:
        service.recommend(ReportRef(report_id="r2", report_sha256=digest, dao="otherdao", proposal_ref=str(chain.proposal_id),
                                    choice="for", confidence=0.9, reason="r"))
    assert dao.value.rule == Rule.ALLOWED_DAOS
    with pytest.raises(GovernanceRefusal) as kind:
        service.recommend(ReportRef(report_id="r2", report_sha256=digest, dao="testdao", proposal_ref=str(chain.proposal_id),
                                    choice="for", confidence=0.9, reason="r", proposal_kind="snapshot"))
    assert kind.value.rule == Rule.ALLOWED_KINDS
    action = recommend(service, chain, report_dir)
    with pytest.raises(GovernanceRefusal) as cool:
        recommend(service, chain, report_dir)
    assert cool.value.rule == Rule.COOLDOWN
    # Three hours later the action has expired.
    start = service.clock()
    service.clock = lambda: start + timedelta(hours=3)
    with pytest.raises(GovernanceRefusal) as expired:
        service.submit_signature(action.id, signature=sign_as(chain.owner_keys[0], action.typed_data))
    assert expired.value.rule == Rule.EXPIRY
    assert service.list_pending() == []
    assert service.describe(action.id).status == "expired"
    refusals = [e.payload["rule"] for e in store.session().__enter__().exec(__import__("sqlmodel").select(AuditEntry)).all() if e.action == "refuse"]
    assert refusals == ["min_confidence", "allowed_daos", "allowed_kinds", "cooldown", "expiry"]
    assert verify(store).ok


def test_owner_can_reject(store: Store, chain: ChainEnv, report_dir: Path) -> None:
    from eth_account.messages import encode_defunct

    service = make_service(store, chain, report_dir)
    action = recommend(service, chain, report_dir)
    message = encode_defunct(text=action.rejection_message)
    outsider = "0x" + f"{7:064x}"
    bad = "0x" + bytes(Account.sign_message(message, outsider).signature).hex()
    with pytest.raises(GovernanceRefusal) as refused:
        service.reject(action.id, signer=Account.from_key(outsider).address, signature=bad)
    assert refused.value.rule == Rule.NOT_OWNER
    good = "0x" + bytes(Account.sign_message(message, chain.owner_keys[1]).signature).hex()
    result = service.reject(action.id, signer=Account.from_key(chain.owner_keys[1]).address, signature=good)
    assert result.status == "rejected"
    with pytest.raises(GovernanceRefusal) as closed:
        service.submit_signature(action.id, signature=sign_as(chain.owner_keys[0], action.typed_data))
    assert closed.value.rule == Rule.NOT_PENDING


def test_a_restart_finds_a_cast_sent_before_the_crash_reading_bounded_log_ranges(
    store: Store, chain: ChainEnv, report_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The execTransaction went through but the store never heard of it: recovery finds it on chain, reading the
    Safe's logs in ranges a public node accepts, newest first, never before the transaction was prepared."""
    from datetime import UTC, datetime

    import governance.chain.gateway as gateway_module
    from governance.signatures import OwnerSignature, encode_safe_signatures, parse_hex_signature

    service = make_service(store, chain, report_dir)
    service.auto_execute = False
    action = recommend(service, chain, report_dir)
    gateway = service.chain
    assert gateway is not None
    ranges: list[tuple[int, int]] = []
    real_get_logs = chain.w3.eth.get_logs

    def recording_get_logs(params: dict, *args: object, **kwargs: object) -> object:  # type: ignore[type-arg]
        ranges.append((int(params["fromBlock"]), int(params["toBlock"])))
        return real_get_logs(params, *args, **kwargs)

    monkeypatch.setattr(chain.w3.eth, "get_logs", recording_get_logs)
    monkeypatch.setattr(gateway_module, "LOG_RANGE_BLOCKS", 4)
    assert service.recover_execution(action.id) is None
    assert ranges == []  # the Safe's nonce has not moved: nothing can have run, nothing is scanned

    tx = SafeTx.from_json(action.safe_tx)
    keys = chain.owner_keys[:2]
    signatures = [OwnerSignature(owner=Account.from_key(k).address, kind="eip712",
                                 signature=parse_hex_signature(sign_as(k, action.typed_data))) for k in keys]
    sent = gateway.exec_transaction(tx, encode_safe_signatures(signatures), sender=NodeAccountSender(chain.relayer))
    chain.w3.testing.mine(9)  # the agent restarts some blocks later
    assert service.describe(action.id).status == "pending"

    view = service.recover_execution(action.id)
    assert view is not None and view.status == "executed" and view.executed_tx_hash == sent.tx_hash
    latest = chain.w3.eth.block_number
    assert ranges[0][1] == latest and len(ranges) == 3  # newest first: 4 blocks a call until the cast's block
    assert all(high - low + 1 <= 4 for low, high in ranges)
    assert [high for _, high in ranges] == sorted((high for _, high in ranges), reverse=True)

    # A hash the Safe never executed, its nonce passed: the scan ends at the first block after the time given
    ranges.clear()
    monkeypatch.setattr(gateway_module, "CLOCK_SKEW", timedelta(0))
    start = chain.w3.eth.get_block(latest - 6)
    assert chain.w3.eth.get_block(latest - 7)["timestamp"] < start["timestamp"]  # block times rise one by one here
    since = datetime.fromtimestamp(start["timestamp"] - 1, tz=UTC)
    assert gateway.find_execution("0x" + "11" * 32, nonce=tx.nonce, since=since) is None
    assert ranges == [(latest - 3, latest), (latest - 6, latest - 4)]


def test_first_block_after_a_time_is_found_by_bisection() -> None:
    from governance.chain.gateway import first_block_after

    stamps = [100, 100, 112, 124, 124, 136]
    assert [first_block_after(t, latest=5, timestamp_of=stamps.__getitem__) for t in (99, 100, 111, 124, 135, 136)] == [0, 2, 2, 5, 5, 6]


def test_a_node_failing_during_the_search_is_one_clear_error_never_not_executed(
    store: Store, chain: ChainEnv, report_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flaky node (a timeout, a range it refuses) while looking for a crashed execution: the restart cannot tell
    whether the vote went through, so it says so in one line (a ConcordError the agent retries next tick) and never
    answers "not executed", which would let it send again."""
    from web3.exceptions import Web3RPCError

    from ingest.core.errors import ConcordError

    service = make_service(store, chain, report_dir)
    service.auto_execute = False
    action = recommend(service, chain, report_dir)
    gateway = service.chain
    assert gateway is not None
    tx = SafeTx.from_json(action.safe_tx)
    chain.w3.testing.mine(1)
    for failure in (Web3RPCError("query exceeds max block range 1000"), TimeoutError("read timed out")):
        monkeypatch.setattr(gateway, "nonce", lambda: tx.nonce + 1)  # a transaction with its nonce has run since

        def failing_get_logs(*_args: object, failure: Exception = failure, **_kwargs: object) -> object:
            raise failure

        monkeypatch.setattr(chain.w3.eth, "get_logs", failing_get_logs)
        with pytest.raises(ConcordError) as caught:
            service.recover_execution(action.id)
        message = str(caught.value)
        assert "\n" not in message and action.safe_tx_hash in message and "CONCORD_CHAIN__RPC_URL" in message
        assert service.describe(action.id).status == "pending"
