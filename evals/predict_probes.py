"""Pre-vote signals tried beyond the product's feature families, each measured on the product's configuration.

Every row is one walk-forward run over the same data and the same scored proposals as ``concord eval
predict-ablation`` (opened on or after ``since``): the store predictor's configuration (pooled model, text family,
per-DAO or common calibration and recency weighting chosen walk-forward), alone and with one probe's features
appended. A probe reads only what was public when the proposal opened, as the product's families do:

- ``turnout``: the proposal's pass threshold (Decentraland's ``threshold_vp``, set when it is created) against the
  total voting power cast on the DAO's, the kind's and the proposer's earlier *closed* proposals, and the share of
  the kind's recent proposals whose total reached their threshold;
- ``proposer_recency``: the proposer's record in more detail than the product's pass rate: on the same kind, the last
  outcome, the last three, a 90-day half-life rate, proposals opened in the last 7 days, days since the last close;
- ``similar_voters``: the voting-power-weighted For share cast on the 10 most similar earlier closed proposals with
  per-voter votes (MiniLM), and the 20 largest recent voters' For share on them.

It also states, in hindsight (never a feature), how Decentraland's scored proposals ended relative to their threshold:
the share whose total cast power reached it, and the pass rate among those, i.e. whether outcomes turn on turnout or
on the split between Yes and No.

    python -m evals.predict_probes --data ../shared/data --since 2023-01-01
      # writes evals/results/predict_probes.json; `concord eval readme` renders it

The probes were written after looking at these same 2023+ windows; none is in the product.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent.predict.features import FeatureProbe
from agent.predict.loader import load_directory
from agent.predict.records import DAY, GovData, HistoryProposal
from agent.predict.text_neighbours import unit_vectors
from agent.predict.walkforward import DAO_CALIBRATION_CANDIDATES, walk_forward
from evals.predict import parse_since
from evals.predict_ablation import summarise_run

__all__ = ["ProposerRecencyProbe", "SimilarVotersProbe", "TurnoutProbe", "raw_totals", "render_probes", "run_probes",
           "threshold_outcomes"]

_PASSED = ("passed", "passed_vote_out_of_budget", "enacted", "executed", "queued")


def raw_totals(data_dir: Path) -> dict[str, tuple[float | None, float | None]]:
    """proposal id -> (pass threshold, total voting power cast) from ``proposals.jsonl`` (None where absent).

    The threshold is known when the proposal is created; the total is a label of that proposal, read by the
    probes only for *other* proposals once they had closed.
    """
    out: dict[str, tuple[float | None, float | None]] = {}
    with (data_dir / "proposals.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            total = row.get("scores_total")
            if total is None and isinstance(row.get("scores"), list):
                total = sum(float(s) for s in row["scores"] if isinstance(s, (int, float)))
            threshold = row.get("threshold_vp")
            out[str(row.get("id"))] = (float(threshold) if threshold else None, float(total) if total is not None else None)
    return out


def _closed_labelled(data: GovData) -> list[HistoryProposal]:
    return sorted((p for p in data.proposals if p.has_label), key=lambda p: (p.closed_at, p.id))


class TurnoutProbe:
    """The proposal's threshold against the total power cast on earlier closed proposals (log scale)."""

    names = ("turnout_has_threshold", "turnout_threshold_vs_dao", "turnout_threshold_vs_kind",
             "turnout_kind_reached_rate", "turnout_proposer_vs_threshold", "turnout_dao_log_median")

    def __init__(self, data: GovData, totals: dict[str, tuple[float | None, float | None]]) -> None:
        self._threshold = {pid: t for pid, (t, _) in totals.items()}
        self._past: dict[str, list[tuple[float, str, str | None, float, float | None]]] = defaultdict(list)
        for p in _closed_labelled(data):
            threshold, total = totals.get(p.id, (None, None))
            if total is not None:
                self._past[p.dao].append((float(p.closed_at), p.kind, p.author,  # type: ignore[arg-type]
                                          math.log1p(total), math.log1p(threshold) if threshold else None))
        self._times = {dao: [row[0] for row in rows] for dao, rows in self._past.items()}

    def features(self, proposal: HistoryProposal) -> list[float]:
        assert proposal.opened_at is not None
        rows = self._past.get(proposal.dao, [])
        past = rows[: bisect.bisect_left(self._times.get(proposal.dao, []), proposal.opened_at)]
        if not past:
            return [0.0] * len(self.names)
        threshold = self._threshold.get(proposal.id)
        log_threshold = math.log1p(threshold) if threshold else 0.0
        recent = sorted(row[3] for row in past[-50:])
        median = recent[len(recent) // 2]
        kind = [row for row in past if row[1] == proposal.kind][-20:]
        kind_mean = sum(row[3] for row in kind) / len(kind) if kind else median
        reached = [row[3] >= row[4] for row in kind if row[4] is not None]
        reached_rate = (sum(reached) + 1.0) / (len(reached) + 2.0)
        mine = [row[3] for row in past if proposal.author and row[2] == proposal.author][-10:]
        mine_mean = (sum(mine) + 2.0 * kind_mean) / (len(mine) + 2.0)
        if not threshold:
            return [0.0, 0.0, 0.0, reached_rate, 0.0, median]
        return [1.0, log_threshold - median, log_threshold - kind_mean, reached_rate, mine_mean - log_threshold, median]


class ProposerRecencyProbe:
    """The proposer's record: same kind, last outcomes, a recency-weighted rate, their pace."""

    names = ("proposer_kind_rate", "log_proposer_kind_n", "proposer_last_passed", "proposer_last_failed",
             "proposer_last3_rate", "proposer_rate_90d_half_life", "log_proposer_opened_7d", "log_days_since_proposer_close")

    def __init__(self, data: GovData) -> None:
        self._closed: dict[tuple[str, str], list[HistoryProposal]] = defaultdict(list)
        for p in _closed_labelled(data):
            if p.author:
                self._closed[(p.dao, p.author)].append(p)
        self._opened: dict[tuple[str, str], list[float]] = defaultdict(list)
        for p in data.proposals:
            if p.author and p.opened_at is not None:
                self._opened[(p.dao, p.author)].append(p.opened_at)
        for times in self._opened.values():
            times.sort()

    def features(self, proposal: HistoryProposal) -> list[float]:
        at = proposal.opened_at
        assert at is not None
        key = (proposal.dao, proposal.author or "")
        past = [p for p in self._closed.get(key, []) if p.closed_at < at]  # type: ignore[operator]
        same = [p for p in past if p.kind == proposal.kind]
        last = past[-1].outcome if past else None
        last3 = past[-3:]
        weights = [0.5 ** ((at - float(p.closed_at)) / (90 * DAY)) for p in past]  # type: ignore[arg-type]
        passed_weight = sum(w for w, p in zip(weights, past, strict=True) if p.outcome)
        opened = self._opened.get(key, [])
        burst = bisect.bisect_left(opened, at) - bisect.bisect_left(opened, at - 7 * DAY)
        days = (at - float(past[-1].closed_at)) / DAY if past else 365.0  # type: ignore[arg-type]
        return [
            (sum(1 for p in same if p.outcome) + 1.0) / (len(same) + 2.0), math.log1p(len(same)),
            1.0 if last else 0.0, 1.0 if last is False else 0.0,
            (sum(1 for p in last3 if p.outcome) + 1.0) / (len(last3) + 2.0),
            (passed_weight + 1.0) / (sum(weights) + 2.0), math.log1p(burst), math.log1p(max(days, 0.0)),
        ]


class SimilarVotersProbe:
    """How voters voted on the most similar earlier closed proposals of the DAO that have per-voter votes."""

    names = ("similar_for_share", "similar_max_sim", "similar_whales_for_share")

    def __init__(self, data: GovData, embed: Callable[[list[str]], Any], *, k: int = 10, whales: int = 20,
                 electorate_window: int = 30) -> None:
        self.k, self.whales, self.window = k, whales, electorate_window
        self._vector = unit_vectors(data.proposals, embed)
        voted = [p for p in _closed_labelled(data) if data.votes_by_proposal.get(p.id)]
        self._voted: dict[str, list[HistoryProposal]] = defaultdict(list)
        for p in voted:
            self._voted[p.dao].append(p)
        self._times = {dao: [float(p.closed_at) for p in rows] for dao, rows in self._voted.items()}  # type: ignore[arg-type]
        self._matrix = {dao: np.stack([self._vector[p.id] for p in rows]) for dao, rows in self._voted.items()}
        self._ballots: dict[str, dict[str, tuple[str, float]]] = {
            p.id: {voter: (choice, vp) for voter, choice, vp in data.votes_by_proposal[p.id]} for p in voted}
        self._for_share: dict[str, float] = {}
        for p in voted:
            f = sum(vp for choice, vp in self._ballots[p.id].values() if choice == "for")
            a = sum(vp for choice, vp in self._ballots[p.id].values() if choice == "against")
            self._for_share[p.id] = (f + 1.0) / (f + a + 2.0)

    def features(self, proposal: HistoryProposal) -> list[float]:
        assert proposal.opened_at is not None
        v = self._vector.get(proposal.id)
        n = bisect.bisect_left(self._times.get(proposal.dao, []), proposal.opened_at)
        if v is None or n == 0:
            return [0.5, 0.0, 0.5]
        rows = self._voted[proposal.dao][:n]
        sims = self._matrix[proposal.dao][:n] @ v
        top = np.argsort(-sims)[: self.k]
        weights = np.clip(sims[top], 0.0, None)
        share = (float(sum(w * self._for_share[rows[i].id] for w, i in zip(weights, top, strict=True))) + 0.5) / (
            float(weights.sum()) + 1.0)
        latest: dict[str, float] = {}
        for p in rows[-self.window:]:
            for voter, (_, vp) in self._ballots[p.id].items():
                latest[voter] = vp
        whales = sorted(latest, key=lambda w: (-latest[w], w))[: self.whales]
        num = den = 0.0
        for w, i in zip(weights, top, strict=True):
            ballots = self._ballots[rows[i].id]
            for whale in whales:
                if whale in ballots and ballots[whale][0] != "other":
                    num += w * latest[whale] * (ballots[whale][0] == "for")
                    den += w * latest[whale]
        return [share, float(sims[top[0]]), (num + 0.5) / (den + 1.0) if den else 0.5]


def threshold_outcomes(data: GovData, totals: dict[str, tuple[float | None, float | None]], *, dao: str,
                       since: float) -> dict[str, Any]:
    """Hindsight, not a feature: of ``dao``'s scored proposals with a threshold and a total, how many reached it
    and how those ended."""
    rows = [(p, *totals[p.id]) for p in data.proposals
            if p.dao == dao and p.has_label and p.opened_at is not None and p.opened_at >= since
            and p.id in totals and totals[p.id][0] and totals[p.id][1] is not None]
    reached = [p for p, threshold, total in rows if total >= threshold]  # type: ignore[operator]
    short = [p for p, threshold, total in rows if total < threshold]  # type: ignore[operator]

    def rate(items: Sequence[HistoryProposal]) -> float | None:
        return sum(1 for p in items if p.outcome) / len(items) if items else None

    return {"dao": dao, "n": len(rows), "reached_threshold": len(reached), "pass_rate_reached": rate(reached),
            "short_of_threshold": len(short), "pass_rate_short": rate(short)}


PROBES: dict[str, str] = {
    "turnout": "+ turnout: threshold against the power cast on earlier closed proposals (DAO, kind, proposer)",
    "proposer_recency": "+ proposer recency: same-kind rate, last outcomes, 90-day half-life rate, pace",
    "similar_voters": "+ similar voters: For share and whales' For share on the 10 most similar earlier voted proposals",
}


def run_probes(data_dir: str | Path, *, since: str = "2023-01-01", embed: Callable[[list[str]], Any],
               probes: Sequence[str] = tuple(PROBES), log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """The product configuration alone and with each probe, on one scoring set; plus the threshold hindsight."""
    root = Path(data_dir)
    data = load_directory(root)
    totals = raw_totals(root)
    cutoff = parse_since(since)
    makers: dict[str, Callable[[], FeatureProbe]] = {
        "turnout": lambda: TurnoutProbe(data, totals),
        "proposer_recency": lambda: ProposerRecencyProbe(data),
        "similar_voters": lambda: SimilarVotersProbe(data, embed),
    }
    results: dict[str, Any] = {"config": {"data": str(data_dir), "since": since, "families": ["text"],
                                          "select": True, "candidates": "DAO_CALIBRATION_CANDIDATES"},
                               "rows": {}, "labels": {"product": "the store predictor's configuration (text; "
                                                      "per-DAO or common calibration chosen walk-forward)", **PROBES}}
    for key in ("product", *probes):
        started = time.monotonic()
        result = walk_forward(data, since=cutoff, families=("text",), embed=embed, select=True,
                              candidates=DAO_CALIBRATION_CANDIDATES,
                              probe=makers[key]() if key != "product" else None)
        results["rows"][key] = {**summarise_run(result), "seconds": round(time.monotonic() - started, 1)}
        row = results["rows"][key]
        log(f"{key}: Brier {row['brier']:.4f}, AUC {row['roc_auc']:.3f} ({row['seconds']} s)")
    results["hindsight"] = threshold_outcomes(data, totals, dao="decentraland", since=cutoff)
    return results


def render_probes(results: dict[str, Any]) -> str:
    """The Markdown table of the probe rows and the hindsight line."""
    rows = results["rows"]
    daos = sorted({dao for row in rows.values() for dao in row["per_dao"]})
    head = "| Features | Brier ↓ | ÷ best baseline | AUC ↑ | ECE ↓ | " + " | ".join(f"{d} Brier / AUC / ECE" for d in daos) + " |"
    intro = (f"Walk-forward, scored on proposals opened on or after {results['config']['since']} "
             f"(the same {rows['product']['n']} in every row).")
    lines = [intro, "", head, "|---" * (5 + len(daos)) + "|"]
    for key in sorted(rows, key=lambda k: (k != "product", list(PROBES).index(k) if k in PROBES else len(PROBES), k)):
        row = rows[key]
        cells = []
        for dao in daos:
            info = row["per_dao"].get(dao)
            cells.append(f"{info['brier']:.3f} / {info['roc_auc']:.3f} / {info['ece']:.3f}" if info else "–")
        lines.append(f"| {results['labels'][key]} | {row['brier']:.4f} | {row['brier'] / row['best_baseline_brier']:.3f} | "
                     f"{row['roc_auc']:.3f} | {row['ece']:.3f} | " + " | ".join(cells) + " |")
    h = results.get("hindsight") or {}
    if h.get("n"):
        lines += ["", f"Hindsight (not a feature): of {h['n']} scored {h['dao']} proposals, {h['reached_threshold']} "
                  f"({h['reached_threshold'] / h['n']:.0%}) drew a total voting power at or above their pass threshold; "
                  f"{h['pass_rate_reached']:.0%} of those passed, "
                  + (f"{h['pass_rate_short']:.0%} of the {h['short_of_threshold']} short of it."
                     if h["short_of_threshold"] else "none fell short.")]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="directory in the shared data format")
    parser.add_argument("--since", default="2023-01-01", help="score proposals opened on or after this date")
    parser.add_argument("--out", type=Path, default=Path("evals/results/predict_probes.json"))
    parser.add_argument("--vector-cache", type=Path, default=Path("evals/results/tmp/proposal_vectors.sqlite"),
                        help="SQLite cache of MiniLM vectors of proposal texts (shared with predict-ablation)")
    parser.add_argument("--probes", default=",".join(PROBES), help=f"comma-separated, of {', '.join(PROBES)}")
    args = parser.parse_args(argv)
    from embeddings import CachedEmbedder, SentenceTransformerEmbedder, VectorCache, minilm_path

    chosen = [p.strip() for p in args.probes.split(",") if p.strip()]
    unknown = sorted(set(chosen) - set(PROBES))
    if unknown:
        parser.error(f"unknown probes {unknown}; choose from {', '.join(PROBES)}")
    encoder = CachedEmbedder(SentenceTransformerEmbedder(minilm_path()), VectorCache(args.vector_cache))
    results = run_probes(args.data, since=args.since, embed=encoder.embed_batch, probes=chosen, log=print)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return results


if __name__ == "__main__":
    main()
