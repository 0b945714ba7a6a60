"""A loopback server speaking the Safe Transaction Service API for the endpoints Concord uses.

It follows the real service (safe-global/safe-transaction-service, ``history/urls.py``, ``urls_v2.py``,
``views_v2.py``, ``serializers.py``, ``models.py``), with safe-eth-py's own hashing and signature parsing
(not Concord's):

* routes: v2 for multisig-transaction list/create/detail and delegates, v1 for Safe info and confirmations;
  the real service still serves the deprecated v1 list/create/detail, this one answers them 410 so a client
  that still uses them fails its tests;
* create (``SafeMultisigTransactionSerializer``): the Safe address must be checksummed (422), the
  contractTransactionHash must match the fields, the nonce must not be executed, the sender must be an owner
  or a delegate valid for the Safe, the signature must recover to the sender; a delegate's transaction is
  stored with ``proposer`` = its delegator and ``proposedByDelegate`` = the delegate;
* delegates (``SafeContractDelegateManager.get_for_safe``): a delegation counts when it names the Safe or
  no Safe, its delegator is an owner and it is not expired; the list (``DelegateListFilter``) filters
  ``safe`` exactly (a delegation for every Safe is not listed under ``?safe=``) and needs one filter (400);
* responses (``SafeMultisigTransactionResponseSerializerV2``, ``SafeDelegateResponseSerializer``) carry the
  real field names, numbers as strings where the serializer says so; lists paginate with limit/offset and
  ``count``/``next``/``previous``/``results`` (``DefaultPagination``: default 100, max 200).

Owners, threshold and nonce are read from the test chain, as the real service indexes them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from eth_utils import is_checksum_address, to_checksum_address

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@dataclass
class ServiceState:
    w3: Any
    safe_abi: list[dict[str, Any]]
    #: delegations as the real model holds them: safe (None = every Safe of the delegator), delegate, delegator,
    #: label, expiry (aware datetime or None)
    delegations: list[dict[str, Any]] = field(default_factory=list)
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    page_size: int = 100

    def safe(self, address: str) -> Any:
        return self.w3.eth.contract(address=to_checksum_address(address), abi=self.safe_abi)

    def delegate(self, delegate: str, *, delegator: str, safe: str | None, expiry: datetime | None = None, label: str = "concord") -> None:
        self.delegations.append({"safe": safe and to_checksum_address(safe), "delegate": to_checksum_address(delegate),
                                 "delegator": to_checksum_address(delegator), "label": label, "expiry": expiry})

    def valid_delegates(self, safe: str, owners: list[str]) -> set[str]:
        """``get_delegates_for_safe_and_owners``."""
        now = datetime.now(UTC)
        return {
            d["delegate"] for d in self.delegations
            if (d["safe"] is None or d["safe"] == safe) and d["delegator"] in owners and (d["expiry"] is None or d["expiry"] > now)
        }

    def delegator_of(self, safe: str, owners: list[str], delegate: str) -> str:
        """``get_for_safe_and_delegate(...).first().delegator``."""
        now = datetime.now(UTC)
        return next(
            d["delegator"] for d in self.delegations
            if d["delegate"] == delegate and (d["safe"] is None or d["safe"] == safe) and d["delegator"] in owners
            and (d["expiry"] is None or d["expiry"] > now)
        )


def _signers(signature: str, safe_tx_hash: bytes) -> list[str]:
    from safe_eth.safe.safe_signature import SafeSignature

    return [to_checksum_address(s.owner) for s in SafeSignature.parse_signature(signature, safe_tx_hash)]


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _handler(state: ServiceState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body: Any = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def _page(self, url: Any, items: list[dict[str, Any]], **extra: Any) -> None:
            """``LimitOffsetPagination`` as DefaultPagination configures it."""
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            limit = min(int(query.get("limit", state.page_size)), 200)
            offset = int(query.get("offset", 0))
            base = f"http://{self.headers['Host']}{url.path}"
            following = {**query, "limit": limit, "offset": offset + limit}
            before = {**query, "limit": limit, "offset": max(offset - limit, 0)}
            self._send(200, {
                "count": len(items),
                "next": f"{base}?{urlencode(following)}" if offset + limit < len(items) else None,
                "previous": f"{base}?{urlencode(before)}" if offset > 0 else None,
                "results": items[offset:offset + limit],
                **extra,
            })

        def do_GET(self) -> None:
            url = urlparse(self.path)
            parts = [p for p in url.path.split("/") if p]
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            state.requests.append(f"GET {url.path}")
            if parts[:3] == ["api", "v1", "safes"] and len(parts) == 4:
                safe = state.safe(parts[3])
                return self._send(200, {
                    "address": safe.address, "nonce": str(safe.functions.nonce().call()),
                    "threshold": safe.functions.getThreshold().call(), "owners": safe.functions.getOwners().call(),
                    "masterCopy": ZERO_ADDRESS, "modules": [], "fallbackHandler": ZERO_ADDRESS, "guard": ZERO_ADDRESS,
                    "version": "1.4.1",
                })
            if parts == ["api", "v2", "delegates"]:
                if not any(query.get(k) for k in ("safe", "delegate", "delegator", "label")):
                    return self._send(400, {"nonFieldErrors": ["At least one query param must be provided"]})
                rows = [
                    d for d in state.delegations
                    if ("safe" not in query or d["safe"] == to_checksum_address(query["safe"]))
                    and ("delegate" not in query or d["delegate"] == to_checksum_address(query["delegate"]))
                    and ("delegator" not in query or d["delegator"] == to_checksum_address(query["delegator"]))
                ]
                results = [{"safe": d["safe"], "delegate": d["delegate"], "delegator": d["delegator"], "label": d["label"],
                            "expiryDate": d["expiry"].isoformat().replace("+00:00", "Z") if d["expiry"] else None} for d in rows]
                return self._page(url, results)
            if parts[:2] == ["api", "v2"] and parts[2:3] == ["multisig-transactions"] and len(parts) == 4:
                tx = state.transactions.get(parts[3])
                return self._send(404, {"detail": "Not found."}) if tx is None else self._send(200, tx)
            if parts[:3] == ["api", "v2", "safes"] and parts[4:] == ["multisig-transactions"]:
                if not is_checksum_address(parts[3]):
                    return self._send(422, {"code": 1, "message": "Checksum address validation failed", "arguments": [parts[3]]})
                rows = [t for t in state.transactions.values() if t["safe"] == parts[3]]
                if "executed" in query:
                    rows = [t for t in rows if t["isExecuted"] == (query["executed"] == "true")]
                rows.sort(key=lambda t: (-int(t["nonce"]), t["submissionDate"]))
                return self._page(url, rows, countUniqueNonce=len({t["nonce"] for t in rows}))
            if parts[:2] == ["api", "v1"] and "multisig-transactions" in parts:
                return self._send(410, {"detail": "Deprecated route: use /api/v2/."})  # the loopback refuses what the client must not use
            self._send(404, {"detail": "Not found."})

        def do_POST(self) -> None:
            from safe_eth.safe.safe_tx import SafeTx as ReferenceSafeTx

            url = urlparse(self.path)
            parts = [p for p in url.path.split("/") if p]
            state.requests.append(f"POST {url.path}")
            body = self._body()
            if parts[:3] == ["api", "v2", "safes"] and parts[4:] == ["multisig-transactions"]:
                if not is_checksum_address(parts[3]):
                    return self._send(422, {"code": 1, "message": "Checksum address validation failed", "arguments": [parts[3]]})
                safe = state.safe(parts[3])
                reference = ReferenceSafeTx(
                    None, safe.address, to_checksum_address(body["to"]), int(body["value"]),
                    bytes.fromhex((body.get("data") or "0x")[2:]), int(body["operation"]), int(body["safeTxGas"]),
                    int(body["baseGas"]), int(body["gasPrice"]), body["gasToken"], body["refundReceiver"],
                    safe_nonce=int(body["nonce"]), safe_version="1.4.1", chain_id=state.w3.eth.chain_id,
                )
                tx_hash = "0x" + bytes(reference.safe_tx_hash).hex()
                if tx_hash != body["contractTransactionHash"].lower():
                    return self._send(422, {"contractTransactionHash": [f"Contract-transaction-hash={body['contractTransactionHash']} does not match provided contract-tx-hash={tx_hash}"]})
                if int(body["nonce"]) < safe.functions.nonce().call():
                    return self._send(422, {"nonFieldErrors": [f"Tx with nonce={body['nonce']} for safe={safe.address} already executed"]})
                sender = to_checksum_address(body["sender"])
                owners = [to_checksum_address(o) for o in safe.functions.getOwners().call()]
                delegates = state.valid_delegates(safe.address, owners)
                if sender not in set(owners) | delegates:
                    return self._send(422, {"nonFieldErrors": [f"Sender={sender} is not an owner or delegate. Current owners={owners}. Delegates={sorted(delegates)}"]})
                if _signers(body["signature"], bytes(reference.safe_tx_hash)) != [sender]:
                    return self._send(422, {"nonFieldErrors": [f"Signature does not match sender={sender}."]})
                if sender in owners:
                    proposer, proposed_by_delegate = sender, None
                else:
                    proposer, proposed_by_delegate = state.delegator_of(safe.address, owners, sender), sender
                confirmations = [{"owner": sender, "submissionDate": _now(), "transactionHash": None,
                                  "signature": body["signature"], "signatureType": "EOA"}] if sender in owners else []
                state.transactions.setdefault(tx_hash, {
                    "safe": safe.address, "to": to_checksum_address(body["to"]), "value": str(body["value"]),
                    "data": body.get("data"), "operation": int(body["operation"]), "gasToken": body["gasToken"],
                    "safeTxGas": str(body["safeTxGas"]), "baseGas": str(body["baseGas"]), "gasPrice": str(body["gasPrice"]),
                    "refundReceiver": body["refundReceiver"], "nonce": str(body["nonce"]), "executionDate": None,
                    "submissionDate": _now(), "modified": _now(), "blockNumber": None, "transactionHash": None,
                    "safeTxHash": tx_hash, "proposer": proposer, "proposedByDelegate": proposed_by_delegate,
                    "executor": None, "isExecuted": False, "isSuccessful": None, "ethGasPrice": None, "maxFeePerGas": None,
                    "maxPriorityFeePerGas": None, "gasUsed": None, "fee": None, "origin": body.get("origin"),
                    "dataDecoded": None, "confirmationsRequired": safe.functions.getThreshold().call(),
                    "confirmations": confirmations, "trusted": True, "signatures": None,
                })
                return self._send(201)
            if parts[:3] == ["api", "v1", "multisig-transactions"] and parts[4:] == ["confirmations"]:
                tx = state.transactions.get(parts[3])
                if tx is None:
                    return self._send(404, {"detail": "Not found."})
                owners = [to_checksum_address(o) for o in state.safe(tx["safe"]).functions.getOwners().call()]
                signers = _signers(body["signature"], bytes.fromhex(parts[3][2:]))
                if len(signers) != 1 or signers[0] not in owners:
                    return self._send(422, {"signature": [f"Signer={signers} is not an owner"]})
                if any(c["owner"] == signers[0] for c in tx["confirmations"]):
                    return self._send(422, {"signature": ["Signature already exists"]})
                tx["confirmations"].append({"owner": signers[0], "submissionDate": _now(), "transactionHash": None,
                                            "signature": body["signature"], "signatureType": "EOA"})
                return self._send(201, {"signature": body["signature"]})
            if parts[:2] == ["api", "v1"] and "multisig-transactions" in parts:
                return self._send(410, {"detail": "Deprecated route: use /api/v2/."})
            self._send(404, {"detail": "Not found."})

    return Handler


@contextmanager
def running_safe_service(state: ServiceState) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
