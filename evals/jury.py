"""A simulated jury, evaluated voter by voter walk-forward on per-voter votes (Compound GovernorBravo, Decentraland).

Each known voter's probability of voting For, Against or other on a proposal comes from their own votes on
proposals of the same DAO that had *closed* before it opened (Laplace-smoothed towards the DAO's past choice mix).
Scored on every vote by a voter with at least one such earlier vote, against "votes as last time" and "votes with
the (DAO's past) majority", in the same run (log loss over the three choices, accuracy). The jury's predicted For
share (voting-power-weighted over the proposal's known voters) is compared with the actual For share of those voters;
note that this uses who turned out, which is only known after the vote. Used by ``concord eval jury``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

from evals.live import LiveProposal

__all__ = ["render_jury", "run_jury"]

_CHOICES = ("for", "against", "other")
_SURE = 0.9  # the baselines' confidence in their one predicted choice


def _loss(p: dict[str, float], choice: str) -> float:
    return -math.log(max(p[choice], 1e-6))


def run_jury(proposals: list[LiveProposal], *, alpha: float = 2.0) -> dict[str, Any]:
    """Per DAO: voter-by-voter log loss and accuracy of the jury and the two baselines, and the jury's share error."""
    out: dict[str, Any] = {}
    for dao in sorted({p.dao for p in proposals}):
        rows = sorted((p for p in proposals if p.dao == dao), key=lambda p: p.start)
        by_end = sorted(rows, key=lambda p: p.end)
        losses: dict[str, list[float]] = defaultdict(list)
        hits: dict[str, list[int]] = defaultdict(list)
        share_err: list[float] = []
        for target in rows:
            past = [p for p in by_end if p.end < target.start]
            mix: Counter[str] = Counter(choice for p in past for _, choice, _ in p.voters)
            history = _histories(past)
            if not mix:
                continue
            total = sum(mix.values())
            prior = {c: (mix[c] + 1) / (total + 3) for c in _CHOICES}
            majority = max(_CHOICES, key=lambda c: mix[c])
            jury_for = jury_against = actual_for = actual_against = 0.0
            for voter, choice, vp in _voters(target):
                seen = history.get(voter)
                if not seen:
                    continue
                counts = Counter(seen)
                jury = {c: (counts[c] + alpha * prior[c]) / (len(seen) + alpha) for c in _CHOICES}
                last = {c: _SURE if c == seen[-1] else (1 - _SURE) / 2 for c in _CHOICES}
                major = {c: _SURE if c == majority else (1 - _SURE) / 2 for c in _CHOICES}
                for name, p in (("jury", jury), ("as_last_time", last), ("with_majority", major)):
                    losses[name].append(_loss(p, choice))
                    hits[name].append(int(max(_CHOICES, key=lambda c, p=p: p[c]) == choice))
                jury_for += vp * jury["for"]
                jury_against += vp * jury["against"]
                actual_for += vp * (choice == "for")
                actual_against += vp * (choice == "against")
            if jury_for + jury_against > 0 and actual_for + actual_against > 0:
                share_err.append(abs(jury_for / (jury_for + jury_against) - actual_for / (actual_for + actual_against)))
        out[dao] = {
            "n_votes": len(losses["jury"]),
            **{name: {"log_loss": sum(v) / len(v), "accuracy": sum(hits[name]) / len(hits[name])}
               for name, v in losses.items() if v},
            "jury_for_share_mae": sum(share_err) / len(share_err) if share_err else None,
            "n_proposals_with_shares": len(share_err),
        }
    return out


def _voters(p: LiveProposal) -> list[tuple[str, str, float]]:
    return list(p.voters)


def _histories(past: list[LiveProposal]) -> dict[str, list[str]]:
    history: dict[str, list[str]] = defaultdict(list)
    for p in sorted(past, key=lambda p: p.start):
        for voter, choice, _ in _voters(p):
            history[voter].append(choice)
    return history


def render_jury(results: dict[str, Any]) -> str:
    lines = ["| DAO | votes scored | jury log loss / acc | as last time | with the majority | jury For-share MAE |",
             "|---|---|---|---|---|---|"]
    for dao, r in results.get("per_dao", results).items():
        if not isinstance(r, dict) or not r.get("n_votes"):
            continue

        def cell(name: str, r: dict[str, Any] = r) -> str:
            return f"{r[name]['log_loss']:.3f} / {r[name]['accuracy']:.3f}"

        mae = r.get("jury_for_share_mae")
        lines.append(f"| {dao} | {r['n_votes']} | {cell('jury')} | {cell('as_last_time')} | {cell('with_majority')} | "
                     f"{'–' if mae is None else f'{mae:.3f}'} |")
    return "\n".join(lines) + "\n"
