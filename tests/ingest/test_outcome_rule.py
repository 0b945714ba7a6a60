"""The stated rules that derive a closed proposal's outcome (scores for Snapshot, lifecycle state for Governors),
on hand-made edge cases, on the shared data's own derived Arbitrum outcomes, and in the stored bundled sample."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import select

from ingest.core.domain import Dao, Proposal
from ingest.core.store import Store
from ingest.normalise.governor import governor_proposal
from ingest.normalise.outcome_rule import for_against_indexes, outcome_from_scores, outcome_from_state
from ingest.normalise.snapshot import snapshot_proposal

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
DEMO = "0x66b953a7cf4de9f6de54e6eb87ae291b5cc62f12c7fed68eba91043607883221"


@pytest.mark.parametrize(
    ("choices", "expected"),
    [
        (["For", "Against", "Abstain"], (0, 1)),
        (["Approve funding", "Reject funding", "Abstain"], (0, 1)),
        (["Fund Entropy", "Do not fund", "Abstain"], (0, 1)),
        (["Elect Chaos Labs", "Don't Elect Chaos Labs"], (0, 1)),
        (["Yes - Extend", "No - Do Not Extend"], (0, 1)),
        (["AGAINST - Do not ban", "FOR - Ban"], (1, 0)),
        (["For [Full scope]", "For [No IRL Event]", "Against", "Abstain"], None),  # two For-like options: a poll
        (["Blockworks/Delphi Digital", "The Block"], None),  # an election: no Against-like option
        (["Against", "Reject"], None),  # two Against-like options
        (["For"], None),
    ],
)
def test_for_against_style_choices(choices: list[str], expected: tuple[int, int] | None) -> None:
    assert for_against_indexes(choices) == expected


def test_scores_rule_passes_only_when_for_beats_against() -> None:
    assert outcome_from_scores(["For", "Against", "Abstain"], [3.0, 2.0, 100.0]).outcome == "passed"  # abstain ignored
    assert outcome_from_scores(["For", "Against"], [2.0, 2.0]).outcome == "failed"  # a tie is not a pass
    assert outcome_from_scores(["For", "Against"], [1.0, 5.0]).outcome == "failed"
    below = outcome_from_scores(["For", "Against"], [9.0, 0.0], quorum=10.0)
    assert below.outcome == "failed" and "quorum" in below.source
    assert outcome_from_scores(["A", "B", "C"], [1.0, 2.0, 3.0]).outcome is None
    assert outcome_from_scores(["For", "Against"], None).outcome is None
    assert outcome_from_scores(["For", "Against"], [1.0]).outcome is None  # scores not in choice order


def test_state_rule() -> None:
    assert [outcome_from_state(s).outcome for s in ("executed", "crosschainexecuted", "Queued", "defeated", "canceled")] == [
        "passed", "passed", "passed", "failed", "cancelled"]
    for not_final in ("CONFIRMED", "active", "pending", None):
        assert outcome_from_state(not_final).outcome is None


def test_normalisers_record_how_the_outcome_was_reached() -> None:
    snap = snapshot_proposal({"id": "0xa", "title": "t", "choices": ["Approve funding", "Reject funding"],
                              "state": "closed", "scores": [5, 1], "start": 1, "end": 2})
    assert snap.outcome == "passed" and "For > Against" in snap.extra["outcome_source"]
    open_vote = snapshot_proposal({"id": "0xb", "title": "t", "choices": ["For", "Against"],
                                   "state": "active", "scores": [5, 1], "start": 1, "end": 2})
    assert open_vote.outcome is None  # scores of a vote still running are not final
    gov = governor_proposal({"proposalId": 7, "description": "# t", "state": "defeated", "forVotes": 1, "againstVotes": 2})
    assert gov.outcome == "failed" and gov.extra["outcome_source"] == "derived: Governor state 'defeated' -> failed"
    given = governor_proposal({"proposalId": 8, "description": "# t", "state": "succeeded (never queued)", "outcome": "passed"})
    assert given.outcome == "passed" and given.extra["outcome_source"] == "given by the source payload"


@pytest.mark.skipif(not (SHARED_DATA / "proposals.jsonl").is_file(), reason=f"no shared data at {SHARED_DATA}")
def test_scores_rule_reproduces_every_arbitrum_snapshot_outcome_of_the_shared_data() -> None:
    compared = Counter()
    with (SHARED_DATA / "proposals.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["dao"] != "arbitrum" or not row["platform"].startswith("snapshot"):
                continue
            assert outcome_from_scores(row["choices"], row.get("scores")).outcome == row.get("outcome"), row["id"]
            compared[row.get("outcome")] += 1
    assert compared == {"passed": 233, "failed": 63, None: 48}


def test_the_stored_sample_has_arbitrum_outcomes_with_their_source(sample_store: Store) -> None:
    with sample_store.session() as session:
        arbitrum = session.exec(select(Dao).where(Dao.slug == "arbitrum")).one()
        rows = session.exec(select(Proposal).where(Proposal.dao_id == arbitrum.id)).all()
    by = Counter((p.origin, p.outcome) for p in rows)
    assert by == {("snapshot", "passed"): 233, ("snapshot", "failed"): 63, ("snapshot", None): 48,
                  ("governor", "passed"): 51, ("governor", "failed"): 13}
    assert all((p.extra or {}).get("outcome_source") for p in rows)
    assert not any(p.state == "CONFIRMED" for p in rows)  # the scrape's placeholder is not a Tally status
    demo = next(p for p in rows if p.external_id == DEMO)
    assert demo.outcome == "passed" and demo.scores and demo.scores[0] > demo.scores[1]
