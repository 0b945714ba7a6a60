"""The chat prompts shared by training and inference, so the tuned model sees at run time what it saw in training."""

from __future__ import annotations

__all__ = ["OUTCOME_LABELS", "STANCE_LABELS", "outcome_messages", "parse_label", "stance_messages", "summary_messages"]

STANCE_LABELS: tuple[str, ...] = ("for", "against", "neutral")  # agent.stance.Stance values a vote can express
OUTCOME_LABELS: tuple[str, ...] = ("passed", "failed")

_STANCE_SYSTEM = (
    "You label a DAO member's stance on a governance proposal. "
    "Answer with one word: for, against or neutral."
)
_OUTCOME_SYSTEM = "You predict whether a DAO governance proposal passed. Answer with one word: passed or failed."
_SUMMARY_SYSTEM = "You summarise a DAO governance discussion in one short line."


def stance_messages(text: str, *, proposal_title: str = "") -> list[dict[str, str]]:
    """Chat messages asking for the stance expressed in ``text`` about the proposal titled ``proposal_title``."""
    head = f"Proposal: {proposal_title.strip()}\n" if proposal_title.strip() else ""
    return [
        {"role": "system", "content": _STANCE_SYSTEM},
        {"role": "user", "content": f"{head}Member wrote: {text.strip()}\nStance:"},
    ]


def outcome_messages(title: str, body: str, *, body_chars: int = 600) -> list[dict[str, str]]:
    """Chat messages asking whether the proposal passed."""
    return [
        {"role": "system", "content": _OUTCOME_SYSTEM},
        {"role": "user", "content": f"Proposal: {title.strip()}\n{body.strip()[:body_chars]}\nOutcome:"},
    ]


def summary_messages(posts: list[str], *, chars: int = 600) -> list[dict[str, str]]:
    """Chat messages asking for a one-line summary of a discussion (a few posts, truncated)."""
    joined = "\n".join(f"- {p.strip()[:200]}" for p in posts)[:chars]
    return [
        {"role": "system", "content": _SUMMARY_SYSTEM},
        {"role": "user", "content": f"Discussion:\n{joined}\nSummary:"},
    ]


def parse_label(answer: str, labels: tuple[str, ...] = STANCE_LABELS) -> str | None:
    """The first label named in ``answer`` (case-insensitive), or None when it names none."""
    low = answer.strip().lower()
    best: tuple[int, str] | None = None
    for label in labels:
        at = low.find(label)
        if at >= 0 and (best is None or at < best[0]):
            best = (at, label)
    return best[1] if best else None
