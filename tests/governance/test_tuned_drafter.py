"""The tuned drafter as a writer: chosen by settings, refused when it is not a drafting model, its body gated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from governance.draft_writers import DraftingService, open_draft_writers
from ingest.core.errors import ConfigError
from ingest.core.settings import load_settings


def _register(data: Path, name: str, task: str) -> Path:
    adapter = data / "models" / name / "adapter"
    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text("{}")
    manifest = {"name": name, "base": "smollm2", "adapter_dir": str(adapter), "adapter_gguf": None, "dao": "arbitrum",
                "steps": 1, "config": {"task": task}}
    (data / "models" / name / "manifest.json").write_text(json.dumps(manifest))
    return adapter


def test_the_tuned_writer_needs_a_drafting_model(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _register(data, "arb-draft", "draft")
    _register(data, "arb-stance", "stance")
    with open_draft_writers(load_settings(data_dir=data, draft={"tuned_model": "arb-draft"})) as writers:
        assert writers.chat is None and writers.body is not None and writers.body.model == "tuned:arb-draft"
    with pytest.raises(ConfigError, match="not trained for drafting"), \
            open_draft_writers(load_settings(data_dir=data, draft={"tuned_model": "arb-stance"})):
        pass
    with pytest.raises(ConfigError, match="needs draft.tuned_model"), \
            open_draft_writers(load_settings(data_dir=data, draft={"writer": "tuned"})):
        pass


def test_the_drafting_service_loads_the_tuned_drafter_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _register(data, "arb-draft", "draft")

    class Governance:
        post_retriever = None
        store = None

        def __init__(self) -> None:
            self.seen: list[object] = []

        def draft(self, **kw: object) -> dict[str, object]:
            self.seen.append(kw["body_writer"])
            return {}

    governance = Governance()
    service = DraftingService(governance, settings=load_settings(data_dir=data, draft={"tuned_model": "arb-draft"}))  # type: ignore[arg-type]
    service.draft(dao="arbitrum", idea="x" * 30)
    service.draft(dao="arbitrum", idea="x" * 30)
    assert governance.seen[0] is governance.seen[1] is not None


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_real_tuned_adapter_writes_a_body_the_gate_reads_section_by_section(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from agent.finetune.dataset import Example
    from agent.finetune.draft_task import draft_messages
    from agent.finetune.drafter import TunedDrafter
    from agent.finetune.train import TrainConfig, train_lora
    from governance.draft_compose import ComposeInput, compose_sections
    from governance.draft_template import DraftTemplate, TemplateSection

    headings = ["Abstract", "Motivation"]
    examples = [Example("draft", draft_messages("Arbitrum", "Fund audits", headings),
                        "## Abstract\n\nAudit grantees before payment.\n\n## Motivation\n\nUnaudited code risks funds.")] * 2
    result = train_lora(examples, TrainConfig(out_dir=tmp_path / "out", max_steps=1, batch_size=2, max_length=96, device="cpu"))
    drafter = TunedDrafter(name="t", adapter_dir=result.adapter_dir, max_new_tokens=48)
    template = DraftTemplate("arbitrum", (TemplateSection("Abstract", "summary", 1.0), TemplateSection("Motivation", "motivation", 1.0),
                                          TemplateSection("Timeline", "timeline", 1.0)))
    data = ComposeInput(dao_name="Arbitrum", space="arbitrumfoundation.eth", idea="Fund audits for grantees before their second payment.",
                        title="Fund audits", citations=[], actions=[], prior_art=None, now=datetime(2024, 6, 1, tzinfo=UTC), voting_days=5)
    sections, how = compose_sections(template, data, body_writer=drafter)
    assert set(sections) >= {"Abstract", "Motivation", "Timeline"} and all(sections.values())
    for heading in ("Abstract", "Motivation"):  # the real model's text either passed the gate or was refused with a reason
        assert how["sections"][heading] == "model tuned:t" or how["sections"][heading].startswith("composed (model reply refused: ")
    assert how["sections"]["Timeline"] == "composed"
    assert drafter._loaded is not None  # the adapter was really loaded and generated with
