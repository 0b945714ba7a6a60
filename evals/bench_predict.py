"""Prediction latency as the faces see it: the wired predictor service over a data directory, in fresh processes.

A face (bot, dashboard, agent loop) builds its services once and then predicts. Each case here is one fresh
process over its own copy of the data directory's store: it builds the services, predicts the demo proposal (the
*first* prediction: it reads the store, builds the features and fits the pooled model with its walk-forward
calibration choice; with ``text`` it also embeds every stored proposal's text not yet in the vector cache, loading
the encoder to do so), predicts the same proposal again (the predictor's memo) and then a *second* proposal (the
store and the model again; the encoder, if loaded, stays loaded). The cases, in one run:

``history``        ``[prediction] families = []``
``text_first_use`` ``["text"]``, no vector cache and no ONNX export (a machine's first use of the encoder; the same as
                   ``text_cold`` where the runtime is not ``onnx``)
``text_cold``      ``["text"]``, no vector cache, the ONNX export present
``text_warm``      ``["text"]``, a new process over ``text_cold``'s data directory: every vector cached
``text_one_new``   ``["text"]``, every vector cached but one (a proposal ingested since): the encoder loads for it

Each case runs ``--runs`` times, interleaved; the best and every run are kept. The machine's speed varies, so read
the text cases against ``history`` of the same run. Results: ``evals/results/bench_predict.json`` (``--out``).

Run: ``python -m evals.bench_predict --data-dir DIR`` (after ``concord init`` and ``concord ingest sample`` there;
DIR itself is only read).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from evals.bench_report import RARIBLE

__all__ = ["CASES", "measure_case", "render_markdown", "run_bench_predict"]

CASES = ("history", "text_first_use", "text_cold", "text_warm", "text_one_new")
CASE_WORDS = {
    "history": "history only (`families = []`)",
    "text_first_use": "text, no vector cache, no ONNX export yet (the encoder's first use on a machine; only the onnx runtime exports)",
    "text_cold": "text, no vector cache (the first prediction on a store)",
    "text_warm": "text, every vector cached (any later process)",
    "text_one_new": "text, one proposal not yet embedded (ingested since): the encoder loads for it",
}
DEMO_PROPOSAL = (RARIBLE, "arbitrum")  # the proposal `make demo` reports on


def measure_case(proposals: list[tuple[str, str]]) -> dict[str, Any]:
    """In this process (settings from the environment): seconds to build the services, then for each of
    ``proposals`` ((external id, DAO slug), in order, by one predictor service) the seconds of its prediction and
    how many texts the shared encoder had embedded and found cached by then; peak resident memory."""
    import resource

    started = time.perf_counter()
    from bots.services import build_services
    from ingest.core.settings import load_settings

    imported = time.perf_counter()
    settings = load_settings()
    services = build_services(settings)
    built = time.perf_counter()
    predictor = services.require("predictor")
    out: dict[str, Any] = {"families": list(predictor.families), "import_s": round(imported - started, 2),
                           "build_services_s": round(built - imported, 2), "predictions": []}
    for external_id, dao in proposals:
        pid = int(services.store.get_proposal(external_id, dao).id)  # type: ignore[arg-type]
        began = time.perf_counter()
        result = predictor.predict(pid)
        row: dict[str, Any] = {"proposal": external_id, "dao": dao, "seconds": round(time.perf_counter() - began, 2),
                               "p_pass": None if result is None else round(result["p_pass"], 4),
                               "model_id": None if result is None else result["model_id"]}
        if "text" in predictor.families:
            stats = services.require("searcher").embedder.stats
            row |= {"texts_embedded_so_far": stats.embedded, "texts_cached_so_far": stats.cached}
        out["predictions"].append(row)
    services.store.close()
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def _second_proposal(db: Path) -> tuple[str, str]:
    """The demo DAO's latest-starting proposal other than the demo's: a second, different prediction."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT p.external_id FROM proposal p JOIN dao d ON d.id = p.dao_id WHERE d.slug = ? AND p.external_id != ? "
            "AND p.start IS NOT NULL ORDER BY p.start DESC, p.id DESC LIMIT 1", (DEMO_PROPOSAL[1], DEMO_PROPOSAL[0])).fetchone()
    if row is None:
        raise SystemExit(f"No second {DEMO_PROPOSAL[1]} proposal in {db}: run `concord ingest sample` there first")
    return str(row[0]), DEMO_PROPOSAL[1]


