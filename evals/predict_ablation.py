"""Ablation of the outcome model's feature families and of walk-forward calibration selection, on one scoring set.

Every row is a full walk-forward run over the same data and the same scored proposals (opened on or after
``since``); only the switched-on feature families (and, in the last row, the selection of calibration and recency
weighting) differ. Used by ``concord eval predict-ablation``; ``concord eval readme`` renders the table.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.predict.loader import load_directory
from agent.predict.walkforward import BASELINES, WalkForwardResult, walk_forward
from evals.predict import parse_since

__all__ = ["ABLATION_ROWS", "TARGETS", "render_ablation", "run_ablation"]

#: (row key, label, feature families, walk-forward selection of calibration and recency weighting, learner)
ABLATION_ROWS: tuple[tuple[str, str, tuple[str, ...], bool, str], ...] = (
    ("history", "history only (DAO, kind, proposer rates; text length; pace)", (), False, "logistic"),
    ("kind", "+ kind and amount parsed from the text", ("kind",), False, "logistic"),
    ("engagement", "+ proposer engagement (votes, power, posts, recent proposals)", ("engagement",), False, "logistic"),
    ("text", "+ text: outcomes of the 10 most similar earlier proposals (MiniLM), DAO and pooled", ("text",), False,
     "logistic"),
    ("jury", "+ jury: the expected electorate's For share from each voter's past votes", ("jury",), False, "logistic"),
    ("voters", "+ voters: expected turnout, whales' past agreement with the proposer", ("voters",), False, "logistic"),
    ("jury_voters", "+ jury and voters", ("jury", "voters"), False, "logistic"),
    ("all", "+ text, kind, engagement", ("text", "kind", "engagement"), False, "logistic"),
    ("all_select", "+ text, kind, engagement; calibration and recency weighting chosen walk-forward",
     ("text", "kind", "engagement"), True, "logistic"),
    ("text_jury_voters", "+ text, jury, voters", ("text", "jury", "voters"), False, "logistic"),
    ("text_select", "+ text; calibration and recency weighting chosen walk-forward", ("text",), True, "logistic"),
    ("text_boosting", "+ text; gradient-boosted trees instead of logistic regression", ("text",), False, "boosting"),
    ("history_boosting", "history only; gradient-boosted trees", (), False, "boosting"),
)
#: The targets: Brier at most 0.85 x the best baseline (all DAOs and Decentraland), Decentraland AUC >= 0.80,
#: ECE <= 0.05 for every DAO with at least 100 scored proposals.
TARGETS = {"brier_ratio": 0.85, "dcl_auc": 0.80, "ece": 0.05, "ece_min_n": 100}


def _best_baseline(block: dict[str, Any]) -> tuple[float, str]:
    return min((block["baselines"][b]["brier"], b) for b in BASELINES) if "baselines" in block else \
        min((block[b]["brier"], b) for b in BASELINES)


def _bins(p: list[float], y: list[int], bins: int = 10) -> list[dict[str, float]]:
    out = []
    for b in range(bins):
        idx = [i for i, v in enumerate(p) if b / bins <= v < (b + 1) / bins or (b == bins - 1 and v >= 1.0)]
        if idx:
            out.append({"mean_predicted": sum(p[i] for i in idx) / len(idx), "observed": sum(y[i] for i in idx) / len(idx),
                        "n": len(idx)})
    return out


def _row(result: WalkForwardResult) -> dict[str, Any]:
    summary = result.summary()
    per_dao = summary["per_dao"]
    best, best_name = _best_baseline(summary)
    out: dict[str, Any] = {
        "n": summary["n"],
        "brier": summary["model"]["brier"],
        "log_loss": summary["model"]["log_loss"],
        "roc_auc": summary["model"]["roc_auc"],
        "ece": summary["model"]["ece"],
        "best_baseline_brier": best,
        "best_baseline": best_name,
        "per_dao": {},
        "configs_chosen": summary.get("configs_chosen", {}),
    }
    for dao, info in per_dao.items():
        b, name = min((info[k]["brier"], k) for k in BASELINES)
        out["per_dao"][dao] = {
            "n": info["n"], "brier": info["model"]["brier"], "roc_auc": info["model"]["roc_auc"],
            "ece": info["model"]["ece"], "best_baseline_brier": b, "best_baseline": name,
            "reliability": _bins([r.p["model"] for r in result.rows if r.dao == dao],
                                 [r.outcome for r in result.rows if r.dao == dao]),
        }
    return out


def run_ablation(
    data_dir: str | Path,
    *,
    since: str = "2023-01-01",
    embed: Callable[[list[str]], Any] | None,
    rows: tuple[str, ...] | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Run every ablation row (or those named in ``rows``) and return the results JSON object."""
    data = load_directory(data_dir)
    cutoff = parse_since(since)
    results: dict[str, Any] = {"config": {"data": str(data_dir), "since": since, "targets": TARGETS}, "rows": {}}
    for key, label, families, select, learner in ABLATION_ROWS:
        if rows is not None and key not in rows:
            continue
        started = time.monotonic()
        result = walk_forward(data, since=cutoff, families=families, embed=embed if "text" in families else None,
                              select=select, learner=learner)
        row = _row(result)
        row.update(label=label, families=list(families), select=select, learner=learner,
                   seconds=round(time.monotonic() - started, 1))
        results["rows"][key] = row
        log(f"{key}: Brier {row['brier']:.4f}, AUC {row['roc_auc']:.3f} ({row['seconds']} s)")
    results["targets_met"] = {key: _targets(row) for key, row in results["rows"].items()}
    return results


