"""A loopback JSON-RPC node over HTTP in front of the in-process eth-tester chain.

Requests arrive as real JSON-RPC over HTTP (web3's ``HTTPProvider`` talks to it like to any node); they are
answered by the eth-tester chain. ``max_log_range`` makes it refuse ``eth_getLogs`` over wider block ranges
with the error real providers send (-32005 "query returned more than 10000 results"). ``pruned`` makes it
answer ``eth_call`` like a full node without archive state ("missing trie node"), so contract reads fail while
logs and blocks are still served.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = ["RpcNode"]


class RpcNode:
    def __init__(self, w3: Any, *, max_log_range: int | None = None, pruned: bool = False) -> None:
        self.w3 = w3
        self.max_log_range = max_log_range
        self.pruned = pruned
        self.calls: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        method, params = request["method"], request.get("params") or []
        self.calls.append(method)
        if method == "eth_getLogs" and self.max_log_range is not None:
            low, high = (int(params[0][k], 16) for k in ("fromBlock", "toBlock"))
            if high - low + 1 > self.max_log_range:
                return {"code": -32005, "message": "query returned more than 10000 results"}
        if method == "eth_call" and self.pruned:
            return {"code": -32000, "message": "missing trie node 5a1b… (path ) state is not available"}
        with self._lock:
            return {"result": self.w3.manager.request_blocking(method, params)}

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
