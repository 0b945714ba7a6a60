"""The draft task's examples fit the trained length whole, and each DAO is split by time on its own."""

from __future__ import annotations

from typing import Any

import pytest

from agent.finetune.dataset import Example
from agent.finetune.draft_task import draft_messages, draft_split, fit_example, split_by_time
from agent.finetune.train import encode_example
from ingest.core.domain import Proposal
from ingest.core.store import Store


class WordTokenizer:
    """One token per whitespace-separated word, with a chat template shaped like SmolLM2's."""

    pad_token_id = 0

    def apply_chat_template(self, messages: list[dict[str, str]], *, add_generation_prompt: bool = False,
                            tokenize: bool = False) -> str:
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, Any]:
        return {"input_ids": [len(w) for w in text.split()]}


HEADINGS = ["Abstract", "Motivation", "Rationale", "Specifications", "Timeline"]


def _example(headings: list[str] = HEADINGS) -> Example:
    answer = "\n\n".join(f"## {h}\n\n{h} text " + " ".join(["word"] * 10) for h in headings)
    return Example("draft", draft_messages("Arbitrum DAO", "Fund audits", headings), answer.strip(), ref="1")


def _length(e: Example) -> int:
    return len(encode_example(WordTokenizer(), e, 10**6)[0])


def test_an_example_that_fits_is_kept_as_it_is() -> None:
    e = _example()
    assert fit_example(WordTokenizer(), e, _length(e)) == e


def test_a_long_example_loses_its_last_sections_in_the_prompt_and_the_answer_alike() -> None:
    e = _example()
    three = _example(HEADINGS[:3])
    fitted = fit_example(WordTokenizer(), e, _length(three) + 5)  # room for three sections, not four
    assert fitted is not None and fitted == Example("draft", three.messages, three.answer, ref="1")
    assert "Sections, in this order: Abstract; Motivation; Rationale" in fitted.messages[1]["content"]
    assert "## Specifications" not in fitted.answer
    ids, _ = encode_example(WordTokenizer(), fitted, _length(three) + 5)
    assert ids == encode_example(WordTokenizer(), fitted, 10**6)[0]  # nothing trimmed at training time


def test_an_example_whose_three_sections_do_not_fit_is_dropped() -> None:
    assert fit_example(WordTokenizer(), _example(), _length(_example(HEADINGS[:3])) - 1) is None


def test_split_by_time_keeps_the_newest_quarter_out() -> None:
    rows = [_example() for _ in range(8)]
    train, test = split_by_time(rows, 0.25)
    assert (len(train), len(test)) == (6, 2) and train + test == rows


@pytest.mark.slow
def test_pooled_dao_only_trains_and_the_target_is_split_by_time(sample_store: Store) -> None:
    train, test, per_dao, too_long = draft_split(sample_store, dao="arbitrum", tokenizer=WordTokenizer(),
                                                 max_length=400, pool=["compound"])
    with sample_store.session() as session:
        dao_of = {e.ref: session.get(Proposal, int(e.ref)) for e in train + test}
    arbitrum_train = [e for e in train if "Arbitrum" in e.messages[0]["content"]]
    compound_train = [e for e in train if "Compound" in e.messages[0]["content"]]
    assert (len(arbitrum_train), len(compound_train)) == (per_dao["arbitrum"], per_dao["compound"])
    assert per_dao["compound"] > 0 and test and all("Arbitrum" in e.messages[0]["content"] for e in test)
    assert not {e.ref for e in train} & {e.ref for e in test}
    newest_trained = max(dao_of[e.ref].created_at or dao_of[e.ref].start for e in arbitrum_train)  # type: ignore[union-attr]
    oldest_held = min(dao_of[e.ref].created_at or dao_of[e.ref].start for e in test)  # type: ignore[union-attr]
    assert newest_trained <= oldest_held
    assert all(_length(e) <= 400 for e in train + test) and too_long >= 0


def test_the_base_side_is_reused_only_for_the_same_held_out_set(tmp_path: Any) -> None:
    import json

    from agent.finetune.draft_task import base_heldout
    from agent.finetune.train import TrainConfig

    config = TrainConfig(out_dir=tmp_path, max_length=384)
    test = [_example()]
    prompts = [(test[0], draft_messages("Arbitrum DAO", "Fund audits", HEADINGS))]
    key = {"base": config.base, "refs": ["1"], "answers": [test[0].answer], "prompts": [prompts[0][1]],
           "max_length": 384, "max_new_tokens": 320}
    (tmp_path / "base_heldout.json").write_text(json.dumps({"key": key, "perplexity": 9.5, "drafts": ["## Abstract"]}))
    assert base_heldout(None, WordTokenizer(), test, prompts, config=config, max_new_tokens=320, device="cpu") == (
        9.5, ["## Abstract"])
    with pytest.raises(AttributeError):  # another length: the stored figures do not apply, so the (absent) model runs
        base_heldout(None, WordTokenizer(), test, prompts, config=config, max_new_tokens=256, device="cpu")
