"""Serve the in-process eth-tester chain over JSON-RPC on 127.0.0.1, so HTTP clients (the CLI) can use it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextmanager
def serve_json_rpc(w3: Any) -> Iterator[str]:
    from web3 import Web3

    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            method, params = request["method"], list(request.get("params", []))
            try:
                with lock:  # through the provider's middleware: JSON-RPC formats in and out, as a node speaks
                    response = dict(w3.provider.request_func(w3, w3.middleware_onion)(method, params))
            except Exception as exc:  # noqa: BLE001 - becomes a JSON-RPC error, as a node would answer
                response = {"error": {"code": -32000, "message": str(exc.args[0] if exc.args else exc)}}
            payload = {"jsonrpc": "2.0", "id": request.get("id"), **{k: v for k, v in response.items() if k in ("result", "error")}}
            data = Web3.to_json(payload).encode()  # type: ignore[arg-type]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
