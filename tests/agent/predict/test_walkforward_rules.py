"""The walk-forward trainer's bookkeeping on a small synthetic DAO: which proposals are scored, when the model is
refitted and on what, what each baseline is, and what the summary reports (agent/predict/walkforward.py)."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.predict.features import FeatureBuilder
from agent.predict.history import History
from agent.predict.loader import load_directory
from agent.predict.model import OutcomeModel
from agent.predict.records import GovData, HistoryProposal
from agent.predict.walkforward import SELECTION_MIN, SELECTION_WINDOW, choose_by_log_loss, walk_forward
from tests.agent.predict.conftest import DAY, T0, synthetic_proposals

N = 60
REFIT = 8


@pytest.fixture
def data(make_dir: Callable[..., Path]) -> GovData:
    rows = synthetic_proposals(N)
    rows[-1]["author"] = None  # one proposal without a known proposer
    rows[-2]["choices"] = ["Option A", "Option B"]  # per-choice scores, but no For/Against
    rows[-2]["scores"] = [10.0, 5.0]
    loaded = load_directory(make_dir(rows))
    loaded.notes.append("a loader note")
    return loaded


def labelled(data: GovData) -> list[HistoryProposal]:
    return sorted((p for p in data.proposals if p.has_label), key=lambda p: (p.opened_at, p.id))


def schedule(data: GovData, refit_every: int) -> list[tuple[float, int]]:
    """(fit time, proposals closed before it) for each target: a refit at the first target and whenever at least
    ``refit_every`` more proposals have closed since the last fit."""
    closes = sorted(p.closed_at for p in data.proposals if p.has_label)
    fitted, fitted_at, out = -1, 0.0, []
    for p in labelled(data):
        available = bisect.bisect_left(closes, p.opened_at)
        if fitted < 0 or available - fitted >= refit_every:
            fitted, fitted_at = available, p.opened_at
        out.append((fitted_at, fitted))
    return out


def test_targets_are_scored_in_opening_order_with_the_refit_schedule(data: GovData) -> None:
    result = walk_forward(data, refit_every=REFIT)
    expected = schedule(data, REFIT)
    assert [r.id for r in result.rows] == [p.id for p in labelled(data)]
    assert [r.trained_until for r in result.rows] == [at for at, _ in expected]
    assert result.refits == len({at for at, _ in expected})
    # the model is fitted once 30 proposals had closed; before that every row is the base-rate fallback
    assert [r.n_train for r in result.rows] == [n if n >= 30 else 0 for _, n in expected]
    assert result.fallbacks == sum(1 for _, n in expected if n < 30) > 0
    for row in result.rows:
        if row.n_train == 0:
            assert row.p["model"] == row.p["base_rate"]
    assert result.chosen == {"platt/equal": sum(1 for _, n in expected if n >= 30)}


def test_a_scored_probability_is_a_model_fitted_on_exactly_what_had_closed(data: GovData) -> None:
    result = walk_forward(data, refit_every=REFIT)
    row = result.rows[-1]
    builder = FeatureBuilder(data)
    train = sorted((p for p in data.proposals if p.has_label and p.closed_at < row.trained_until),
                   key=lambda p: (p.closed_at, p.id))
    model = OutcomeModel(calibration="platt")
    assert model.fit([builder.vector(p) for p in train], [int(p.outcome) for p in train], times=[p.closed_at for p in train])
    target = next(p for p in data.proposals if p.id == row.id)
    assert row.p["model"] == pytest.approx(float(model.predict([builder.vector(target)])[0]))
    assert row.n_train == len(train)


def test_baselines_use_only_what_had_closed_when_the_target_opened(data: GovData) -> None:
    result = walk_forward(data, refit_every=REFIT)
    h = History(data.proposals)
    by_id = {p.id: p for p in data.proposals}
    for row in result.rows:
        p = by_id[row.id]
        assert row.opened_at == p.opened_at and row.outcome == int(p.outcome) and row.dao == "testdao"
        assert row.p["base_rate"] == h.dao_rate("testdao", p.opened_at).smoothed
        assert row.p["recent_rate"] == h.dao_rate("testdao", p.opened_at, last=50).smoothed
        mine = h.proposer_rate("testdao", p.author, p.opened_at)
        assert row.p["proposer_history"] == (mine.smoothed if mine.n else row.p["base_rate"])
        actual = h.shares.get(p.id)
        assert row.actual_shares == actual
        dao_shares = h.mean_shares("testdao", p.opened_at)
        assert row.shares["base_rate"] == (dao_shares if actual else None)
        assert row.shares["recent_rate"] == (h.mean_shares("testdao", p.opened_at, last=50) if actual else None)
        own = h.mean_shares("testdao", p.opened_at, author=p.author) if p.author else None
        assert row.shares["proposer_history"] == ((own or dao_shares) if actual else None)
        assert (row.shares["model"] is None) == (row.share_method is None) == (row.share_candidates is None)
    # the recent rate differs from the all-time one once more than 50 proposals had closed
    last = result.rows[-1]
    assert h.dao_rate("testdao", last.opened_at).n > 51 and last.p["recent_rate"] != last.p["base_rate"]
    no_author = next(r for r in result.rows if by_id[r.id].author is None)
    assert no_author.p["proposer_history"] == no_author.p["base_rate"]
    assert no_author.shares["proposer_history"] == no_author.shares["base_rate"] is not None
    assert sum(1 for r in result.rows if r.shares["model"] is not None) > 0


def test_per_choice_scores_are_flagged(data: GovData) -> None:
    rows = {r.id: r for r in walk_forward(data, refit_every=REFIT).rows}
    assert rows[f"p{N - 2}"].per_choice_scores and rows[f"p{N - 2}"].actual_shares is None
    assert rows["p0"].per_choice_scores and rows["p0"].actual_shares is not None


def test_unlabelled_proposals_are_counted_as_skipped_by_status(data: GovData) -> None:
    data.proposals += [
        HistoryProposal(id="c1", dao="testdao", opened_at=T0, closed_at=T0 + DAY, outcome=None, status="cancelled"),
        HistoryProposal(id="c2", dao="testdao", opened_at=T0, closed_at=T0 + DAY, outcome=None, status="cancelled"),
        HistoryProposal(id="t1", dao="testdao", opened_at=None, closed_at=None, outcome=True, status="passed"),
        HistoryProposal(id="t2", dao="testdao", opened_at=T0, closed_at=None, outcome=False, status="failed"),
    ]
    result = walk_forward(data, refit_every=REFIT)
    assert result.skipped == {"cancelled": 2, "no-time": 2}
    assert len(result.rows) == N
    summary = result.summary()
    assert summary["skipped"] == {"cancelled": 2, "no-time": 2} and summary["n_skipped"] == 4


def test_proposals_opened_before_since_are_history_only(data: GovData) -> None:
    since = T0 + 100 * DAY
    result = walk_forward(data, since=since, refit_every=REFIT)
    before = [p for p in labelled(data) if p.opened_at < since]
    assert result.history_only == len(before) > 0
    assert [r.id for r in result.rows] == [p.id for p in labelled(data) if p.opened_at >= since]
    first = next(p for p in labelled(data) if p.opened_at >= since)
    assert result.rows[0].trained_until == first.opened_at  # the first scored proposal is always a refit
    assert result.summary()["n_history_only"] == len(before)
    exactly = walk_forward(data, since=first.opened_at, refit_every=REFIT)
    assert exactly.rows[0].id == first.id  # opened at `since`: scored, not history


def test_the_summary_reports_every_count(data: GovData) -> None:
    result = walk_forward(data, refit_every=REFIT)
    s = result.summary()
    rows = result.rows
    assert s["n"] == N
    assert s["refits"] == result.refits and s["model_fallbacks_to_base_rate"] == result.fallbacks
    assert s["n_with_vote_shares"] == sum(1 for r in rows if r.actual_shares is not None) == N - 1
    assert s["n_per_choice_without_for_against"] == 1
    assert s["notes"] == data.notes and s["notes"][-1] == "a loader note"
    assert s["configs_chosen"] == {"platt/equal": N - result.fallbacks}
    assert set(s["baselines"]) == {"base_rate", "recent_rate", "proposer_history"}
    assert s["model"]["brier"] == pytest.approx(sum((r.p["model"] - r.outcome) ** 2 for r in rows) / N)
    assert s["baselines"]["recent_rate"]["brier"] == pytest.approx(
        sum((r.p["recent_rate"] - r.outcome) ** 2 for r in rows) / N)
    dao = s["per_dao"]["testdao"]
    assert list(s["per_dao"]) == ["testdao"]
    assert dao["n"] == N and dao["pass_rate"] == pytest.approx(sum(r.outcome for r in rows) / N)
    assert dao["n_vote_shares"] == sum(1 for r in rows if r.actual_shares is not None and r.shares["model"] is not None)
    assert dao["proposer_history"]["brier"] == pytest.approx(
        sum((r.p["proposer_history"] - r.outcome) ** 2 for r in rows) / N)
    assert s["discussion"]["scored_with_pre_vote_posts"] == 0 and s["discussion"]["scored_with_5_pre_vote_posts"] == 0
    assert s["discussion"]["proposals_with_linked_posts"] == 0 and s["discussion"]["labelled_with_pre_vote_posts"] == 0
    assert s["with_discussion"]["n"] == 0 and s["with_discussion"]["pass_rate"] is None
    assert s["with_discussion"]["daos"] == [] and s["with_discussion"]["model"]["brier"] is None
    vote_share = s["vote_share"]
    assert vote_share["n_scored"] == sum(1 for r in rows if r.actual_shares is not None and r.share_candidates is not None) > 0
    assert sum(vote_share["methods"].values()) == vote_share["n_scored"]
    assert vote_share["pooled_refits"] == result.share_refits


def test_selection_tries_every_configuration(data: GovData) -> None:
    result = walk_forward(data, refit_every=REFIT, select=True)
    assert sum(result.chosen.values()) == N - result.fallbacks
    assert set(result.chosen) <= {"platt/equal", "platt/365.0", "platt/180.0", "isotonic/equal", "isotonic/365.0"}
    # fewer than SELECTION_MIN predictions were resolved at the first fitted row, so it took the first configuration
    assert "platt/equal" in result.chosen


def resolved(n: int, *, good: int, start: float = 0.0) -> list[tuple[float, int, list[float]]]:
    """``n`` resolved predictions (closed at start, start+1, ...), configuration ``good`` right, the others wrong."""
    return [(start + i, 1, [0.9 if c == good else 0.2 for c in range(3)]) for i in range(n)]


def test_a_configuration_is_chosen_only_on_enough_resolved_predictions() -> None:
    assert SELECTION_MIN == 30 and SELECTION_WINDOW == 200
    assert choose_by_log_loss(resolved(29, good=2), at=1e9) == 0
    assert choose_by_log_loss(resolved(30, good=2), at=1e9) == 2


def test_only_predictions_resolved_before_the_target_opened_count() -> None:
    known = resolved(30, good=2)
    assert choose_by_log_loss(known, at=29.0) == 0  # the one closing at 29 is not known yet: 29 < 30
    assert choose_by_log_loss(known, at=29.5) == 2


def test_the_latest_window_of_resolved_predictions_decides() -> None:
    history = resolved(SELECTION_WINDOW, good=1) + resolved(SELECTION_WINDOW, good=2, start=1000.0)
    assert choose_by_log_loss(history, at=1e9) == 2
    # over all 250, configuration 1 would win (150 right against 100); over the latest 200, 2 does (100 against 50)
    assert choose_by_log_loss(resolved(150, good=1) + resolved(100, good=2, start=1000.0), at=1e9) == 2


def test_a_failed_outcome_scores_the_probability_of_failing() -> None:
    failed = [(float(i), 0, [0.9, 0.1, 0.5]) for i in range(40)]
    assert choose_by_log_loss(failed, at=1e9) == 1


def test_ties_go_to_the_first_configuration() -> None:
    same = [(float(i), 1, [0.7, 0.7, 0.7]) for i in range(40)]
    assert choose_by_log_loss(same, at=1e9) == 0


def test_pre_vote_discussion_is_counted_per_scored_proposal(make_dir: Callable[..., Path]) -> None:
    def post(pid: str, i: int, at: float) -> dict:
        return {"dao": "testdao", "text": f"post {i} on {pid}", "author": f"u{i}", "created": at, "proposal_ids": [pid]}

    def opened(i: int) -> float:
        return T0 + i * 3 * DAY

    posts = [post("p10", 0, opened(10) - DAY), post("p10", 1, opened(10) + 1)]  # the second is after opening
    posts += [post("p20", i, opened(20) - DAY - i) for i in range(5)]
    posts += [post("p30", i, opened(30) - DAY - i) for i in range(4)]
    data = load_directory(make_dir(synthetic_proposals(N), posts=posts))
    result = walk_forward(data, refit_every=REFIT)
    talk = {r.id: r.discussion_posts for r in result.rows if r.discussion_posts}
    assert talk == {"p10": 1, "p20": 5, "p30": 4}
    d = result.summary()["discussion"]
    assert (d["proposals_with_linked_posts"], d["labelled_with_pre_vote_posts"], d["labelled_with_5_pre_vote_posts"]) == (3, 3, 1)
    assert (d["scored_with_pre_vote_posts"], d["scored_with_5_pre_vote_posts"]) == (3, 1)
    assert d["stance_texts_classified"] == 0 and "posts" in d
    with_talk = result.summary()["with_discussion"]
    assert with_talk["n"] == 3 and with_talk["daos"] == ["testdao"]
    assert with_talk["pass_rate"] == pytest.approx(sum(r.outcome for r in result.rows if r.discussion_posts) / 3)
    late = walk_forward(data, since=opened(15), refit_every=REFIT).summary()["discussion"]
    assert (late["labelled_with_pre_vote_posts"], late["scored_with_pre_vote_posts"]) == (3, 2)  # p10 is history only


def test_log_loss_weighs_failed_outcomes_by_the_probability_of_failing() -> None:
    # half passed, half failed: the cautious 0.6 has the lower log loss than the confident 0.9
    mixed = [(float(i), i % 2, [0.6, 0.9]) for i in range(40)]
    assert choose_by_log_loss(mixed, at=1e9) == 0


def test_defaults_refit_every_25_with_one_platt_configuration(data: GovData) -> None:
    result = walk_forward(data)
    assert result.refits == len({at for at, _ in schedule(data, 25)})
    assert set(result.chosen) == {"platt/equal"}
    assert set(result.summary()["vote_share"]["estimates_mae"]) == {"proposer_median", "dao_median", "pooled"}


def test_the_stance_classifier_reads_the_pre_vote_posts(make_dir: Callable[..., Path]) -> None:
    from tests.agent.predict.test_discussion import KeywordStance

    opened = T0 + 40 * 3 * DAY
    posts = [{"dao": "testdao", "text": "I support this", "author": "a", "created": opened - DAY, "proposal_ids": ["p40"]}]
    data = load_directory(make_dir(synthetic_proposals(N), posts=posts))
    stance = KeywordStance()
    summary = walk_forward(data, refit_every=REFIT, stance=stance).summary()
    assert stance.seen == ["I support this"] and summary["discussion"]["stance_texts_classified"] == 1
