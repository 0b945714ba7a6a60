"""The near-duplicate evaluation's labels and counting (the measured figures come from `python -m evals.near_dup`)."""

from __future__ import annotations

from evals.near_dup import Query, _norm, choose_thresholds, idea_text, scores_at


def test_titles_match_across_tags_prefixes_and_punctuation() -> None:
    assert _norm("AIP 1.05: Return 700M $ARB to the DAO Treasury ") == _norm("AIP 1.05: Return 700M $ARB to the DAO Treasury [REAL]")
    assert _norm("Proposal [Non-Constitutional]: Establish the Arbitrum Research & Development Collective") == \
        _norm("Proposal to Establish the Arbitrum Research & Development Collective")
    assert _norm("Long-Term Incentives Pilot Program") == _norm("Long Term Incentives Pilot Program")
    assert _norm("Lower Proposal Threshold to 25K COMP") != _norm("Lower Proposal Threshold to 10K COMP")


def test_the_idea_is_the_body_opening_without_headings() -> None:
    assert idea_text("## Abstract\n\nFund   audits.\n**Motivation**\nBecause.") == "Fund audits. Because."


def _q(dup: bool, *cands: tuple[float, float, bool]) -> Query:
    return Query("d", 1, "t", "idea", dup, "train",
                 [{"title": f"c{i}", "cosine": c, "title_cosine": t, "same_title": s} for i, (c, t, s) in enumerate(cands)])


def test_a_warning_counts_only_when_it_names_the_duplicate() -> None:
    queries = [
        _q(True, (0.9, 0.7, True)),                    # found
        _q(True, (0.9, 0.2, False), (0.5, 0.3, True)),  # warned about the wrong proposal: a false alarm and a miss
        _q(False, (0.95, 0.1, False)),                 # a template look-alike: false alarm unless the title floor stops it
        _q(False, (0.3, 0.3, False)),
    ]
    loose = scores_at(queries, 0.8, 0.9)
    assert (loose["tp"], loose["fp"], loose["fn"], loose["tn"]) == (1, 2, 1, 1)
    floored = scores_at(queries, 0.8, 0.9, floor=0.4)
    assert (floored["tp"], floored["fp"], floored["fn"], floored["tn"]) == (1, 0, 1, 2)
    assert floored["precision"] == 1.0 and floored["recall"] == 0.5
    assert choose_thresholds(queries)["f1"] >= floored["f1"]
