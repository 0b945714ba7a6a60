"""FineTunedStance against a real loopback OpenAI-compatible server: vLLM options and LoRA model names pass through."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agent.finetune.stance import FineTunedStance
from agent.stance.base import Stance
from ingest.core.errors import ConfigError


def _completion(content: str) -> dict[str, Any]:
    tokens = ['{"', "stance", '":"', "against", '"}']
    top = [{"token": "against", "logprob": -0.2}, {"token": "for", "logprob": -1.9}, {"token": "neutral", "logprob": -3.0}]
    return {
        "id": "x", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{
            "index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": content},
            "logprobs": {"content": [{"token": t, "logprob": -0.1, "bytes": None,
                                      "top_logprobs": top if t == "against" else []} for t in tokens]},
        }],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict[str, Any]], list[str]]]:
    seen: list[dict[str, Any]] = []
    replies = ['{"stance": "against"}']

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            body = json.dumps(_completion(replies[0])).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", seen, replies
    finally:
        httpd.shutdown()


def test_lora_name_and_vllm_options_reach_the_server(server: tuple[str, list[dict[str, Any]], list[str]]) -> None:
    url, seen, _ = server
    classifier = FineTunedStance(base_url=url, model="compound-stance", extra_body={"structured_outputs": {"choice": ["for", "against", "neutral"]}})
    [result] = classifier.classify(["This drains the treasury."], proposal_titles=["Grant program"])
    request = seen[0]
    assert request["model"] == "compound-stance"
    assert request["structured_outputs"] == {"choice": ["for", "against", "neutral"]}
    assert request["response_format"]["json_schema"]["schema"]["properties"]["stance"]["enum"] == ["for", "against", "neutral", "off-topic"]
    assert request["temperature"] == 0.0 and request["logprobs"] is True
    assert "Grant program" in request["messages"][-1]["content"]
    assert result.label is Stance.AGAINST and result.model == "compound-stance"
    assert result.probabilities[Stance.AGAINST] > result.probabilities[Stance.FOR] > result.probabilities[Stance.NEUTRAL] > 0
    assert abs(sum(result.probabilities.values()) - 1) < 1e-9


def test_a_server_that_ignores_the_format_is_an_error(server: tuple[str, list[dict[str, Any]], list[str]]) -> None:
    url, _, replies = server
    replies[0] = "I think it is good"
    with pytest.raises(ConfigError, match="ignored the response format"):
        FineTunedStance(base_url=url, model="m").classify(["x"])
