"""Prior art for a draft: the DAO's most similar earlier proposals (MiniLM over title + body, or BM25 without an
encoder), each with its outcome, vote shares and the objections and requested changes its discussion raised, and
a warning when one is a near-duplicate of the idea.

Objections come through :class:`RoomSource`; :class:`StoredRoomSource` reads the stored consensus reports' JSON
(``requested_changes``, ``camps``, ``cruxes``), and :class:`governance.prior_rooms.RoomStructureSource` (what the
drafting service uses) computes the same room structure for a discussion that has no stored report. Forum text is
quoted as data, never followed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from sqlmodel import Session, col, or_, select

from embeddings.hybrid import tokenize
from ingest.core.domain import Dao, Post, Proposal, Thread
from ingest.core.domain.reports import ReportRecord

__all__ = ["NEAR_DUPLICATE", "NEAR_DUPLICATE_FLOOR", "NEAR_DUPLICATE_TITLE", "NOT_READ", "Candidates", "Point", "PriorArt", "PriorProposal",
           "RoomSource", "StoredRoomSource", "TextEmbedder", "discussion_thread", "find_prior_art", "near_duplicates",
           "score_candidates"]

#: The near-duplicate warning flags a candidate whose MiniLM cosine with the idea (title + body opening) is at or
#: above NEAR_DUPLICATE while its title alone is at least NEAR_DUPLICATE_FLOOR, or whose title alone is at or above
#: NEAR_DUPLICATE_TITLE. Chosen on the train split of `python -m evals.near_dup` (real Arbitrum and Compound
#: proposals; best F1) and scored once on its held-out split (evals/results/near_dup.json). The body-only rule
#: (0.6, with no title floor) flagged every templated STIP application as a copy of another.
NEAR_DUPLICATE = 0.775
#: See NEAR_DUPLICATE.
NEAR_DUPLICATE_TITLE = 0.65
#: See NEAR_DUPLICATE.
NEAR_DUPLICATE_FLOOR = 0.4
#: Characters of title + body the encoder reads per proposal (MiniLM reads ~256 tokens at most; shorter is faster).
EMBED_CHARS = 300
#: How many BM25 candidates the encoder reranks (keeps a cold first draft to a few seconds).
SHORTLIST = 40

_TOPIC = re.compile(r"/t/(?:[^/]+/)?(\d+)")


class TextEmbedder(Protocol):
    def embed_batch(self, texts: Sequence[str]) -> Any: ...


@dataclass(frozen=True)
class Point:
    """One objection or requested change, quoted from a post, with where it came from."""

    kind: str  # "objection" or "requested_change"
    quote: str
    url: str | None
    post_id: int | None = None
    status: str | None = None  # for requested changes: open / answered / adopted


@dataclass(frozen=True)
class RoomPoints:
    objections: list[Point] = field(default_factory=list)
    requested_changes: list[Point] = field(default_factory=list)
    method: str = ""


@runtime_checkable
class RoomSource(Protocol):
    """The main objections and requested changes of one stored proposal's discussion."""

    def points(self, session: Session, proposal: Proposal, *, limit: int = 3) -> RoomPoints: ...

    def thread_points(self, session: Session, thread: Thread, *, limit: int = 3) -> RoomPoints: ...


def _citation(c: Any) -> tuple[str, str | None, int | None] | None:
    if not isinstance(c, dict) or not str(c.get("quote", "")).strip():
        return None
    return str(c["quote"]).strip(), c.get("url"), c.get("post_id")


