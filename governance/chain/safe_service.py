"""A typed client for the Safe Transaction Service (the API behind Safe{Wallet}).

Concord uses it as a registered *proposer* (a "delegate" in the service's terms): a non-owner key that
may queue a transaction so the owners see and confirm it in Safe{Wallet}; it cannot approve or execute.
Only the endpoints Concord needs are covered, on the routes the service keeps current: v2 for
multisig-transaction list, create and detail and for delegates (v1 of those is deprecated), v1 for Safe
info and confirmations (which have no v2). Lists are paginated (``next``), and every page is followed.
``transport`` lets tests pass any httpx transport.

How the service treats delegates (``history/models.py``, ``SafeContractDelegateManager.get_for_safe``): a
delegation counts for a Safe when it names that Safe *or no Safe at all* (then it holds for every Safe
its delegator owns), its delegator is a current owner, and it has not expired. ``GET /api/v2/delegates/?safe=``
lists only delegations naming the Safe, so Concord asks by delegate and applies those rules itself.
A transaction a delegate proposes is stored with ``proposer`` = the delegator and ``proposedByDelegate``
= the delegate (``SafeMultisigTransactionSerializer.save``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import urlparse

import httpx
from eth_utils import to_checksum_address

from governance.chain.safe_tx import SafeTx, safe_tx_hash
from ingest.core.errors import ConcordError, InputError, NotFoundError

__all__ = [
    "Confirmation",
    "Delegation",
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
class Delegation:
    """One delegate registration (``SafeDelegateResponseSerializer``): ``safe`` None means every Safe of the delegator."""

    delegate: str
    delegator: str
    safe: str | None = None
    label: str = ""
    expiry_date: datetime | None = None

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Delegation:
        """Parse one ``results`` entry (camelCase)."""
        expiry = raw.get("expiryDate")
        return cls(
            delegate=to_checksum_address(raw["delegate"]),
            delegator=to_checksum_address(raw["delegator"]),
            safe=to_checksum_address(raw["safe"]) if raw.get("safe") else None,
            label=str(raw.get("label") or ""),
            expiry_date=_parse_time(expiry) if expiry else None,
        )

    def valid_for(self, safe: str, *, owners: list[str], now: datetime) -> bool:
        """Whether the service lets this delegate propose for ``safe`` now."""
        return (
            (self.safe is None or self.safe == to_checksum_address(safe))
            and self.delegator in owners
            and (self.expiry_date is None or self.expiry_date > now)
        )


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


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
    operation: int = 0
    safe_tx_gas: int = 0
    base_gas: int = 0
    gas_price: int = 0
    gas_token: str | None = None
    refund_receiver: str | None = None
    proposer: str | None = None
    proposed_by_delegate: str | None = None
    confirmations: list[Confirmation] = field(default_factory=list)

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> MultisigTransaction:
        """Parse the service's v2 JSON (``SafeMultisigTransactionResponseSerializerV2``: numbers as strings, camelCase)."""
        return cls(
            safe=to_checksum_address(raw["safe"]),
            safe_tx_hash=raw["safeTxHash"],
            to=to_checksum_address(raw["to"]),
            value=int(raw.get("value") or 0),
            data=raw.get("data"),
            nonce=int(raw["nonce"]),
            confirmations_required=raw.get("confirmationsRequired"),
            is_executed=bool(raw.get("isExecuted")),
            operation=int(raw.get("operation") or 0),
            safe_tx_gas=int(raw.get("safeTxGas") or 0),
            base_gas=int(raw.get("baseGas") or 0),
            gas_price=int(raw.get("gasPrice") or 0),
            gas_token=raw.get("gasToken"),
            refund_receiver=raw.get("refundReceiver"),
            proposer=to_checksum_address(raw["proposer"]) if raw.get("proposer") else None,
            proposed_by_delegate=to_checksum_address(raw["proposedByDelegate"]) if raw.get("proposedByDelegate") else None,
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

    def _pages(self, path: str, params: dict[str, Any], *, max_pages: int = 1000) -> Iterator[dict[str, Any]]:
        """Every ``results`` entry of a paginated list, following ``next`` (on this service only)."""
        raw = self._request("GET", path, params=params)
        for _ in range(max_pages):
            yield from raw.get("results") or []
            following = raw.get("next")
            if not following:
                return
            if urlparse(following).netloc != urlparse(self.base_url).netloc:
                raise SafeServiceError(f"Safe Transaction Service at {self.base_url} sent a next page on another host: {following}")
            raw = self._request("GET", following)
        raise SafeServiceError(f"Safe Transaction Service: more than {max_pages} pages at {path}; refusing to read on.")

    def delegations(self, *, safe: str | None = None, delegate: str | None = None) -> list[Delegation]:
        """Delegate registrations (``GET /api/v2/delegates/``) naming ``safe`` exactly, or held by ``delegate``."""
        params = {k: to_checksum_address(v) for k, v in {"safe": safe, "delegate": delegate}.items() if v}
        if not params:
            raise InputError("Listing delegates needs a Safe or a delegate address.")
        return [Delegation.from_api(r) for r in self._pages("/api/v2/delegates/", params)]

    def list_delegates(self, safe: str) -> list[str]:
        """Addresses registered as proposers (delegates) naming ``safe`` (not those registered for every Safe)."""
        return [d.delegate for d in self.delegations(safe=safe)]

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
        self._request("POST", f"/api/v2/safes/{to_checksum_address(tx.safe)}/multisig-transactions/", json=body)
        return tx_hash

    def get_transaction(self, safe_tx_hash_hex: str) -> MultisigTransaction:
        """A queued transaction with the confirmations owners have added in Safe{Wallet}."""
        if not safe_tx_hash_hex.startswith("0x") or len(safe_tx_hash_hex) != 66:
            raise InputError(f"A Safe tx hash is 0x + 64 hex characters; got {safe_tx_hash_hex!r}.")
        return MultisigTransaction.from_api(self._request("GET", f"/api/v2/multisig-transactions/{safe_tx_hash_hex}/"))

    def confirm(self, safe_tx_hash_hex: str, *, signature: str) -> None:
        """Add an owner's confirmation (the owner's own signature; Concord only relays it)."""
        self._request("POST", f"/api/v1/multisig-transactions/{safe_tx_hash_hex}/confirmations/", json={"signature": signature})

    def pending(self, safe: str) -> list[MultisigTransaction]:
        """Transactions queued and not executed, every page."""
        path = f"/api/v2/safes/{to_checksum_address(safe)}/multisig-transactions/"
        return [MultisigTransaction.from_api(r) for r in self._pages(path, {"executed": "false"})]
