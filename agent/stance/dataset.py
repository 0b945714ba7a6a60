"""Real stance labels: voters' written reasons (with the option they chose) and hand-labelled posts, with a
deterministic held-out split by group (proposal or thread), so no thread or proposal is on both sides.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from agent.stance.base import Stance
from ingest.core.errors import InputError

__all__ = [
    "CHOICE_TO_STANCE",
    "LabelledText",
    "default_labels_path",
    "is_heldout",
    "load_post_labels",
    "load_vote_reasons",
    "proposal_group",
    "split_heldout",
]

HELDOUT_FRACTION = 0.3

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
    """One labelled text. ``group`` keeps related texts together in splits; ``origin`` is ``vote-reason`` or ``post``;
    ``context`` is the title of the proposal or thread the text is about (empty when unknown)."""

    text: str
    label: Stance
    group: str
    origin: str
    selection: str = ""
    context: str = ""


def proposal_group(dao: str, native_id: object) -> str:
    """The split group of a vote reason: one per proposal, spelt the same from a data file and from the store."""
    return f"proposal:{dao}:{native_id}"


def default_labels_path() -> Path:
    """``evals/data/stance_labels.jsonl`` in this repository."""
    return Path(__file__).resolve().parents[2] / "evals" / "data" / "stance_labels.jsonl"


def load_vote_reasons(votes_file: str | Path) -> list[LabelledText]:
    """Votes with a non-empty ``reason``; the chosen option (For/Against/Abstain, Yes/No) is the label. Proposal
    titles come from ``proposals.jsonl`` beside the votes file when it is there."""
    path = Path(votes_file)
    if not path.is_file():
        raise InputError(f"No votes file at {path}: pass --data a directory holding votes.jsonl")
    titles = _proposal_titles(path.parent / "proposals.jsonl")
    out: list[LabelledText] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            reason = (row.get("reason") or "").strip()
            label = CHOICE_TO_STANCE.get(str(row.get("choice") or "").strip().lower())
            if reason and label is not None:
                native = row.get("native_proposal_id", row.get("proposal_id"))
                group = proposal_group(str(row.get("dao")), native)
                out.append(LabelledText(reason, label, group, "vote-reason", context=titles.get(str(row.get("proposal_id")), "")))
    return out


def _proposal_titles(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    titles: dict[str, str] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("id") and row.get("title"):
                titles[str(row["id"])] = str(row["title"])
    return titles


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
            out.append(
                LabelledText(row["text"], Stance(row["label"]), group, "post", row.get("selection", ""), row.get("thread_title") or "")
            )
    return out


def _bucket(group: str) -> float:
    return int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def is_heldout(group: str, *, test_fraction: float = HELDOUT_FRACTION) -> bool:
    """Whether texts of ``group`` belong to the held-out side (by a hash of its name: stable across runs and machines).
    Every stance model (classifier, base or tuned chat model) is trained and scored on the same sides."""
    return _bucket(group) < test_fraction


def split_heldout(items: list[LabelledText], *, test_fraction: float = HELDOUT_FRACTION) -> tuple[list[LabelledText], list[LabelledText]]:
    """(train, held-out): a group goes wholly to one side (see :func:`is_heldout`), and a training text that also
    occurs among the held-out texts (short reasons such as "good" recur across proposals) is left out of training."""
    test = [x for x in items if is_heldout(x.group, test_fraction=test_fraction)]
    seen = {x.text.strip() for x in test}
    train = [x for x in items if not is_heldout(x.group, test_fraction=test_fraction) and x.text.strip() not in seen]
    return train, test