def points_from_report(data: dict[str, Any], *, limit: int = 3) -> RoomPoints:
    """Objections (against-camp quotes, then the against side of cruxes) and requested changes of a
    ``concord.report/2`` JSON; keys that are absent give empty lists."""
    objections: list[Point] = []
    for camp in data.get("camps") or []:
        if isinstance(camp, dict) and camp.get("stance") == "against":
            for q in camp.get("quotes") or []:
                if (c := _citation(q)) is not None:
                    objections.append(Point("objection", *c))
    for crux in data.get("cruxes") or []:
        sides = crux.get("sides") if isinstance(crux, dict) else None
        if isinstance(sides, dict) and (c := _citation(sides.get("against"))) is not None:
            objections.append(Point("objection", *c))
    changes: list[Point] = []
    for change in data.get("requested_changes") or []:
        if isinstance(change, dict) and (c := _citation(change.get("request") or change.get("answer"))) is not None:
            changes.append(Point("requested_change", *c, status=change.get("status")))
    return RoomPoints(_unique(objections)[:limit], _unique(changes)[:limit], "consensus report")


def _unique(points: list[Point]) -> list[Point]:
    seen: set[str] = set()
    out = []
    for p in points:
        if p.quote not in seen:
            seen.add(p.quote)
            out.append(p)
    return out


class StoredRoomSource:
    """Reads the newest stored report of a proposal (its JSON export). Without one there is nothing to quote here:
    :class:`governance.prior_rooms.RoomStructureSource` computes the room structure instead."""

    def stored_points(self, session: Session, proposal: Proposal, *, limit: int = 3) -> RoomPoints | None:
        """The points of the proposal's newest stored report, or None when none is stored or readable."""
        record = session.exec(select(ReportRecord).where(ReportRecord.proposal_id == proposal.id)
                              .order_by(col(ReportRecord.created_at).desc())).first()
        if record is not None and record.path:
            try:
                data = json.loads(Path(record.path).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = None
            if isinstance(data, dict):
                return points_from_report(data, limit=limit)
        return None

    def points(self, session: Session, proposal: Proposal, *, limit: int = 3) -> RoomPoints:
        found = self.stored_points(session, proposal, limit=limit)
        return found if found is not None else RoomPoints(method=NOT_READ)

    def thread_points(self, session: Session, thread: Thread, *, limit: int = 3) -> RoomPoints:
        return RoomPoints(method=NOT_READ)


#: Why a prior proposal shows no objections when its discussion's structure was not computed.
NOT_READ = "no stored consensus report, and the discussion was not read (no sentence encoder configured)"


def discussion_thread(session: Session, proposal: Proposal) -> Thread | None:
    """The forum thread of a proposal: by its discussion link, else a thread of the DAO with the same title."""
    from ingest.core.domain import Source

    in_dao = select(Thread).join(Source, col(Source.id) == Thread.source_id).where(Source.dao_id == proposal.dao_id)
    match = _TOPIC.search(proposal.discussion_url or "")
    if match is not None:
        found = session.exec(in_dao.where(Thread.external_id == match.group(1))).first()
        if found is not None:
            return found
    return session.exec(in_dao.where(Thread.title == proposal.title)).first()


_PROPOSAL_TITLE = re.compile(r"\b(AIP|proposal|RFC|constitutional|temp(erature)? check)\b", re.IGNORECASE)


def _forum_proposals(session: Session, dao_slug: str, before: Any) -> list[tuple[Thread, str]]:
    """Forum threads titled as proposals, with their opening post's text."""
    from ingest.core.domain import Source

    query = (select(Thread).join(Source, col(Source.id) == Thread.source_id).join(Dao, col(Dao.id) == Source.dao_id)
             .where(Dao.slug == dao_slug))
    if before is not None:
        query = query.where(or_(col(Thread.created_at) < before, col(Thread.created_at).is_(None)))
    out = []
    for thread in session.exec(query.order_by(col(Thread.id))).all():
        if not _PROPOSAL_TITLE.search(thread.title or ""):
            continue
        first = session.exec(select(Post.text).where(Post.thread_id == thread.id).order_by(col(Post.id))).first()
        out.append((thread, first or ""))
    return out


@dataclass
class PriorProposal:
    proposal_id: int
    title: str
    url: str | None
    created: str | None
    outcome: str | None
    vote_shares: dict[str, float] | None
    similarity: float
    objections: list[Point]
    requested_changes: list[Point]
    room_method: str
    kind: str = "proposal"  # or "forum thread" (a proposal discussed on the forum with no stored vote)

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["objections"] = [p.__dict__ for p in self.objections]
        out["requested_changes"] = [p.__dict__ for p in self.requested_changes]
        return out


@dataclass
class PriorArt:
    proposals: list[PriorProposal]
    method: str
    near_duplicate: PriorProposal | None = None

    @property
    def warning(self) -> str | None:
        if self.near_duplicate is None:
            return None
        p = self.near_duplicate
        return (f"Near-duplicate: the DAO already discussed {p.title!r} ({p.outcome or 'no recorded vote outcome'}, "
                f"similarity {p.similarity:.2f}). Say what is new, or build on it.")

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "warning": self.warning, "proposals": [p.as_dict() for p in self.proposals]}


