"""`concord eval readme`: marked README blocks are regenerated from results JSON; `--check` fails while stale."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bots.cli.main import main as concord_main
from evals.readme import BLOCKS, render_block, update_readme

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "evals" / "results"


def _retrieval_result() -> dict:
    scores = {name: {"recall@10": r, "mrr": r + 0.1, "ndcg@10": r - 0.01} for name, r in (("bm25", 0.5), ("dense", 0.4),
              ("hybrid", 0.6), ("word_overlap", 0.3), ("random", 0.01))}
    return {"k": 10, "embedder": "all-MiniLM-L6-v2", "corpus": {"dao": "arbitrum", "posts": 1595},
            "sets": {"all": {"n": 3, "rankers": scores}, "proposal_title": {"n": 1, "rankers": scores}, "thread_title": {"n": 2, "rankers": scores}}}


def _faithfulness_result() -> dict:
    def scores(n: int, p: float, r: float, f1: float, dropped: int, kept: int) -> dict:
        return {"n": n, "precision": p, "recall": r, "f1": f1, "true_quotes_dropped": dropped, "false_quotes_kept": kept}

    return {"n": 12, "expected": {"supported": 8, "unsupported": 4}, "posts": 30, "checkers": {
        "concord": {"all": scores(12, 0.75, 1.0, 0.8571, 1, 0), "paths": {"exact": scores(5, 1.0, 1.0, 1.0, 0, 0)},
                    "cases": {"verbatim": {"expected": "supported", "n": 5, "correct": 5}}},
        "substring": {"all": scores(12, 0.5, 0.25, 0.3333, 1, 3), "paths": {},
                      "cases": {"verbatim": {"expected": "supported", "n": 5, "correct": 4}}},
    }}


def _bench_result() -> dict:
    return {"machine": {"cpus": 2, "load_average": {"before": [1.5, 1.0, 0.5], "after": [2.25, 1.0, 0.5]}}, "seconds": 12.5,
            "rows": [{"measure": "embedding", "size": 1024, "concord": 30.25, "baseline": 10.0, "unit": "texts/s", "ratio": 3.02,
                      "baseline_name": "stock encode", "note": "", "vs_smallest": 1.0, "cosine_min": 0.99999},
                     {"measure": "report (end to end)", "size": 2000, "concord": 41.5, "baseline": None, "unit": "s/report",
                      "ratio": None, "baseline_name": "", "note": "", "vs_smallest": None}]}


def _ask_result(model: str, methods: dict) -> dict:
    rows = [{"id": "q1", "answer": "[1] Janabe (the proposing team) wrote: “We’ll take the token swap out.”"},
            {"id": "q2", "answer": "[1] Bob wrote: “No.”"}]
    return {"questions": 2, "model": model, "answered": 1.0, "cites_relevant": 0.5, "unsupported_quotes": 0, "methods": methods,
            "model_rejections": {"too short": 1, "the model failed": 2}, "rows": rows}


def _pooled_result() -> dict:
    return {"dao": "arbitrum", "cutoff": "targets opened before 2025-01-01", "daos_in_pool": ["arbitrum", "compound"],
            "pooled_used": {"when": "arbitrum alone has fewer than 30 closed proposals", "n": 10, "pass_rate": 0.7, "brier_pooled": 0.2, "brier_base_rate": 0.25},
            "all_with_a_pooled_model": {"n": 30, "pass_rate": 0.8, "brier_pooled": 0.21, "brier_base_rate": 0.18},
            "where_the_own_model_trains": {"n": 20, "pass_rate": 0.85, "brier_pooled": 0.22, "brier_own": 0.19, "brier_base_rate": 0.15}}
def _bench_predict_result() -> dict:
    def case(first: float, embedded: int, rss: float, ratio: float | None) -> dict:
        row = {"first_s": first, "again_s": 0.0, "second_s": 1.25, "process_s": first + 2, "texts_embedded": embedded,
               "peak_rss_mb": rss, "p_pass": 0.8, "model_id": "m"}
        return row | ({"first_vs_history": ratio} if ratio is not None else {})

    summary = {"history": case(1.5, 0, 208.4, None), "text_cold": case(11.25, 503, 653.0, 7.5)}
    return {"machine": {"cpus": 2, "load_average": {"before": [1.5, 1.0, 0.5], "after": [2.0, 1.0, 0.5]}}, "seconds": 80.5,
            "command": "python -m evals.bench_predict --data-dir DIR --runs 3", "proposals": {"stored": 507},
            "summary": summary, "runs": {"history": [{}, {}, {}], "text_cold": [{}, {}, {}]}}


def _mutation_result() -> dict:
    def module(name: str, total: int, killed: int, equivalent: int, not_checked: int = 0) -> dict:
        return {"module": name, "tests": [], "total": total, "killed": killed, "survived": total - killed - not_checked,
                "equivalent": {f"m{i}": "why" for i in range(equivalent)}, "no_tests": 0, "timeout": 0,
                "not_checked": not_checked, "score": None if not_checked else round(killed / (total - equivalent), 4),
                "left": []}

    return {"modules": [module("a.py", 200, 190, 4), module("b.py", 50, 10, 0, not_checked=30)], "not_run": ["c.py"]}


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """predict/stance/report results as committed; faithfulness, bench and retrieval from small fixture objects."""
    out = tmp_path / "results"
    out.mkdir()
    for name in ("predict.json", "predict_ablation.json", "live.json", "jury.json", "stance_trained.json",
                 "stance_prototype.json", "report.json"):
        shutil.copy(RESULTS / name, out / name)
    (out / "faithfulness.json").write_text(json.dumps(_faithfulness_result()))
    (out / "bench.json").write_text(json.dumps(_bench_result()))
    (out / "retrieval.json").write_text(json.dumps(_retrieval_result()))
    (out / "ask.json").write_text(json.dumps(_ask_result("smollm2", {"composed": 2})))
    (out / "ask-no-model.json").write_text(json.dumps(_ask_result("none", {"composed": 2})))
    (out / "predict_pooled.json").write_text(json.dumps(_pooled_result()))
    (out / "mutation.json").write_text(json.dumps(_mutation_result()))
    (out / "bench_predict.json").write_text(json.dumps(_bench_predict_result()))
    (out / "predict_probes.json").write_text(json.dumps(_probes_result()))
    return out


def _probes_result() -> dict:  # type: ignore[type-arg]
    def row(brier: float) -> dict:  # type: ignore[type-arg]
        dao = {"n": 10, "brier": brier, "roc_auc": 0.7, "ece": 0.05, "best_baseline_brier": 0.25}
        return {"n": 10, "brier": brier, "roc_auc": 0.7, "ece": 0.05, "best_baseline_brier": 0.25, "per_dao": {"decentraland": dao}}

    return {"config": {"since": "2023-01-01"}, "rows": {"product": row(0.2), "turnout": row(0.21)},
            "labels": {"product": "the product", "turnout": "+ turnout"},
            "hindsight": {"dao": "decentraland", "n": 10, "reached_threshold": 9, "pass_rate_reached": 0.5,
                          "short_of_threshold": 1, "pass_rate_short": 0.0}}


def _readme(path: Path) -> Path:
    body = "# Title\n\nProse stays.\n\n" + "".join(f"<!-- {n}:start -->\nstale {n}\n<!-- {n}:end -->\n\nMore prose.\n\n" for n in BLOCKS)
    path.write_text(body, encoding="utf-8")
    return path


def test_blocks_render_the_numbers_in_the_results(results: Path) -> None:
    retrieval = render_block("retrieval-quality", results)
    assert "| hybrid (RRF) | 0.600 | 0.700 | 0.590 | 0.600 | 0.600 |" in retrieval and "1595 arbitrum" in retrieval
    block = render_block("faithfulness-quality", results)
    assert block.startswith("12 labelled quotes (8 supported, 4 unsupported) on 30 real posts")
    assert "| concord | all | 12 | 0.750 | 1.000 | 0.857 | 1 | 0 |" in block
    assert "| concord | exact | 5 | 1.000 | 1.000 | 1.000 | 0 | 0 |" in block
    assert "| substring | all | 12 | 0.500 | 0.250 | 0.333 | 1 | 3 |" in block
    assert "| verbatim | supported | 5 | 5 | 4 |" in block
    ask = render_block("ask-quality", results)
    assert "| configured model `smollm2` | 2 | 1.000 | 0.500 | 0 | composed 2 | 1 of 2 |" in ask
    assert "| no model (`--no-model`) | 2 |" in ask and "the model failed (2); too short (1)." in ask
    pooled = render_block("predict-pooled", results)
    assert "| where the pooled model is used (arbitrum alone has fewer than 30 closed proposals) | 10 | 0.700 | 0.200 | – | 0.250 |" in pooled
    assert "| where the DAO-only model trains | 20 | 0.850 | 0.220 | 0.190 | 0.150 |" in pooled
    bench = render_block("bench-figures", results)
    assert bench.startswith("One run, 2 CPUs, 12.5 s; load average (1 min) 1.5 before, 2.25 after.")
    assert "| embedding | 1,024 | 30.25 | 10 | texts/s | 3.02x | 1x | stock encode | cosine min 0.99999 |" in bench
    assert "| report (end to end) | 2,000 | 41.5 | – | s/report | – | – | – | – |" in bench
    runtime = render_block("predict-runtime", results)
    assert runtime.startswith("`python -m evals.bench_predict --data-dir DIR --runs 3`: 3 run(s) of each case, best shown; 2 CPUs, 80.5 s")
    assert "The store holds 507 proposals" in runtime
    assert "| history only (`families = []`) | 1.5 | 1× | 0 | 1.25 | 0 | 208 |" in runtime
    assert "| text, no vector cache (the first prediction on a store) | 11.25 | 7.5× | 0 | 1.25 | 503 | 653 |" in runtime
    probes = render_block("predict-probes", results)
    assert "| + turnout | 0.2100 | 0.840 | 0.700 | 0.050 | 0.210 / 0.700 / 0.050 |" in probes
    assert "of 10 scored decentraland proposals, 9 (90%) drew a total voting power at or above" in probes
    mutation = render_block("mutation-scores", results)
    assert "| `a.py` | 200 | 190 | 10 | 4 | 0 | 0 | 96.9% |" in mutation
    assert "| `b.py` | 50 | 10 | 10 | 0 | 0 | 30 | incomplete |" in mutation
    assert "| `c.py` | not run | | | | | | |" in mutation


def test_check_fails_until_regenerated_and_prose_is_kept(results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = _readme(tmp_path / "README.md")
    args = ["eval", "readme", "--readme", str(readme), "--results", str(results)]
    assert concord_main([*args, "--check"]) == 1
    assert "out of date" in capsys.readouterr().err and "stale" in readme.read_text()
    assert concord_main(args) == 0
    text = readme.read_text()
    assert "stale" not in text and text.count("More prose.") == len(BLOCKS) and text.startswith("# Title\n\nProse stays.")
    assert concord_main([*args, "--check"]) == 0
    assert concord_main(args) == 0 and readme.read_text() == text  # idempotent
    # a result changes -> the README is stale again
    data = json.loads((results / "retrieval.json").read_text())
    data["sets"]["all"]["rankers"]["hybrid"]["recall@10"] = 0.25
    (results / "retrieval.json").write_text(json.dumps(data))
    assert concord_main([*args, "--check"]) == 1
    assert "retrieval-quality" in capsys.readouterr().err


def test_missing_results_name_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = _readme(tmp_path / "README.md")
    assert concord_main(["eval", "readme", "--readme", str(readme), "--results", str(tmp_path / "none"), "--check"]) == 2
    assert "concord eval predict" in capsys.readouterr().err
    assert update_readme("no markers here\n", tmp_path).unmarked == list(BLOCKS)


def test_repository_readme_matches_the_results() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [n for n in BLOCKS if f"<!-- {n}:start -->" not in text]
    if missing:
        pytest.skip(f"README.md has no markers for {', '.join(missing)} yet; add them, then run `concord eval readme`")
    update = update_readme(text, RESULTS)
    assert not update.changed, f"README.md is stale in {update.changed}: run `concord eval readme`"


def test_the_pooled_block_shows_the_store_predictors_column_when_measured(results: Path) -> None:
    data = _pooled_result() | {"store_predictor": {
        "where_the_own_model_trains": {"n": 20, "pass_rate": 0.85, "brier_pooled_selected": 0.17, "brier_own": 0.19, "brier_base_rate": 0.15},
        "all_with_a_pooled_model": {"n": 29, "pass_rate": 0.8, "brier_pooled_selected": 0.18, "brier_base_rate": 0.18}}}
    (results / "predict_pooled.json").write_text(json.dumps(data))
    pooled = render_block("predict-pooled", results)
    assert "Brier pooled, calibration chosen walk-forward (store predictor) |" in pooled
    assert "| where the DAO-only model trains | 20 | 0.850 | 0.220 | 0.190 | 0.150 | 0.170 (n=20) |" in pooled
    assert "| all | 30 | 0.800 | 0.210 | – | 0.180 | 0.180 (n=29) |" in pooled
