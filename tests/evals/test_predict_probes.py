"""The prediction probes read, for a proposal, only what was public when it opened: other proposals' totals, outcomes
and votes once those had closed, and its own threshold; never its own total or votes."""

from __future__ import annotations

import dataclasses

import numpy as np

from agent.predict.features import FEATURE_NAMES, FeatureBuilder
from agent.predict.records import GovData, HistoryProposal
from evals.predict_probes import (
    ProposerRecencyProbe,
    SimilarVotersProbe,
    TurnoutProbe,
    render_probes,
    threshold_outcomes,
)

DAY = 86_400.0


def _proposals(n: int = 12) -> list[HistoryProposal]:
    # p_i opens on day 10 i and closes on day 10 i + 5: p6 closed before p7 opened, p7 and later had not
    return [HistoryProposal(id=f"p{i}", dao="d", kind="poll" if i % 2 else "grant", title=f"proposal {i}",
                            author="alice" if i % 3 else "bob", opened_at=i * 10 * DAY, closed_at=i * 10 * DAY + 5 * DAY,
                            outcome=i % 4 != 0, status="passed" if i % 4 else "failed") for i in range(n)]


def _totals(change: dict[str, float] | None = None) -> dict[str, tuple[float | None, float | None]]:
    totals: dict[str, tuple[float | None, float | None]] = {f"p{i}": (1000.0, 800.0 + 100.0 * i) for i in range(12)}
    for pid, total in (change or {}).items():
        totals[pid] = (totals[pid][0], total)
    return totals


def test_turnout_reads_totals_of_proposals_closed_before_the_opening_only() -> None:
    data = GovData(proposals=_proposals())
    target = data.proposals[7]
    plain = TurnoutProbe(data, _totals()).features(target)
    assert len(plain) == len(TurnoutProbe.names)
    # its own total and those of proposals still open when it opened are labels it must not see
    assert TurnoutProbe(data, _totals({"p7": 1e9, "p8": 1e9, "p11": 1.0})).features(target) == plain
    # an earlier closed proposal's total is public: changing it changes the features
    assert TurnoutProbe(data, _totals({"p5": 1e9})).features(target) != plain  # p5: a poll by alice, closed


def test_turnout_without_a_threshold_says_so() -> None:
    data = GovData(proposals=_proposals())
    totals = _totals()
    totals["p7"] = (None, totals["p7"][1])
    values = dict(zip(TurnoutProbe.names, TurnoutProbe(data, totals).features(data.proposals[7]), strict=True))
    assert values["turnout_has_threshold"] == 0.0 and values["turnout_threshold_vs_dao"] == 0.0


def test_proposer_recency_ignores_outcomes_not_yet_known() -> None:
    proposals = _proposals()
    target = proposals[7]
    plain = ProposerRecencyProbe(GovData(proposals=proposals)).features(target)
    flipped_later = [dataclasses.replace(p, outcome=not p.outcome) if int(p.id[1:]) >= 7 else p for p in proposals]
    assert ProposerRecencyProbe(GovData(proposals=flipped_later)).features(target) == plain
    flipped_earlier = [dataclasses.replace(p, outcome=not p.outcome) if p.id == "p5" else p for p in proposals]
    assert ProposerRecencyProbe(GovData(proposals=flipped_earlier)).features(target) != plain  # p5 is alice's too


def _embed(texts: list[str]) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(1, 8))
    return np.asarray([base[0] + 0.1 * rng.normal(size=8) for _ in texts], dtype=np.float32)


def _votes(for_from: int | None) -> dict[str, list[tuple[str, str, float]]]:
    out = {}
    for i in range(12):
        whale = "for" if for_from is None or i < for_from else "against"
        out[f"p{i}"] = [("whale", whale, 100.0), ("small", "against", 1.0)]
    return out


def test_similar_voters_read_votes_of_closed_proposals_only() -> None:
    proposals = _proposals()
    target = proposals[7]
    plain = SimilarVotersProbe(GovData(proposals=proposals, votes_by_proposal=_votes(None)), _embed).features(target)
    assert plain[0] > 0.9 and plain[2] > 0.9  # the whale voted For on every earlier proposal
    later = SimilarVotersProbe(GovData(proposals=proposals, votes_by_proposal=_votes(7)), _embed).features(target)
    assert later == plain
    earlier = SimilarVotersProbe(GovData(proposals=proposals, votes_by_proposal=_votes(0)), _embed).features(target)
    assert earlier[0] < 0.1 and earlier[2] < 0.1


def test_a_probe_appends_its_names_and_values_to_the_feature_vector() -> None:
    data = GovData(proposals=_proposals())
    probe = TurnoutProbe(data, _totals())
    builder = FeatureBuilder(data, probe=probe)
    assert builder.names == (*FEATURE_NAMES, *TurnoutProbe.names)
    vector = builder.vector(data.proposals[7])
    assert len(vector) == len(builder.names)
    assert vector[len(FEATURE_NAMES):] == probe.features(data.proposals[7])
    assert FeatureBuilder(data).vector(data.proposals[7]) == vector[: len(FEATURE_NAMES)]


def test_threshold_hindsight_counts_and_renders() -> None:
    proposals = [dataclasses.replace(p, dao="decentraland") for p in _proposals()]
    data = GovData(proposals=proposals)
    # totals 800 + 100 i against a threshold of 1000: p0, p1 short of it, p2..p11 reached it
    block = threshold_outcomes(data, _totals(), dao="decentraland", since=0.0)
    assert (block["n"], block["reached_threshold"], block["short_of_threshold"]) == (12, 10, 2)
    assert block["pass_rate_short"] == 0.5  # p0 failed (i % 4 == 0), p1 passed
    assert block["pass_rate_reached"] == 0.8  # p4 and p8 failed
    row = {"n": 12, "brier": 0.2, "roc_auc": 0.7, "ece": 0.04, "best_baseline_brier": 0.25,
           "per_dao": {"decentraland": {"n": 12, "brier": 0.2, "roc_auc": 0.7, "ece": 0.04, "best_baseline_brier": 0.25}}}
    text = render_probes({"config": {"since": "2023-01-01"}, "rows": {"product": row}, "labels": {"product": "product"},
                          "hindsight": block})
    assert "| product | 0.2000 | 0.800 | 0.700 | 0.040 | 0.200 / 0.700 / 0.040 |" in text
    assert "10 (83%) drew a total voting power at or above" in text and "80% of those passed" in text
