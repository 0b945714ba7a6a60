"""A loopback server speaking the Safe Transaction Service API for the endpoints Concord uses.

It checks what the real service checks, with safe-eth-py's own hashing and signature parsing (not
Concord's): the contractTransactionHash must match the fields, the sender's signature must recover
to the sender, the sender must be an owner or a registered delegate, confirmations must be owners'.
Owners, threshold and nonce are read from the test chain, as the real service indexes them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from eth_utils import to_checksum_address


@dataclass
class ServiceState:
    w3: Any
    safe_abi: list[dict[str, Any]]
    delegates: dict[str, list[str]] = field(default_factory=dict)
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def safe(self, address: str) -> Any:
        return self.w3.eth.contract(address=to_checksum_address(address), abi=self.safe_abi)


def _signers(signature: str, safe_tx_hash: bytes) -> list[str]:
    from safe_eth.safe.safe_signature import SafeSignature

    return [to_checksum_address(s.owner) for s in SafeSignature.parse_signature(signature, safe_tx_hash)]


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

        def do_GET(self) -> None:
            url = urlparse(self.path)
            parts = [p for p in url.path.split("/") if p]
            state.requests.append(f"GET {url.path}")
            if parts[:3] == ["api", "v1", "safes"] and len(parts) == 4:
                safe = state.safe(parts[3])
                self._send(200, {"address": safe.address, "nonce": str(safe.functions.nonce().call()),
                                 "threshold": safe.functions.getThreshold().call(), "owners": safe.functions.getOwners().call(),
                                 "version": "1.4.1"})
            elif parts[:3] == ["api", "v2", "delegates"]:
                safe = to_checksum_address(parse_qs(url.query)["safe"][0])
                results = [{"safe": safe, "delegate": d, "delegator": None, "label": "concord"} for d in state.delegates.get(safe, [])]
                self._send(200, {"count": len(results), "next": None, "previous": None, "results": results})
            elif parts[:3] == ["api", "v1", "multisig-transactions"] and len(parts) == 4:
                tx = state.transactions.get(parts[3])
                self._send(404, {"detail": "Not found."}) if tx is None else self._send(200, tx)
            else:
                self._send(404, {"detail": "Not found."})

        def do_POST(self) -> None:
            from safe_eth.safe.safe_tx import SafeTx as ReferenceSafeTx

            url = urlparse(self.path)
            parts = [p for p in url.path.split("/") if p]
            state.requests.append(f"POST {url.path}")
            body = self._body()
            if parts[:3] == ["api", "v1", "safes"] and parts[4:] == ["multisig-transactions"]:
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
                    return self._send(422, {"nonce": ["Nonce already executed"]})
                sender = to_checksum_address(body["sender"])
                owners = [to_checksum_address(o) for o in safe.functions.getOwners().call()]
                if sender not in owners and sender not in state.delegates.get(safe.address, []):
                    return self._send(422, {"nonFieldErrors": [f"Sender={sender} is not an owner or delegate."]})
                if _signers(body["signature"], bytes(reference.safe_tx_hash)) != [sender]:
                    return self._send(422, {"nonFieldErrors": ["Signature does not match sender."]})
                confirmations = [{"owner": sender, "signature": body["signature"], "signatureType": "EOA"}] if sender in owners else []
                state.transactions[tx_hash] = {
                    "safe": safe.address, "to": body["to"], "value": body["value"], "data": body.get("data"),
                    "operation": body["operation"], "nonce": int(body["nonce"]), "safeTxHash": tx_hash,
                    "proposer": sender, "isExecuted": False, "confirmationsRequired": safe.functions.getThreshold().call(),
                    "confirmations": confirmations, "origin": body.get("origin"),
                }
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
                tx["confirmations"].append({"owner": signers[0], "signature": body["signature"], "signatureType": "EOA"})
                return self._send(201, {"signature": body["signature"]})
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