def _run_child(data_dir: Path, *, families: list[str], export_dir: Path | None, proposals: list[tuple[str, str]]) -> dict[str, Any]:
    env = {**os.environ, "CONCORD_DATA_DIR": str(data_dir), "CONCORD_PREDICTION__FAMILIES": json.dumps(families),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if export_dir is not None:
        env["CONCORD_EMBEDDINGS__EXPORT_DIR"] = str(export_dir)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "evals.bench_predict", "--child", json.dumps(proposals)],
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench_predict child failed ({families}, {data_dir}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = round(time.perf_counter() - started, 2)
    return result


def _fresh_copy(db: Path, parent: Path, name: str) -> Path:
    target = parent / name
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.copy2(db, target / "concord.db")  # the store only: no index/vectors.sqlite
    return target


def _one_vector_dropped(cached_dir: Path, parent: Path, name: str) -> Path:
    """A copy of ``cached_dir`` (store and vector cache) whose cache lacks its last-written vector."""
    import sqlite3

    target = parent / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(cached_dir, target)
    with sqlite3.connect(target / "index" / "vectors.sqlite") as conn:
        conn.execute("DELETE FROM vectors WHERE rowid = (SELECT max(rowid) FROM vectors)")
    return target


def run_bench_predict(data_dir: Path, *, runs: int = 1, workdir: Path,
                      progress: Any = print) -> dict[str, Any]:
    """Every case of :data:`CASES`, ``runs`` times interleaved, over copies of ``data_dir``'s SQLite store."""
    db = data_dir / "concord.db"
    if not db.is_file():
        raise SystemExit(f"No store at {db}: run `concord init` and `concord ingest sample` with CONCORD_DATA_DIR={data_dir}")
    proposals = [DEMO_PROPOSAL, DEMO_PROPOSAL, _second_proposal(db)]
    import sqlite3

    with sqlite3.connect(db) as conn:
        stored = int(conn.execute("SELECT count(*) FROM proposal").fetchone()[0])
    load_before = [round(x, 2) for x in os.getloadavg()]
    started = time.perf_counter()
    by_case: dict[str, list[dict[str, Any]]] = {case: [] for case in CASES}
    for run in range(runs):
        export_dir = workdir / f"onnx-{run}"  # empty: text_first_use exports the encoder into it, text_cold reuses it
        shutil.rmtree(export_dir, ignore_errors=True)
        cold_dir = _fresh_copy(db, workdir, f"text-{run}")
        plan = [("history", _fresh_copy(db, workdir, f"history-{run}"), []),
                ("text_first_use", _fresh_copy(db, workdir, f"first-{run}"), ["text"]),
                ("text_cold", cold_dir, ["text"]),
                ("text_warm", cold_dir, ["text"])]
        for case, case_dir, families in plan:
            progress(f"run {run + 1}/{runs}: {case}")
            by_case[case].append(_run_child(case_dir, families=families, export_dir=export_dir, proposals=proposals))
        progress(f"run {run + 1}/{runs}: text_one_new")
        by_case["text_one_new"].append(_run_child(_one_vector_dropped(cold_dir, workdir, f"one-new-{run}"), families=["text"],
                                                  export_dir=export_dir, proposals=proposals))
    summary = {}
    for case, rows in by_case.items():
        best = min(rows, key=lambda r: r["predictions"][0]["seconds"])
        summary[case] = {"first_s": best["predictions"][0]["seconds"], "again_s": best["predictions"][1]["seconds"],
                         "second_s": min(r["predictions"][2]["seconds"] for r in rows),
                         "process_s": min(r["process_s"] for r in rows),
                         "texts_embedded": best["predictions"][-1].get("texts_embedded_so_far", 0),
                         "peak_rss_mb": max(r["peak_rss_mb"] for r in rows),
                         "p_pass": best["predictions"][0]["p_pass"], "model_id": best["predictions"][0]["model_id"]}
    history_first = summary["history"]["first_s"]
    for case in CASES[1:]:
        summary[case]["first_vs_history"] = round(summary[case]["first_s"] / history_first, 2) if history_first else None
    return {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]}},
        "seconds": round(time.perf_counter() - started, 1),
        "command": f"python -m evals.bench_predict --data-dir DIR --runs {runs}",
        "proposals": {"first": list(proposals[0]), "second": list(proposals[2]), "stored": stored},
        "note": ("each case is a fresh process over its own copy of the store; first = first prediction after building "
                 "the services (with text: loads the encoder and embeds every uncached proposal text), again = the same "
                 "proposal (memo), second = another proposal in the same process; best of the runs"),
        "encoder_runtime": _default_runtime(),
        "summary": summary,
        "runs": by_case,
    }


