"""Corrections to rows of the shared data's ``proposals.jsonl``, applied wherever our code reads that file.

The shared data is read-only, so known errors in it are corrected when it is read: by the sample builder
(:mod:`ingest.sample.build_sample`) and by the prediction loader (:mod:`agent.predict.loader`). Both call
:func:`correct_proposal_row`, so the two always agree.

**Swapped For/Against scores.** The rows built from bhemen/dao-governance @ 885c6c95 for Compound
GovernorBravo, Compound GovernorAlpha, Uniswap GovernorAlpha and Uniswap GovernorAlphaV2 say
``choices = ["Against", "For", "Abstain"]`` (or ``["Against", "For"]``) but store ``scores`` in For, Against,
Abstain order. Evidence:

- Summing the upstream VoteCast events per choice (``data/*.csv`` at that commit; support 0/1/2 or
  False/True) reproduces all 148 rows' scores once the first two are exchanged, and none of the 139 rows with
  votes in the stored order (90 Bravo, 42 Compound Alpha, 5 + 2 Uniswap; the 9 other Bravo rows have no votes
  and all-zero scores). ``votes.jsonl`` (the 7,733 Compound Bravo VoteCast) agrees: Compound proposal 43 has
  For 1,367,842 COMP (93 voters) and Against 5,000 (1 voter), stored as ``[1367842, 5000, 0]``.
- ``votes_per_choice`` in the same rows *is* in ``choices`` order (e.g. ``[1, 93, 1]`` for proposal 43).
- All 114 of these rows with a ProposalQueued/Executed event have For > Against and For >= quorum once
  exchanged; in the stored order every one of them has For < Against.

Checked and not affected (stored order equals the upstream named columns or summed events): Aave governance v2
(129 rows with votes), Lido Aragon (145), Arbitrum Tally (28, ``for/against/abstain_vote_weightage``), Nouns
(20, ``for/against/abstain_votes``), Aave v3 (every passed row has For > Against).

**Outcomes derived from the swapped scores.** For those platforms, a proposal with no Queued/Executed/Canceled
event got its outcome from the scores ("failed unless for > against and for >= quorum", ``outcome_source``), and
that rule was applied to the swapped numbers. Re-applied to the corrected scores, 7 rows stored as ``passed``
(state ``succeeded (never queued in logs)``) are defeated: Compound Bravo 70, 84, 100, 109 and Compound Alpha
12, 14, 32 (each has For < Against). Their never having been queued agrees. Rows whose outcome came from
lifecycle events are left as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["DERIVED_STATES", "QUORUM_VOTES", "SWAPPED_SCORE_PLATFORMS", "correct_proposal_row"]

#: Platform -> quorum in tokens (COMP or UNI) of the Governor whose rows store For/Against swapped.
QUORUM_VOTES: Mapping[str, float] = {
    "governorbravo compound (onchain)": 400_000.0,
    "governoralpha compound (onchain)": 400_000.0,
    "governoralpha uniswap (onchain)": 40_000_000.0,
    "governoralphav2 uniswap (onchain)": 40_000_000.0,
}
SWAPPED_SCORE_PLATFORMS: frozenset[str] = frozenset(QUORUM_VOTES)
#: ``state`` values the data builder derived from the scores (not from a lifecycle event), by derived outcome.
DERIVED_STATES: Mapping[str, str] = {"passed": "succeeded (never queued in logs)", "failed": "defeated"}


def _swapped_first_two(row: Mapping[str, Any]) -> list[float] | None:
    """The row's scores with For and Against put in ``choices`` order, or None when the row is not affected."""
    choices, scores = row.get("choices"), row.get("scores")
    if row.get("platform") not in SWAPPED_SCORE_PLATFORMS:
        return None
    if not isinstance(choices, list) or not isinstance(scores, list) or len(scores) != len(choices):
        return None
    if [str(c) for c in choices[:2]] != ["Against", "For"]:
        return None
    return [scores[1], scores[0], *scores[2:]]


def correct_proposal_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of one ``proposals.jsonl`` row with the known errors above corrected; other rows are copied unchanged.

    For an affected row, ``scores`` are put in ``choices`` order and an outcome that was derived from the scores
    (``state`` in :data:`DERIVED_STATES`) is derived again from the corrected For/Against and the Governor's quorum.
    ``corrections`` lists what changed (absent when nothing did).
    """
    out = dict(row)
    scores = _swapped_first_two(row)
    if scores is None:
        return out
    notes = ["scores: For/Against put in choices order (stored For-first)"] if scores != row["scores"] else []
    out["scores"] = scores
    if row.get("state") in DERIVED_STATES.values():
        against, for_ = float(scores[0] or 0.0), float(scores[1] or 0.0)
        quorum = QUORUM_VOTES[str(row["platform"])]
        outcome = "passed" if for_ > against and for_ >= quorum else "failed"
        if outcome != row.get("outcome"):
            notes.append(
                f"outcome: {row.get('outcome')} -> {outcome} (derived rule re-applied to corrected scores)"
            )
            out["outcome"], out["state"] = outcome, DERIVED_STATES[outcome]
    if notes:
        out["corrections"] = notes
    return out
