"""Reading the shared data format: times, outcomes, skips, per-choice scores."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agent.predict.clock import BlockClock
from agent.predict.loader import load_directory, parse_time
from agent.predict.records import canonical_choice, canonical_shares
from ingest.core.errors import InputError


def test_parse_time_forms() -> None:
    assert parse_time(1_700_000_000) == 1_700_000_000
    assert parse_time(1_700_000_000_000) == 1_700_000_000  # milliseconds
    assert parse_time("2021-04-14T03:00:21") == 1_618_369_221  # naive ISO = UTC
    assert parse_time("2022-01-18T15:04:43.000Z") == 1_642_518_283
    assert parse_time(None) is None and parse_time("not a date") is None


def test_block_clock_interpolates_and_extrapolates() -> None:
    clock = BlockClock([(12_235_811, 1_618_371_137.0)])
    assert clock.time_of(12_235_811) == 1_618_371_137.0
    assert clock.time_of(15_537_394) == 1_663_224_179.0  # the Merge anchor
    assert clock.time_of(15_537_394 + 100) == pytest.approx(1_663_224_179.0 + 1200)  # 12 s per block after it


def test_outcomes_skips_and_conservative_close_times(make_dir: Callable[..., Path]) -> None:
    rows = [
        {"dao": "d", "id": "ok", "created": 1000, "start": 2000, "end": 9000, "outcome": "passed", "author": "0xAbC"},
        {"dao": "d", "id": "bud", "created": None, "start": 2000, "end": 9000, "outcome": "passed_vote_out_of_budget"},
        {"dao": "d", "id": "cancel", "start": 2000, "end": 9000, "outcome": "cancelled"},
        {"dao": "d", "id": "open", "start": 2000, "end": 9000, "outcome": None},
        {"dao": "d", "id": "notime", "outcome": "passed"},
        {"dao": "d", "id": "noend", "created": "2020-12-17T23:17:51", "outcome": "failed"},
        {"dao": "d", "id": "blocks", "created": "2021-04-14T03:00:21", "start_block": 12235672, "end_block": 12252952, "outcome": "passed"},
    ]
    data = load_directory(make_dir(rows))
    by_id = {p.id: p for p in data.proposals}
    assert by_id["ok"].opened_at == 1000 and by_id["ok"].closed_at == 9000 and by_id["ok"].outcome is True
    assert by_id["ok"].author == "0xabc"
    assert by_id["bud"].outcome is True
    assert (by_id["cancel"].status, by_id["open"].status, by_id["notime"].status) == ("cancelled", "no-outcome", "no-time")
    assert not by_id["cancel"].has_label and not by_id["notime"].has_label
    noend = by_id["noend"]
    assert noend.outcome is False and noend.closed_at - noend.opened_at == 14 * 86_400  # type: ignore[operator]
    blocks = by_id["blocks"]
    # 17,280 blocks of voting (~2.7 days) plus one day of slack: closes 3.5 to 4.5 days after creation
    assert 3.5 * 86_400 < blocks.closed_at - blocks.opened_at < 4.5 * 86_400  # type: ignore[operator]


def test_scores_from_votes_and_updates(make_dir: Callable[..., Path]) -> None:
    rows = [
        {"dao": "c", "id": "c1", "created": 10, "end": 20, "outcome": "passed", "choices": ["Against", "For", "Abstain"],
         "scores": [900.0, 100.0, 0.0], "scores_total": 1000.0},
        {"dao": "dcl", "id": "d1", "start": 10, "end": 20, "outcome": "failed", "choices": None, "scores": None, "scores_total": 50.0},
    ]
    votes = [
        {"dao": "c", "proposal_id": "c1", "voter": "0x1", "choice": "For", "vp": 900.0, "created": "1970-01-01T00:00:11"},
        {"dao": "c", "proposal_id": "c1", "voter": "0x2", "choice": "Against", "vp": 100.0, "created": "1970-01-01T00:00:12"},
    ]
    updates = [{"id": "d1", "choices_from_votes": ["yes", "no"], "scores_from_votes": [10.0, 40.0], "complete": True}]
    data = load_directory(make_dir(rows, votes=votes, proposal_updates=updates))
    by_id = {p.id: p for p in data.proposals}
    assert by_id["c1"].scores == (100.0, 900.0, 0.0)  # recomputed from the votes by label
    assert canonical_shares(by_id["d1"].choices, by_id["d1"].scores) == {"for": 0.2, "against": 0.8, "other": 0.0}
    assert data.voter_power[("c", "0x1")] == [(11.0, 900.0)]


def test_canonical_choices() -> None:
    assert [canonical_choice(c) for c in ["Yes, this is necessary.", "No", "Yea", "Nay", "Abstain", "Invalid question/options"]] == [
        "for", "against", "for", "against", "other", "other"
    ]
    assert canonical_shares(("Option A", "Option B"), (1.0, 2.0)) is None


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="No proposals.jsonl"):
        load_directory(tmp_path)
