"""The stated rules by which a closed proposal's outcome is derived when its source gives none.

A live Snapshot hub answers only ``state: closed`` and the final scores, and a Governor (or Tally) gives a
lifecycle state, never "passed"/"failed". The store derives the outcome by these rules and records which one
applied (``Proposal.extra["outcome_source"]``), so a derived label is never mistaken for a reported one.

**Scores rule** (For/Against-style choices). Leave abstain-like choices aside (a label containing "abstain").
What remains must be exactly two choices, one Against-like (the word "against", or a label opening with
"reject", "no", "do not", "don't", "nay") and the other not: that one is For-like. The proposal passed if For
has more voting power than Against (and the total reaches the quorum, when one is set), else it failed. Polls and
elections (more than one non-abstain option besides Against, or no Against-like option) get no outcome: their
result is a choice, not a pass or a fail.

**State rule** (Governor / Tally lifecycle): executed, crosschainexecuted, queued, succeeded -> passed;
defeated, expired -> failed; canceled/cancelled -> cancelled; anything else (active, pending, unknown) -> none.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DerivedOutcome", "for_against_indexes", "outcome_from_scores", "outcome_from_state"]

_ABSTAIN = re.compile(r"\babstain", re.IGNORECASE)
_AGAINST = re.compile(r"\bagainst\b|^\s*(?:reject|no\b|do\s+not\b|don['’]t\b|nay\b)", re.IGNORECASE)

_STATE_OUTCOME = {
    "executed": "passed",
    "crosschainexecuted": "passed",
    "queued": "passed",
    "succeeded": "passed",
    "defeated": "failed",
    "expired": "failed",
    "canceled": "cancelled",
    "cancelled": "cancelled",
}


@dataclass(frozen=True, slots=True)
class DerivedOutcome:
    """An outcome (None when the rule gives none) and the one line that says how it was reached."""

    outcome: str | None
    source: str


def for_against_indexes(choices: Sequence[str]) -> tuple[int, int] | None:
    """Indexes of the For-like and Against-like choice, or None when the choices are not For/Against-style."""
    kept = [(i, c) for i, c in enumerate(choices) if not _ABSTAIN.search(c)]
    if len(kept) != 2:
        return None
    against = [i for i, c in kept if _AGAINST.search(c)]
    if len(against) != 1:
        return None
    for_index = next(i for i, _ in kept if i != against[0])
    return for_index, against[0]


def outcome_from_scores(
    choices: Sequence[str], scores: Sequence[float] | None, *, quorum: float = 0.0, origin: str = "Snapshot"
) -> DerivedOutcome:
    """Passed/failed from final scores by the scores rule above; outcome None for polls, elections, missing scores."""
    if not scores or len(scores) != len(choices):
        return DerivedOutcome(None, f"none: no final {origin} scores in choice order")
    pair = for_against_indexes(choices)
    if pair is None:
        return DerivedOutcome(None, f"none: {len(choices)} choices are not For/Against-style (a poll or election)")
    for_i, against_i = pair
    for_votes, against = float(scores[for_i]), float(scores[against_i])
    labels = f"For-like {choices[for_i]!r}, Against-like {choices[against_i]!r}"
    if quorum and sum(float(s) for s in scores) < quorum:
        return DerivedOutcome("failed", f"derived: total below quorum {quorum:g} on final {origin} scores ({labels})")
    outcome = "passed" if for_votes > against else "failed"
    return DerivedOutcome(outcome, f"derived: For > Against on final {origin} scores ({labels})")


def outcome_from_state(state: str | None, *, origin: str = "Governor") -> DerivedOutcome:
    """The outcome a Governor/Tally lifecycle state implies, by the state rule above."""
    key = (state or "").strip().lower()
    outcome = _STATE_OUTCOME.get(key)
    if outcome is None:
        return DerivedOutcome(None, f"none: {origin} state {state!r} is not final")
    return DerivedOutcome(outcome, f"derived: {origin} state {key!r} -> {outcome}")
