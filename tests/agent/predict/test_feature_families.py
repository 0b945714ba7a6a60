"""Feature families beyond history, recency-weighted fits and walk-forward selection: parsed right, and blind to
anything not yet public when the predicted proposal opened."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from agent.predict.engagement import Engagement
from agent.predict.features import FeatureBuilder
from agent.predict.kinds import KIND_FEATURES, asked_amount, kind_features
from agent.predict.loader import load_directory
from agent.predict.model import OutcomeModel
from agent.predict.records import GovData, HistoryProposal
from agent.predict.text_neighbours import TextNeighbours
from agent.predict.walkforward import walk_forward
from ingest.core.errors import InputError
from tests.agent.predict.conftest import DAY, T0, synthetic_proposals


def fake_embed(texts: list[str]) -> np.ndarray:
    """Deterministic vectors: texts sharing their first word point the same way (plus a little per-text noise)."""
    out = []
    for text in texts:
        head = text.split()[0] if text.split() else ""
        base = np.frombuffer(hashlib.sha256(head.encode()).digest(), dtype=np.uint8)[:16].astype(float) - 128
        noise = np.frombuffer(hashlib.sha256(text.encode()).digest(), dtype=np.uint8)[:16].astype(float) - 128
        out.append(base + 0.1 * noise)
    return np.asarray(out, dtype=np.float32)


def _record(i: int, *, title: str = "", body: str = "", kind: str = "snapshot", outcome: bool | None = True,
            author: str | None = "alice") -> HistoryProposal:
    return HistoryProposal(id=f"p{i}", dao="d", platform="snapshot", kind=kind, title=title or f"Topic{i % 3} {i}",
                          body=body, author=author, opened_at=T0 + i * 3 * DAY, closed_at=T0 + i * 3 * DAY + 5 * DAY,
                          outcome=outcome, status="passed" if outcome else "failed")


@pytest.mark.parametrize(
    ("title", "body", "kind"),
    [
        ("Grant request: community events", "We ask for 1.5m ARB.", "funding"),
        ("Elect Chaos Labs as risk steward", "", "election"),
        ("Increase the WETH supply cap on Aave v3", "", "parameter"),
        ("Amend the Constitution: voting period", "", "constitutional"),
        ("Should we ban name 'X'?", "", "signalling"),
    ],
)
def test_kind_is_parsed_from_the_title_first(title: str, body: str, kind: str) -> None:
    flags = dict(zip(KIND_FEATURES, kind_features(_record(1, title=title, body=body)), strict=True))
    assert flags[f"kind_{kind}"] == 1.0


def test_platform_type_decides_the_kind_when_it_names_one() -> None:
    flags = dict(zip(KIND_FEATURES, kind_features(_record(1, title="Add a wearable", kind="grant")), strict=True))
    assert (flags["kind_funding"], flags["kind_parameter"]) == (1.0, 0.0)


def test_amounts() -> None:
    assert asked_amount("a budget of $250,000 and 100k USDC") == 250_000
    assert asked_amount("Fund with 1.5m ARB over 2 years") == 1_500_000
    assert asked_amount("send to 0xdeadbeef, proposal 42") is None
    assert asked_amount("1,000,000 MANA") == 1_000_000


def test_text_neighbours_see_only_proposals_closed_before_and_their_outcomes() -> None:
    rows = [_record(i, outcome=i % 2 == 0) for i in range(30)]
    target = rows[20]
    plain = TextNeighbours(rows, fake_embed).features(target)
    later_flipped = [dataclasses.replace(p, outcome=not p.outcome) if p.closed_at >= target.opened_at else p for p in rows]
    assert TextNeighbours(later_flipped, fake_embed).features(target) == plain
    earlier_flipped = [dataclasses.replace(p, outcome=not p.outcome) if p.closed_at < target.opened_at else p for p in rows]
    assert TextNeighbours(earlier_flipped, fake_embed).features(target) != plain  # the test can fail
    # the nearest earlier neighbour shares the first word of the title (fake_embed's notion of "similar")
    assert plain[1] > 0.9


def test_engagement_counts_only_votes_before_the_opening() -> None:
    target = _record(10)
    data = GovData(proposals=[_record(i) for i in range(12)],
                   voter_power={("d", "alice"): [(target.opened_at - 10, 5.0), (target.opened_at, 99.0)]})  # type: ignore[operator]
    votes, vp, *_ = Engagement(data).features(target)
    assert votes == pytest.approx(np.log1p(1)) and vp == pytest.approx(np.log1p(5.0))


def test_feature_families_are_checked(make_dir: Callable[..., Path]) -> None:
    data = load_directory(make_dir(synthetic_proposals(10)))
    with pytest.raises(InputError, match="Unknown feature families"):
        FeatureBuilder(data, families=("vibes",))
    with pytest.raises(InputError, match="needs an embedder"):
        FeatureBuilder(data, families=("text",))
    builder = FeatureBuilder(data, families=("text", "kind", "engagement"), embed=fake_embed)
    assert len(builder.vector(data.proposals[5])) == len(builder.names) == 19 + 4 + 7 + 5


def test_recency_weighting_follows_the_newer_examples() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = np.r_[(X[:100, 0] > 0).astype(int), (X[100:, 0] < 0).astype(int)]  # the relation flips half-way
    times = np.arange(200) * DAY
    equal = OutcomeModel(calibration_fraction=0.0)
    recent = OutcomeModel(calibration_fraction=0.0, half_life_days=10.0)
    assert equal.fit(X, y, times=times) and recent.fit(X, y, times=times)
    probe = [[2.0, 0.0]]
    assert recent.predict(probe)[0] < 0.3 < equal.predict(probe)[0]


def test_walk_forward_with_every_family_and_selection_ignores_later_labels(make_dir: Callable[..., Path]) -> None:
    opened = T0 + 60 * 3 * DAY
    kwargs = {"since": opened, "refit_every": 1, "families": ("text", "kind", "engagement"), "embed": fake_embed,
              "select": True}
    plain = walk_forward(load_directory(make_dir(synthetic_proposals(80))), **kwargs)
    flipped = walk_forward(load_directory(make_dir(synthetic_proposals(80, flip_from=opened))), **kwargs)
    a = next(r for r in plain.rows if r.id == "p60")
    b = next(r for r in flipped.rows if r.id == "p60")
    assert a.n_train > 0 and a.p["model"] == pytest.approx(b.p["model"], rel=1e-12)
    assert sum(plain.chosen.values()) == len(plain.rows)
