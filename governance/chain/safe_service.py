"""A typed client for the Safe Transaction Service (the API behind Safe{Wallet}).

Concord uses it as a registered *proposer* (a "delegate" in the service's terms): a non-owner key that
may queue a transaction so the owners see and confirm it in Safe{Wallet}; it cannot approve or execute.
Only the endpoints Concord needs are covered. ``transport`` lets tests pass any httpx transport.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self

import httpx
from eth_utils import to_checksum_address

from governance.chain.safe_tx import SafeTx, safe_tx_hash
from ingest.errors import ConcordError, InputError, NotFoundError

__all__ = [
    "Confirmation",
    "MultisigTransaction",
    "SafeInfo",
    "SafeServiceError",
    "SafeTransactionServiceClient",
]


class SafeServiceError(ConcordError, RuntimeError):
    """The Safe Transaction Service refused a request or could not be reached."""


@dataclass(frozen=True)
class SafeInfo:
    """A Safe as the service reports it."""

    address: str
    nonce: int
    threshold: int
    owners: list[str]
    version: str | None = None


@dataclass(frozen=True)
class Confirmation:
    """One owner's confirmation stored by the service."""

    owner: str
    signature: str
    signature_type: str | None = None


@dataclass(frozen=True)
class MultisigTransaction:
    """A queued (or executed) Safe transaction with its confirmations."""

    safe: str
    safe_tx_hash: str
    to: str
    value: int
    data: str | None
    nonce: int
    confirmations_required: int | None
    is_executed: bool
    proposer: str | None = None
    confirmations: list[Confirmation] = field(default_factory=list)

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> MultisigTransaction:
        """Parse the service's JSON (camelCase)."""
        return cls(
            safe=to_checksum_address(raw["safe"]),
            safe_tx_hash=raw["safeTxHash"],
            to=to_checksum_address(raw["to"]),
            value=int(raw.get("value") or 0),
            data=raw.get("data"),
            nonce=int(raw["nonce"]),
            confirmations_required=raw.get("confirmationsRequired"),
            is_executed=bool(raw.get("isExecuted")),
            proposer=raw.get("proposer"),
            confirmations=[
                Confirmation(owner=to_checksum_address(c["owner"]), signature=c["signature"], signature_type=c.get("signatureType"))
                for c in raw.get("confirmations") or []
            ],
        )


class SafeTransactionServiceClient:
    """``client = SafeTransactionServiceClient("https://safe-transaction-mainnet.safe.global")``."""

    def __init__(self, base_url: str, *, timeout: float = 20.0, transport: httpx.BaseTransport | None = None, api_key: str | None = None) -> None:
        headers = {"Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport, headers=headers)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SafeServiceError(
                f"Safe Transaction Service at {self.base_url} did not answer {method} {path}: {exc}. "
                "Check CONCORD_CHAIN__SAFE_TX_SERVICE_URL."
            ) from exc
        if response.status_code == 404:
            raise NotFoundError(f"Safe Transaction Service: {method} {path} not found (unknown Safe or transaction).")
        if response.status_code >= 400:
            raise SafeServiceError(
                f"Safe Transaction Service refused {method} {path} with HTTP {response.status_code}: {response.text[:300]}"
            )
        if not response.content:
            return None
        return response.json()

    def get_safe(self, safe: str) -> SafeInfo:
        """Owners, threshold and nonce as the service has indexed them."""
        raw = self._request("GET", f"/api/v1/safes/{to_checksum_address(safe)}/")
        return SafeInfo(
            address=to_checksum_address(raw["address"]),
            nonce=int(raw["nonce"]),
            threshold=int(raw["threshold"]),
            owners=[to_checksum_address(o) for o in raw["owners"]],
            version=raw.get("version"),
        )

    def list_delegates(self, safe: str) -> list[str]:
        """Addresses registered as proposers (delegates) for ``safe``."""
        raw = self._request("GET", "/api/v2/delegates/", params={"safe": to_checksum_address(safe)})
        return [to_checksum_address(r["delegate"]) for r in raw.get("results", [])]

    def propose(self, tx: SafeTx, *, sender: str, signature: str, origin: str = "Concord") -> str:
        """Queue ``tx`` for the owners; ``signature`` is the sender's signature over the Safe tx hash."""
        tx_hash = "0x" + safe_tx_hash(tx).hex()
        body = {
            "to": to_checksum_address(tx.to),
            "value": str(tx.value),
            "data": "0x" + tx.data.hex() if tx.data else None,
            "operation": tx.operation,
            "safeTxGas": str(tx.safe_tx_gas),
            "baseGas": str(tx.base_gas),
            "gasPrice": str(tx.gas_price),
            "gasToken": to_checksum_address(tx.gas_token),
            "refundReceiver": to_checksum_address(tx.refund_receiver),
            "nonce": str(tx.nonce),
            "contractTransactionHash": tx_hash,
            "sender": to_checksum_address(sender),
            "signature": signature,
            "origin": origin,
        }
        self._request("POST", f"/api/v1/safes/{to_checksum_address(tx.safe)}/multisig-transactions/", json=body)
        return tx_hash

    def get_transaction(self, safe_tx_hash_hex: str) -> MultisigTransaction:
        """A queued transaction with the confirmations owners have added in Safe{Wallet}."""
        if not safe_tx_hash_hex.startswith("0x") or len(safe_tx_hash_hex) != 66:
            raise InputError(f"A Safe tx hash is 0x + 64 hex characters; got {safe_tx_hash_hex!r}.")
        return MultisigTransaction.from_api(self._request("GET", f"/api/v1/multisig-transactions/{safe_tx_hash_hex}/"))

    def confirm(self, safe_tx_hash_hex: str, *, signature: str) -> None:
        """Add an owner's confirmation (the owner's own signature; Concord only relays it)."""
        self._request("POST", f"/api/v1/multisig-transactions/{safe_tx_hash_hex}/confirmations/", json={"signature": signature})

    def pending(self, safe: str) -> list[MultisigTransaction]:
        """Transactions queued and not executed."""
        raw = self._request("GET", f"/api/v1/safes/{to_checksum_address(safe)}/multisig-transactions/", params={"executed": "false"})
        return [MultisigTransaction.from_api(r) for r in raw.get("results", [])]
