"""Read a directory in the format of the shared governance data (proposals.jsonl, votes.jsonl, posts.jsonl,
proposal_updates.jsonl) into :class:`GovData`.

Time rules, all conservative (a proposal is never treated as closed earlier than it really was):

- ``opened_at`` = the earliest of ``created`` and ``start`` (or the estimated time of ``start_block``).
- ``closed_at`` = ``end``; else the estimated time of ``end_block`` plus one day of slack; else ``opened_at``
  plus 14 days (Lido's Aragon votes and similar rows with no end at all).
- Outcomes: ``passed`` (and Decentraland's ``passed_vote_out_of_budget``) -> passed, ``failed`` -> failed;
  ``cancelled``, ``null`` (open, or not derived, e.g. Arbitrum Tally/Snapshot) -> skipped and counted.
- Rows with no time at all (Nouns) are skipped and counted.
- Known errors of the shared data are corrected first, by :func:`ingest.sample.corrections.correct_proposal_row` (the
  sample builder uses it too): Compound GovernorBravo/Alpha and Uniswap GovernorAlpha(V2) ``scores`` are stored
  For-first while ``choices`` say Against/For(/Abstain), and outcomes derived from those swapped scores are re-derived.
- Per-choice scores: where per-voter votes for a proposal are present and their voting power sums to within 1% of
  ``scores_total``, the scores are recomputed from the votes by choice label (they agree with the corrected scores).
  Decentraland scores come from complete ``proposal_updates.jsonl`` rows.

Posts (``posts.jsonl``) are linked to proposals by their own ``proposal_ids`` and by explicit URL references in
their text (:mod:`agent.predict.links`: the proposal's forum topic, its page, its Snapshot id). A post time without a
time zone (the Discord exports give the exporter's local time, zone unstated) is taken as the *latest* UTC instant it
could denote, i.e. 12 hours later (UTC-12 is the westernmost zone), so a post only counts as written before a
proposal opened when it was, whatever the zone. Every post is counted once under ``GovData.post_stats``.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.predict.clock import BlockClock
from agent.predict.links import METHODS, LinkIndex, build_link_index
from agent.predict.records import DAY, GovData, HistoryPost, HistoryProposal, canonical_choice
from ingest.core.errors import InputError
from ingest.sample.corrections import correct_proposal_row

__all__ = ["NAIVE_POST_TIME_SLACK", "has_zone", "load_directory", "parse_time"]

_PASSED = {"passed", "passed_vote_out_of_budget", "executed", "queued"}
_FAILED = {"failed", "rejected", "defeated"}
_BLOCK_SLACK = 1 * DAY
_UNKNOWN_DURATION = 14 * DAY
#: Added to post times that carry no time zone: the latest UTC instant a local time can denote (zone UTC-12).
NAIVE_POST_TIME_SLACK = 12 * 3600.0
_ZONE = re.compile(r"(Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


def parse_time(value: Any) -> float | None:
    """Unix seconds from an int/float timestamp (seconds or milliseconds) or an ISO string (naive = UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        v = float(value)
        return v / 1000.0 if v > 1e12 else v
    text = str(value).strip().replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def has_zone(value: Any) -> bool:
    """True when ``value`` pins an instant: a unix timestamp, or an ISO string with ``Z`` or a UTC offset."""
    if isinstance(value, (int, float)):
        return True
    return bool(_ZONE.search(str(value or "").strip()))


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{n} is not valid JSON ({exc.msg}); fix or remove that line") from exc


def _outcome(raw: Any) -> tuple[bool | None, str]:
    text = str(raw).strip().lower() if raw is not None else ""
    if text in _PASSED:
        return True, "passed"
    if text in _FAILED:
        return False, "failed"
    if text in {"cancelled", "canceled"}:
        return None, "cancelled"
    return None, "no-outcome" if not text else f"other:{text}"


def _floats(values: Any) -> tuple[float, ...] | None:
    if not isinstance(values, list) or not values:
        return None
    try:
        return tuple(float(v) for v in values)
    except (TypeError, ValueError):
        return None


def _from_votes(row: dict[str, Any], sums: dict[str, float] | None) -> tuple[float, ...] | None:
    """Per-choice scores summed from votes, when they account for the proposal's whole ``scores_total``."""
    choices, total = row.get("choices"), row.get("scores_total")
    if not sums or not isinstance(choices, list) or not total:
        return None
    if abs(sum(sums.values()) - float(total)) > 0.01 * abs(float(total)):
        return None
    labels = {str(c).strip().lower() for c in choices}
    if not set(sums) <= labels:
        return None
    return tuple(sums.get(str(c).strip().lower(), 0.0) for c in choices)


def _proposal(
    row: dict[str, Any], clock: BlockClock, update: dict[str, Any] | None, vote_sums: dict[str, float] | None = None
) -> HistoryProposal:
    created = parse_time(row.get("created"))
    start = parse_time(row.get("start"))
    if start is None and row.get("start_block") is not None:
        start = clock.time_of(int(row["start_block"]))
    end = parse_time(row.get("end"))
    if end is None and row.get("end_block") is not None:
        end = clock.time_of(int(row["end_block"])) + _BLOCK_SLACK
    known = [t for t in (created, start) if t is not None]
    opened = min(known) if known else None
    closed = end if end is not None else (opened + _UNKNOWN_DURATION if opened is not None else None)
    if closed is not None and opened is not None and closed < opened:
        closed = opened
    outcome, status = _outcome(row.get("outcome"))
    if opened is None and status in {"passed", "failed"}:
        outcome, status = None, "no-time"
    choices = tuple(str(c) for c in row["choices"]) if isinstance(row.get("choices"), list) else None
    scores = _from_votes(row, vote_sums) or _floats(row.get("scores"))
    if update and update.get("complete") and update.get("scores_from_votes"):
        vote_choices = [str(c) for c in update.get("choices_from_votes") or []]
        vote_scores = _floats(update.get("scores_from_votes")) or ()
        if choices and len(vote_choices) == len(vote_scores):
            by_label = {c.strip().lower(): s for c, s in zip(vote_choices, vote_scores, strict=True)}
            scores = tuple(float(by_label.get(c.strip().lower(), 0.0)) for c in choices)
        elif len(vote_choices) == len(vote_scores):
            choices, scores = tuple(vote_choices), tuple(vote_scores)
    if choices is not None and scores is not None and len(choices) != len(scores):
        scores = None
    platform = str(row.get("platform") or "")
    kind = str(row.get("proposal_type") or platform.split(" ")[0] or "")
    author = row.get("author")
    return HistoryProposal(
        id=str(row["id"]),
        dao=str(row.get("dao") or ""),
        platform=platform,
        kind=kind,
        title=str(row.get("title") or ""),
        body=str(row.get("body") or row.get("short_description") or ""),
        author=str(author).strip().lower() if author else None,
        opened_at=opened,
        closed_at=closed,
        outcome=outcome,
        status=status,
        choices=choices,
        scores=scores,
    )


def load_directory(path: str | Path) -> GovData:
    """Load ``path`` (a directory with at least ``proposals.jsonl``) into :class:`GovData`."""
    root = Path(path)
    proposals_file = root / "proposals.jsonl"
    if not proposals_file.is_file():
        raise InputError(
            f"No proposals.jsonl in {root}: pass --data a directory in the shared data format "
            "(proposals.jsonl, optional votes.jsonl, posts.jsonl, proposal_updates.jsonl)"
        )
    notes: list[str] = []
    anchors: list[tuple[int, float]] = []
    voter_power: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    vote_sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    votes_by_proposal: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    for name in ("votes.jsonl", "votes.jsonl.gz", "votes_decentraland.jsonl.gz"):
        vote_file = root / name
        if not vote_file.is_file():
            continue
        for row in _jsonl(vote_file):
            if name == "votes.jsonl" and row.get("proposal_id") and row.get("choice") is not None:
                vote_sums[str(row["proposal_id"])][str(row["choice"]).strip().lower()] += float(row.get("vp") or 0.0)
            ts = parse_time(row.get("created"))
            if ts is None:
                continue
            if row.get("block_number") is not None:
                anchors.append((int(row["block_number"]), ts))
            voter = row.get("voter")
            if voter and row.get("proposal_id") and row.get("choice") is not None:
                votes_by_proposal[str(row["proposal_id"])].append(
                    (str(voter).lower(), canonical_choice(str(row["choice"])), float(row.get("vp") or 0.0)))
            if voter:
                voter_power[(str(row.get("dao") or ""), str(voter).lower())].append((ts, float(row.get("vp") or 0.0)))
    for series in voter_power.values():
        series.sort()
    clock = BlockClock(anchors)
    updates: dict[str, dict[str, Any]] = {}
    updates_file = root / "proposal_updates.jsonl"
    if updates_file.is_file():
        updates = {str(r["id"]): r for r in _jsonl(updates_file) if r.get("id")}
    rows = [correct_proposal_row(row) for row in _jsonl(proposals_file) if row.get("id")]
    proposals = [
        _proposal(row, clock, updates.get(str(row.get("id"))), vote_sums.get(str(row.get("id")))) for row in rows
    ]
    posts_by_proposal: dict[str, list[HistoryPost]] = {}
    stats: dict[str, Any] = {}
    posts_file = root / "posts.jsonl"
    if posts_file.is_file():
        posts_by_proposal, stats = _load_posts(posts_file, build_link_index(rows), {p.id for p in proposals})
    else:
        notes.append("no posts.jsonl: discussion features are zero")
    return GovData(
        proposals=proposals,
        posts_by_proposal=posts_by_proposal,
        voter_power=dict(voter_power),
        votes_by_proposal=dict(votes_by_proposal),
        notes=notes,
        post_stats=stats,
    )


def _load_posts(
    path: Path, index: LinkIndex, known: set[str]
) -> tuple[dict[str, list[HistoryPost]], dict[str, Any]]:
    """Posts linked to proposals (by ``proposal_ids`` and by explicit URLs), and counts of what happened to each post.

    Counts: ``read``; ``linked`` / ``unlinked``; of the linked, ``linked_without_time`` (usable for nothing that needs
    time) and ``linked_naive_time`` (zone unknown, shifted by :data:`NAIVE_POST_TIME_SLACK`); ``links_by_method``
    counts (post, proposal) pairs under the first method that found them (``given`` = the row's ``proposal_ids``);
    ``given_unknown_proposal`` counts ``proposal_ids`` entries naming no proposal in the directory (dropped).
    """
    by_proposal: dict[str, list[HistoryPost]] = defaultdict(list)
    methods: dict[str, int] = {m: 0 for m in ("given", *METHODS)}
    stats: dict[str, Any] = {"read": 0, "linked": 0, "unlinked": 0, "linked_without_time": 0, "linked_naive_time": 0,
                             "given_unknown_proposal": 0}
    for row in _jsonl(path):
        stats["read"] += 1
        text = str(row.get("text") or "")
        found: dict[str, str] = {}
        for pid in (str(i) for i in row.get("proposal_ids") or ()):
            if pid in known:
                found.setdefault(pid, "given")
            else:
                stats["given_unknown_proposal"] += 1
        for pid, method in index.link(text).items():
            found.setdefault(pid, method)
        if not found:
            stats["unlinked"] += 1
            continue
        stats["linked"] += 1
        for method in found.values():
            methods[method] += 1
        raw = row.get("created")
        created = parse_time(raw)
        if created is None:
            stats["linked_without_time"] += 1
        elif not has_zone(raw):
            stats["linked_naive_time"] += 1
            created += NAIVE_POST_TIME_SLACK
        post = HistoryPost(
            dao=str(row.get("dao") or ""),
            proposal_ids=tuple(found),
            text=text,
            author=str(row["author"]).lower() if row.get("author") else None,
            created=created,
        )
        for pid in found:
            by_proposal[pid].append(post)
    stats["links_by_method"] = methods
    return dict(by_proposal), stats
