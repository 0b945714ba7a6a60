"""The jury and voters feature families read per-voter votes of proposals closed before the predicted one opened,
and nothing else; the per-DAO calibration fits each DAO's own sigmoid."""

from __future__ import annotations

import numpy as np

from agent.predict.features import FeatureBuilder
from agent.predict.jury import JURY_FEATURES, VOTERS_FEATURES, Jury
from agent.predict.model import OutcomeModel
from agent.predict.records import GovData, HistoryProposal

DAY = 86_400.0


def _proposal(i: int, author: str = "alice") -> HistoryProposal:
    return HistoryProposal(id=f"p{i}", dao="d", title=f"p{i}", author=author, opened_at=i * 10 * DAY,
                          closed_at=i * 10 * DAY + 5 * DAY, outcome=True, status="passed")


def _votes(choice_of: dict[str, str]) -> list[tuple[str, str, float]]:
    return [(voter, choice, 100.0 if voter == "whale" else 1.0) for voter, choice in choice_of.items()]


def _data(flip_from: int | None = None) -> GovData:
    proposals = [_proposal(i, author="alice" if i % 2 else "bob") for i in range(12)]
    votes = {}
    for p in proposals:
        i = int(p.id[1:])
        whale = "for" if p.author == "alice" else "against"
        if flip_from is not None and i >= flip_from:
            whale = "against" if whale == "for" else "for"
        votes[p.id] = _votes({"whale": whale, "small1": "for", "small2": "for"})
    return GovData(proposals=proposals, votes_by_proposal=votes)


def test_features_read_only_votes_of_proposals_closed_before_the_opening() -> None:
    # p7 opens on day 70; p6 closed on day 65, p7's own votes and everything later are labels it must not see
    plain, flipped = Jury(_data()), Jury(_data(flip_from=7))
    target = _proposal(7)
    assert plain.jury_features(target) == flipped.jury_features(target)
    assert plain.voters_features(target) == flipped.voters_features(target)
    # ... while flipping from p6 on (closed before p7 opened) changes what p7 sees
    assert Jury(_data(flip_from=6)).voters_features(target) != plain.voters_features(target)


def test_whales_agreement_with_the_proposer_has_the_right_sign() -> None:
    jury = Jury(_data())
    names = dict(zip(VOTERS_FEATURES, jury.voters_features(_proposal(9, author="alice")), strict=True))
    assert names["whales_agreement_with_proposer"] > 0.05  # the whale has always voted for alice
    names = dict(zip(VOTERS_FEATURES, jury.voters_features(_proposal(9, author="bob")), strict=True))
    assert names["whales_agreement_with_proposer"] < -0.05
    jury_for = dict(zip(JURY_FEATURES, jury.jury_features(_proposal(9)), strict=True))["jury_for_share"]
    assert 0.3 < jury_for < 0.7  # the whale (most of the power) is split half and half


def test_votes_older_than_the_age_limit_count_as_absent() -> None:
    jury = Jury(_data(), max_age_days=30)
    late = HistoryProposal(id="late", dao="d", opened_at=12 * 10 * DAY + 400 * DAY, closed_at=None)
    assert jury.jury_features(late) == [0.5, 0.0, 0.0] and jury.voters_features(late) == [0.0] * 4
    first = _proposal(0)
    assert jury.jury_features(first)[1] == 0.0  # nothing closed before the first proposal


def test_builder_appends_the_families_named() -> None:
    builder = FeatureBuilder(_data(), families=("jury", "voters"))
    assert builder.names[-len(JURY_FEATURES) - len(VOTERS_FEATURES):] == JURY_FEATURES + VOTERS_FEATURES
    assert len(builder.vector(_proposal(5))) == len(builder.names)


def test_group_calibration_follows_each_groups_own_rate() -> None:
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=(n, 1))
    groups = ["a" if i % 2 else "b" for i in range(n)]
    # same score, but group a passes far more often than b
    y = [int(rng.random() < (0.9 if g == "a" else 0.2)) for g in groups]
    common = OutcomeModel(calibration="platt")
    common.fit(x.tolist(), y, groups=groups)
    per_group = OutcomeModel(calibration="platt_group")
    per_group.fit(x.tolist(), y, groups=groups)
    probe = [[0.0]]
    assert abs(float(common.predict(probe, ["a"])[0]) - float(common.predict(probe, ["b"])[0])) < 1e-9
    pa, pb = float(per_group.predict(probe, ["a"])[0]), float(per_group.predict(probe, ["b"])[0])
    assert pa > 0.75 and pb < 0.35
    unseen = float(per_group.predict(probe, ["c"])[0])
    assert pb < unseen < pa


def test_per_dao_models_never_read_another_daos_outcomes(make_dir) -> None:  # type: ignore[no-untyped-def]
    from agent.predict.loader import load_directory
    from agent.predict.walkforward import walk_forward
    from tests.agent.predict.conftest import synthetic_proposals

    def rows(flip_other: bool) -> list[dict]:  # type: ignore[type-arg]
        mine = synthetic_proposals(60)
        other = [{**r, "id": "o-" + str(r["id"]), "dao": "other",
                  "outcome": ("failed" if r["outcome"] == "passed" else "passed") if flip_other else r["outcome"],
                  "scores": list(reversed(r["scores"][:2])) + [0.0] if flip_other else r["scores"]}
                 for r in synthetic_proposals(60)]
        return mine + other

    def mine(result) -> list[float]:  # type: ignore[no-untyped-def]
        return [r.p["model"] for r in result.rows if r.dao == "testdao"]

    plain = walk_forward(load_directory(make_dir(rows(False))), refit_every=5, per_dao=True)
    flipped = walk_forward(load_directory(make_dir(rows(True))), refit_every=5, per_dao=True)
    assert mine(plain) == mine(flipped)
    pooled = walk_forward(load_directory(make_dir(rows(False))), refit_every=5)
    pooled_flipped = walk_forward(load_directory(make_dir(rows(True))), refit_every=5)
    assert mine(pooled) != mine(pooled_flipped)  # the pooled model does read them: the check above can fail
