"""The live forecast reads only votes cast so far; the jury reads only earlier proposals' votes."""

from __future__ import annotations

from evals.jury import run_jury
from evals.live import FRACTIONS, LiveProposal, run_live

DAY = 86_400.0


def _proposal(i: int, *, passed: bool, late_swing: bool = False) -> LiveProposal:
    start = i * 10 * DAY
    end = start + 4 * DAY
    choice = "for" if passed else "against"
    votes = [(start + (k + 0.5) * DAY / 4, choice, 10.0) for k in range(8)]  # the first two days
    voters = [(f"v{k}", choice, 10.0) for k in range(8)]
    if late_swing:  # a whale votes the other way on the last day
        other = "against" if passed else "for"
        votes.append((end - DAY / 2, other, 1_000.0))
        voters.append(("whale", other, 1_000.0))
    return LiveProposal(f"p{i}", "d", start, end, int(passed), sorted(votes), tuple(voters))


def test_tally_counts_only_votes_cast_before_the_moment() -> None:
    p = _proposal(0, passed=True, late_swing=True)
    assert p.at(0.25)[0] == 40.0 and p.at(0.25)[1] == 0.0  # 4 votes in the first day
    assert p.at(0.75)[1] == 0.0  # the whale votes at 87.5% of the period
    assert p.final()[1] == 1_000.0


def test_live_walk_forward_runs_per_fraction_and_needs_earlier_closed_proposals() -> None:
    proposals = [_proposal(i, passed=i % 3 != 0) for i in range(40)]
    results = run_live(proposals)["d"]
    assert set(results) == {f"{f:.2f}" for f in FRACTIONS}
    quarter = results["0.25"]
    assert quarter["n"] + quarter["history_only"] == 40 and quarter["history_only"] >= 15
    assert quarter["current_leader_wins"]["accuracy"] == 1.0  # here the early leader always wins
    assert quarter["model"]["accuracy"] == 1.0


def test_jury_learns_each_voter_from_earlier_votes_only() -> None:
    proposals = [_proposal(i, passed=True) for i in range(10)]
    results = run_jury(proposals)["d"]
    assert results["n_votes"] == 9 * 8  # every vote but the first proposal's (no earlier history)
    assert results["jury"]["accuracy"] == 1.0 and results["jury"]["log_loss"] < results["as_last_time"]["log_loss"] + 1.0
    assert results["jury_for_share_mae"] < 0.3
