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
from typing import Any, NamedTuple

from agent.predict.loader import load_directory
from agent.predict.walkforward import BASELINES, DAO_CALIBRATION_CANDIDATES, WalkForwardResult, walk_forward
from evals.predict import parse_since

__all__ = ["ABLATION_ROWS", "TARGETS", "AblationRow", "best_row", "render_ablation", "run_ablation", "summarise_run",
           "write_calibration_per_dao"]

class AblationRow(NamedTuple):
    """One ablation row: the feature families switched on and how the outcome model is fitted."""

    key: str
    label: str
    families: tuple[str, ...]
    #: choose calibration and recency weighting walk-forward among ``candidates`` (default: the walk-forward's own)
    select: bool = False
    learner: str = "logistic"
    calibration: str = "platt"
    candidates: tuple[tuple[str, float | None], ...] | None = None
    #: one model per DAO on its own proposals (what the store's predictor did before it was pooled) instead of one pooled model
    per_dao: bool = False


#: per-DAO calibration candidates for walk-forward selection (what the store's predictor chooses among)
DAO_CANDIDATES = DAO_CALIBRATION_CANDIDATES

ABLATION_ROWS: tuple[AblationRow, ...] = (
    AblationRow("history", "history only (DAO, kind, proposer rates; text length; pace)", ()),
    AblationRow("kind", "+ kind and amount parsed from the text", ("kind",)),
    AblationRow("engagement", "+ proposer engagement (votes, power, posts, recent proposals)", ("engagement",)),
    AblationRow("text", "+ text: outcomes of the 10 most similar earlier proposals (MiniLM), DAO and pooled", ("text",)),
    AblationRow("jury", "+ jury: the expected electorate's For share from each voter's past votes", ("jury",)),
    AblationRow("voters", "+ voters: expected turnout, whales' past agreement with the proposer", ("voters",)),
    AblationRow("jury_voters", "+ jury and voters", ("jury", "voters")),
    AblationRow("all", "+ text, kind, engagement", ("text", "kind", "engagement")),
    AblationRow("all_select", "+ text, kind, engagement; calibration and recency weighting chosen walk-forward",
                ("text", "kind", "engagement"), select=True),
    AblationRow("text_jury_voters", "+ text, jury, voters", ("text", "jury", "voters")),
    AblationRow("text_select", "+ text; calibration and recency weighting chosen walk-forward", ("text",), select=True),
    AblationRow("text_boosting", "+ text; gradient-boosted trees instead of logistic regression", ("text",),
                learner="boosting"),
    AblationRow("history_boosting", "history only; gradient-boosted trees", (), learner="boosting"),
    AblationRow("history_dao_calibration", "history only; calibrated per DAO", (), calibration="platt_group"),
    AblationRow("text_dao_calibration", "+ text; calibrated per DAO", ("text",), calibration="platt_group"),
    AblationRow("jury_voters_dao_calibration", "+ jury and voters; calibrated per DAO", ("jury", "voters"),
                calibration="platt_group"),
    AblationRow("text_jury_voters_dao_calibration", "+ text, jury, voters; calibrated per DAO",
                ("text", "jury", "voters"), calibration="platt_group"),
    AblationRow("history_per_dao", "history only; one model per DAO (the store's previous predictor)", (), per_dao=True),
    AblationRow("text_per_dao", "+ text; one model per DAO", ("text",), per_dao=True),
    AblationRow("history_dao_select", "history only; per-DAO or common calibration and recency weighting chosen "
                "walk-forward", (), select=True, candidates=DAO_CANDIDATES),
    AblationRow("kind_engagement_dao_select", "+ kind and amount, proposer engagement; per-DAO or common calibration "
                "and recency weighting chosen walk-forward", ("kind", "engagement"), select=True, candidates=DAO_CANDIDATES),
    AblationRow("text_dao_select", "+ text; per-DAO or common calibration and recency weighting chosen walk-forward",
                ("text",), select=True, candidates=DAO_CANDIDATES),
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


def summarise_run(result: WalkForwardResult) -> dict[str, Any]:
    """One walk-forward run as a results row: overall and per-DAO Brier, AUC, ECE, best baseline, reliability bins."""
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
    for spec in ABLATION_ROWS:
        key, families = spec.key, spec.families
        if rows is not None and key not in rows:
            continue
        started = time.monotonic()
        result = walk_forward(data, since=cutoff, families=families, embed=embed if "text" in families else None,
                              select=spec.select, learner=spec.learner, calibration=spec.calibration,
                              candidates=spec.candidates, per_dao=spec.per_dao)
        row = summarise_run(result)
        row.update(label=spec.label, families=list(families), select=spec.select, learner=spec.learner,
                   calibration=spec.calibration, per_dao_models=spec.per_dao, seconds=round(time.monotonic() - started, 1))
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
    written = [json_path, md_path]
    for key in dict.fromkeys(("history", best_row(results))):
        if key in results["rows"]:
            written.append(write_calibration_per_dao(results, key, out / f"predict_calibration_per_dao_{key}.png"))
    return written


def best_row(results: dict[str, Any]) -> str:
    """The row with the lowest overall Brier score."""
    return min(results["rows"], key=lambda k: (results["rows"][k]["brier"], k))


def write_calibration_per_dao(results: dict[str, Any], key: str, path: str | Path) -> Path:
    """One reliability diagram per DAO (predicted vs observed pass rate per bin, dot area ~ proposals) for row
    ``key``, each titled with its n and ECE; DAOs with fewer than ``ece_min_n`` scored proposals are marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    row = results["rows"][key]
    daos = sorted(row["per_dao"])
    fig, axes = plt.subplots(1, len(daos), figsize=(4 * len(daos), 4.3), squeeze=False)
    for ax, dao in zip(axes[0], daos, strict=True):
        info = row["per_dao"][dao]
        bins = info.get("reliability") or []
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
        ax.plot([b["mean_predicted"] for b in bins], [b["observed"] for b in bins], color="C0")
        ax.scatter([b["mean_predicted"] for b in bins], [b["observed"] for b in bins],
                   s=[8 + 400 * b["n"] / max(info["n"], 1) for b in bins], color="C0")
        small = "" if info["n"] >= TARGETS["ece_min_n"] else f" (< {TARGETS['ece_min_n']}: no ECE target)"
        ax.set_title(f"{dao}: n={info['n']}, ECE {_f(info['ece'])}{small}", fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("predicted P(pass)")
    axes[0][0].set_ylabel("observed pass rate")
    fig.suptitle(f"Walk-forward reliability per DAO since {results['config']['since']}: {row['label']}", fontsize=9)
    fig.tight_layout()
    target = Path(path)
    fig.savefig(target, dpi=100)
    plt.close(fig)
    return target
