"""Can a walk-forward recalibration per DAO bring each DAO's calibration error under 0.05? And how far is 0.05
from what chance alone gives?

One walk-forward run (the store predictor's configuration: pooled model, per-DAO or common calibration and
recency weighting chosen walk-forward), then, per proposal, its predicted P(pass) is recalibrated from the same
DAO's *earlier* predictions whose outcomes were known when it opened (never a later one):

- ``platt``: a sigmoid ``a + b * logit(p)`` fitted on the DAO's latest ``window`` resolved predictions (optionally
  recency-weighted), L2-shrunk towards the identity (``a = 0, b = 1``) with strength ``lam``;
- ``shrink``: ``logit(p)`` pulled towards ``logit(anchor)`` (the DAO's recent pass rate or the proposer's past rate)
  by a factor in {1, 0.75, 0.5, 0.25, 0} chosen by log loss on the DAO's latest ``window`` resolved predictions.

For each DAO it also reports the ECE a perfectly calibrated forecaster would show by chance with the same
predictions and the same number of proposals (outcomes drawn from the predictions, 2,000 draws: median and 95th
percentile), per quarter, the pass rate next to the mean prediction (drift), and the model's AUC within groups
(by the proposer's earlier closed proposals in the DAO: none, 1-4, 5+; by proposal kind, kinds with >= 20 scored):
what the pre-vote features can tell apart.

    python -m evals.predict_recalibration --data ../shared/data --since 2023-01-01
      # writes evals/results/predict_recalibration.json

All variants were chosen after looking at these same windows (they are few and coarse, but not independent).
"""

from __future__ import annotations

import argparse
import json
import math
import random
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from agent.predict.loader import load_directory
from agent.predict.metrics import brier, ece, log_loss, roc_auc
from agent.predict.walkforward import DAO_CALIBRATION_CANDIDATES, ScoredRow, walk_forward
from evals.predict import parse_since

__all__ = ["evaluate_recalibration", "noise_floor"]

RESULT = Path(__file__).resolve().parent / "results" / "predict_recalibration.json"
SHRINK = (1.0, 0.75, 0.5, 0.25, 0.0)
MIN_RESOLVED = 30


def _logit(p: float) -> float:
    q = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(q / (1 - q))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _platt(z: list[float], y: list[int], w: list[float], lam: float) -> tuple[float, float]:
    """Newton steps for the weighted log loss of ``sigmoid(a + b z)`` plus ``lam * (a^2 + (b - 1)^2)``."""
    a, b = 0.0, 1.0
    za, ya, wa = np.asarray(z), np.asarray(y, dtype=float), np.asarray(w)
    for _ in range(50):
        q = 1.0 / (1.0 + np.exp(-(a + b * za)))
        g = np.array([np.sum(wa * (q - ya)) + 2 * lam * a, np.sum(wa * (q - ya) * za) + 2 * lam * (b - 1)])
        s = wa * q * (1 - q)
        h = np.array([[s.sum() + 2 * lam, (s * za).sum()], [(s * za).sum(), (s * za * za).sum() + 2 * lam]])
        step = np.linalg.solve(h, g)
        a, b = a - float(step[0]), b - float(step[1])
        if float(np.abs(step).max()) < 1e-9:
            break
    return a, b


def _recalibrated(rows: list[ScoredRow], closed: dict[str, float], method: dict[str, Any]) -> list[float]:
    """Each row's recalibrated P(pass), from the same DAO's earlier rows resolved before it opened."""
    out: list[float] = []
    history: dict[str, list[tuple[float, float, int, list[float]]]] = defaultdict(list)
    for r in rows:  # rows are in opening order
        p = r.p["model"]
        known = [h for h in history[r.dao] if h[0] < r.opened_at][-method["window"]:]
        if method["kind"] == "platt":
            candidates = [p]
            if len(known) >= MIN_RESOLVED:
                half = method.get("half_life_days")
                newest = known[-1][0]
                w = [0.5 ** ((newest - k[0]) / (half * 86_400.0)) if half else 1.0 for k in known]
                a, b = _platt([k[1] for k in known], [k[2] for k in known], w, method["lam"])
                candidates = [_sigmoid(a + b * _logit(p))]
            chosen = 0
        else:
            anchor = r.p[method["anchor"]]
            candidates = [_sigmoid(f * (_logit(p) - _logit(anchor)) + _logit(anchor)) for f in SHRINK]
            chosen = 0
            if len(known) >= MIN_RESOLVED:
                losses = [log_loss([k[3][i] for k in known], [k[2] for k in known]) for i in range(len(SHRINK))]
                chosen = min(range(len(SHRINK)), key=lambda i: (losses[i], i))
        history[r.dao].append((closed[r.id], _logit(p), r.outcome, candidates if method["kind"] == "shrink" else []))
        out.append(candidates[chosen])
    return out


