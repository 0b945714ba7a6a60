"""Owner signature checks without a chain: each accepted form, each refusal and its message, and the packing the
Safe's checkNSignatures reads (governance/signatures.py). The EVM tests check the same against the real Safe."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from eth_keys import keys
from eth_utils import keccak, to_checksum_address

from governance.calldata import cast_vote_calldata
from governance.chain.safe_tx import SafeTx, encode_transaction_data, safe_tx_hash
from governance.errors import GovernanceRefusal, Rule
from governance.signatures import (
    EIP1271_LEGACY_MAGIC,
    OwnerSignature,
    encode_safe_signatures,
    parse_hex_signature,
    recover_ecdsa,
    verify_owner_signature,
)
from ingest.core.errors import InputError

KEY_A, KEY_B, KEY_X = (keys.PrivateKey(bytes([n]) * 32) for n in (1, 2, 3))
OWNER_A, OWNER_B, OUTSIDER = (k.public_key.to_checksum_address() for k in (KEY_A, KEY_B, KEY_X))
SAFE = to_checksum_address("0x" + "5a" * 20)
TX = SafeTx(safe=SAFE, chain_id=42161, to=to_checksum_address("0x" + "6b" * 20), data=cast_vote_calldata(7, 1, "r"), nonce=3)
HASH = safe_tx_hash(TX)
ETH_SIGN_HASH = keccak(b"\x19Ethereum Signed Message:\n32" + HASH)


def sign(key: keys.PrivateKey, digest: bytes, *, v_offset: int = 27) -> bytes:
    raw = key.sign_msg_hash(digest).to_bytes()  # r, s, v in {0, 1}
    return raw[:64] + bytes([raw[64] + v_offset])


def refusal(**kwargs) -> GovernanceRefusal:
    with pytest.raises(GovernanceRefusal) as caught:
        verify_owner_signature(kwargs.pop("w3", None), kwargs.pop("tx", TX), **kwargs)
    return caught.value


def test_hex_signatures_parse_with_or_without_0x() -> None:
    assert parse_hex_signature("  0xABcd ") == b"\xab\xcd"
    assert parse_hex_signature("0XABcd") == b"\xab\xcd"
    assert parse_hex_signature("abcd") == b"\xab\xcd"


def test_unreadable_or_empty_signatures_say_what_a_signature_is() -> None:
    with pytest.raises(InputError) as caught:
        parse_hex_signature("0xnot-hex-at-all-and-rather-long")
    assert str(caught.value) == "A signature must be 0x-prefixed hex (65 bytes: r, s, v); got '0xnot-hex-at-all-and'…"
    with pytest.raises(InputError) as caught:
        parse_hex_signature("0x")
    assert str(caught.value) == "The signature is empty: sign the action's EIP-712 typed data in your wallet and paste the result."


def test_recovery_accepts_v_0_1_and_27_28_only() -> None:
    assert recover_ecdsa(HASH, sign(KEY_A, HASH, v_offset=0)) == OWNER_A
    assert recover_ecdsa(HASH, sign(KEY_A, HASH)) == OWNER_A
    for offset in (2, 25, 29, 31):
        assert recover_ecdsa(HASH, sign(KEY_A, HASH, v_offset=offset)) is None
    assert recover_ecdsa(HASH, sign(KEY_A, HASH)[:64]) is None
    assert recover_ecdsa(HASH, sign(KEY_A, HASH) + b"\x00") is None
    assert recover_ecdsa(HASH, bytes(64) + b"\x1b") is None  # r = s = 0: no key


def test_an_owner_eip712_signature_is_kept_as_signed() -> None:
    signature = sign(KEY_A, HASH)
    assert verify_owner_signature(None, TX, signature=signature, owners=[OWNER_A.lower()], signer=OWNER_A.lower()) == \
        OwnerSignature(owner=OWNER_A, kind="eip712", signature=signature)
    low_v = sign(KEY_A, HASH, v_offset=0)
    assert verify_owner_signature(None, TX, signature=low_v, owners=[OWNER_A]).signature == signature  # v moved to 27/28


def test_an_eth_sign_signature_is_stored_with_v_plus_4() -> None:
    personal = sign(KEY_B, ETH_SIGN_HASH)
    expected = personal[:64] + bytes([personal[64] + 4])
    assert verify_owner_signature(None, TX, signature=personal, owners=[OWNER_A, OWNER_B]) == \
        OwnerSignature(owner=OWNER_B, kind="eth_sign", signature=expected)
    # already in the Safe's form (v 31/32): read as eth_sign only, and kept as it is
    assert verify_owner_signature(None, TX, signature=expected, owners=[OWNER_B], signer=OWNER_B) == \
        OwnerSignature(owner=OWNER_B, kind="eth_sign", signature=expected)


def test_a_v_31_signature_is_never_read_as_eip712() -> None:
    eip712 = sign(KEY_A, HASH)
    as_eth_sign = eip712[:64] + bytes([eip712[64] + 4])
    error = refusal(signature=as_eth_sign, owners=[OWNER_A], signer=OWNER_A)
    assert error.rule is Rule.BAD_SIGNATURE


def test_a_signature_of_the_claimed_signer_who_is_no_owner_is_not_owner() -> None:
    error = refusal(signature=sign(KEY_X, HASH), owners=[OWNER_A], signer=OUTSIDER)
    assert (error.rule, error.detail) == (Rule.NOT_OWNER, f"{OUTSIDER} is not an owner of Safe {SAFE}.")


def test_a_signature_by_someone_else_than_the_claimed_signer_is_bad() -> None:
    error = refusal(signature=sign(KEY_B, HASH), owners=[OWNER_A, OWNER_B], signer=OWNER_A)
    assert error.rule is Rule.BAD_SIGNATURE
    assert error.detail == (f"the signature is not {OWNER_A}'s signature over Safe transaction 0x{HASH.hex()} "
                            "(it was made for different data: tampered calldata, another chain id, Safe or nonce).")


def test_a_signature_over_another_transaction_is_bad() -> None:
    other = safe_tx_hash(SafeTx(**{**TX.__dict__, "nonce": 4}))
    assert refusal(signature=sign(KEY_A, other), owners=[OWNER_A], signer=OWNER_A).rule is Rule.BAD_SIGNATURE


def test_without_a_claimed_signer_the_recovered_addresses_are_named() -> None:
    error = refusal(signature=sign(KEY_X, HASH), owners=[OWNER_A])
    assert error.rule is Rule.NOT_OWNER
    # read as EIP-712 it is the outsider; read as eth_sign some other address: both are named, sorted
    eth_sign_reading = recover_ecdsa(ETH_SIGN_HASH, sign(KEY_X, HASH))
    named = ", ".join(sorted({OUTSIDER, eth_sign_reading}))
    assert error.detail == (f"the signature recovers to {named}, which is not an owner of Safe {SAFE} for transaction "
                            f"0x{HASH.hex()}.")


def test_a_signature_recovering_to_nobody_says_no_address() -> None:
    error = refusal(signature=bytes(64) + b"\x1b", owners=[OWNER_A])
    assert (error.rule, error.detail) == (
        Rule.NOT_OWNER, f"the signature recovers to no address, which is not an owner of Safe {SAFE} for transaction 0x{HASH.hex()}.")


@pytest.mark.parametrize("length", [0, 64, 66, 130])
def test_an_ecdsa_signature_is_65_bytes(length: int) -> None:
    error = refusal(signature=b"\x01" * length, owners=[OWNER_A], signer=OWNER_A)
    assert (error.rule, error.detail) == (Rule.BAD_SIGNATURE, f"expected a 65-byte ECDSA signature, got {length} bytes.")


class FakeContractOwner:
    """A chain stand-in for one contract owner whose isValidSignature answers ``answer`` (or raises it)."""

    def __init__(self, address: str, answer: bytes | Exception) -> None:
        self.address, self.answer, self.calls = address, answer, []
        self.eth = SimpleNamespace(get_code=self.get_code, contract=self.contract)

    def get_code(self, address: str) -> bytes:
        return b"\x60\x80" if address == self.address else b""

    def contract(self, *, address: str, abi: list) -> SimpleNamespace:
        assert address == self.address and abi[0]["name"] == "isValidSignature"
        assert [i["type"] for i in abi[0]["inputs"]] == ["bytes", "bytes"] and abi[0]["outputs"][0]["type"] == "bytes4"

        def is_valid(data: bytes, signature: bytes) -> SimpleNamespace:
            def call() -> bytes:
                self.calls.append((data, signature))
                if isinstance(self.answer, Exception):
                    raise self.answer
                return self.answer
            return SimpleNamespace(call=call)

        return SimpleNamespace(functions=SimpleNamespace(isValidSignature=is_valid))


CONTRACT_OWNER = to_checksum_address("0x" + "c0" * 20)


def test_a_contract_owner_confirms_with_the_legacy_magic_value() -> None:
    assert EIP1271_LEGACY_MAGIC == bytes.fromhex("20c13b0b")
    w3 = FakeContractOwner(CONTRACT_OWNER, EIP1271_LEGACY_MAGIC)
    found = verify_owner_signature(w3, TX, signature=b"any", owners=[CONTRACT_OWNER], signer=CONTRACT_OWNER.lower())
    assert found == OwnerSignature(owner=CONTRACT_OWNER, kind="eip1271", signature=b"any")
    assert w3.calls == [(encode_transaction_data(TX), b"any")]


def test_a_contract_owner_that_does_not_confirm_is_refused() -> None:
    error = refusal(w3=FakeContractOwner(CONTRACT_OWNER, bytes.fromhex("1626ba7e")), signature=b"s",
                    owners=[CONTRACT_OWNER], signer=CONTRACT_OWNER)
    assert (error.rule, error.detail) == (Rule.BAD_SIGNATURE, f"contract owner {CONTRACT_OWNER} did not confirm the signature (EIP-1271).")
    error = refusal(w3=FakeContractOwner(CONTRACT_OWNER, RuntimeError("GS024")), signature=b"s",
                    owners=[CONTRACT_OWNER], signer=CONTRACT_OWNER)
    assert (error.rule, error.detail) == (
        Rule.BAD_SIGNATURE, f"contract owner {CONTRACT_OWNER} rejected the signature (EIP-1271 call reverted: GS024).")


def test_a_contract_that_is_no_owner_is_refused_before_it_is_asked() -> None:
    w3 = FakeContractOwner(CONTRACT_OWNER, EIP1271_LEGACY_MAGIC)
    error = refusal(w3=w3, signature=b"s", owners=[OWNER_A], signer=CONTRACT_OWNER)
    assert (error.rule, error.detail) == (Rule.NOT_OWNER, f"{CONTRACT_OWNER} is not an owner of Safe {SAFE}.")
    assert w3.calls == []


def test_an_account_without_code_is_checked_by_ecdsa_even_with_a_chain() -> None:
    w3 = FakeContractOwner(CONTRACT_OWNER, EIP1271_LEGACY_MAGIC)
    assert verify_owner_signature(w3, TX, signature=sign(KEY_A, HASH), owners=[OWNER_A], signer=OWNER_A).kind == "eip712"


def test_signatures_are_packed_sorted_by_owner_with_contract_data_appended() -> None:
    a = OwnerSignature(owner=to_checksum_address("0x" + "03" * 20), kind="eip712", signature=b"\xaa" * 65)
    b = OwnerSignature(owner=to_checksum_address("0x" + "01" * 20), kind="eip1271", signature=b"\xbb" * 3)
    c = OwnerSignature(owner=to_checksum_address("0x" + "02" * 20), kind="eip1271", signature=b"\xcc" * 2)
    packed = encode_safe_signatures([a, b, c])
    static_b = (int(b.owner, 16).to_bytes(32, "big") + (3 * 65).to_bytes(32, "big") + b"\x00")
    static_c = (int(c.owner, 16).to_bytes(32, "big") + (3 * 65 + 32 + 3).to_bytes(32, "big") + b"\x00")
    dynamic = (3).to_bytes(32, "big") + b"\xbb" * 3 + (2).to_bytes(32, "big") + b"\xcc" * 2
    assert packed == static_b + static_c + b"\xaa" * 65 + dynamic
    assert encode_safe_signatures([]) == b""


def test_eth_sign_signatures_with_either_recovery_bit_are_accepted_in_the_safes_form() -> None:
    seen = set()
    for nonce in range(12):
        tx = SafeTx(**{**TX.__dict__, "nonce": nonce})
        digest = keccak(b"\x19Ethereum Signed Message:\n32" + safe_tx_hash(tx))
        personal = sign(KEY_A, digest)
        safe_form = personal[:64] + bytes([personal[64] + 4])
        found = verify_owner_signature(None, tx, signature=safe_form, owners=[OWNER_A], signer=OWNER_A)
        assert found == OwnerSignature(owner=OWNER_A, kind="eth_sign", signature=safe_form)
        seen.add(safe_form[64])
    assert seen == {31, 32}
