"""The prediction loader applies the same shared-data corrections as the sample builder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent.predict.loader import load_directory


def test_swapped_governor_scores_and_derived_outcomes_are_corrected(make_dir: Callable[..., Path]) -> None:
    rows = [
        # Compound GovernorAlpha 32 (real values): no votes file rows, outcome derived from the swapped scores.
        {"dao": "compound", "platform": "governoralpha compound (onchain)", "id": "compound-governoralpha-32",
         "created": "2020-12-11T21:17:06", "end": "2020-12-14T21:17:06", "choices": ["Against", "For"],
         "scores": [212952.2050946592, 681290.3748606578], "scores_total": 894242.580155617,
         "state": "succeeded (never queued in logs)", "outcome": "passed"},
        # Same numbers on an unaffected platform: left alone.
        {"dao": "aave", "platform": "aave-governance-v2 (onchain)", "id": "aave-v2-x",
         "created": "2020-12-11T21:17:06", "end": "2020-12-14T21:17:06", "choices": ["Against", "For"],
         "scores": [212952.2050946592, 681290.3748606578], "state": "executed", "outcome": "passed"},
    ]
    by_id = {p.id: p for p in load_directory(make_dir(rows)).proposals}
    alpha = by_id["compound-governoralpha-32"]
    assert alpha.scores == (681290.3748606578, 212952.2050946592)
    assert (alpha.outcome, alpha.status) == (False, "failed")
    assert by_id["aave-v2-x"].scores == (212952.2050946592, 681290.3748606578)
    assert by_id["aave-v2-x"].outcome is True


def test_bravo_votes_and_corrected_scores_agree(make_dir: Callable[..., Path]) -> None:
    row = {"dao": "compound", "platform": "governorbravo compound (onchain)", "id": "compound-governorbravo-1",
           "created": 10, "end": 20, "choices": ["Against", "For", "Abstain"], "scores": [900.0, 100.0, 0.0],
           "scores_total": 1000.0, "state": "executed", "outcome": "passed"}
    votes = [
        {"dao": "compound", "proposal_id": "compound-governorbravo-1", "voter": "0x1", "choice": "For", "vp": 900.0},
        {"dao": "compound", "proposal_id": "compound-governorbravo-1", "voter": "0x2", "choice": "Against", "vp": 100.0},
    ]
    with_votes = load_directory(make_dir([row], votes=votes)).proposals[0]
    without_votes = load_directory(make_dir([row])).proposals[0]
    assert with_votes.scores == without_votes.scores == (100.0, 900.0, 0.0)
