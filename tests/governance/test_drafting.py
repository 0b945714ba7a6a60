"""Drafting from the bundled real sample: cited posts, the DAO's headings, Snapshot and Governor artefacts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from eth_abi import decode as abi_decode
from sqlmodel import select

from governance.audit import verify
from governance.calldata import decode_call
from governance.drafting import parse_action
from governance.policy import VotePolicy
from governance.reports import DirectoryReportSource
from governance.service import GovernanceService
from governance.snapshot import typed_data_hash
from ingest.core.domain import GovernanceDraft, Post
from ingest.core.errors import InputError
from ingest.core.store import Store

IDEA = (
    "Fund an independent security audit programme for Arbitrum grant recipients. "
    "Grantees often ship unaudited contracts, so the DAO should pay for audits of funded projects."
)
TARGET = "0x912CE59144191C1204E64559FE8253a0e49E6548"  # ARB token on Arbitrum One
RECIPIENT = "0x000000000000000000000000000000000000dEaD"


def service_for(store: Store, tmp_path) -> GovernanceService:  # type: ignore[no-untyped-def]
    return GovernanceService(store, policy=VotePolicy(), reports=DirectoryReportSource(tmp_path), clock=lambda: datetime(2024, 6, 1, tzinfo=UTC))


@pytest.mark.slow
def test_draft_cites_real_posts_verbatim(sample_store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    service = service_for(sample_store, tmp_path)
    draft = service.draft(
        dao="arbitrum", idea=IDEA, actions=[f"{TARGET}:transfer(address,uint256):{RECIPIENT},250000000000000000000000"],
        governor_address="0xf07DeD9dC292157749B6Fd268E37DF6EA38395B9",
    )
    assert draft.citations, "the sample holds audit/grant discussion; BM25 must find some"
    with sample_store.session() as session:
        for citation in draft.citations:
            text = " ".join(session.get(Post, citation.post_id).text.split())
            assert citation.quote.rstrip("…") in text
            assert f"[{citation.number}]" in draft.body
        stored = session.exec(select(GovernanceDraft)).one()
    assert stored.title == draft.title and stored.governor_tx == draft.governor_tx
    for heading in ("## ", "References"):
        assert heading in draft.body
    assert "Call 0x912CE59144191C1204E64559FE8253a0e49E6548.transfer(address 0x000000000000000000000000000000000000dEaD, uint256 250000000000000000000000)" in draft.body

    tx = draft.governor_tx
    targets, values, calldatas, description = decode_call("propose(address[],uint256[],bytes[],string)", bytes.fromhex(tx["data"][2:]))
    assert [t.lower() for t in targets] == [TARGET.lower()] and list(values) == [0]
    recipient, amount = abi_decode(["address", "uint256"], calldatas[0][4:])
    assert recipient.lower() == RECIPIENT.lower() and amount == 250_000 * 10**18
    assert description.startswith(f"# {draft.title}")

    payload = draft.snapshot_payload
    assert payload["message"]["space"] and payload["message"]["choices"] == ["For", "Against", "Abstain"]
    assert payload["message"]["body"] == draft.body
    assert len(typed_data_hash(payload)) == 32  # encodes as valid EIP-712
    assert verify(sample_store).ok


def test_action_parsing_explains_mistakes() -> None:
    action = parse_action(f"{TARGET}:transfer(address,uint256):{RECIPIENT},5")
    assert action.calldata[:4].hex() == "a9059cbb"
    with pytest.raises(InputError, match="takes 2 argument"):
        parse_action(f"{TARGET}:transfer(address,uint256):{RECIPIENT}")
    with pytest.raises(InputError, match="looks like"):
        parse_action("nonsense")


def test_governor_tx_from_a_draft_creates_a_real_proposal(store: Store, tmp_path, chain) -> None:  # type: ignore[no-untyped-def]
    """The unsigned propose() transaction is valid: a delegate sends it and the Governor accepts it."""
    store.ensure_dao("testdao", "Test DAO", snapshot_space="testdao.eth")
    service = service_for(store, tmp_path)
    draft = service.draft(
        dao="testdao", idea="Return 5 wei of CVOTE to the deployer to test the draft flow end to end.",
        actions=[f"{chain.token.address}:transfer(address,uint256):{chain.deployer},5"], governor_address=chain.governor.address,
    )
    assert draft.citations == [] and "No stored forum post discusses this" in draft.body
    tx = draft.governor_tx
    sent = chain.w3.eth.send_transaction({"from": chain.deployer, "to": tx["to"], "data": tx["data"]})
    chain.w3.eth.wait_for_transaction_receipt(sent)
    proposal_id = chain.governor.functions.hashProposal(
        tx["targets"], tx["values"], [bytes.fromhex(c[2:]) for c in tx["calldatas"]], chain.w3.keccak(text=tx["description"])
    ).call()
    assert chain.governor.functions.state(proposal_id).call() == 0  # Pending
