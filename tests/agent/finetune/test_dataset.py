"""The instruction dataset comes from the DAO's own records, before the cutoff, with no proposal on both sides."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from agent.finetune.dataset import balance, build_dataset, load_examples, save_examples
from agent.finetune.evaluate import score_labels, split_prompt
from agent.finetune.prompts import STANCE_LABELS, parse_label
from ingest.core.domain import Proposal, Vote
from ingest.core.errors import InputError
from ingest.core.store import Store


def test_stance_examples_are_real_vote_reasons_split_by_proposal(sample_store: Store) -> None:
    data = build_dataset(sample_store, "compound")
    stance_train = [e for e in data.train if e.task == "stance"]
    texts = [split_prompt(e)[0] for e in stance_train + data.test]
    assert len(set(texts)) == 175  # the distinct texts of the 189 Compound votes with a reason (all 2021-2022)
    assert 175 <= len(texts) <= 189  # a training copy of a held-out text ("good") is left out
    assert {e.answer for e in stance_train + data.test} == {"for", "against", "neutral"}  # a vote cannot be off-topic
    with sample_store.session() as session:
        proposal_of = {v.id: v.proposal_id for v in session.exec(__import__("sqlmodel").select(Vote)).all() if v.reason}
    train_props = {proposal_of[int(e.ref.split(":")[1])] for e in stance_train}
    test_props = {proposal_of[int(e.ref.split(":")[1])] for e in data.test}
    assert train_props and test_props and not (train_props & test_props)
    assert {e.task for e in data.train} == {"stance", "outcome"}  # Compound has no forum threads in the sample
    text, title = split_prompt(data.test[0])
    assert text and title and text in data.test[0].messages[-1]["content"]


def test_the_split_is_the_one_every_stance_model_is_scored_on(sample_store: Store) -> None:
    """Compound reasons from the store land on the same side as the same reasons read from votes.jsonl, and
    labelled posts follow their thread: `concord eval stance` compares tuned, base and classifier on one held-out set."""
    from pathlib import Path

    from agent.stance.dataset import load_post_labels, load_vote_reasons, split_heldout

    votes = Path(__file__).resolve().parents[4] / "shared" / "data" / "votes.jsonl"
    if not votes.exists():
        pytest.skip(f"{votes} is not on this machine (the shared data set sits beside the checkout)")
    posts = load_post_labels()
    data = build_dataset(sample_store, "compound", posts=posts)
    _, heldout = split_heldout(load_vote_reasons(votes) + posts)
    assert sorted(split_prompt(e)[0] for e in data.test) == sorted(x.text.strip() for x in heldout)
    assert {e.answer for e in data.test} == set(STANCE_LABELS)
    train_texts = {split_prompt(e)[0] for e in data.train if e.task == "stance"}
    assert not train_texts & {x.text.strip() for x in heldout}


def test_stance_answers_are_the_json_the_server_is_asked_for(sample_store: Store) -> None:
    from agent.finetune.prompts import STANCE_SCHEMA, parse_stance_answer

    example = build_dataset(sample_store, "compound").train[0]
    stance = next(e for e in build_dataset(sample_store, "compound").train if e.task == "stance")
    assert parse_stance_answer(stance.assistant_text()) == stance.answer
    assert set(STANCE_SCHEMA["properties"]["stance"]["enum"]) == set(STANCE_LABELS)  # type: ignore[index]
    assert example.task != "stance" or example.assistant_text().startswith("{")
    assert parse_stance_answer('{"stance": "maybe"}') is None and parse_stance_answer("for") is None


def test_records_from_2025_on_are_never_used(sample_store: Store) -> None:
    with sample_store.session() as session:
        from sqlmodel import select

        proposal = session.exec(select(Proposal).where(Proposal.external_id.is_not(None))).first()  # type: ignore[union-attr]
        assert proposal is not None
        session.add(Vote(proposal_id=proposal.id, voter="0xlater", choice=1, choice_label="For", voting_power=1.0,
                         reason="A 2025 reason that must stay out", created_at=datetime(2025, 2, 1, tzinfo=UTC)))
    data = build_dataset(sample_store, "compound")
    assert not any("2025 reason" in e.messages[-1]["content"] for e in data.train + data.test)
    earlier = build_dataset(sample_store, "compound", cutoff=datetime(2022, 1, 1, tzinfo=UTC))
    assert len([e for e in earlier.train if e.task == "stance"]) + len(earlier.test) < 175


def test_balance_oversamples_minority_labels_only(sample_store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = build_dataset(sample_store, "compound")
    balanced = balance(data.train)
    counts = Counter(e.answer for e in balanced if e.task == "stance")
    assert len(set(counts.values())) == 1 and counts["for"] == Counter(e.answer for e in data.train if e.task == "stance")["for"]
    assert sum(1 for e in balanced if e.task == "outcome") == sum(1 for e in data.train if e.task == "outcome")
    save_examples(balanced, tmp_path / "x.jsonl")
    assert load_examples(tmp_path / "x.jsonl") == balanced


def test_a_dao_without_reasons_is_told_what_to_do(sample_store: Store) -> None:
    with pytest.raises(InputError, match="no votes with reasons"):
        build_dataset(sample_store, "aave")
    from agent.stance.dataset import load_post_labels

    aave_posts = [x for x in load_post_labels() if x.group.startswith("discord:aave")]
    data = build_dataset(sample_store, "aave", posts=aave_posts)  # labelled posts alone are enough to learn from
    assert len([e for e in data.train if e.task == "stance"]) + len(data.test) == len(aave_posts)


def test_scores_and_label_parsing() -> None:
    scores = score_labels("x", ["for", "for", "against", "neutral"], ["for", "against", "against", "for"])
    assert scores.accuracy == 0.5
    assert scores.per_label_f1 == {"for": 0.5, "against": 0.6667, "neutral": 0.0}  # off-topic is not in gold
    assert scores.macro_f1 == round((0.5 + 0.6667) / 3, 4)
    assert parse_label(" Against, mostly") == "against" and parse_label("no idea") is None
