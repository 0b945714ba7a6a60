"""An instruction dataset from a DAO's own history, read from the store.

Three tasks, all from real records dated before the cutoff (default 2025-01-01):

* stance: a voter's on-chain reason -> the side they voted (for / against / neutral for an abstention);
* outcome: a closed proposal's title and body -> passed / failed;
* summary: the posts of a forum thread -> the thread's title (a real one-line summary written by its author).

Stance examples are split by proposal (seeded shuffle, or time order with the latest held out),
so no proposal's reasons are seen in both training and test.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import select

from agent.finetune.prompts import outcome_messages, stance_messages, summary_messages
from ingest.errors import InputError
from ingest.store import Store

__all__ = ["Example", "FinetuneDataset", "balance", "build_dataset", "load_examples", "save_examples"]

DEFAULT_CUTOFF = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Example:
    """One chat example: the prompt messages and the assistant's answer."""

    task: str
    messages: list[dict[str, str]]
    answer: str
    ref: str = ""


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


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _stance_label(choice_label: str | None) -> str | None:
    label = (choice_label or "").strip().lower()
    return {"for": "for", "against": "against", "abstain": "neutral"}.get(label)


def build_dataset(
    store: Store,
    dao_slug: str,
    *,
    cutoff: datetime = DEFAULT_CUTOFF,
    test_fraction: float = 0.25,
    split: str = "random",
    max_aux: int = 120,
    seed: int = 0,
) -> FinetuneDataset:
    """Build the dataset for ``dao_slug`` from the store; raise InputError when it has no labelled reasons."""
    from ingest.domain import Post, Proposal, Source, Thread, Vote

    dao = store.get_dao(dao_slug)
    cutoff = _aware(cutoff) or DEFAULT_CUTOFF
    by_proposal: dict[int, list[Example]] = {}
    when: dict[int, datetime] = {}
    aux: list[Example] = []
    with store.session() as session:
        rows = session.exec(
            select(Vote, Proposal).join(Proposal, Vote.proposal_id == Proposal.id).where(Proposal.dao_id == dao.id)
        ).all()
        for vote, proposal in rows:
            created = _aware(vote.created_at) or _aware(proposal.start) or _aware(proposal.created_at)
            label = _stance_label(vote.choice_label)
            if not vote.reason or not vote.reason.strip() or label is None or created is None or created >= cutoff:
                continue
            assert proposal.id is not None
            by_proposal.setdefault(proposal.id, []).append(
                Example("stance", stance_messages(vote.reason, proposal_title=proposal.title), label, f"vote:{vote.id}")
            )
            when[proposal.id] = min(when.get(proposal.id, created), created)
        for proposal in session.exec(select(Proposal).where(Proposal.dao_id == dao.id)).all():
            created = _aware(proposal.start) or _aware(proposal.created_at)
            if proposal.outcome in ("passed", "failed") and created is not None and created < cutoff and proposal.title:
                aux.append(Example("outcome", outcome_messages(proposal.title, proposal.body), proposal.outcome, f"proposal:{proposal.id}"))
        threads = session.exec(
            select(Thread).join(Source, Thread.source_id == Source.id).where(Source.dao_id == dao.id)
        ).all()
        for thread in threads:
            created = _aware(thread.created_at)
            if not thread.title or (created is not None and created >= cutoff):
                continue
            posts = session.exec(select(Post.text).where(Post.thread_id == thread.id).order_by(Post.number).limit(4)).all()
            if posts:
                aux.append(Example("summary", summary_messages(list(posts)), thread.title.strip(), f"thread:{thread.id}"))
    if not by_proposal:
        raise InputError(
            f"DAO {dao_slug!r} has no votes with reasons before {cutoff.date()} in the store: "
            "ingest its Governor or Snapshot votes first (e.g. `concord ingest sample`)."
        )
    if split not in ("random", "time"):
        raise InputError(f"Unknown split {split!r}: use 'random' (seeded, by proposal) or 'time' (latest proposals held out).")
    rng = random.Random(seed)
    order = sorted(by_proposal, key=lambda pid: when[pid])
    if split == "random":
        rng.shuffle(order)
    total = sum(len(v) for v in by_proposal.values())
    dataset = FinetuneDataset()
    for pid in reversed(order):  # fill the test set from the end: latest proposals first for 'time'
        target = dataset.test if len(dataset.test) < total * test_fraction else dataset.train
        target.extend(by_proposal[pid])
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
        raise InputError(f"No dataset at {path}: run `concord finetune dataset` first.")
    with path.open(encoding="utf-8") as handle:
        return [Example(**json.loads(line)) for line in handle if line.strip()]
