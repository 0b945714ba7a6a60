"""The GPU measuring script's two paths run here on the CPU: through the embedded server and with transformers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.finetune.dataset import Example, save_examples
from agent.finetune.model import embedded_gguf_path
from agent.finetune.prompts import stance_messages
from agent.finetune.throughput import measure_server
from agent.llm.embedded import EmbeddedServer

EXAMPLES = [
    Example("stance", stance_messages(text, proposal_title="Fund the grants council"), label)
    for text, label in [("I support this, the council has delivered.", "for"), ("Far too expensive, vote no.", "against"),
                        ("When does voting start?", "neutral")]
]


def test_server_mode_labels_every_example_with_latencies() -> None:
    with EmbeddedServer(embedded_gguf_path(), port=0, threads=1, n_ctx=1024) as server:
        result = measure_server(server.base_url, server.alias, EXAMPLES, concurrency=2)
    assert result.n == 3 and result.concurrency == 2
    assert result.labels_per_s > 0 and 0 < result.latency_p50_s <= result.latency_p95_s <= result.seconds


@pytest.mark.slow
def test_the_script_writes_its_figures(tmp_path: Path) -> None:
    import runpy
    import sys

    examples = tmp_path / "test.jsonl"
    save_examples(EXAMPLES[:2], examples)
    out = tmp_path / "throughput.json"
    script = Path(__file__).resolve().parents[3] / "infra" / "vllm" / "measure_throughput.py"
    argv = sys.argv
    sys.argv = [str(script), "transformers", "--base", "smollm2", "--device", "cpu", "--batch-size", "2",
                "--examples", str(examples), "--out", str(out)]
    try:
        with pytest.raises(SystemExit) as done:
            runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = argv
    assert done.value.code in (0, None)
    figures = json.loads(out.read_text())
    assert figures["engine"] == "transformers" and figures["device"] == "cpu" and figures["n"] == 2
    assert figures["labels_per_s"] > 0