def _shares(proposal: Proposal) -> dict[str, float] | None:
    scores = proposal.scores or []
    total = sum(float(s) for s in scores) if scores else 0.0
    if not scores or total <= 0 or len(scores) != len(proposal.choices or []):
        return None
    return {str(c): round(float(s) / total, 4) for c, s in zip(proposal.choices, scores)}


def _dedupe_titles(rows: list[Proposal]) -> list[Proposal]:
    """One row per title (the same proposal is often on Snapshot and on-chain): prefer one with an outcome."""
    best: dict[str, Proposal] = {}
    for p in rows:
        key = " ".join(p.title.lower().split())
        if key not in best or (best[key].outcome is None and p.outcome is not None):
            best[key] = p
    return list(best.values())


@dataclass
class Candidates:
    """Every earlier proposal (and proposal-titled forum thread) scored against an idea: ``sims`` ranks them;
    ``cosine`` / ``title_cosine`` (MiniLM, the BM25 shortlist only) decide the near-duplicate warning."""

    rows: list[Proposal | Thread]
    sims: list[float]
    cosine: dict[int, float] | None
    title_cosine: dict[int, float]
    method: str


def score_candidates(session: Session, *, dao_slug: str, idea: str, embedder: TextEmbedder | None = None,
                     before: Any = None, exclude: Sequence[int] = ()) -> Candidates:
    """Score ``dao_slug``'s proposals (created before ``before`` when given; store ids in ``exclude`` left out)
    against ``idea``: BM25 over title + body, reranked by MiniLM over a shortlist when ``embedder`` is given."""
    query = select(Proposal).join(Dao, col(Dao.id) == Proposal.dao_id).where(Dao.slug == dao_slug)
    if before is not None:
        query = query.where(or_(col(Proposal.created_at) < before, col(Proposal.created_at).is_(None)))
    if exclude:
        query = query.where(col(Proposal.id).not_in(list(exclude)))
    rows: list[Proposal | Thread] = list(_dedupe_titles(list(session.exec(query.order_by(col(Proposal.id))).all())))
    texts = [f"{p.title}\n{(p.body or '')[:600]}" for p in rows if isinstance(p, Proposal)]
    titles = {" ".join(p.title.lower().split()) for p in rows}
    for thread, opening in _forum_proposals(session, dao_slug, before):
        if " ".join(thread.title.lower().split()) not in titles:
            rows.append(thread)
            texts.append(f"{thread.title}\n{opening[:600]}")
    if not rows:
        return Candidates([], [], None, {}, "no earlier proposals stored")
    from rank_bm25 import BM25Okapi

    raw = BM25Okapi([tokenize(t) or ["_"] for t in texts]).get_scores(tokenize(idea))
    keyword = [float(x) / max(float(max(raw)), 1e-9) for x in raw]
    if embedder is None:
        return Candidates(rows, keyword, None, {},
                          "BM25 over proposal title + body (no encoder configured; scores relative to the best)")
    import numpy as np

    shortlist = sorted(range(len(texts)), key=lambda i: (-keyword[i], i))[:SHORTLIST]
    short = [texts[i][:EMBED_CHARS] for i in shortlist]  # the title and the body's opening
    heads = [texts[i].split("\n", 1)[0] for i in shortlist]
    vectors = np.asarray(embedder.embed_batch([idea, *short, *heads]), dtype=np.float32)
    both = vectors[1:] @ vectors[0]
    cosine = {i: float(x) for i, x in zip(shortlist, both[: len(shortlist)])}
    title_cosine = {i: float(x) for i, x in zip(shortlist, both[len(shortlist):])}
    sims = [0.5 * cosine[i] + 0.5 * keyword[i] if i in cosine else -1.0 for i in range(len(texts))]
    return Candidates(rows, sims, cosine, title_cosine,
                      f"BM25 over title + body shortlists {SHORTLIST}, reranked by the mean of relative BM25 and MiniLM "
                      f"cosine over title + body opening ({EMBED_CHARS} characters)")


