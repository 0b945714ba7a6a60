"""The whole fine-tuning path on a few real examples: dataset -> LoRA (resumed) -> adapter GGUF -> registry -> base vs tuned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.finetune import TrainConfig, get_model, list_models, resolve_lora_adapter, run_finetune
from agent.finetune.run import compare_on_heldout
from ingest.core.settings import ConcordSettings, load_settings
from ingest.core.store import Store


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_train_resume_export_register_compare(
    sample_store: Store, settings: ConcordSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import gguf

    config = TrainConfig(out_dir=Path("unused"), max_steps=2, batch_size=2, max_length=64, save_every=1)
    first = run_finetune(settings, sample_store, dao="compound", name="tiny", config=config, max_train=6, max_test=3, max_aux=2)
    assert first.train.steps == 2 and first.train.resumed_from == 0 and len(first.train.losses) == 2
    config.max_steps = 3  # the same command again, asking for one more step: resumes from the checkpoint
    second = run_finetune(settings, sample_store, dao="compound", name="tiny", config=config, max_train=6, max_test=3, max_aux=2)
    assert second.train.resumed_from == 2 and second.train.steps == 3 and second.train.losses[:2] == first.train.losses

    model = get_model(settings, "tiny")
    adapter = Path(model.adapter_dir)
    assert json.loads((adapter / "adapter_config.json").read_text())["target_modules"]
    assert model.vllm_lora_module() == f"tiny={adapter}"
    reader = gguf.GGUFReader(model.adapter_gguf)
    names = {t.name for t in reader.tensors}
    assert "blk.0.attn_q.weight.lora_a" in names and "blk.29.attn_v.weight.lora_b" in names
    assert [m.name for m in list_models(settings)] == ["tiny"]
    tuned = load_settings(data_dir=settings.data_dir, llm={"lora_adapter": "tiny"})
    assert resolve_lora_adapter(tuned) == Path(model.adapter_gguf)

    report = compare_on_heldout(settings, "tiny")
    names_scored = [s["name"] for s in report["scores"]]
    assert names_scored == ["majority-class", "smollm2 (base)", "tiny (tuned)"]
    assert all(s["n"] == 3 and sum(s["predicted"].values()) == 3 for s in report["scores"])
    assert get_model(settings, "tiny").evaluation == report

    # `concord eval stance --model NAME`: the tuned model, its base and the trained classifier on the same held-out texts
    from bots.cli.main import main

    monkeypatch.setenv("CONCORD_DATA_DIR", str(settings.data_dir))
    votes = [{"dao": "compound", "native_proposal_id": i, "choice": c, "reason": r}
             for i, (c, r) in enumerate([("For", "Good for the protocol, support."), ("Against", "Too risky, no.")])]
    (tmp_path / "votes.jsonl").write_text("".join(json.dumps(v) + "\n" for v in votes))
    code = main(["eval", "stance", "--data", str(tmp_path), "--model", "tiny", "--limit", "3", "--out", str(tmp_path / "res"), "--json"])
    assert code == 0
    results = json.loads(capsys.readouterr().out)
    assert list(results) == ["tiny-base", "tiny", "trained"]
    assert all(r["n_heldout"] == 3 and r["all"]["model"]["n"] == 3 for r in results.values())
    assert results["tiny"]["model_id"].startswith(results["tiny-base"]["model_id"] + "+lora:tiny:")  # same base, plus the adapter
    assert (tmp_path / "res" / "stance_tiny.json").is_file()
