"""Snapshot submission against a loopback sequencer that verifies what it receives: every voting type's typed data
signed by its author, a draft's proposal payload, and a Safe's EIP-1271 vote after the owners' threshold."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_account import Account

from governance.signatures import OwnerSignature, encode_safe_signatures, parse_hex_signature
from governance.snapshot import safe_vote_signing_request, snapshot_envelope, snapshot_proposal_message
from governance.snapshot_submit import (
    ACCEPTED_TYPE_HASHES,
    VOTING_TYPES,
    SequencerClient,
    SequencerError,
    safe_vote_envelope,
    types_hash,
    vote_typed_data,
)
from ingest.core.errors import InputError
from tests.governance.snapshot_sequencer import LoopbackSequencer

NOW = 1_717_200_000
KEY = "0x" + "42" * 32
VOTER = Account.from_key(KEY).address
PROPOSAL = "0x" + "ab" * 32
CHOICES: dict[str, Any] = {"single-choice": 2, "basic": 1, "approval": [1, 3], "ranked-choice": [3, 1, 2],
                           "weighted": {"1": 2, "3": 1}, "quadratic": {"2": 5}}


def _signed(typed: dict[str, Any], key: str = KEY) -> dict[str, Any]:
    sig = Account.sign_typed_data(key, full_message=typed).signature.hex()
    return snapshot_envelope(typed, address=Account.from_key(key).address, signature="0x" + sig.removeprefix("0x"))


@pytest.fixture(scope="module")
def sequencer() -> Any:
    with LoopbackSequencer(now=lambda: NOW) as peer:
        yield peer


@pytest.mark.parametrize("voting_type", VOTING_TYPES)
def test_every_voting_type_is_accepted_when_signed_by_the_voter(sequencer: LoopbackSequencer, voting_type: str) -> None:
    typed = vote_typed_data(voting_type=voting_type, voter=VOTER, space="arbitrumfoundation.eth", proposal=PROPOSAL,
                            choice=CHOICES[voting_type], n_choices=3, timestamp=NOW - 60, reason="Report sha256:cd")
    assert types_hash(typed["types"]) in ACCEPTED_TYPE_HASHES  # the shape snapshot.js's hashedTypes.json lists
    reply = SequencerClient(sequencer.url).submit(_signed(typed))
    assert reply["id"].startswith("0x") and sequencer.accepted[-1]["data"]["message"]["choice"] == typed["message"]["choice"]


def test_weighted_choice_is_a_json_string_and_string_ids_use_the_string_type() -> None:
    typed = vote_typed_data(voting_type="weighted", voter=VOTER, space="s.eth", proposal="QmProposal", choice={"1": 1},
                            n_choices=2, timestamp=NOW)
    assert json.loads(typed["message"]["choice"]) == {"1": 1}
    assert typed["types"]["Vote"][3] == {"name": "proposal", "type": "string"}
    assert types_hash(typed["types"]) in ACCEPTED_TYPE_HASHES


def test_tampered_forged_and_stale_votes_are_refused(sequencer: LoopbackSequencer) -> None:
    client = SequencerClient(sequencer.url)
    typed = vote_typed_data(voting_type="single-choice", voter=VOTER, space="s.eth", proposal=PROPOSAL, choice=1,
                            n_choices=2, timestamp=NOW)
    tampered = _signed(typed)
    tampered["data"]["message"]["choice"] = 2
    with pytest.raises(SequencerError, match="signature validation failed"):
        client.submit(tampered)
    forged = _signed(typed, key="0x" + "43" * 32)
    forged["address"] = VOTER  # someone else's signature claiming to be the voter's
    with pytest.raises(SequencerError, match="signature validation failed"):
        client.submit(forged)
    stale = vote_typed_data(voting_type="single-choice", voter=VOTER, space="s.eth", proposal=PROPOSAL, choice=1,
                            n_choices=2, timestamp=NOW - 6 * 86400 - 1)
    with pytest.raises(SequencerError, match="wrong timestamp"):
        client.submit(_signed(stale))


@pytest.mark.parametrize(("voting_type", "choice", "match"), [
    ("single-choice", 0, "1-based"), ("single-choice", 4, "1-based"), ("approval", [], "non-empty"),
    ("approval", [1, 1], "once"), ("ranked-choice", [1, 2], "ranks all"), ("weighted", {"1": -1}, "non-negative"),
    ("quadratic", {"1": 0}, "positive"), ("basic", 1, None), ("plurality", 1, "Unknown Snapshot voting type"),
])
def test_bad_choices_are_explained(voting_type: str, choice: Any, match: str | None) -> None:
    n = 3 if voting_type != "basic" else 2
    with pytest.raises(InputError, match=match or "three choices"):
        vote_typed_data(voting_type=voting_type, voter=VOTER, space="s", proposal=PROPOSAL, choice=choice, n_choices=n, timestamp=NOW)


def test_a_drafts_proposal_payload_is_accepted_when_its_author_signs(sequencer: LoopbackSequencer) -> None:
    payload = snapshot_proposal_message(author=VOTER, space="arbitrumfoundation.eth", title="Fund audits",
                                        body="## Abstract\n\nText.", choices=["For", "Against", "Abstain"],
                                        start=NOW + 86400, end=NOW + 6 * 86400, snapshot=0, timestamp=NOW)
    assert SequencerClient(sequencer.url).submit(_signed(payload))["id"]
    unsigned = snapshot_envelope(payload, address=VOTER, signature="0x" + "00" * 65)
    with pytest.raises(SequencerError, match="signature"):
        SequencerClient(sequencer.url).submit(unsigned)


def test_unreachable_sequencer_is_one_clear_line() -> None:
    typed = vote_typed_data(voting_type="basic", voter=VOTER, space="s", proposal=PROPOSAL, choice=1, n_choices=3, timestamp=NOW)
    with pytest.raises(SequencerError, match="Could not reach the Snapshot sequencer"):
        SequencerClient("http://127.0.0.1:9/").submit(_signed(typed))


@pytest.mark.chain
def test_safe_vote_is_sent_only_after_the_threshold_and_verified_by_eip1271(chain: Any) -> None:
    from tests.governance.conftest import sign_as

    w3 = chain.w3
    with LoopbackSequencer(now=lambda: NOW, w3=w3) as peer:
        vote = vote_typed_data(voting_type="approval", voter=chain.safe.address, space="testdao.eth", proposal=PROPOSAL,
                               choice=[1, 2], n_choices=3, timestamp=NOW, reason="Concord report sha256:" + "cd" * 32)
        request = safe_vote_signing_request(w3.eth.chain_id, safe=chain.safe.address, vote=vote)
        sigs = [OwnerSignature(owner=Account.from_key(k).address, kind="eip712", signature=parse_hex_signature(sign_as(k, request)))
                for k in chain.owner_keys[:2]]
        threshold = chain.safe.functions.getThreshold().call()
        with pytest.raises(InputError, match="owners' signatures"):
            safe_vote_envelope(vote, safe=chain.safe.address, packed_signatures=encode_safe_signatures(sigs[:1]),
                               signers=[s.owner for s in sigs[:1]], threshold=threshold)
        client = SequencerClient(peer.url)
        short = snapshot_envelope(vote, address=chain.safe.address, signature="0x" + encode_safe_signatures(sigs[:1]).hex())
        with pytest.raises(SequencerError, match="signature validation failed"):
            client.submit(short)  # a peer that checks isValidSignature refuses one owner's signature too
        envelope = safe_vote_envelope(vote, safe=chain.safe.address, packed_signatures=encode_safe_signatures(sigs),
                                      signers=[s.owner for s in sigs], threshold=threshold)
        assert client.submit(envelope)["id"] and peer.accepted[-1]["address"] == chain.safe.address
