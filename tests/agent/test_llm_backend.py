"""The chat backend against the real embedded server, and its error handling against a loopback fake server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agent.llm import (
    ChatMessage,
    LLMError,
    OpenAIChatBackend,
    default_gguf_path,
    file_sha256,
    free_port,
    open_chat_backend,
)
from ingest.core.errors import ConfigError
from ingest.core.settings import LLMSettings

COLOR = {"type": "object", "properties": {"color": {"type": "string", "enum": ["red", "green", "blue"]}}, "required": ["color"]}


def test_schema_constrained_output_is_valid_and_reproducible(chat: OpenAIChatBackend) -> None:
    messages = [ChatMessage("system", "Answer with JSON."), ChatMessage("user", "What colour is the sky?")]
    first = chat.complete_json(messages, schema=COLOR, max_tokens=20)
    second = chat.complete_json(messages, schema=COLOR, max_tokens=20)
    assert first["color"] in {"red", "green", "blue"}
    assert first == second  # temperature 0, fixed seed, no prompt cache
    identity = chat.identity()
    assert identity["weights_sha256"] == file_sha256(default_gguf_path())
    assert (identity["temperature"], identity["seed"]) == (0.0, 42)


def _completion(content: str) -> dict[str, object]:
    return {
        "id": "x", "object": "chat.completion", "created": 0, "model": "fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


@pytest.fixture
def fake_server() -> Iterator[Callable[[Callable[[int, dict], tuple[int, dict, float]]], tuple[str, list[dict]]]]:
    """A tiny OpenAI-compatible server on 127.0.0.1; ``behave(n, body) -> (status, json, delay_s)`` scripts it."""
    servers: list[ThreadingHTTPServer] = []

    def start(behave: Callable[[int, dict], tuple[int, dict, float]]) -> tuple[str, list[dict]]:
        seen: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                seen.append(body)
                status, payload, delay = behave(len(seen), body)
                time.sleep(delay)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}/v1", seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _backend(url: str, **kw: object) -> OpenAIChatBackend:
    return OpenAIChatBackend(base_url=url, model="fake", **{"timeout_s": 5.0, "max_retries": 2, **kw})  # type: ignore[arg-type]


def test_retries_with_backoff_then_succeeds(fake_server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import openai._base_client

    waits: list[float] = []

    class _RecordingClock:  # the client's clock, injected: each backoff is recorded instead of slept
        def __getattr__(self, name: str) -> object:
            return getattr(time, name)

        def sleep(self, seconds: float) -> None:
            waits.append(seconds)

    monkeypatch.setattr(openai._base_client, "time", _RecordingClock())
    url, seen = fake_server(lambda n, body: (503, {"error": {"message": "busy"}}, 0) if n < 3 else (200, _completion('{"color": "red"}'), 0))
    assert _backend(url).complete_json([ChatMessage("user", "hi")], schema=COLOR) == {"color": "red"}
    assert len(seen) == 3
    assert len(waits) == 2 and 0 < waits[0] < waits[1]  # one wait before each retry, growing (exponential backoff)
    sent = seen[-1]
    assert sent["temperature"] == 0.0 and sent["seed"] == 42
    assert sent["response_format"]["type"] == "json_schema" and sent["response_format"]["json_schema"]["schema"] == COLOR


def test_gives_up_after_retries_with_a_clear_error(fake_server) -> None:  # type: ignore[no-untyped-def]
    url, seen = fake_server(lambda n, body: (500, {"error": {"message": "boom"}}, 0))
    with pytest.raises(LLMError, match="HTTP 500 after 2 retries"):
        _backend(url).complete([ChatMessage("user", "hi")])
    assert len(seen) == 3


def test_timeout_is_an_llm_error(fake_server) -> None:  # type: ignore[no-untyped-def]
    url, _ = fake_server(lambda n, body: (200, _completion("late"), 2.0))
    with pytest.raises(LLMError, match="did not answer within 1 s"):
        _backend(url, timeout_s=1.0, max_retries=0).complete([ChatMessage("user", "hi")])


def test_non_json_and_missing_fields_are_rejected(fake_server) -> None:  # type: ignore[no-untyped-def]
    url, _ = fake_server(lambda n, body: (200, _completion("not json" if n == 1 else '{"other": 1}'), 0))
    backend = _backend(url)
    with pytest.raises(LLMError, match="not JSON"):
        backend.complete_json([ChatMessage("user", "hi")], schema=COLOR)
    with pytest.raises(LLMError, match=r"required fields \['color'\]"):
        backend.complete_json([ChatMessage("user", "hi")], schema=COLOR)


def test_unreachable_server_names_the_fix() -> None:
    backend = _backend(f"http://127.0.0.1:{free_port()}/v1", max_retries=0)
    with pytest.raises(LLMError, match="concord llm serve"):
        backend.complete([ChatMessage("user", "hi")])


def test_openai_backend_needs_a_url() -> None:
    with pytest.raises(ConfigError, match="CONCORD_LLM__BASE_URL"), open_chat_backend(LLMSettings(backend="openai")):
        pass


def test_the_scripted_backend_keeps_the_chat_contract() -> None:
    from agent.llm import ChatBackend, ScriptedChatBackend

    scripted = ScriptedChatBackend(['{"color": "red"}', "not json", LLMError("down")])
    assert isinstance(scripted, ChatBackend)
    assert scripted.complete_json([ChatMessage("user", "hi")], schema=COLOR) == {"color": "red"}
    with pytest.raises(LLMError, match="not JSON"):  # the same validation as the real backend
        scripted.complete_json([ChatMessage("user", "hi")], schema=COLOR)
    with pytest.raises(LLMError, match="down"):
        scripted.complete([ChatMessage("user", "hi")])
    with pytest.raises(LLMError, match="no reply left"):
        scripted.complete([ChatMessage("user", "hi")])
    assert [c.schema for c in scripted.calls] == [COLOR, COLOR, None, None]
