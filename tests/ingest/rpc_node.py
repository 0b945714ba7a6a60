"""Loopback JSON-RPC nodes over HTTP, for driving web3's real ``HTTPProvider``.

``RpcNode`` fronts the in-process eth-tester chain: requests arrive as real JSON-RPC over HTTP and are
answered by the chain. ``max_log_range`` makes it refuse ``eth_getLogs`` over wider block ranges with the
error real providers send (-32005 "query returned more than 10000 results"). ``pruned`` makes it answer
``eth_call`` like a full node without archive state ("missing trie node"), so contract reads fail while logs
and blocks are still served.

``RecordedLogsNode`` serves recorded logs of mainnet blocks (and those blocks' timestamps) the way a pruned
mainnet node would: logs and blocks yes, ``eth_call`` at those old blocks no.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = ["RecordedLogsNode", "RpcNode"]

TOO_MANY = {"code": -32005, "message": "query returned more than 10000 results"}
MISSING_STATE = {"code": -32000, "message": "missing trie node 5a1b… (path ) state is not available"}


class _JsonRpcServer:
    """A ThreadingHTTPServer answering JSON-RPC POSTs with ``_answer`` (a result dict or an error dict)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def __enter__(self) -> Self:
        from web3._utils.encoding import Web3JsonEncoder

        node = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16

            def log_message(self, *_args: Any) -> None:
                return

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                node.calls.append(request["method"])
                try:
                    answer = node._answer(request)
                except Exception as exc:  # noqa: BLE001 - a failing call is a JSON-RPC error, as on a real node
                    answer = {"code": -32000, "message": str(exc)}
                body = {"jsonrpc": "2.0", "id": request["id"]}
                body.update(answer if "result" in answer else {"error": answer})
                data = json.dumps(body, cls=Web3JsonEncoder).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _too_wide(params: list[Any], max_log_range: int | None) -> bool:
    if max_log_range is None:
        return False
    low, high = (int(params[0][k], 16) for k in ("fromBlock", "toBlock"))
    return high - low + 1 > max_log_range


class RpcNode(_JsonRpcServer):
    def __init__(self, w3: Any, *, max_log_range: int | None = None, pruned: bool = False) -> None:
        super().__init__()
        self.w3 = w3
        self.max_log_range = max_log_range
        self.pruned = pruned
        self._lock = threading.Lock()

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        method, params = request["method"], request.get("params") or []
        if method == "eth_getLogs" and _too_wide(params, self.max_log_range):
            return TOO_MANY
        if method == "eth_call" and self.pruned:
            return MISSING_STATE
        with self._lock:
            return {"result": self.w3.manager.request_blocking(method, params)}


class RecordedLogsNode(_JsonRpcServer):
    """Recorded raw logs (hex JSON-RPC shape) of ``address`` and their blocks' timestamps; head = last block."""

    def __init__(
        self,
        logs: Sequence[dict[str, Any]],
        block_times: dict[int, int],
        *,
        chain_id: int = 1,
        head: int | None = None,
        max_log_range: int | None = None,
    ) -> None:
        super().__init__()
        self.logs = list(logs)
        self.block_times = block_times
        self.chain_id = chain_id
        self.head = head if head is not None else max(block_times)
        self.max_log_range = max_log_range

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        method, params = request["method"], request.get("params") or []
        if method == "eth_chainId":
            return {"result": hex(self.chain_id)}
        if method == "eth_blockNumber":
            return {"result": hex(self.head)}
        if method == "eth_getLogs":
            if _too_wide(params, self.max_log_range):
                return TOO_MANY
            query = params[0]
            low, high = int(query["fromBlock"], 16), int(query["toBlock"], 16)
            wanted = query.get("address") or []
            addresses = {a.lower() for a in ([wanted] if isinstance(wanted, str) else wanted)}
            found = [
                log
                for log in self.logs
                if low <= int(log["blockNumber"], 16) <= high
                and (not addresses or log["address"].lower() in addresses)
            ]
            return {"result": found}
        if method == "eth_getBlockByNumber":
            number = int(params[0], 16)
            if number not in self.block_times:
                return {"result": None}
            return {"result": self._block(number)}
        if method == "eth_call":
            return MISSING_STATE
        return {"code": -32601, "message": f"the method {method} does not exist/is not available"}

    def _block(self, number: int) -> dict[str, Any]:
        zero = "0x" + "00" * 32
        return {
            "number": hex(number),
            "hash": "0x" + number.to_bytes(32, "big").hex(),
            "parentHash": "0x" + (number - 1).to_bytes(32, "big").hex(),
            "timestamp": hex(self.block_times[number]),
            "transactions": [],
            "uncles": [],
            "miner": "0x" + "00" * 20,
            "stateRoot": zero,
            "transactionsRoot": zero,
            "receiptsRoot": zero,
            "logsBloom": "0x" + "00" * 256,
            "difficulty": "0x0",
            "gasLimit": hex(30_000_000),
            "gasUsed": "0x0",
            "extraData": "0x",
            "nonce": "0x0000000000000000",
            "size": "0x0",
            "sha3Uncles": zero,
            "mixHash": zero,
        }
