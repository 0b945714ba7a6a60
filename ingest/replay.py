"""A loopback HTTP server that replays recordings in the live APIs' shapes.

It serves a Discourse forum (``/latest.json`` with ``page=``, ``/categories.json``, ``/t/{id}.json`` with the
first 20 posts and the full ``stream``, ``/t/{id}/posts.json?post_ids[]=``) and a Snapshot hub GraphQL
endpoint (``POST /graphql``: ``space``, ``proposals`` and ``votes`` with ``first``/``skip``/``created_gt``/
``created_gte``/``id_in`` paging, ordered by ``created``). Tests use it to drive the real clients, and
``concord ingest sample`` uses it to replay the bundled sample through the same code a live source runs.

The GraphQL side reads the root field and its arguments from the query's variables (the way Concord's own
client sends them); it does not evaluate selection sets, it returns whole recorded objects. It refuses what the
real hub refuses (``first`` over 1000, ``skip`` over 5000, an ``id_in`` list over 100) with the hub's message.
The forum side renders recordings in Discourse's own shapes (``ingest.replay_forum``).

Faults can be injected per path prefix: ``"500"``, ``"429"`` (with ``Retry-After``), ``"hang"`` (no answer for
``hang_s`` seconds or until ``release_hangs`` is set, then the connection is closed unanswered), ``"badjson"``,
``"reset"`` (closes the connection). ``delay_s`` slows every answer.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Self
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson

from ingest.replay_forum import ForumShapes

__all__ = ["Answer", "ReplayServer"]

Answer = tuple[int, bytes, dict[str, str]] | Literal["hang", "reset"]

_TOPIC = re.compile(r"^/t/(?:[^/]+/)?(\d+)\.json$")
_TOPIC_POSTS = re.compile(r"^/t/(\d+)/posts\.json$")
_ROOT_FIELD = re.compile(r"\{\s*(\w+)\s*(?:\(|\{)")


def _encode(payload: Any) -> bytes:
    """JSON bytes as a server sends them (UTF-8); what orjson refuses (e.g. a non-string key) as json writes it."""
    try:
        return orjson.dumps(payload)
    except TypeError:
        return json.dumps(payload).encode("utf-8")


class ReplayServer:
    """Serve recordings on ``127.0.0.1`` at a free port; use as a context manager."""

    def __init__(
        self,
        *,
        discourse: dict[str, Any] | None = None,
        snapshot: dict[str, Any] | None = None,
        page_size: int = 30,
        topic_chunk: int = 20,
        delay_s: float = 0.0,
        hang_s: float = 30.0,
    ) -> None:
        self.discourse = discourse
        self.snapshot = snapshot
        self._forum_memo: dict[str, Any] = {}  # what the forum's answers derive from the recording, while it holds
        self.page_size = page_size
        self.topic_chunk = topic_chunk
        self.delay_s = delay_s
        self.hang_s = hang_s
        self.faults: dict[str, deque[str]] = {}
        self.release_hangs = threading.Event()  # set it to end every "hang" at once
        self.request_log: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("ReplayServer is not started: use `with ReplayServer(...) as server:`")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ReplayServer:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # one write per answer: no Nagle/delayed-ACK stalls on loopback

            def log_message(self, *_args: Any) -> None:  # keep test output clean
                return

            def do_GET(self) -> None:
                replay._handle(self, None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                replay._handle(self, self.rfile.read(length))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="replay-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release_hangs.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def inject(self, path_prefix: str, *behaviours: str) -> None:
        """Make the next requests under ``path_prefix`` misbehave, one behaviour per request."""
        with self._lock:
            self.faults.setdefault(path_prefix, deque()).extend(behaviours)

    # --- dispatch -------------------------------------------------------------

    def _next_fault(self, path: str) -> str | None:
        with self._lock:
            for prefix, queue in self.faults.items():
                if path.startswith(prefix) and queue:
                    return queue.popleft()
        return None

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes | None) -> None:
        answer = self.answer(handler.path, body)
        if answer == "hang":
            self.release_hangs.wait(self.hang_s)
            handler.close_connection = True  # then hang up without an answer
            return
        if answer == "reset":
            handler.close_connection = True
            handler.connection.close()
            return
        status, data, headers = answer
        self._send_raw(handler, status, data, headers)

    def answer(self, target: str, body: bytes | None) -> Answer:
        """What the server answers ``target`` (path and query) with ``body`` (None for a GET): ``(status, JSON
        bytes, extra headers)``, or ``"hang"`` / ``"reset"`` for those injected faults."""
        parts = urlsplit(target)
        with self._lock:
            self.request_log.append(target)
        if self.delay_s:
            time.sleep(self.delay_s)
        fault = self._next_fault(parts.path)
        if fault in {"hang", "reset"}:
            return fault  # type: ignore[return-value]
        if fault in {"500", "429"}:
            return int(fault), b'{"errors": ["injected"]}', {"Retry-After": "0"} if fault == "429" else {}
        if fault == "badjson":
            return 200, b'{"topic_list": {"topics": [ {"id": 1,, ', {}
        try:
            status, payload = self._route(parts.path, parse_qs(parts.query), body)
        except Exception as exc:  # noqa: BLE001 - a replay bug must show up as a 500, not kill the server
            status, payload = 500, {"errors": [f"replay server error: {exc}"]}
        return status, payload if isinstance(payload, bytes) else _encode(payload), {}

    def transport(self) -> httpx.BaseTransport:
        """An httpx transport that answers in this process, without a socket or the server thread: the client's
        requests, retries, paging and JSON decoding run as over the loopback server; an injected ``hang``
        reads as a timeout and ``reset`` as a dropped connection."""

        def handle(request: httpx.Request) -> httpx.Response:
            body = request.read() if request.method == "POST" else None
            answer = self.answer(request.url.raw_path.decode("ascii"), body)
            if answer == "hang":
                raise httpx.ReadTimeout("replay: no answer (injected hang)", request=request)
            if answer == "reset":
                raise httpx.RemoteProtocolError("replay: connection closed (injected reset)", request=request)
            status, data, headers = answer
            return httpx.Response(status, content=data, headers={"Content-Type": "application/json; charset=utf-8", **headers})

        return httpx.MockTransport(handle)

    @staticmethod
    def _send_raw(
        handler: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str] | None = None
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        try:
            handler.wfile.write(data)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _route(self, path: str, query: dict[str, list[str]], body: bytes | None) -> tuple[int, Any]:
        if path == "/graphql" and self.snapshot is not None:
            return self._graphql(body or b"{}")
        if self.discourse is None:
            return 404, {"errors": [f"no route for {path}"]}
        forum = ForumShapes(self.discourse, page_size=self.page_size, topic_chunk=self.topic_chunk, memo=self._forum_memo)
        responses = self.discourse["responses"]
        if path in {"/latest.json", "/latest"}:
            return 200, forum.latest(int((query.get("page") or ["0"])[0]))
        if path == "/categories.json":
            wanted = (query.get("include_subcategories") or ["false"])[0] == "true"
            return 200, forum.category_list(include_subcategories=wanted)
        if match := _TOPIC_POSTS.match(path):
            full = responses.get(f"/t/{match.group(1)}.json")
            if not isinstance(full, dict) or not isinstance(full.get("post_stream"), dict):
                return 404, {"errors": ["The requested URL or resource could not be found."]}
            return 200, forum.topic_posts(full, {int(x) for x in query.get("post_ids[]", [])})
        if match := _TOPIC.match(path):
            full = responses.get(f"/t/{match.group(1)}.json")
            if full is None:
                return 404, {"errors": ["The requested URL or resource could not be found."]}
            if isinstance(full, (str, bytes)):
                return 200, full.encode("utf-8", errors="surrogateescape") if isinstance(full, str) else full
            return 200, forum.topic(full)
        return 404, {"errors": [f"no route for {path}"]}

    # --- Snapshot -------------------------------------------------------------

    def _graphql(self, body: bytes) -> tuple[int, Any]:
        request = json.loads(body)
        query = str(request.get("query") or "")
        variables = request.get("variables") or {}
        match = _ROOT_FIELD.search(query)
        if match is None:
            return 400, {"errors": [{"message": "Syntax Error: no root field"}]}
        field = match.group(1)
        assert self.snapshot is not None
        if refusal := _hub_limits(variables):
            return 200, {"data": {field: None}, "errors": [{"message": refusal, "path": [field]}]}
        if field == "space":
            space = self.snapshot["space"]
            return 200, {"data": {"space": space if variables.get("id") == space.get("id") else None}}
        if field == "proposals":
            items = [
                p
                for p in self.snapshot.get("proposals") or []
                if not variables.get("space") or (p.get("space") or {}).get("id") == variables["space"]
            ]
            if variables.get("ids"):  # the hub ignores an empty `*_in` list
                items = [p for p in items if p.get("id") in set(variables["ids"])]
            return 200, {"data": {"proposals": self._page(items, variables)}}
        if field == "votes":
            items = [
                v
                for v in self.snapshot.get("votes") or []
                if (v.get("proposal") or {}).get("id") == variables.get("proposal")
            ]
            return 200, {"data": {"votes": self._page(items, variables)}}
        return 400, {"errors": [{"message": f'Cannot query field "{field}" on type "Query".'}]}

    @staticmethod
    def _page(items: list[dict[str, Any]], variables: dict[str, Any]) -> list[dict[str, Any]]:
        def created(x: dict[str, Any]) -> int:
            value = x.get("created")
            return value if isinstance(value, int) else 0

        if variables.get("created_gt") is not None:
            items = [x for x in items if created(x) > int(variables["created_gt"])]
        if variables.get("created_gte") is not None:
            items = [x for x in items if created(x) >= int(variables["created_gte"])]
        items = sorted(items, key=created)
        skip = int(variables.get("skip") or 0)
        first = int(variables.get("first") or 20)
        return items[skip : skip + first]


# The hub's argument limits (snapshot-hub src/graphql/helpers.ts, ARG_LIMITS and checkLimits).
_HUB_LIMITS = {"first": 1000, "skip": 5000}
_HUB_IN_LIMIT = 100
_IN_VARIABLES = {"ids": "id_in"}  # the variables Concord's queries bind to `*_in` arguments


def _hub_limits(variables: dict[str, Any]) -> str | None:
    """The hub's refusal for arguments over its limits, word for word, or None."""
    for key, limit in _HUB_LIMITS.items():
        value = variables.get(key)
        if isinstance(value, int) and value > limit:
            return f"The `{key}` argument must not be greater than {limit}"
        if isinstance(value, int) and value < 0:
            return f"The `{key}` argument must be positive"
    for variable, argument in _IN_VARIABLES.items():
        value = variables.get(variable)
        if isinstance(value, list) and len(value) > _HUB_IN_LIMIT:
            return f"The `{argument}` argument must not be greater than {_HUB_IN_LIMIT}"
    return None