def _targets(row: dict[str, Any]) -> dict[str, Any]:
    dcl = row["per_dao"].get("decentraland", {})
    eces = {dao: info["ece"] for dao, info in row["per_dao"].items() if info["n"] >= TARGETS["ece_min_n"]}
    return {
        "brier_all": row["brier"] <= TARGETS["brier_ratio"] * row["best_baseline_brier"],
        "brier_ratio_all": row["brier"] / row["best_baseline_brier"],
        "brier_decentraland": bool(dcl) and dcl["brier"] <= TARGETS["brier_ratio"] * dcl["best_baseline_brier"],
        "brier_ratio_decentraland": dcl["brier"] / dcl["best_baseline_brier"] if dcl else None,
        "auc_decentraland": bool(dcl) and (dcl["roc_auc"] or 0.0) >= TARGETS["dcl_auc"],
        "ece_per_dao": {dao: ece <= TARGETS["ece"] for dao, ece in eces.items()},
        "arbitrum_scored": "arbitrum" in row["per_dao"],
    }


def _f(v: Any) -> str:
    return "–" if v is None else f"{v:.3f}"


def render_ablation(results: dict[str, Any]) -> str:
    """The README's ablation table and one line per target."""
    daos = sorted({d for row in results["rows"].values() for d in row["per_dao"]})
    head = "| Features | Brier ↓ | ÷ best baseline | AUC ↑ | ECE ↓ | " + " | ".join(
        f"{d} Brier / AUC / ECE" for d in daos) + " |"
    lines = [
        (f"Walk-forward, scored on proposals opened on or after {results['config']['since']} (the same set in every "
         "row); each row switches on the feature families named."),
        "",
        head,
        "|" + "---|" * (5 + len(daos)),
    ]
    for row in results["rows"].values():
        cells = [row["label"], _f(row["brier"]), _f(row["brier"] / row["best_baseline_brier"]), _f(row["roc_auc"]),
                 _f(row["ece"])]
        for d in daos:
            info = row["per_dao"].get(d)
            cells.append(f"{_f(info['brier'])} / {_f(info['roc_auc'])} / {_f(info['ece'])}" if info else "–")
        lines.append("| " + " | ".join(cells) + " |")
    first = next(iter(results["rows"].values()))
    lines += ["", "Best baseline Brier (same run): all " + _f(first["best_baseline_brier"]) + f" ({first['best_baseline']}); "
              + "; ".join(f"{d} {_f(i['best_baseline_brier'])} ({i['best_baseline']})" for d, i in first["per_dao"].items()) + "."]
    return "\n".join(lines) + "\n"


def write_ablation(results: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """``predict_ablation.json`` and ``predict_ablation.md`` under ``out_dir``.

    Rows of an existing ``predict_ablation.json`` with the same data and ``since`` that this run did not compute
    are kept (so ``--rows`` adds or replaces rows), in :data:`ABLATION_ROWS` order.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "predict_ablation.json"
    if json_path.is_file():
        old = json.loads(json_path.read_text(encoding="utf-8"))
        if old.get("config", {}).get("since") == results["config"]["since"] and \
                Path(old.get("config", {}).get("data", "")).name == Path(results["config"]["data"]).name:
            merged = {**old.get("rows", {}), **results["rows"]}
            order = [key for key, *_ in ABLATION_ROWS]
            results = {**results, "rows": {k: merged[k] for k in sorted(merged, key=lambda k: (
                order.index(k) if k in order else len(order), k))}}
            results["targets_met"] = {key: _targets(row) for key, row in results["rows"].items()}
    json_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    md_path = out / "predict_ablation.md"
    md_path.write_text(render_ablation(results), encoding="utf-8")
    return [json_path, md_path]
