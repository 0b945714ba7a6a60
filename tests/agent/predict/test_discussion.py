"""Discussion features use only the past: posts (and authors' voting power) from the proposal's opening on never
change its features or its walk-forward prediction; a stance is computed once per distinct text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from agent.predict.features import FEATURE_NAMES, FeatureBuilder
from agent.predict.loader import load_directory
from agent.predict.records import GovData, HistoryProposal
from agent.predict.walkforward import walk_forward
from agent.stance.base import Stance, StanceResult
from tests.agent.predict.conftest import DAY, T0, synthetic_proposals


class KeywordStance:
    """A deterministic stand-in for the trained classifier: "support" -> for, "oppose" -> against, else neutral.
    It records every text it is asked about."""

    model_id = "keyword-test"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def classify(self, texts: Sequence[str]) -> list[StanceResult]:
        self.seen.extend(texts)
        out = []
        for text in texts:
            label = (
                Stance.FOR if "support" in text else Stance.AGAINST if "oppose" in text else Stance.NEUTRAL
            )
            probs = {s: (0.85 if s == label else 0.05) for s in (Stance.FOR, Stance.AGAINST, Stance.NEUTRAL)}
            out.append(StanceResult(label=label, confidence=0.85, probabilities=probs, model=self.model_id))
        return out


def _opened(i: int) -> int:
    return T0 + i * 3 * DAY  # synthetic_proposals: p<i> is created and starts voting then


def _post(pid: str, at: float, text: str, author: str = "alice") -> dict[str, Any]:
    return {"dao": "testdao", "text": text, "author": author, "created": at, "proposal_ids": [pid]}


BEFORE = [
    _post("p40", _opened(40) - 3 * DAY, "I support this"),
    _post("p40", _opened(40) - DAY, "we oppose it", "bob"),
]


def _vector(data: GovData, pid: str, stance: Any) -> list[float]:
    target: HistoryProposal = next(p for p in data.proposals if p.id == pid)
    return FeatureBuilder(data, stance=stance).vector(target)


@pytest.mark.parametrize("delay", [0, 1, DAY, 30 * DAY])
def test_a_post_at_or_after_opening_never_changes_the_features(
    make_dir: Callable[..., Path], delay: int
) -> None:
    proposals = synthetic_proposals()
    late = _post("p40", _opened(40) + delay, "I strongly oppose this, oppose oppose", "whale")
    base = _vector(load_directory(make_dir(proposals, posts=BEFORE)), "p40", KeywordStance())
    with_late = _vector(load_directory(make_dir(proposals, posts=[*BEFORE, late])), "p40", KeywordStance())
    assert with_late == base
    talk = dict(zip(FEATURE_NAMES, base, strict=True))
    assert talk["stance_for"] > 0 and talk["stance_against"] > 0  # the pre-vote posts were scored
    # the same post one second *before* opening does change them: the test can fail
    early = {**late, "created": _opened(40) - 1}
    assert (
        _vector(load_directory(make_dir(proposals, posts=[*BEFORE, early])), "p40", KeywordStance()) != base
    )


def test_authors_voting_power_counts_only_from_votes_before_opening(make_dir: Callable[..., Path]) -> None:
    proposals = synthetic_proposals()
    votes_after = [
        {
            "dao": "testdao",
            "proposal_id": "p41",
            "voter": "bob",
            "choice": "For",
            "vp": 1e6,
            "created": _opened(40),
        }
    ]
    base = _vector(load_directory(make_dir(proposals, posts=BEFORE)), "p40", KeywordStance())
    after = _vector(
        load_directory(make_dir(proposals, posts=BEFORE, votes=votes_after)), "p40", KeywordStance()
    )
    assert after == base
    votes_before = [{**votes_after[0], "created": _opened(40) - 1}]
    before = _vector(
        load_directory(make_dir(proposals, posts=BEFORE, votes=votes_before)), "p40", KeywordStance()
    )
    assert before != base  # bob's "oppose" now weighs more


def test_walk_forward_prediction_ignores_posts_from_opening_on(make_dir: Callable[..., Path]) -> None:
    """Flood p60 and every later proposal with opposing posts written at or after their opening: p60's predicted
    probability and shares stay the same; every earlier proposal's pre-vote posts still count."""
    proposals = synthetic_proposals()
    early = [
        _post(f"p{i}", _opened(i) - DAY, "support" if i % 2 else "oppose", f"u{i % 4}")
        for i in range(0, 90, 3)
    ]
    flood = [
        _post(f"p{i}", _opened(i) + k * DAY, "oppose, oppose", "whale") for i in range(60, 90) for k in (0, 1)
    ]
    plain = walk_forward(
        load_directory(make_dir(proposals, posts=early)), refit_every=5, stance=KeywordStance()
    )
    flooded = walk_forward(
        load_directory(make_dir(proposals, posts=early + flood)), refit_every=5, stance=KeywordStance()
    )
    a = next(r for r in plain.rows if r.id == "p60")
    b = next(r for r in flooded.rows if r.id == "p60")
    assert a.n_train > 0 and a.discussion_posts == b.discussion_posts == 1
    assert a.p == pytest.approx(b.p) and a.shares == b.shares
    summary = plain.summary()
    assert summary["with_discussion"]["n"] == sum(1 for r in plain.rows if r.discussion_posts) == 30
    assert summary["discussion"]["labelled_with_pre_vote_posts"] == 30
    assert summary["discussion"]["labelled_with_5_pre_vote_posts"] == 0


def test_each_distinct_text_is_classified_once(make_dir: Callable[..., Path]) -> None:
    proposals = synthetic_proposals(20)
    same = {
        "dao": "testdao",
        "text": "I support both",
        "author": "a",
        "created": _opened(10) - DAY,
        "proposal_ids": ["p10", "p11", "p12"],
    }
    repeat = {**same, "created": _opened(10) - 2 * DAY, "author": "b"}
    other = _post("p12", _opened(12) - DAY, "we oppose")
    data = load_directory(make_dir(proposals, posts=[same, repeat, other]))
    clf = KeywordStance()
    builder = FeatureBuilder(data, stance=clf)
    vectors = builder.matrix(data.proposals)
    assert sorted(clf.seen) == ["I support both", "we oppose"] and builder.stance_calls == 2
    p12 = dict(zip(FEATURE_NAMES, vectors[[p.id for p in data.proposals].index("p12")], strict=True))
    # p12 saw the cached "support" text twice (two posts) and "oppose" once, each author of weight 1
    assert p12["stance_for"] == pytest.approx((2 * 0.85 + 0.05) / 3)
    assert p12["stance_against"] == pytest.approx((2 * 0.05 + 0.85) / 3)