def noise_floor(p: list[float], *, draws: int = 2000, seed: int = 0) -> dict[str, float]:
    """ECE of a perfectly calibrated forecaster with predictions ``p`` (outcomes drawn from them): median, 95th pct."""
    rng = random.Random(seed)
    values = sorted(ece(p, [1 if rng.random() < q else 0 for q in p]) for _ in range(draws))
    return {"median": round(values[draws // 2], 4), "p95": round(values[int(draws * 0.95)], 4)}


def _scores(rows: list[ScoredRow], p: list[float]) -> dict[str, Any]:
    y = [r.outcome for r in rows]
    out: dict[str, Any] = {"brier": round(brier(p, y), 4), "ece": round(ece(p, y), 4), "per_dao": {}}
    for dao in sorted({r.dao for r in rows}):
        idx = [i for i, r in enumerate(rows) if r.dao == dao]
        pd, yd = [p[i] for i in idx], [y[i] for i in idx]
        auc = roc_auc(pd, yd)
        out["per_dao"][dao] = {"n": len(idx), "brier": round(brier(pd, yd), 4), "ece": round(ece(pd, yd), 4),
                               "auc": round(auc, 3) if auc is not None else None}
    return out


METHODS: tuple[dict[str, Any], ...] = (
    *({"kind": "platt", "window": w, "lam": lam, "half_life_days": hl} for w in (100, 200) for lam in (5.0, 20.0)
      for hl in (None, 180.0)),
    *({"kind": "shrink", "window": w, "anchor": a} for w in (100, 200) for a in ("recent_rate", "proposer_history")),
)


def _name(m: dict[str, Any]) -> str:
    if m["kind"] == "platt":
        return f"platt w{m['window']} lam{m['lam']:g} {'hl' + format(m['half_life_days'], 'g') if m['half_life_days'] else 'equal'}"
    return f"shrink to {m['anchor']} w{m['window']}"


def _discrimination(rows: list[ScoredRow], data: Any) -> dict[str, Any]:
    """Per DAO: n, pass rate, model AUC and Brier within proposer-experience groups and within kinds."""
    import bisect

    by_id = {p.id: p for p in data.proposals}
    closes: dict[tuple[str, str | None], list[float]] = defaultdict(list)
    for p in data.proposals:
        if p.has_label:
            closes[(p.dao, p.author)].append(float(p.closed_at))
    for series in closes.values():
        series.sort()
    out: dict[str, Any] = {}
    for dao in sorted({r.dao for r in rows}):
        groups: dict[str, list[ScoredRow]] = defaultdict(list)
        for r in rows:
            if r.dao != dao:
                continue
            p = by_id[r.id]
            n = bisect.bisect_left(closes.get((dao, p.author), []), r.opened_at) if p.author else 0
            groups["proposer " + ("new" if n == 0 else "1-4" if n < 5 else "5+")].append(r)
            groups[f"kind {p.kind}"].append(r)
        block = {}
        for name, rs in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            if len(rs) < 20:
                continue
            y, p_ = [r.outcome for r in rs], [r.p["model"] for r in rs]
            auc = roc_auc(p_, y)
            block[name] = {"n": len(rs), "pass_rate": round(sum(y) / len(y), 3), "auc": round(auc, 3) if auc is not None else None,
                           "brier": round(brier(p_, y), 4)}
        out[dao] = block
    return out


def evaluate_recalibration(data_dir: str | Path, *, since: str = "2023-01-01") -> dict[str, Any]:
    data = load_directory(data_dir)
    result = walk_forward(data, since=parse_since(since), select=True, candidates=DAO_CALIBRATION_CANDIDATES)
    rows = sorted(result.rows, key=lambda r: (r.opened_at, r.id))
    closed = {p.id: float(p.closed_at) for p in data.proposals if p.closed_at is not None}
    model = [r.p["model"] for r in rows]
    out: dict[str, Any] = {
        "config": {"data": str(data_dir), "since": since, "features": "history",
                   "model": "pooled; per-DAO or common calibration and recency weighting chosen walk-forward",
                   "ece_bins": 10, "min_resolved": MIN_RESOLVED},
        "methods": {"as is": _scores(rows, model)},
        "baselines": {b: _scores(rows, [r.p[b] for r in rows]) for b in ("recent_rate", "proposer_history")},
        "noise_floor_as_is": {dao: noise_floor([r.p["model"] for r in rows if r.dao == dao])
                              for dao in sorted({r.dao for r in rows})},
        "drift": {},
    }
    for method in METHODS:
        out["methods"][_name(method)] = _scores(rows, _recalibrated(rows, closed, method))
    out["discrimination"] = _discrimination(rows, data)
    for dao in sorted({r.dao for r in rows}):
        quarters: dict[str, list[ScoredRow]] = defaultdict(list)
        for r in rows:
            if r.dao == dao:
                t = datetime.fromtimestamp(r.opened_at, UTC)
                quarters[f"{t.year}Q{(t.month - 1) // 3 + 1}"].append(r)
        out["drift"][dao] = {q: {"n": len(rs), "pass_rate": round(sum(r.outcome for r in rs) / len(rs), 3),
                                 "mean_p": round(sum(r.p["model"] for r in rs) / len(rs), 3)}
                             for q, rs in sorted(quarters.items())}
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--since", default="2023-01-01")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    result = evaluate_recalibration(args.data, since=args.since)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    summary = main()
    for name, block in summary["methods"].items():
        print(f"{name:40s} Brier {block['brier']:.4f}", " ".join(f"{d} ECE {v['ece']:.3f}" for d, v in block["per_dao"].items()))
