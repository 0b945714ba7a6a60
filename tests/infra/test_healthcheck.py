"""infra/vllm/healthcheck.py against a real OpenAI-compatible server (the embedded llama.cpp one)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from agent.finetune.model import embedded_gguf_path
from agent.llm.embedded import EmbeddedServer, free_port

SCRIPT = Path(__file__).resolve().parents[2] / "infra" / "vllm" / "healthcheck.py"


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("concord_healthcheck", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(180)
def test_healthcheck_on_a_live_server(capsys: pytest.CaptureFixture[str]) -> None:
    health = _load()
    with EmbeddedServer(embedded_gguf_path(), port=0) as server:
        url = server.base_url.removesuffix("/v1")
        assert health.main(["--url", url, "--model", "smollm2", "--chat"]) == 0
        assert health.main(["--url", url, "--model", "smollm2", "--model", "compound-stance"]) == 1
    assert "compound-stance" in capsys.readouterr().err
    assert health.main(["--url", f"http://127.0.0.1:{free_port()}", "--timeout", "2"]) == 1
