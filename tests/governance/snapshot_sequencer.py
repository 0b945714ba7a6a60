"""A loopback peer shaped like Snapshot's sequencer: it accepts ``{address, sig, data}`` envelopes only when the
types are a known shape, the timestamp is at most 6 days old (and not in the future), and the signature is the
address's: recovered with eth-account for a key, ``isValidSignature`` (EIP-1271) for a contract such as a Safe."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import to_checksum_address

from governance.chain.safe_message import safe_is_valid_signature
from governance.snapshot import typed_data_hash
from governance.snapshot_submit import ACCEPTED_TYPE_HASHES, types_hash

MAX_AGE = 6 * 86400
_DOMAIN_FIELDS = [{"name": "name", "type": "string"}, {"name": "version", "type": "string"}]


class LoopbackSequencer:
    def __init__(self, *, now: Callable[[], int], w3: Any = None) -> None:
        self.now, self.w3 = now, w3
        self.received: list[dict[str, Any]] = []
        self.accepted: list[dict[str, Any]] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                try:
                    envelope = json.loads(self.rfile.read(length))
                    status, body = peer.check(envelope)
                except ValueError:
                    status, body = 400, {"error": "client_error", "error_description": "wrong envelope format"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def check(self, envelope: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.received.append(envelope)
        if set(envelope) != {"address", "sig", "data"} or set(envelope["data"]) != {"domain", "types", "message"}:
            return 400, {"error": "client_error", "error_description": "wrong envelope format"}
        data = envelope["data"]
        if types_hash(data["types"]) not in ACCEPTED_TYPE_HASHES:
            return 400, {"error": "client_error", "error_description": "wrong types"}
        message = data["message"]
        if to_checksum_address(message["from"]) != to_checksum_address(envelope["address"]):
            return 400, {"error": "client_error", "error_description": "wrong from"}
        now = self.now()
        if int(message["timestamp"]) > now + 300 or int(message["timestamp"]) < now - MAX_AGE:
            return 400, {"error": "client_error", "error_description": "wrong timestamp"}
        primary = next(iter(data["types"]))
        full = {"types": {"EIP712Domain": _DOMAIN_FIELDS, **data["types"]}, "primaryType": primary,
                "domain": data["domain"], "message": message}
        sig = bytes.fromhex(envelope["sig"].removeprefix("0x"))
        address = to_checksum_address(envelope["address"])
        if self.w3 is not None and self.w3.eth.get_code(address):
            valid = safe_is_valid_signature(self.w3, safe=address, data_hash=typed_data_hash(full), signature=sig)
        else:
            try:
                valid = Account.recover_message(encode_typed_data(full_message=full), signature=sig) == address
            except Exception:  # noqa: BLE001 - a malformed signature is an invalid one
                valid = False
        if not valid:
            return 400, {"error": "client_error", "error_description": "signature validation failed"}
        self.accepted.append(envelope)
        return 200, {"id": "0x" + typed_data_hash(full).hex(), "relayer": {"address": "loopback"}}
