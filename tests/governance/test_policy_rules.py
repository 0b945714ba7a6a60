"""Each governance rule on its own, without a chain: the policy's guardrails, the action/report/transaction checks,
and how the canonical Safe transaction is built and compared (governance/policy.py, governance/binding.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from eth_utils import to_checksum_address

from governance import policy as rules
from governance.binding import (
    Difference,
    canonical_safe_tx,
    fields_in_words,
    signed_difference,
    stored_difference,
)
from governance.calldata import cast_vote_calldata, describe_vote_call
from governance.chain.safe_service import Delegation
from governance.chain.safe_tx import ZERO_ADDRESS, SafeTx, safe_tx_hash
from governance.errors import GovernanceRefusal, Rule
from governance.policy import VotePolicy
from governance.reports import ReportRef
from ingest.core.domain import PendingAction

SAFE = to_checksum_address("0x" + "5a" * 20)
GOVERNOR = to_checksum_address("0x" + "6b" * 20)
OWNER_A = to_checksum_address("0x" + "a1" * 20)
OWNER_B = to_checksum_address("0x" + "b2" * 20)
OUTSIDER = to_checksum_address("0x" + "0e" * 20)
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TX = SafeTx(safe=SAFE, chain_id=42161, to=GOVERNOR, data=cast_vote_calldata(7, 1, "r"), nonce=3)


def refusal(call, *args, **kwargs) -> GovernanceRefusal:
    with pytest.raises(GovernanceRefusal) as caught:
        call(*args, **kwargs)
    return caught.value


def ref(**changes) -> ReportRef:
    base = {"report_id": "r1", "report_sha256": "ab" * 32, "dao": "arbitrum", "proposal_ref": "7", "choice": "for",
                "confidence": 0.8, "reason": "template"}
    return ReportRef(**{**base, **changes})


POLICY = VotePolicy(allowed_daos=("arbitrum",), min_confidence=0.7, cooldown_hours=2)


# --- the policy's guardrails -----------------------------------------------------------------------


def test_a_dao_must_opt_in() -> None:
    error = refusal(VotePolicy().check_recommendation, ref(), now=NOW, last_recommended_at=None)
    assert error.rule is Rule.ALLOWED_DAOS
    assert error.detail == "DAO 'arbitrum' is not in the policy's allowed DAOs (none); add it to policy.allowed_daos."
    error = refusal(VotePolicy(allowed_daos=("uniswap", "ens")).check_recommendation, ref(), now=NOW, last_recommended_at=None)
    assert error.detail == "DAO 'arbitrum' is not in the policy's allowed DAOs (uniswap, ens); add it to policy.allowed_daos."


def test_only_allowed_proposal_kinds() -> None:
    policy = replace(POLICY, allowed_kinds=("governor", "snapshot"))
    error = refusal(policy.check_recommendation, ref(proposal_kind="treasury"), now=NOW, last_recommended_at=None)
    assert error.rule is Rule.ALLOWED_KINDS
    assert error.detail == "proposal kind 'treasury' is not allowed (allowed: governor, snapshot)."
    policy.check_recommendation(ref(proposal_kind="snapshot"), now=NOW, last_recommended_at=None)


def test_the_default_policy_allows_governor_votes_only() -> None:
    policy = VotePolicy()
    assert (policy.allowed_daos, policy.allowed_kinds, policy.min_confidence, policy.expiry_hours,
            policy.cooldown_hours, policy.allow_refunds, policy.extra) == ((), ("governor",), 0.7, 72, 1, False, {})


def test_no_recommendation_without_a_real_prediction() -> None:
    error = refusal(POLICY.check_recommendation, ref(prediction_missing="0 closed proposals"), now=NOW, last_recommended_at=None)
    assert error.rule is Rule.NO_PREDICTION
    assert error.detail == (
        "no recommendation without a real outcome prediction: 0 closed proposals. Ingest the DAO's closed proposals "
        "with their outcomes (`concord ingest snapshot` or `concord ingest governor`) and build the report again."
    )


def test_confidence_below_the_minimum_is_refused_and_the_minimum_itself_passes() -> None:
    error = refusal(POLICY.check_recommendation, ref(confidence=0.6949), now=NOW, last_recommended_at=None)
    assert error.rule is Rule.MIN_CONFIDENCE
    assert error.detail == "prediction confidence 0.69 is below the policy minimum 0.70."
    POLICY.check_recommendation(ref(confidence=0.7), now=NOW, last_recommended_at=None)


def test_cool_down_between_recommendations_for_a_dao() -> None:
    last = NOW - timedelta(hours=1, minutes=59)
    error = refusal(POLICY.check_recommendation, ref(), now=NOW, last_recommended_at=last)
    assert error.rule is Rule.COOLDOWN
    assert error.detail == ("the last recommendation for 'arbitrum' was at 2024-05-01 10:01 UTC; "
                            "the 2 h cool-down ends at 2024-05-01 12:01 UTC.")
    POLICY.check_recommendation(ref(), now=NOW, last_recommended_at=NOW - timedelta(hours=2))


def test_the_rules_run_in_order_dao_kind_prediction_confidence_cooldown() -> None:
    everything_wrong = ref(dao="x", proposal_kind="y", prediction_missing="z", confidence=0.1)
    recent = NOW - timedelta(minutes=1)
    assert refusal(POLICY.check_recommendation, everything_wrong, now=NOW, last_recommended_at=recent).rule is Rule.ALLOWED_DAOS
    assert refusal(POLICY.check_recommendation, replace(everything_wrong, dao="arbitrum"), now=NOW,
                   last_recommended_at=recent).rule is Rule.ALLOWED_KINDS
    assert refusal(POLICY.check_recommendation, ref(prediction_missing="z", confidence=0.1), now=NOW,
                   last_recommended_at=recent).rule is Rule.NO_PREDICTION
    assert refusal(POLICY.check_recommendation, ref(confidence=0.1), now=NOW, last_recommended_at=recent).rule is Rule.MIN_CONFIDENCE


def test_policy_from_settings() -> None:
    settings = SimpleNamespace(allowed_daos=["arbitrum"], allowed_kinds=["governor", "snapshot"], min_confidence="0.9",
                               expiry_hours="24", cooldown_hours=3, allow_refunds=1)
    policy = VotePolicy.from_settings(settings)
    assert policy == VotePolicy(allowed_daos=("arbitrum",), allowed_kinds=("governor", "snapshot"), min_confidence=0.9,
                                expiry_hours=24.0, cooldown_hours=3.0, allow_refunds=True)
    del settings.allow_refunds
    assert VotePolicy.from_settings(settings).allow_refunds is False


def test_a_recommendation_expires_after_the_policy_hours() -> None:
    assert replace(POLICY, expiry_hours=1.5).expires_at(NOW) == NOW + timedelta(minutes=90)


@pytest.mark.parametrize(("changes", "paid"), [
    ({"gas_price": 1}, "gasPrice 1"),
    ({"gas_token": OUTSIDER}, f"gasToken {OUTSIDER}"),
    ({"refund_receiver": OUTSIDER.lower()}, f"refundReceiver {OUTSIDER.lower()}"),
    ({"gas_price": 5, "gas_token": OUTSIDER, "refund_receiver": OUTSIDER},
     f"gasPrice 5, gasToken {OUTSIDER}, refundReceiver {OUTSIDER}"),
])
def test_gas_refunds_need_the_setting(changes: dict, paid: str) -> None:
    tx = replace(TX, **changes)
    error = refusal(POLICY.check_refunds, tx)
    assert error.rule is Rule.REFUNDS_NOT_ALLOWED
    assert error.detail == (f"the Safe transaction would pay a gas refund ({paid}); Concord's relayer pays its own gas. "
                            "Set policy.allow_refunds only if the DAO wants refunds.")
    replace(POLICY, allow_refunds=True).check_refunds(tx)


def test_no_refund_fields_pass_the_refund_rule() -> None:
    POLICY.check_refunds(replace(TX, gas_token=ZERO_ADDRESS.lower(), base_gas=9, safe_tx_gas=9))


# --- the action and its report ---------------------------------------------------------------------


def action(**changes) -> PendingAction:
    base = {"id": 4, "dao_id": 1, "kind": "vote", "proposal_ref": "7", "status": "pending", "expires_at": NOW + timedelta(hours=1),
                "report_id": "r1", "report_hash": "ab" * 32, "confidence": 0.8,
                "recommendation": {"support": 1, "reason": "Concord advisory vote: for."}, "chain_id": 42161,
                "safe_address": SAFE.lower(), "governor_address": GOVERNOR.lower(), "safe_nonce": 3, "safe_tx": {}, "safe_tx_hash": "0x"}
    return PendingAction(**{**base, **changes})


def test_only_a_pending_action_is_open() -> None:
    error = refusal(rules.check_open, action(status="executed"), now=NOW)
    assert (error.rule, error.detail) == (Rule.NOT_PENDING, "action 4 is executed, not pending.")
    rules.check_open(action(), now=NOW)


def test_an_action_is_closed_from_its_expiry_time() -> None:
    expires = NOW + timedelta(minutes=5)
    rules.check_open(action(expires_at=expires), now=NOW + timedelta(minutes=4, seconds=59))
    error = refusal(rules.check_open, action(expires_at=expires), now=NOW + timedelta(minutes=5))
    assert (error.rule, error.detail) == (Rule.EXPIRY, "action 4 expired at 2024-05-01 12:05 UTC.")


def test_an_expiry_with_another_utc_offset_is_compared_as_the_same_instant() -> None:
    from datetime import timezone

    in_berlin = datetime(2024, 5, 1, 14, 5, tzinfo=timezone(timedelta(hours=2)))  # 12:05 UTC
    rules.check_open(action(expires_at=in_berlin), now=NOW + timedelta(minutes=4))
    error = refusal(rules.check_open, action(expires_at=in_berlin), now=NOW + timedelta(minutes=5))
    assert (error.rule, error.detail) == (Rule.EXPIRY, "action 4 expired at 2024-05-01 12:05 UTC.")  # told in UTC


def test_the_report_must_hash_as_when_recommended() -> None:
    rules.check_report_unchanged("r1", current="ab" * 32, expected="ab" * 32)
    error = refusal(rules.check_report_unchanged, "r1", current="cd" * 32, expected="ab" * 32)
    assert error.rule is Rule.REPORT_CHANGED
    assert error.detail == ("report r1 now hashes to cdcdcdcdcdcdcdcd…, not abababababababab… as when it was recommended; "
                            "make a new recommendation from the current report.")


def test_a_governor_vote_needs_a_numeric_proposal_id() -> None:
    assert rules.check_governor_proposal("0012") == 12
    error = refusal(rules.check_governor_proposal, "0x1f")
    assert (error.rule, error.detail) == (Rule.ALLOWED_KINDS, "proposal '0x1f' is not an on-chain Governor proposal id.")


def test_votes_only_while_active_and_only_once() -> None:
    error = refusal(rules.check_votable, 7, state="Pending", has_voted=False)
    assert (error.rule, error.detail) == (Rule.PROPOSAL_NOT_ACTIVE, "proposal 7 is Pending; votes are only cast while Active.")
    error = refusal(rules.check_votable, 7, state="Active", has_voted=True)
    assert (error.rule, error.detail) == (Rule.ALREADY_VOTED, "the Safe already voted on proposal 7.")
    rules.check_votable(7, state="Active", has_voted=False)
    rules.check_votable(7, state="Active")


# --- the Safe transaction --------------------------------------------------------------------------


def test_the_canonical_transaction_comes_from_the_action_columns_only() -> None:
    tx = canonical_safe_tx(action(safe_tx_gas=1, base_gas=2, gas_price=3, gas_token=OUTSIDER.lower(),
                                  refund_receiver=OWNER_A.lower(), safe_tx={"to": OUTSIDER, "value": 10**18}))
    assert tx == SafeTx(safe=SAFE, chain_id=42161, to=GOVERNOR, data=cast_vote_calldata(7, 1, "Concord advisory vote: for."),
                        nonce=3, value=0, operation=0, safe_tx_gas=1, base_gas=2, gas_price=3, gas_token=OUTSIDER,
                        refund_receiver=OWNER_A)


def test_an_action_without_recommendation_builds_an_against_vote_with_no_reason() -> None:
    tx = canonical_safe_tx(action(recommendation={}))
    assert tx.data == cast_vote_calldata(7, 0, "")


def stored(tx: SafeTx = TX, **changes) -> dict:
    return {**tx.to_json(), **changes}


def test_the_stored_transaction_must_be_the_canonical_one() -> None:
    good_hash = "0x" + safe_tx_hash(TX).hex()
    rules.check_stored_tx(TX, stored(), stored_hash=good_hash.upper().replace("0X", "0x"))
    rules.check_stored_tx(TX, stored(safe=SAFE.lower(), data=TX.data.hex(), value="0"), stored_hash=good_hash)
    error = refusal(rules.check_stored_tx, TX, stored(to=OUTSIDER), stored_hash=good_hash)
    assert error.rule is Rule.TAMPERED_TO
    assert error.detail == f"the stored transaction has to {OUTSIDER}, the action's own transaction has {GOVERNOR}."


def test_unknown_fields_in_the_stored_transaction_are_tampering() -> None:
    good_hash = "0x" + safe_tx_hash(TX).hex()
    error = refusal(rules.check_stored_tx, TX, stored(zeta=1, alpha=2), stored_hash=good_hash)
    assert (error.rule, error.detail) == (Rule.TAMPERED_HASH, "the stored transaction carries unknown fields ['alpha', 'zeta'].")


def test_the_stored_hash_must_be_the_transactions() -> None:
    expected = "0x" + safe_tx_hash(TX).hex()
    error = refusal(rules.check_stored_tx, TX, stored(), stored_hash="0x" + "00" * 32)
    assert error.rule is Rule.TAMPERED_HASH
    assert error.detail == f"the stored Safe tx hash is 0x{'00' * 32}, the action's transaction hashes to {expected}."


def test_the_transaction_must_be_the_one_the_audit_log_recorded() -> None:
    expected = "0x" + safe_tx_hash(TX).hex()
    rules.check_as_recommended(TX, recorded_hash=expected.upper().replace("0X", "0x"))
    error = refusal(rules.check_as_recommended, TX, recorded_hash=None)
    assert (error.rule, error.detail) == (Rule.NOT_AS_RECOMMENDED, "the audit log holds no recommendation for this action.")
    error = refusal(rules.check_as_recommended, TX, recorded_hash="0x" + "11" * 32)
    assert error.rule is Rule.NOT_AS_RECOMMENDED
    assert error.detail == (f"the action's transaction hashes to {expected}, but the audit log recorded 0x{'11' * 32} when it "
                            "was recommended: its columns were changed afterwards.")


def test_what_the_wallet_signed_must_be_the_transaction() -> None:
    rules.check_signed_tx(TX, None)
    rules.check_signed_tx(TX, {})
    rules.check_signed_tx(TX, {"domain": {"verifyingContract": SAFE.lower(), "chainId": 42161}, "message": {"nonce": "3"}})
    error = refusal(rules.check_signed_tx, TX, {"domain": {"chainId": 1}, "message": {}})
    assert (error.rule, error.detail) == (
        Rule.WRONG_CHAIN, "the signed transaction has chainId 1, the action's own transaction has 42161.")


def test_the_connected_chain_safe_governor_and_nonce_must_be_the_transactions() -> None:
    good = {"chain_id": 42161, "safe": SAFE.lower(), "governor": GOVERNOR.lower(), "nonce": 3}
    rules.check_chain(TX, **good)
    cases = [
        ({"chain_id": 1}, Rule.WRONG_CHAIN, "connected to chain 1, the action is for chain 42161."),
        ({"safe": OUTSIDER}, Rule.WRONG_SAFE, f"configured Safe {OUTSIDER} is not the action's {SAFE}."),
        ({"governor": OUTSIDER}, Rule.WRONG_GOVERNOR, f"configured Governor {OUTSIDER} is not the action's target {GOVERNOR}."),
        ({"nonce": 4}, Rule.WRONG_NONCE, ("the Safe's nonce is 4 but the action was built for nonce 3 (another transaction "
                                         "ran first); make a new recommendation.")),
    ]
    for change, rule, detail in cases:
        error = refusal(rules.check_chain, TX, **{**good, **change})
        assert (error.rule, error.detail) == (rule, detail)


# --- signatures and execution ----------------------------------------------------------------------


def test_one_signature_per_owner() -> None:
    rules.check_not_duplicate(OWNER_A, signed=[OWNER_B], action_id=4)
    error = refusal(rules.check_not_duplicate, OWNER_A, signed=[OWNER_B, OWNER_A], action_id=4)
    assert (error.rule, error.detail) == (Rule.DUPLICATE, f"{OWNER_A} has already signed action 4.")


def test_nothing_executes_below_the_threshold() -> None:
    rules.check_threshold(2, threshold=2)
    error = refusal(rules.check_threshold, 1, threshold=2)
    assert (error.rule, error.detail) == (Rule.THRESHOLD, "1 of 2 required owner signatures; waiting for more owners to sign.")


def test_a_failed_inner_call_is_refused_as_execution_failed() -> None:
    rules.check_execution(success=True, tx_hash="0xab")
    error = refusal(rules.check_execution, success=False, tx_hash="0xab")
    assert (error.rule, error.detail) == (Rule.EXECUTION_FAILED, "execTransaction 0xab ran but the inner call failed.")


def test_a_rejection_is_signed_by_the_owner_who_claims_it() -> None:
    owners = [OWNER_A, OWNER_B]
    assert rules.check_rejection_signer(OWNER_A, signer=OWNER_A.lower(), owners=owners, safe=SAFE) == OWNER_A
    for recovered in (None, OWNER_B):
        error = refusal(rules.check_rejection_signer, recovered, signer=OWNER_A, owners=owners, safe=SAFE)
        assert (error.rule, error.detail) == (Rule.BAD_SIGNATURE, f"the rejection is not signed by {OWNER_A}.")
    error = refusal(rules.check_rejection_signer, OUTSIDER, signer=OUTSIDER, owners=owners, safe=SAFE)
    assert (error.rule, error.detail) == (Rule.NOT_OWNER, f"{OUTSIDER} is not an owner of Safe {SAFE}.")


PROPOSER = to_checksum_address("0x" + "c3" * 20)


def test_a_proposer_is_never_an_owner() -> None:
    error = refusal(rules.check_proposer, OWNER_A, owners=[OWNER_A], delegations=[], safe=SAFE, now=NOW)
    assert (error.rule, error.detail) == (Rule.PROPOSER_IS_OWNER, f"{OWNER_A} is a Safe owner; Concord never holds an owner key.")


def test_a_proposer_needs_a_current_delegation_from_an_owner() -> None:
    owners = [OWNER_A, OWNER_B]
    delegations = [
        Delegation(delegate=OUTSIDER, delegator=OWNER_A),  # another delegate
        Delegation(delegate=PROPOSER, delegator=OUTSIDER),  # not from an owner
        Delegation(delegate=PROPOSER, delegator=OWNER_A, safe=OUTSIDER),  # for another Safe
        Delegation(delegate=PROPOSER, delegator=OWNER_B, safe=SAFE, expiry_date=NOW + timedelta(seconds=1)),
        Delegation(delegate=PROPOSER, delegator=OWNER_A),
    ]
    assert rules.check_proposer(PROPOSER, owners=owners, delegations=delegations, safe=SAFE.lower(), now=NOW) == OWNER_B


def test_an_expired_delegation_says_so() -> None:
    owners = [OWNER_A]
    expired = Delegation(delegate=PROPOSER, delegator=OWNER_A, safe=SAFE, expiry_date=NOW)
    error = refusal(rules.check_proposer, PROPOSER, owners=owners, delegations=[expired], safe=SAFE.lower(), now=NOW)
    assert error.rule is Rule.PROPOSER_EXPIRED
    assert error.detail == (f"{PROPOSER}'s delegation from {OWNER_A} expired at 2024-05-01 12:00 UTC; "
                            "an owner must renew it in Safe{Wallet}.")
    every_safe = replace(expired, safe=None)
    assert refusal(rules.check_proposer, PROPOSER, owners=owners, delegations=[every_safe], safe=SAFE,
                   now=NOW).rule is Rule.PROPOSER_EXPIRED


@pytest.mark.parametrize("delegation", [
    Delegation(delegate=PROPOSER, delegator=OWNER_A, safe=OUTSIDER, expiry_date=NOW - timedelta(days=1)),
    Delegation(delegate=PROPOSER, delegator=OUTSIDER, safe=SAFE, expiry_date=NOW - timedelta(days=1)),
    Delegation(delegate=OUTSIDER, delegator=OWNER_A, safe=SAFE, expiry_date=NOW - timedelta(days=1)),
])
def test_an_expired_delegation_that_would_not_count_anyway_is_no_delegation(delegation: Delegation) -> None:
    error = refusal(rules.check_proposer, PROPOSER, owners=[OWNER_A], delegations=[delegation], safe=SAFE, now=NOW)
    assert error.rule is Rule.NOT_A_PROPOSER
    assert error.detail == (f"{PROPOSER} is not a registered proposer of Safe {SAFE} (no delegation naming it or every "
                            "Safe, from a current owner); an owner must add it in Safe{Wallet}.")


# --- binding: comparing transactions field by field ------------------------------------------------


@pytest.mark.parametrize(("field", "value", "rule"), [
    ("safe", OUTSIDER, Rule.WRONG_SAFE), ("chain_id", 1, Rule.WRONG_CHAIN), ("to", OUTSIDER, Rule.TAMPERED_TO),
    ("value", 1, Rule.TAMPERED_VALUE), ("data", "0x00", Rule.TAMPERED_CALLDATA), ("operation", 1, Rule.TAMPERED_OPERATION),
    ("safe_tx_gas", 1, Rule.TAMPERED_SAFE_TX_GAS), ("base_gas", 1, Rule.TAMPERED_BASE_GAS),
    ("gas_price", 1, Rule.TAMPERED_GAS_PRICE), ("gas_token", OUTSIDER, Rule.TAMPERED_GAS_TOKEN),
    ("refund_receiver", OUTSIDER, Rule.TAMPERED_REFUND_RECEIVER), ("nonce", 4, Rule.TAMPERED_NONCE),
])
def test_each_stored_field_has_its_own_rule(field: str, value, rule: Rule) -> None:
    difference = stored_difference(TX, stored(**{field: value}))
    assert difference is not None and (difference.field, difference.rule, difference.found) == (field, rule, value)
    assert difference.expected == getattr(TX, field)


def test_a_missing_or_unreadable_stored_field_differs() -> None:
    missing = stored()
    del missing["base_gas"]
    assert stored_difference(TX, missing) == Difference("base_gas", "baseGas", Rule.TAMPERED_BASE_GAS, 0, "(missing)")
    for field, value in (("safe", "not an address"), ("data", "0xzz"), ("nonce", None), ("value", "ten")):
        difference = stored_difference(TX, stored(**{field: value}))
        assert difference is not None and difference.field == field


def test_the_first_differing_field_is_reported() -> None:
    difference = stored_difference(TX, stored(nonce=9, to=OUTSIDER, gas_price=1))
    assert difference is not None and difference.field == "to"


def test_stored_data_may_be_bytes_or_hex() -> None:
    assert stored_difference(TX, stored(data=TX.data)) is None
    assert stored_difference(TX, stored(data=TX.data.hex())) is None
    assert stored_difference(TX, stored(data="0x" + TX.data.hex())) is None
    assert stored_difference(TX, stored(data=TX.data + b"\x00")) is not None


def test_a_difference_message_shows_at_most_80_characters_of_each_value() -> None:
    difference = Difference("data", "data", Rule.TAMPERED_CALLDATA, b"\x01" * 100, "0x" + "ff" * 100)
    assert difference.message("the stored transaction") == (
        f"the stored transaction has data 0x{'ff' * 39}, the action's own transaction has 0x{'01' * 39}.")


def test_a_wallet_message_is_compared_by_its_eip712_names() -> None:
    assert signed_difference(TX, {"to": GOVERNOR.lower(), "nonce": 3, "safeTxGas": "0"}) is None
    found = signed_difference(TX, {"message": {"safeTxGas": 100000, "nonce": 3}, "domain": {}})
    assert found == Difference("safe_tx_gas", "safeTxGas", Rule.TAMPERED_SAFE_TX_GAS, 0, 100000)
    found = signed_difference(TX, {"message": {"to": GOVERNOR}, "domain": {"verifyingContract": OUTSIDER, "chainId": 42161}})
    assert found == Difference("safe", "safe", Rule.WRONG_SAFE, SAFE, OUTSIDER)
    assert signed_difference(TX, {"message": {"data": "0x" + TX.data.hex(), "refundReceiver": ZERO_ADDRESS}}) is None
    assert signed_difference(TX, {"safe": OUTSIDER, "chain_id": 1}) is None  # the domain, not message keys, names them


def test_a_plain_vote_in_words() -> None:
    fields = fields_in_words(TX, governor=GOVERNOR.lower())
    words = {f.name: (f.value, f.words, f.warning) for f in fields}
    assert [f.name for f in fields] == ["safe", "chain_id", "to", "value", "data", "operation", "safeTxGas", "baseGas",
                                        "gasPrice", "gasToken", "refundReceiver", "nonce"]
    assert words == {
        "safe": (SAFE, f"the Safe {SAFE} executes this", None),
        "chain_id": (42161, "chain 42161", None),
        "to": (GOVERNOR, f"calls contract {GOVERNOR} (the Governor)", None),
        "value": (0, "sends no ether", None),
        "data": ("0x" + TX.data.hex(), describe_vote_call(GOVERNOR, TX.data), None),
        "operation": (0, "CALL (0): an ordinary call, not a delegatecall", None),
        "safeTxGas": (0, "0: the inner call must succeed or the whole transaction reverts", None),
        "baseGas": (0, "no base gas refunded", None),
        "gasPrice": (0, "no gas refund: the relayer pays its own gas", None),
        "gasToken": (ZERO_ADDRESS, "refunds (if any) in ether", None),
        "refundReceiver": (ZERO_ADDRESS, "none: any refund would go to the relayer that sends it", None),
        "nonce": (3, "the Safe's transaction number 3", None),
    }


def test_a_risky_transaction_in_words_with_warnings() -> None:
    risky = replace(TX, to=OUTSIDER, data=b"\xde\xad", value=2 * 10**18, operation=1, safe_tx_gas=50000, base_gas=21000,
                    gas_price=10**9, gas_token=OWNER_A, refund_receiver=OWNER_B)
    words = {f.name: (f.words, f.warning) for f in fields_in_words(risky, governor=GOVERNOR)}
    assert words["to"] == (f"calls contract {OUTSIDER}", "the target is not the configured Governor")
    assert words["value"] == ("sends 2000000000000000000 wei (2 ETH)", "the transaction moves ether out of the Safe")
    assert words["data"] == ("2 bytes of calldata (not a vote this Safe knows)", None)
    assert words["operation"] == ("DELEGATECALL (1): runs foreign code as the Safe", "a delegatecall can change the Safe itself")
    assert words["safeTxGas"] == ("50000 gas reserved for the inner call, which may then fail while the transaction succeeds",
                                  "a failed vote would still use the Safe's nonce")
    assert words["baseGas"] == ("21000 gas added to the refund", "base gas is paid out as a refund")
    assert words["gasPrice"] == ("the Safe refunds gas at 1000000000 wei (1e-09 ETH) per gas", "the Safe pays a gas refund")
    assert words["gasToken"] == (f"refunds paid in token {OWNER_A}", "refunds are paid in a token")
    assert words["refundReceiver"] == (f"refunds are paid to {OWNER_B}", f"refunds go to {OWNER_B}")


def test_base_gas_warns_only_with_a_refund_and_no_governor_means_no_target_warning() -> None:
    words = {f.name: (f.words, f.warning) for f in fields_in_words(replace(TX, base_gas=5))}
    assert words["baseGas"] == ("5 gas added to the refund", None)
    assert words["to"] == (f"calls contract {GOVERNOR}", None)
    for refund in ({"gas_price": 1}, {"gas_token": OWNER_A}, {"refund_receiver": OWNER_B}):
        words = {f.name: f.warning for f in fields_in_words(replace(TX, base_gas=5, **refund))}
        assert words["baseGas"] == "base gas is paid out as a refund"
