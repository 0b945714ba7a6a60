"""Live forecast during voting, evaluated walk-forward on per-voter votes (Compound GovernorBravo, Decentraland).

At a fraction f of a proposal's voting period (10, 25, 50, 75 %), only the votes cast before that moment are read.
Three forecasters, in the same run, on the same proposals:

- **model**: a logistic regression per DAO, fitted on the DAO's proposals that had *closed* before the predicted
  one opened, each seen at the same f, on: the For share of For+Against so far, log voting power so far, log of the
  expected final turnout (power so far ÷ the DAO's median share of final power cast by f, its turnout curve), and
  log voters so far. Its expected shares are the current shares plus the DAO's median drift from f to the end.
- **current leader wins**: P(pass) 0.99 when For leads Against so far, 0.01 when it trails, 0.5 when tied or empty.
- **current shares are final**: P(pass) = the For share so far; shares = the shares so far.

Proposals need a pass/fail outcome, For- and Against-like choices, and votes with times. Used by ``concord eval live``.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from agent.predict.clock import BlockClock
from agent.predict.live import MIN_TRAIN, LiveProposal, fit_live, share_for, shares
from agent.predict.loader import parse_time
from agent.predict.metrics import accuracy, brier, log_loss
from agent.predict.records import canonical_choice
from ingest.core.errors import InputError
from ingest.sample.corrections import correct_proposal_row

__all__ = ["FRACTIONS", "LiveProposal", "load_live", "render_live", "run_live"]

FRACTIONS = (0.10, 0.25, 0.50, 0.75)
_CUTOFF = 1_735_689_600.0  # 2025-01-01: later data is kept back


class _Tallies:
    """Each proposal's tally at every fraction and at the end, computed once."""

    def __init__(self, proposals: list[LiveProposal]) -> None:
        self.at = {(p.id, f): p.at(f) for p in proposals for f in FRACTIONS}
        self.final = {p.id: p.final() for p in proposals}


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
        for line in fh:
            if line.strip():
                yield json.loads(line)


def load_live(data_dir: str | Path) -> list[LiveProposal]:
    """Proposals with an outcome, a known voting window and per-voter votes with times, before 2025."""
    root = Path(data_dir)
    if not (root / "proposals.jsonl").is_file():
        raise InputError(f"No proposals.jsonl in {root}: pass --data a directory in the shared data format")
    votes: dict[str, list[tuple[float, str, float]]] = defaultdict(list)
    voters: dict[str, dict[str, tuple[str, float]]] = defaultdict(dict)
    anchors = []
    for name in ("votes.jsonl", "votes_decentraland.jsonl.gz"):
        if not (root / name).is_file():
            continue
        for row in _jsonl(root / name):
            ts = parse_time(row.get("created"))
            if ts is None or not row.get("proposal_id"):
                continue
            if row.get("block_number") is not None:
                anchors.append((int(row["block_number"]), ts))
            label = str(row.get("choice") or "")
            votes[str(row["proposal_id"])].append((ts, canonical_choice(label), float(row.get("vp") or 0.0)))
            if row.get("voter"):
                voters[str(row["proposal_id"])][str(row["voter"]).lower()] = (canonical_choice(label), float(row.get("vp") or 0.0))
    clock = BlockClock(anchors)
    out = []
    for raw in _jsonl(root / "proposals.jsonl"):
        row = correct_proposal_row(raw)
        pid = str(row["id"])
        if pid not in votes or row.get("outcome") not in ("passed", "failed"):
            continue
        start = parse_time(row.get("start"))
        end = parse_time(row.get("end"))
        if start is None and row.get("start_block") is not None:
            start = clock.time_of(int(row["start_block"]))
        if end is None and row.get("end_block") is not None:
            end = clock.time_of(int(row["end_block"]))
        if start is None or end is None or end <= start or start >= _CUTOFF:
            continue
        cast = sorted(votes[pid])
        kinds = {c for _, c, _ in cast}
        if "for" not in kinds and "against" not in kinds:
            continue  # a poll with its own options: no For/Against to lead
        who = tuple((v, c, vp) for v, (c, vp) in sorted(voters[pid].items()))
        out.append(LiveProposal(pid, str(row["dao"]), start, end, int(row["outcome"] == "passed"), cast, who))
    return sorted(out, key=lambda p: (p.start, p.id))


