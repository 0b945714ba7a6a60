"""Faithfulness evaluation: the committed labelled set is what the builder makes from the bundled sample, a checker
that accepts (or rejects) everything scores badly, Concord's checker beats the exact-substring baseline, and
`concord eval faithfulness` writes and prints the same JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bots.cli.main import main as concord_main
from evals.faithfulness import cases as C
from evals.faithfulness.build_labels import build, load_sample_posts
from evals.faithfulness.evaluate import (
    LABELS,
    POSTS,
    Checker,
    concord_checker,
    evaluate_checkers,
    exact_substring_checker,
    load_label_set,
    score,
)
from ingest.core.store import Store


def _constant(name: str, supported: bool) -> Checker:
    return Checker(name, "", lambda q, p, posts: supported, lambda text, cited, posts: text if supported else "")


@pytest.fixture(scope="module")
def results() -> dict:
    data = load_label_set()
    return evaluate_checkers([concord_checker(), exact_substring_checker(), _constant("accept_all", True),
                              _constant("reject_all", False)], data)


def test_score_by_hand() -> None:
    s = score([("unsupported", True), ("unsupported", False), ("supported", True), ("supported", False)])
    assert (s["precision"], s["recall"], s["f1"], s["accuracy"]) == (0.5, 0.5, 0.5, 0.5)
    assert (s["true_quotes_dropped"], s["false_quotes_kept"]) == (1, 1)


def test_trivial_checkers_score_badly(results: dict) -> None:
    accept, reject = results["accept_all"]["all"], results["reject_all"]["all"]
    assert accept["recall"] == 0.0 and accept["f1"] == 0.0
    assert reject["recall"] == 1.0 and reject["precision"] < 0.7 and reject["f1"] < 0.8
    assert reject["true_quotes_dropped"] > 250


def test_concord_beats_the_baseline_on_every_path(results: dict) -> None:
    concord, naive = results["concord"], results["exact_substring"]
    for path in ("citation", "summary"):
        assert concord["paths"][path]["f1"] > naive["paths"][path]["f1"]
    assert concord["all"]["f1"] >= 0.95, concord["first_errors"]
    assert concord["summary_collateral"] == 0
    assert naive["cases"]["citation/typography"]["correct"] == 0  # the set does test what the baseline misses


def test_every_case_type_is_judged_right_on_every_row(results: dict) -> None:
    """Per case type, not pooled: one case type regressing (say, quotes found in *another* post being kept) would
    cost the pooled F1 only a few points, so every case type must be judged right on every one of its rows."""
    cases = results["concord"]["cases"]
    assert len(cases) >= len(C.EXPECTED)
    wrong = {name: (case["n"] - case["correct"]) for name, case in cases.items() if case["correct"] != case["n"]}
    assert not wrong, wrong


def test_labelled_set_covers_every_case_type() -> None:
    data = load_label_set()
    citation_cases = {r["case"] for r in data.labels if r["path"] == "citation"}
    assert citation_cases == set(C.EXPECTED)
    assert all(r["expected"] == C.EXPECTED[r["case"]] for r in data.labels if r["path"] == "citation")
    assert {r["style"] for r in data.labels if r["path"] == "summary"} >= {"curly", "straight", "after_short_quote"}
    assert len(data.labels) >= 700 and len(data.posts) >= 150


def test_committed_set_is_rebuilt_identically(sample_store: Store) -> None:
    post_rows, labels = build(load_sample_posts(sample_store))
    as_lines = lambda rows: "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    assert as_lines(post_rows) == POSTS.read_text(encoding="utf-8")
    assert as_lines(labels) == LABELS.read_text(encoding="utf-8")


def test_cli_json_and_floor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "faithfulness.json"
    assert concord_main(["eval", "faithfulness", "--reports", "0", "--json", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text()) and set(printed["checkers"]) == {"concord", "exact_substring"}
    assert printed["n"] == len(load_label_set().labels)
    assert concord_main(["eval", "faithfulness", "--reports", "0", "--out", str(out), "--min-f1", "1.01"]) == 1
    assert "below the floor" in capsys.readouterr().err
    assert concord_main(["eval", "faithfulness", "--reports", "-1"]) == 2


@pytest.mark.slow
@pytest.mark.llm
@pytest.mark.timeout(600)
def test_cli_counts_quotes_in_a_real_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "faithfulness.json"
    assert concord_main(["eval", "faithfulness", "--reports", "1", "--json", "--out", str(out)]) == 0
    generated = json.loads(capsys.readouterr().out)["generated_reports"]
    report = generated["reports"][0]
    assert len(generated["reports"]) == 1 and report["posts"] > 10 and 0 < report["kept"] <= report["checked"]
    assert report["summary_by"] and generated["model"]
