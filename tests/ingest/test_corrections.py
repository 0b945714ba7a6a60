"""correct_proposal_row on real rows of the shared data (values copied from ../shared/data/proposals.jsonl)."""

from __future__ import annotations

from typing import Any

from ingest.sample.corrections import correct_proposal_row

BRAVO = "governorbravo compound (onchain)"
DERIVED = "succeeded (never queued in logs)"


def _row(platform: str, rid: str, choices: list[str], scores: list[float], state: str, outcome: str | None) -> dict[str, Any]:
    return {"platform": platform, "id": rid, "choices": choices, "scores": scores, "state": state, "outcome": outcome}


def test_bravo_scores_are_put_in_choices_order() -> None:
    row = _row(BRAVO, "compound-governorbravo-43", ["Against", "For", "Abstain"], [1367841.9649007616, 5000.0, 0.0],
               "executed", "passed")
    fixed = correct_proposal_row(row)
    assert fixed["scores"] == [5000.0, 1367841.9649007616, 0.0]
    assert (fixed["state"], fixed["outcome"]) == ("executed", "passed")  # from lifecycle events: kept
    assert fixed["corrections"] == ["scores: For/Against put in choices order (stored For-first)"]
    assert row["scores"] == [1367841.9649007616, 5000.0, 0.0]  # the input is not modified


def test_outcome_derived_from_swapped_scores_is_derived_again() -> None:
    row = _row("governoralpha compound (onchain)", "compound-governoralpha-32", ["Against", "For"],
               [212952.2050946592, 681290.3748606578], DERIVED, "passed")
    fixed = correct_proposal_row(row)
    assert fixed["scores"] == [681290.3748606578, 212952.2050946592]
    assert (fixed["state"], fixed["outcome"]) == ("defeated", "failed")
    assert len(fixed["corrections"]) == 2


def test_derived_failure_below_quorum_stays_failed() -> None:
    # Uniswap proposal 1: 39.6M UNI for, short of the 40M quorum, 0.7M against.
    row = _row("governoralpha uniswap (onchain)", "uniswap-governoralpha-1", ["Against", "For"],
               [39596759.31191572, 696856.8717355028], "defeated", "failed")
    fixed = correct_proposal_row(row)
    assert fixed["scores"] == [696856.8717355028, 39596759.31191572]
    assert (fixed["state"], fixed["outcome"]) == ("defeated", "failed")
    assert fixed["corrections"] == ["scores: For/Against put in choices order (stored For-first)"]


def test_unaffected_and_empty_rows_are_copied_unchanged() -> None:
    aave_v2 = _row("aave-governance-v2 (onchain)", "aave-v2-0", ["Against", "For"], [100.2, 414202.5], "executed", "passed")
    lido = _row("aragon voting (onchain)", "lido-aragon-0", ["Nay", "Yea"], [0.0, 104718000.0], "executed", "passed")
    no_votes = _row(BRAVO, "compound-governorbravo-48", ["Against", "For", "Abstain"], [0.0, 0.0, 0.0], "canceled", "cancelled")
    ragged = _row(BRAVO, "x", ["Against", "For", "Abstain"], [1.0, 2.0], "executed", "passed")
    for row in (aave_v2, lido, no_votes, ragged):
        assert correct_proposal_row(row) == row