def near_duplicates(found: Candidates, *, body: float = NEAR_DUPLICATE, title: float = NEAR_DUPLICATE_TITLE,
                    floor: float = NEAR_DUPLICATE_FLOOR) -> list[int]:
    """Indexes of the candidates the warning flags: body cosine >= ``body`` with title cosine >= ``floor``, or title
    cosine >= ``title``."""
    if found.cosine is None:
        return []
    return [i for i in found.cosine
            if (found.cosine[i] >= body and found.title_cosine[i] >= floor) or found.title_cosine[i] >= title]


def find_prior_art(session: Session, *, dao_slug: str, idea: str, embedder: TextEmbedder | None = None,
                   rooms: RoomSource | None = None, k: int = 3, before: Any = None) -> PriorArt:
    """The ``k`` earlier proposals of ``dao_slug`` most similar to ``idea`` (created before ``before`` when given)."""
    scored = score_candidates(session, dao_slug=dao_slug, idea=idea, embedder=embedder, before=before)
    if not scored.rows:
        return PriorArt([], scored.method)
    rows, sims, cosine, title_cosine, method = scored.rows, scored.sims, scored.cosine, scored.title_cosine, scored.method
    ranked = sorted(range(len(rows)), key=lambda i: (-float(sims[i]), i))[:k]
    rooms = rooms or StoredRoomSource()
    found = []
    for i in ranked:
        p = rows[i]
        if isinstance(p, Thread):
            pts = rooms.thread_points(session, p)
            found.append(PriorProposal(
                proposal_id=0, title=p.title, url=p.url, created=p.created_at.date().isoformat() if p.created_at else None,
                outcome=None, vote_shares=None, similarity=round(float(sims[i]), 3), objections=pts.objections,
                requested_changes=pts.requested_changes, room_method=pts.method, kind="forum thread"))
            continue
        pts = rooms.points(session, p)
        found.append(PriorProposal(
            proposal_id=int(p.id or 0), title=p.title, url=p.url or p.discussion_url,
            created=p.created_at.date().isoformat() if p.created_at else None, outcome=p.outcome,
            vote_shares=_shares(p), similarity=round(float(sims[i]), 3), objections=pts.objections,
            requested_changes=pts.requested_changes, room_method=pts.method,
        ))
    near = None
    if cosine is not None:
        dup = near_duplicates(scored)
        if dup:
            best = max(dup, key=lambda i: (max(cosine[i], title_cosine[i]), -i))
            near = next((f for f, i in zip(found, ranked) if i == best), None)
            if near is None:  # a near-duplicate outside the top k still leads the list
                found = found[: k - 1] if k > 1 else []
                rows_best = rows[best]
                near = PriorProposal(
                    proposal_id=int(getattr(rows_best, "id", 0) or 0) if isinstance(rows_best, Proposal) else 0,
                    title=rows_best.title, url=rows_best.url, created=None, outcome=getattr(rows_best, "outcome", None),
                    vote_shares=_shares(rows_best) if isinstance(rows_best, Proposal) else None,
                    similarity=round(float(sims[best]), 3), objections=[], requested_changes=[], room_method="not read",
                    kind="proposal" if isinstance(rows_best, Proposal) else "forum thread")
                found.insert(0, near)
    return PriorArt(found, method, near)