def _default_runtime() -> str:
    """The embedding runtime the default settings resolve to on this machine (``auto`` decides by the CPU)."""
    from embeddings.minilm import resolved_runtime
    from ingest.core.settings import EmbeddingSettings

    return resolved_runtime(EmbeddingSettings().runtime)


def render_markdown(result: dict[str, Any]) -> str:
    """The README table of a :func:`run_bench_predict` result."""
    machine, runs = result["machine"], len(next(iter(result["runs"].values())))
    load = machine.get("load_average", {})
    lines = [(f"`{result['command']}`: {runs} run(s) of each case, best shown; {machine.get('cpus', '?')} CPUs, "
             f"{result['seconds']} s, load average (1 min) {load.get('before', ['?'])[0]} before, "
             f"{load.get('after', ['?'])[0]} after; encoder runtime {result.get('encoder_runtime', 'onnx')}. The store holds {result['proposals']['stored']} proposals (the bundled "
             "sample); first = the demo proposal, right after the services are built in a fresh process; again = the "
             "same proposal (memoised); second = another proposal in the same process."), "",
             "| case | first prediction (s) | × history | again (s) | second (s) | texts embedded | peak memory (MB) |",
             "|---|---|---|---|---|---|---|"]
    for case, s in result["summary"].items():
        ratio = f"{s['first_vs_history']:g}×" if s.get("first_vs_history") is not None else "1×"
        lines.append(f"| {CASE_WORDS.get(case, case)} | {s['first_s']:g} | {ratio} | {s['again_s']:g} | {s['second_s']:g} | "
                     f"{s['texts_embedded']} | {s['peak_rss_mb']:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="A Concord data directory holding the sample (only read)")
    parser.add_argument("--runs", type=int, default=1, help="Runs of every case, interleaved (best is summarised)")
    parser.add_argument("--out", type=Path, default=Path("evals/results/bench_predict.json"), help="Where the JSON goes")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # one case in this process: JSON list of [id, dao]
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(measure_case([(i, d) for i, d in json.loads(args.child)])))
        return
    if args.data_dir is None:
        parser.error("--data-dir DIR is required (a data directory after `concord ingest sample`)")
    with tempfile.TemporaryDirectory(prefix="concord-bench-predict-") as tmp:
        result = run_bench_predict(args.data_dir.resolve(), runs=args.runs, workdir=Path(tmp))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"load average {result['machine']['load_average']}; {result['seconds']} s; written to {args.out}")
    for case, s in result["summary"].items():
        ratio = f"  ({s['first_vs_history']}x history)" if "first_vs_history" in s else ""
        print(f"{case:15s} first {s['first_s']:6.2f} s{ratio}  again {s['again_s']:5.2f} s  second {s['second_s']:6.2f} s  "
              f"process {s['process_s']:6.2f} s  embedded {s['texts_embedded']:4d}  peak RSS {s['peak_rss_mb']:.0f} MB  P {s['p_pass']}")


if __name__ == "__main__":
    main()
