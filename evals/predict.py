"""Walk-forward evaluation of the outcome prediction over a data directory, with baselines, a Markdown table
and a reliability diagram. Used by ``concord eval predict``.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from agent.predict.loader import load_directory
from agent.predict.walkforward import WalkForwardResult, walk_forward
from agent.stance.base import StanceClassifier
from ingest.core.errors import InputError

__all__ = ["parse_since", "render_markdown", "run_predict_eval", "write_outputs", "write_reliability_png"]

_ROWS = (("model", "Concord model (calibrated LR)"), ("base_rate", "DAO historical pass rate"),
         ("recent_rate", "DAO recent pass rate (last 50)"), ("proposer_history", "Proposer's past pass rate"))
_METRICS = ("brier", "log_loss", "accuracy", "roc_auc", "ece", "vote_share_mae")
_BASELINES = ("base_rate", "recent_rate", "proposer_history")


def parse_since(value: str | None) -> float | None:
    """``YYYY-MM-DD`` (UTC midnight) -> unix seconds; None passes through."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"--since must be a date like 2023-01-01, got {value!r}") from exc
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def run_predict_eval(
    data_dir: str | Path,
    *,
    since: str | None = None,
    refit_every: int = 25,
    calibration: str = "platt",
    stance: StanceClassifier | None = None,
    families: tuple[str, ...] = (),
    embed: Any = None,
    select: bool = False,
    per_dao: bool = False,
    learner: str = "logistic",
) -> tuple[dict[str, Any], WalkForwardResult]:
    """Load ``data_dir``, run the walk-forward evaluation, return (summary JSON object, raw result)."""
    if calibration not in {"platt", "isotonic", "platt_group"}:
        raise InputError(f"--calibration must be 'platt', 'isotonic' or 'platt_group' (per DAO), got {calibration!r}")
    if learner not in {"logistic", "boosting"}:
        raise InputError(f"--learner must be 'logistic' or 'boosting', got {learner!r}")
    if refit_every < 1:
        raise InputError(f"--refit-every must be at least 1, got {refit_every}")
    data = load_directory(data_dir)
    result = walk_forward(data, since=parse_since(since), refit_every=refit_every, calibration=calibration, stance=stance,
                          families=families, embed=embed, select=select, per_dao=per_dao, learner=learner)
    summary = result.summary()
    summary["config"] = {
        "data": str(data_dir),
        "since": since,
        "refit_every": refit_every,
        "calibration": calibration,
        "per_dao": per_dao,
        "learner": learner,
        "stance": getattr(stance, "model_id", None) if stance is not None else None,
        "families": list(families),
        "select": select,
    }
    return summary, result


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def render_markdown(summary: dict[str, Any]) -> str:
    """A Markdown block: the metrics table for the model and the three baselines, plus counts."""
    cfg = summary.get("config", {})
    lines = [
        f"Walk-forward over `{cfg.get('data')}`"
        + (f", scored on proposals opened on or after {cfg['since']}" if cfg.get("since") else "")
        + f": **{summary['n']}** proposals scored ({summary['n_history_only']} earlier ones used as history only; "
        f"{summary['n_skipped']} skipped without a pass/fail outcome or time: "
        + ", ".join(f"{k} {v}" for k, v in summary["skipped"].items())
        + f"). Vote-share MAE over {_share_count(summary)} proposals with per-choice scores. "
        f"Model refitted {summary['refits']} times (every {cfg.get('refit_every')} newly closed proposals), "
        f"{cfg.get('calibration')} calibration.",
        "",
        "| Predictor | Brier ↓ | Log loss ↓ | Accuracy ↑ | ROC AUC ↑ | ECE ↓ | Vote-share MAE ↓ |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, label in _ROWS:
        block = summary["model"] if key == "model" else summary["baselines"][key]
        lines.append(f"| {label} | " + " | ".join(_fmt(block[m]) for m in _METRICS) + " |")
    lines += [
        "",
        "| DAO | n | pass rate | model Brier | best baseline Brier | model AUC | n with shares | model share MAE"
        + " | best baseline share MAE |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    subsets = dict(summary.get("per_dao", {}))
    talk = summary.get("with_discussion")
    if talk and talk.get("n"):
        subsets["with pre-vote discussion (" + ", ".join(talk.get("daos", [])) + ")"] = talk
    for dao, info in subsets.items():
        best = min((info[b]["brier"], b) for b in _BASELINES)
        shares = [(info[b]["vote_share_mae"], b) for b in _BASELINES if info[b]["vote_share_mae"] is not None]
        best_share = f"{_fmt(min(shares)[0])} ({min(shares)[1]})" if shares else "–"
        lines.append(
            f"| {dao} | {info['n']} | {info['pass_rate']:.2f} | {_fmt(info['model']['brier'])} | "
            f"{_fmt(best[0])} ({best[1]}) | {_fmt(info['model']['roc_auc'])} | {info.get('n_vote_shares', '–')} | "
            f"{_fmt(info['model']['vote_share_mae'])} | {best_share} |"
        )
    lines += ["", _vote_share_line(summary), "", _discussion_line(summary)]
    return "\n".join(lines) + "\n"


def _share_count(summary: dict[str, Any]) -> str:
    """How many proposals the vote-share MAE covers (those of a DAO with no earlier scores have no prediction)."""
    n_all = summary["n_with_vote_shares"]
    n_scored = (summary.get("vote_share") or {}).get("n_scored", n_all)
    return str(n_all) if n_scored == n_all else f"{n_scored} of the {n_all}"


_ESTIMATES = (("proposer_median", "the proposer's median past shares (the DAO's when new)"),
              ("dao_median", "the DAO's median over its last 50"),
              ("pooled", "a pooled median regression in logit space adjusting the proposer's median"))


def _vote_share_line(summary: dict[str, Any]) -> str:
    """One paragraph: how the model's vote shares were made, how often each estimate was used, and each one's MAE."""
    vs = summary.get("vote_share") or {}
    if not vs.get("n_scored"):
        return "Vote shares: no scored proposal has per-choice scores and an earlier scored proposal in its DAO."
    methods, maes = vs.get("methods", {}), vs.get("estimates_mae", {})
    parts = [f"{text} (used {methods.get(key, 0)}×, alone {_fmt(maes.get(key))})" for key, text in _ESTIMATES]
    unscored = [dao for dao, info in summary.get("per_dao", {}).items() if info.get("n") and not info.get("n_vote_shares")]
    return (
        "Vote shares (MAE over for/against/other): per DAO, the model takes whichever of three estimates had the "
        "lowest MAE on the DAO's last 50 proposals closed before the predicted one opened: "
        + "; ".join(parts)
        + ". Medians because MAE rewards them and shares are skewed or two-humped; the baselines' shares are means."
        + (f" No per-choice scores among the scored proposals of: {', '.join(unscored)}." if unscored else "")
        + (f" Not scored: {odd} proposals whose per-choice scores have no For or Against choice (polls with their "
           "own options)." if (odd := summary.get("n_per_choice_without_for_against")) else "")
    )


def _discussion_line(summary: dict[str, Any]) -> str:
    """One sentence: how many posts were linked, and how many proposals had any written before voting began."""
    d = summary.get("discussion") or {}
    posts = d.get("posts") or {}
    if not posts:
        return "Discussion: no posts.jsonl, so the discussion features are zero."
    methods = ", ".join(f"{k} {v}" for k, v in (posts.get("links_by_method") or {}).items() if v)
    stance = summary.get("config", {}).get("stance")
    return (
        f"Discussion: {posts.get('linked', 0)} of {posts.get('read', 0)} posts linked to a proposal "
        f"(post-proposal links by method: {methods or 'none'}; {posts.get('linked_without_time', 0)} linked posts "
        f"have no time). Proposals with at least 1 / at least 5 linked posts written before voting began: "
        f"{d.get('labelled_with_pre_vote_posts', 0)} / {d.get('labelled_with_5_pre_vote_posts', 0)} of all labelled, "
        f"{d.get('scored_with_pre_vote_posts', 0)} / {d.get('scored_with_5_pre_vote_posts', 0)} of those scored. "
        + (f"Stance of pre-vote posts by `{stance}`." if stance else "Stance features off (`--no-stance`).")
    )


def write_reliability_png(result: WalkForwardResult, path: str | Path, *, bins: int = 10) -> Path:
    """Reliability diagram (predicted vs observed pass rate per bin) for the model and the baselines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    y = [r.outcome for r in result.rows]
    fig, (ax, hist) = plt.subplots(2, 1, figsize=(6, 7), gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfectly calibrated")
    for key, label in _ROWS:
        p = [r.p[key] for r in result.rows]
        xs, ys = [], []
        for b in range(bins):
            idx = [i for i, v in enumerate(p) if b / bins <= v < (b + 1) / bins or (b == bins - 1 and v >= 1.0)]
            if idx:
                xs.append(sum(p[i] for i in idx) / len(idx))
                ys.append(sum(y[i] for i in idx) / len(idx))
        ax.plot(xs, ys, marker="o", label=label, linewidth=2 if key == "model" else 1)
        if key == "model":
            hist.hist(p, bins=bins, range=(0, 1), color="C0")
    ax.set_ylabel("observed pass rate")
    ax.set_title(f"Reliability, walk-forward (n={len(y)})")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    hist.set_xlabel("predicted probability of passing")
    hist.set_ylabel("proposals (model)")
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target


def write_outputs(
    summary: dict[str, Any], result: WalkForwardResult, out_dir: str | Path, *, stem: str = "predict"
) -> list[Path]:
    """``<stem>.json``, ``<stem>.md`` and ``<stem>_reliability.png`` under ``out_dir``."""
    if not stem or any(c in stem for c in "/\\") or stem.startswith("."):
        raise InputError(f"--name must be a plain file name stem like 'predict_stance', got {stem!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"{stem}.json"
    json_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    md_path = out / f"{stem}.md"
    md_path.write_text(render_markdown(summary), encoding="utf-8")
    return [json_path, md_path, write_reliability_png(result, out / f"{stem}_reliability.png")]