def _mae(a: dict[str, float], b: dict[str, float]) -> float:
    return sum(abs(a[k] - b[k]) for k in ("for", "against", "other")) / 3


def run_live(proposals: list[LiveProposal], *, since: float | None = None, refit_every: int = 10) -> dict[str, Any]:
    """Walk-forward per DAO and fraction; returns per DAO and fraction the three forecasters' metrics.

    The model, turnout curve and drift are refitted once ``refit_every`` more proposals have closed (always on
    proposals closed before the predicted one opened)."""
    results: dict[str, Any] = {}
    t = _Tallies(proposals)
    for dao in sorted({p.dao for p in proposals}):
        rows = [p for p in proposals if p.dao == dao]
        by_end = sorted(rows, key=lambda p: p.end)
        results[dao] = {}
        for f in FRACTIONS:
            y, p_model, p_leader, p_current, mae_model, mae_current = [], [], [], [], [], []
            history_only = 0
            fitted_on = -1
            for target in rows:
                if since is not None and target.start < since:
                    history_only += 1
                    continue
                past = [p for p in by_end if p.end < target.start]
                if len(past) < MIN_TRAIN or len({p.passed for p in past}) < 2:
                    history_only += 1
                    continue
                if fitted_on < 0 or len(past) - fitted_on >= refit_every:
                    fit = fit_live(past, f, tallies=t.at, finals=t.final)
                    assert fit is not None  # enough past proposals with both outcomes: checked above
                    fitted_on = len(past)
                for_, against, other, _ = t.at[(target.id, f)]
                y.append(target.passed)
                p_fit, expected = fit.predict(t.at[(target.id, f)])
                p_model.append(p_fit)
                p_leader.append(0.99 if for_ > against else 0.01 if against > for_ else 0.5)
                p_current.append(float(np.clip(share_for(for_, against), 1e-3, 1 - 1e-3)))
                now, actual = shares(for_, against, other), shares(*t.final[target.id][:3])
                mae_model.append(_mae(expected, actual))
                mae_current.append(_mae(now, actual))
            if not y:
                results[dao][f"{f:.2f}"] = {"n": 0, "history_only": history_only}
                continue

            def block(p: list[float], mae: list[float] | None, y: list[int] = y) -> dict[str, float | None]:
                return {"brier": brier(p, y), "log_loss": log_loss(p, y), "accuracy": accuracy(p, y),
                        "share_mae": sum(mae) / len(mae) if mae else None}

            results[dao][f"{f:.2f}"] = {
                "n": len(y), "history_only": history_only, "pass_rate": sum(y) / len(y),
                "model": block(p_model, mae_model), "current_leader_wins": block(p_leader, None),
                "current_shares_final": block(p_current, mae_current),
            }
    return results


def render_live(results: dict[str, Any]) -> str:
    """Markdown: per DAO and fraction, Brier / accuracy of each forecaster and the share MAE."""
    lines = [("| DAO | elapsed | n | model Brier / acc | leader wins Brier / acc | current shares final Brier / acc | "
              "share MAE model / current |"), "|---|---|---|---|---|---|---|"]
    for dao, by_f in results.get("per_dao", results).items():
        if not isinstance(by_f, dict):
            continue
        for f, r in by_f.items():
            if not r.get("n"):
                continue

            def cell(name: str, r: dict[str, Any] = r) -> str:
                return f"{r[name]['brier']:.3f} / {r[name]['accuracy']:.3f}"

            lines.append(f"| {dao} | {float(f):.0%} | {r['n']} | {cell('model')} | {cell('current_leader_wins')} | "
                         f"{cell('current_shares_final')} | {r['model']['share_mae']:.3f} / "
                         f"{r['current_shares_final']['share_mae']:.3f} |")
    return "\n".join(lines) + "\n"
