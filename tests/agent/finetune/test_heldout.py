"""A tuned model is only compared on texts it never trained on; unknown names get a clear error."""

from __future__ import annotations

import pytest

from agent.finetune.dataset import Example, save_examples
from agent.finetune.heldout import check_not_trained_on
from agent.finetune.prompts import stance_messages
from agent.finetune.registry import TunedModel, models_dir, register_model
from ingest.core.errors import InputError, NotFoundError
from ingest.core.settings import ConcordSettings


def _register(settings: ConcordSettings, name: str, texts: list[str]) -> None:
    register_model(settings, TunedModel(name=name, base="smollm2", adapter_dir="-", adapter_gguf=None, dao="x", steps=1))
    save_examples([Example("stance", stance_messages(t, proposal_title="P"), "for") for t in texts], models_dir(settings) / name / "train.jsonl")


def test_a_held_out_text_in_training_is_refused(settings: ConcordSettings) -> None:
    _register(settings, "leaky", ["I support this.", "Too risky."])
    check_not_trained_on(settings, "leaky", ["Something else entirely."])
    with pytest.raises(InputError, match="1 held-out texts were in 'leaky'"):
        check_not_trained_on(settings, "leaky", ["Something else entirely.", " Too risky. "])


def test_an_unknown_model_names_the_known_ones(settings: ConcordSettings) -> None:
    _register(settings, "known", ["x"])
    with pytest.raises(NotFoundError, match="known: known"):
        check_not_trained_on(settings, "missing", ["x"])
