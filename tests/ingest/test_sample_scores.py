"""Governor tallies in the bundled sample and the shared data are in ``choices`` order.

The shared data stores Compound/Uniswap Governor ``scores`` For-first under choices Against/For(/Abstain);
``ingest.sample.corrections`` puts them right when the data is read (see its docstring for the evidence).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from ingest.core.domain import Vote
from ingest.core.store import Store
from ingest.pipeline import run_ingestion
from ingest.sample.corrections import SWAPPED_SCORE_PLATFORMS, correct_proposal_row
from ingest.sources.recorded import RecordedGovernor
from ingest.sources.recordings import SAMPLE_DIR, load_recording

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
COMPOUND_QUORUM = 400_000.0


@pytest.fixture(scope="module")
def compound() -> dict[str, Any]:
    return load_recording(SAMPLE_DIR / "governor-compound.json.gz")


def _vote_sums(votes: list[dict[str, Any]]) -> dict[str, dict[int, float]]:
    sums: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for vote in votes:
        sums[str(vote["proposalId"])][int(vote["support"])] += float(vote["votes"])
    return sums


def test_stored_compound_43_has_for_above_against_and_its_votes_sums(sqlite_store: Store, compound: dict) -> None:
    sqlite_store.ensure_dao("compound", "Compound", chain_id=1)
    run_ingestion(sqlite_store, sqlite_store.get_dao("compound"), RecordedGovernor(compound))
    proposal = sqlite_store.get_proposal("43", dao_slug="compound")
    with sqlite_store.session() as session:
        votes = session.exec(select(Vote).where(Vote.proposal_id == proposal.id)).all()
    sums: dict[str, float] = defaultdict(float)
    for vote in votes:
        sums[str(vote.choice_label)] += vote.voting_power
    tallies = dict(zip(proposal.choices, proposal.scores or [], strict=True))
    assert len(votes) == 95
    assert tallies["For"] > tallies["Against"]
    assert tallies == pytest.approx({choice: sums.get(choice, 0.0) for choice in proposal.choices}, rel=1e-9)
    assert (proposal.state, proposal.outcome) == ("executed", "passed")


def test_every_sample_compound_tally_equals_its_votes(compound: dict) -> None:
    sums = _vote_sums(compound["votes"])
    with_votes = 0
    for p in compound["proposals"]:
        got = sums.get(str(p["proposalId"]), {})
        with_votes += bool(got)
        expected = (got.get(0, 0.0), got.get(1, 0.0), got.get(2, 0.0))
        assert (p["againstVotes"], p["forVotes"], p["abstainVotes"]) == pytest.approx(expected, rel=1e-9), p["proposalId"]
    assert (len(compound["proposals"]), with_votes) == (99, 90)


def test_sample_compound_outcomes_agree_with_tallies(compound: dict) -> None:
    """Passed needs For > Against and For >= quorum; the four proposals whose outcome had been derived from the
    swapped tallies are defeated."""
    by_id = {str(p["proposalId"]): p for p in compound["proposals"]}
    for p in by_id.values():
        if p["outcome"] == "passed":
            assert p["forVotes"] > p["againstVotes"] and p["forVotes"] >= COMPOUND_QUORUM, p["proposalId"]
    assert {by_id[i]["state"] for i in ("70", "84", "100", "109")} == {"defeated"}
    assert {by_id[i]["outcome"] for i in ("70", "84", "100", "109")} == {"failed"}


@pytest.mark.skipif(not (SHARED_DATA / "votes.jsonl").is_file(), reason=f"no shared data at {SHARED_DATA}")
def test_corrected_shared_rows_equal_their_votes_and_outcomes() -> None:
    """On ../shared/data itself: every Compound Bravo row, corrected, equals its summed VoteCast events; every row of
    an affected platform that passed has For > Against; rows of other platforms pass through unchanged."""
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    with (SHARED_DATA / "votes.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            vote = json.loads(line)
            sums[vote["proposal_id"]][vote["choice"]] += vote["vp"]
    compared = swapped = 0
    with (SHARED_DATA / "proposals.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            fixed = correct_proposal_row(row)
            if row["platform"] not in SWAPPED_SCORE_PLATFORMS:
                assert fixed == row
                continue
            swapped += "corrections" in fixed
            tallies = dict(zip(fixed["choices"], fixed["scores"], strict=True))
            if fixed["outcome"] == "passed":
                assert tallies["For"] > tallies["Against"], row["id"]
            if row["id"] in sums:
                compared += 1
                expected = {c: sums[row["id"]].get(c, 0.0) for c in fixed["choices"]}
                assert tallies == pytest.approx(expected, rel=1e-9), row["id"]
    assert (compared, swapped) == (90, 139)
