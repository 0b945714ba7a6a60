"""An instruction dataset from a DAO's own history, read from the store.

Three tasks, all from real records dated before the cutoff (default 2025-01-01):

* stance: a voter's on-chain reason -> the side they voted (for / against / neutral for an abstention);
* outcome: a closed proposal's title and body -> passed / failed;
* summary: the posts of a forum thread -> the thread's title (a real one-line summary written by its author).

Labelled posts (the committed ``evals/data/stance_labels.jsonl``, see its guidelines) add stance examples for the labels a
vote cannot express (off-topic) and for forum/chat wording. Stance examples are split by proposal or thread with
the rule every stance model shares (:func:`agent.stance.dataset.is_heldout`), so no proposal's reasons or thread's
posts are seen in both training and test.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import select

from agent.finetune.prompts import (
    outcome_messages,
    stance_answer,
    stance_messages,
    stance_prompt_parts,
    summary_messages,
)
from agent.stance.dataset import CHOICE_TO_STANCE, LabelledText, is_heldout, proposal_group
from ingest.core.errors import InputError
from ingest.core.store import Store

__all__ = ["Example", "FinetuneDataset", "balance", "build_dataset", "load_examples", "save_examples"]

DEFAULT_CUTOFF = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Example:
    """One chat example: the prompt messages and the assistant's answer."""

    task: str
    messages: list[dict[str, str]]
    answer: str
    ref: str = ""

    def assistant_text(self) -> str:
        """What the assistant says: a stance as the JSON the constrained decoder produces, other answers as they are."""
        return stance_answer(self.answer) if self.task == "stance" else self.answer


@dataclass
class FinetuneDataset:
    """Training examples (all tasks) and held-out stance examples."""

    train: list[Example] = field(default_factory=list)
    test: list[Example] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        """Per-split, per-task label counts (for the CLI and the report)."""
        out: dict[str, Any] = {}
        for split, rows in (("train", self.train), ("test", self.test)):
            out[split] = {task: dict(Counter(e.answer for e in rows if e.task == task)) for task in sorted({e.task for e in rows})}
        return out


def _stance_label(choice_label: str | None) -> str | None:
    stance = CHOICE_TO_STANCE.get((choice_label or "").strip().lower())
    return stance.value if stance is not None else None


def build_dataset(
    store: Store,
    dao_slug: str,
    *,
    cutoff: datetime = DEFAULT_CUTOFF,
    posts: Sequence[LabelledText] = (),
    max_aux: int = 120,
    seed: int = 0,
) -> FinetuneDataset:
    """Build the dataset for ``dao_slug`` from the store, plus labelled ``posts`` (e.g. the committed
    ``evals/data/stance_labels.jsonl``); raise InputError when there is nothing to learn stance from.

    Stance examples are split exactly as every stance model is (:func:`agent.stance.dataset.is_heldout` on the
    proposal or thread), so `concord eval stance` scores tuned, base and trained classifier on the same held-out texts.
    """
    from ingest.core.domain import Post, Proposal, Source, Thread, Vote

    dao = store.get_dao(dao_slug)
    dataset = FinetuneDataset()
    aux: list[Example] = []
    reasons = 0
    with store.session() as session:
        rows = session.exec(
            select(Vote, Proposal).join(Proposal, Vote.proposal_id == Proposal.id).where(Proposal.dao_id == dao.id)
        ).all()
        for vote, proposal in rows:
            created = vote.created_at or proposal.start or proposal.created_at
            label = _stance_label(vote.choice_label)
            if not vote.reason or not vote.reason.strip() or label is None or created is None or created >= cutoff:
                continue
            example = Example("stance", stance_messages(vote.reason, proposal_title=proposal.title), label, f"vote:{vote.id}")
            (dataset.test if is_heldout(proposal_group(dao_slug, proposal.external_id)) else dataset.train).append(example)
            reasons += 1
        for proposal in session.exec(select(Proposal).where(Proposal.dao_id == dao.id)).all():
            created = proposal.start or proposal.created_at
            if proposal.outcome in ("passed", "failed") and created is not None and created < cutoff and proposal.title:
                aux.append(Example("outcome", outcome_messages(proposal.title, proposal.body), proposal.outcome, f"proposal:{proposal.id}"))
        threads = session.exec(
            select(Thread).join(Source, Thread.source_id == Source.id).where(Source.dao_id == dao.id)
        ).all()
        for thread in threads:
            created = thread.created_at
            if not thread.title or (created is not None and created >= cutoff):
                continue
            texts = session.exec(select(Post.text).where(Post.thread_id == thread.id).order_by(Post.number).limit(4)).all()
            if texts:
                aux.append(Example("summary", summary_messages(list(texts)), thread.title.strip(), f"thread:{thread.id}"))
    if not reasons and not posts:
        raise InputError(
            f"DAO {dao_slug!r} has no votes with reasons before {cutoff.date()} in the store: "
            "ingest its Governor or Snapshot votes first (e.g. `concord ingest sample`), or add labelled posts (--labels)."
        )
    for item in posts:
        example = Example("stance", stance_messages(item.text, proposal_title=item.context), item.label.value, f"label:{item.group}")
        (dataset.test if is_heldout(item.group) else dataset.train).append(example)
    heldout_texts = {stance_prompt_parts(e.messages)[0] for e in dataset.test}
    dataset.train = [e for e in dataset.train if stance_prompt_parts(e.messages)[0] not in heldout_texts]  # "good" recurs across proposals
    rng = random.Random(seed)
    rng.shuffle(aux)
    dataset.train.extend(aux[:max_aux])
    return dataset


def balance(examples: list[Example], *, task: str = "stance", seed: int = 0) -> list[Example]:
    """Oversample the minority labels of ``task`` until each has as many examples as the majority label."""
    rng = random.Random(seed)
    groups: dict[str, list[Example]] = {}
    for e in examples:
        if e.task == task:
            groups.setdefault(e.answer, []).append(e)
    out = [e for e in examples if e.task != task]
    if not groups:
        return out
    target = max(len(g) for g in groups.values())
    for rows in groups.values():
        out.extend(rows)
        out.extend(rng.choice(rows) for _ in range(target - len(rows)))
    rng.shuffle(out)
    return out


def save_examples(examples: list[Example], path: Path) -> None:
    """Write examples as JSON lines (one chat example per line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for e in examples:
            handle.write(json.dumps(asdict(e), ensure_ascii=False) + "\n")


def load_examples(path: Path) -> list[Example]:
    """Read examples written by :func:`save_examples`."""
    if not path.exists():
        raise InputError(f"No dataset at {path}: run `concord finetune train --dao DAO --name NAME`, which writes it before training.")
    with path.open(encoding="utf-8") as handle:
        return [Example(**json.loads(line)) for line in handle if line.strip()]
