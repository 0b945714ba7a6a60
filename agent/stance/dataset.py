"""Real stance labels: voters' written reasons (with the option they chose) and hand-labelled posts, with a
deterministic held-out split by group (proposal or thread), so no thread or proposal is on both sides.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from agent.stance.base import Stance
from ingest.errors import InputError

__all__ = ["LabelledText", "load_vote_reasons", "load_post_labels", "split_heldout", "default_labels_path", "CHOICE_TO_STANCE"]

CHOICE_TO_STANCE: dict[str, Stance] = {
    "for": Stance.FOR,
    "yes": Stance.FOR,
    "yea": Stance.FOR,
    "against": Stance.AGAINST,
    "no": Stance.AGAINST,
    "nay": Stance.AGAINST,
    "abstain": Stance.NEUTRAL,
}


@dataclass(frozen=True)
class LabelledText:
    """One labelled text. ``group`` keeps related texts together in splits; ``origin`` is ``vote-reason`` or ``post``."""

    text: str
    label: Stance
    group: str
    origin: str
    selection: str = ""


def default_labels_path() -> Path:
    """``evals/data/stance_labels.jsonl`` in this repository."""
    return Path(__file__).resolve().parents[2] / "evals" / "data" / "stance_labels.jsonl"


def load_vote_reasons(votes_file: str | Path) -> list[LabelledText]:
    """Votes with a non-empty ``reason``; the chosen option (For/Against/Abstain, Yes/No) is the label."""
    path = Path(votes_file)
    if not path.is_file():
        raise InputError(f"No votes file at {path}: pass --data a directory holding votes.jsonl")
    out: list[LabelledText] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            reason = (row.get("reason") or "").strip()
            label = CHOICE_TO_STANCE.get(str(row.get("choice") or "").strip().lower())
            if reason and label is not None:
                out.append(LabelledText(reason, label, f"proposal:{row.get('proposal_id')}", "vote-reason"))
    return out


def load_post_labels(path: str | Path | None = None) -> list[LabelledText]:
    """The hand-labelled posts (see ``evals/data/stance_guidelines.md``)."""
    file = Path(path) if path is not None else default_labels_path()
    if not file.is_file():
        raise InputError(f"No stance labels at {file}; they live in evals/data/stance_labels.jsonl")
    out = []
    with file.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            ref = row.get("ref", {})
            if row.get("kind") == "discord":  # a channel is one long thread: group by channel and day instead
                group = f"discord:{row.get('dao')}:{ref.get('thread_id')}:{str(ref.get('created') or '')[:10]}"
            else:
                group = f"thread:{row.get('dao')}:{ref.get('thread_id')}"
            out.append(LabelledText(row["text"], Stance(row["label"]), group, "post", row.get("selection", "")))
    return out


def _bucket(group: str) -> float:
    return int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def split_heldout(items: list[LabelledText], *, test_fraction: float = 0.3) -> tuple[list[LabelledText], list[LabelledText]]:
    """(train, held-out): a group goes wholly to one side, by a hash of its name (stable across runs and machines)."""
    train = [x for x in items if _bucket(x.group) >= test_fraction]
    test = [x for x in items if _bucket(x.group) < test_fraction]
    return train, test
