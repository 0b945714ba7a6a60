"""Walk-forward evaluation of the pooled cross-DAO model (:mod:`agent.predict.pooled`) on one DAO of the bundled
sample: every labelled proposal of the DAO opened before 2025 is predicted by a model refitted on the proposals of
*all* sample DAOs that closed before it opened, next to the DAO's own base rate (the smoothed pass rate the
predictor falls back to) and, where it can be trained (30 closed proposals), the DAO-only model, on the same
proposals. Brier scores are reported for the proposals the pooled model is actually used for (the DAO alone has
fewer than 30 closed proposals) and for all.

    python -m evals.predict_pooled [--dao arbitrum]       # writes evals/results/predict_pooled.json

Nothing was tuned: the pooled model is the DAO-only model's class (C, calibration, features) unchanged. No
bootstrap here (the point estimate is what is scored). The column ``pooled_selected`` is the store predictor's
configuration (pooled, per-DAO or common calibration and recency weighting chosen walk-forward,
:mod:`agent.predict.selection`), run through :func:`agent.predict.walkforward.walk_forward` over the same proposals
(refitted every 25 newly closed proposals rather than at every target).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.predict.features import FeatureBuilder
from agent.predict.metrics import brier
from agent.predict.model import MIN_TRAIN, OutcomeModel
from agent.predict.pooled import load_store_all
from agent.predict.records import GovData
from agent.predict.walkforward import DAO_CALIBRATION_CANDIDATES, walk_forward

__all__ = ["CUTOFF", "evaluate_pooled"]

CUTOFF = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
RESULT = Path(__file__).resolve().parent / "results" / "predict_pooled.json"


def evaluate_pooled(data: GovData, dao: str) -> dict[str, Any]:
    labelled = sorted((p for p in data.proposals if p.has_label and p.opened_at is not None and p.closed_at < CUTOFF),  # type: ignore[operator]
                      key=lambda p: (p.closed_at, p.id))
    builder = FeatureBuilder(data)
    vectors = {p.id: builder.vector(p) for p in labelled}
    selected = walk_forward(GovData(proposals=labelled), select=True, candidates=DAO_CALIBRATION_CANDIDATES)
    chosen = {r.id: (r.p["model"] if r.n_train else None) for r in selected.rows}
    rows = []
    for target in sorted((p for p in labelled if p.dao == dao), key=lambda p: (p.opened_at, p.id)):
        at = target.opened_at
        train = [p for p in labelled if p.closed_at < at and p.id != target.id]  # type: ignore[operator]
        own = [p for p in train if p.dao == dao]
        row: dict[str, Any] = {"id": target.id, "outcome": int(bool(target.outcome)), "own_n": len(own), "pooled_n": len(train),
                               "daos": len({p.dao for p in train}), "base_rate": builder.history.dao_rate(dao, at).smoothed}  # type: ignore[arg-type]
        for name, rows_in in (("pooled", train), ("own", own)):
            model = OutcomeModel()
            ok = model.fit([vectors[p.id] for p in rows_in], [int(bool(p.outcome)) for p in rows_in])
            row[name] = float(model.predict([vectors[target.id]])[0]) if ok else None
        row["pooled_selected"] = chosen.get(target.id)
        rows.append(row)

    def score(subset: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, Any]:
        usable = [r for r in subset if all(r[n] is not None for n in names)]
        y = [r["outcome"] for r in usable]
        return {"n": len(usable), "pass_rate": round(sum(y) / len(y), 4) if y else None,
                **{f"brier_{n}": round(brier([r[n] for r in usable], y), 4) if usable else None for n in names}}

    small = [r for r in rows if r["own_n"] < MIN_TRAIN and r["daos"] >= 2]
    return {
        "dao": dao, "targets": len(rows), "cutoff": "targets opened before 2025-01-01",
        "daos_in_pool": sorted({p.dao for p in labelled}),
        "pooled_used": {"when": f"{dao} alone has fewer than {MIN_TRAIN} closed proposals", **score(small, ("pooled", "base_rate"))},
        "all_with_a_pooled_model": score(rows, ("pooled", "base_rate")),
        "where_the_own_model_trains": score(rows, ("pooled", "own", "base_rate")),
        "store_predictor": {"what": "pooled, calibration and recency weighting chosen walk-forward (what the store's predictor runs)",
                            "where_the_own_model_trains": score(rows, ("pooled_selected", "own", "base_rate")),
                            "all_with_a_pooled_model": score(rows, ("pooled_selected", "base_rate"))},
        "note": "walk-forward: each target's models see only proposals closed before it opened; nothing tuned (the DAO-only model's settings)",
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dao", default="arbitrum")
    args = parser.parse_args(argv)
    import sklearn.linear_model  # noqa: F401  (load BLAS first so its threads are limited)
    from threadpoolctl import threadpool_limits

    from evals.retrieval.corpus import sample_store
    from ingest.sources.sample import SAMPLE_DAOS

    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(limits=1):
        store = sample_store(Path(tmp) / "sample.db", daos=tuple(d.slug for d in SAMPLE_DAOS))
        result = evaluate_pooled(load_store_all(store), args.dao)
        store.close()
    result["data"] = "the bundled sample (ingest/sample), all its DAOs"
    RESULT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
