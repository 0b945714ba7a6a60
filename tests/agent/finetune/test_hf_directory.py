"""`concord finetune train --model-dir DIR`: the same training path on a Hugging Face model directory (a GPU's usual
input). Here the directory is the embedded SmolLM2 written out by transformers, and one step runs on the CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.finetune.dataset import Example
from agent.finetune.model import load_base
from agent.finetune.prompts import stance_messages
from agent.finetune.train import TrainConfig, train_lora
from ingest.core.errors import ConfigError


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_hugging_face_directory_trains_like_the_embedded_gguf(tmp_path: Path) -> None:
    model, tokenizer = load_base("smollm2", device="cpu")
    model.hf_quantizer = None  # a GGUF-loaded model keeps its quantizer; a plain directory has none
    model.config.quantization_config = None
    directory = tmp_path / "SmolLM2-135M-Instruct"
    model.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))

    examples = [Example("stance", stance_messages(t, proposal_title="Grants"), label)
                for t, label in [("I support this.", "for"), ("Vote no, too costly.", "against")]]
    result = train_lora(examples, TrainConfig(out_dir=tmp_path / "out", base=str(directory), max_steps=1, batch_size=2, max_length=64, device="cpu"))
    assert result.steps == 1 and result.device == "cpu" and len(result.losses) == 1
    config = json.loads((result.adapter_dir / "adapter_config.json").read_text())
    assert Path(config["base_model_name_or_path"]) == directory and sorted(config["target_modules"]) == ["q_proj", "v_proj"]


def test_a_directory_without_config_is_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--model-dir DIR"):
        load_base(str(tmp_path), device="cpu")
