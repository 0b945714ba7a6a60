"""The objections and requested changes of an earlier proposal's discussion, read with the consensus report's own
room structure (:mod:`agent.report`: proposer side set apart, sentences typed by the unit classifier, camps of
people, cruxes, requested changes with their status) when no stored ``concord.report/2`` exists for it.

The structure is computed once per discussion and cached as JSON under ``<cache_dir>``, keyed by the report's
inputs hash (the proposal and every post's content hash), so an edited or longer thread is read again. Nothing is
stored as a report and no model words anything: the builder runs with model wording off and no predictor.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from governance.prior_art import Point, RoomPoints, StoredRoomSource, discussion_thread, points_from_report
from ingest.core.domain import Author, Post, Proposal, Thread

if TYPE_CHECKING:
    from agent.report.inputs import ReportInputs
    from governance.prior_art import TextEmbedder
    from ingest.core.store import Store

__all__ = ["RoomStructureSource"]

#: Unit types quoted as objections, and how many of them the cache keeps.
OBJECTION_TYPES = ("objection", "concern")
CONCERNS = 6
METHOD = "reading-the-room structure of the discussion (proposer side set apart; typed sentences, camps, cruxes)"


class RoomStructureSource(StoredRoomSource):
    """A stored report's points when there is one; else the room structure of the linked discussion, cached."""

    def __init__(self, store: Store, *, embedder: TextEmbedder, cache_dir: Path) -> None:
        self.store = store
        self.embedder = embedder
        self.cache_dir = cache_dir
        self._builder: Any = None

    def _report_builder(self) -> Any:
        if self._builder is None:
            from agent.llm.scripted import ScriptedChatBackend
            from agent.report import ReportBuilder
            from agent.report.builder import ReportParams
            from agent.stance.trained import load_trained_stance

            self._builder = ReportBuilder(
                self.store, embedder=self.embedder, chat=ScriptedChatBackend(model="none: no model words prior art"),
                stance=load_trained_stance(embedder=self.embedder), params=ReportParams(model_wording="never"))
        return self._builder

    def points(self, session: Session, proposal: Proposal, *, limit: int = 3) -> RoomPoints:
        stored = self.stored_points(session, proposal, limit=limit)
        if stored is not None:
            return stored
        from agent.report.inputs import load_inputs

        inputs = load_inputs(self.store, int(proposal.id or 0))
        if not inputs.posts:  # no link: the DAO's forum thread with the proposal's title, read as its discussion
            thread = discussion_thread(session, proposal)
            found = _thread_inputs(session, thread, proposal=proposal) if thread is not None else None
            if found is None:
                return RoomPoints(method="no discussion thread of this proposal is stored")
            inputs = found
        return self._computed(inputs, limit=limit)

    def thread_points(self, session: Session, thread: Thread, *, limit: int = 3) -> RoomPoints:
        """The room structure of a forum thread that is itself a proposal (no vote stored): its opening post is
        read as the proposal."""
        inputs = _thread_inputs(session, thread)
        if inputs is None:
            return RoomPoints(method="the thread has no replies to read")
        return self._computed(inputs, limit=limit)

    def _computed(self, inputs: ReportInputs, *, limit: int) -> RoomPoints:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        cached = self.cache_dir / f"{inputs.hash}.json"
        if cached.exists():
            try:
                data = json.loads(cached.read_text(encoding="utf-8"))
            except ValueError:
                data = None
            if isinstance(data, dict):
                return _room_points(data, limit=limit)
        report = self._report_builder().build_from(inputs)
        urls = {int(p.id or 0): p.url for p in inputs.posts}
        concerns = sorted((u for u in report.units if u["type"] in OBJECTION_TYPES and not u["proposer"]),
                          key=lambda u: (-float(u["confidence"]), int(u["post_id"]), int(u["start"])))
        data = {"camps": [c.model_dump(mode="json") for c in report.camps],
                "cruxes": [c.model_dump(mode="json") for c in report.cruxes],
                "requested_changes": [r.model_dump(mode="json") for r in report.requested_changes],
                "concerns": [{"quote": u["text"], "post_id": u["post_id"], "url": urls.get(int(u["post_id"])),
                              "type": u["type"], "confidence": u["confidence"]} for u in concerns[:CONCERNS]],
                "proposer_side": [m.author for m in report.proposer_side.members]}
        tmp = cached.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(cached)
        return _room_points(data, limit=limit)


def _room_points(data: dict[str, Any], *, limit: int) -> RoomPoints:
    """The against camp's quotes and the cruxes' against sides first, then the community's sentences the unit
    classifier typed as objections or concerns (most confident first); requested changes as the report has them."""
    found = points_from_report(data, limit=limit)
    objections = list(found.objections)
    quoted = {p.quote for p in objections}
    for c in data.get("concerns") or []:
        if len(objections) >= limit:
            break
        if c["quote"] not in quoted:
            quoted.add(c["quote"])
            objections.append(Point("objection", c["quote"], c.get("url"), c.get("post_id")))
    return RoomPoints(objections, found.requested_changes, METHOD)


def _thread_inputs(session: Session, thread: Thread, *, proposal: Proposal | None = None) -> ReportInputs | None:
    """A thread's posts as report inputs, for ``proposal`` or (None) for the thread read as the proposal itself."""
    from agent.report.inputs import ReportInputs
    from ingest.core.domain import Dao, Source

    posts = [p for p in session.exec(select(Post).where(Post.thread_id == thread.id, col(Post.deleted).is_(False))
                                     .order_by(col(Post.id))).all() if p.text.strip()]
    if len(posts) < 2:
        return None
    source = session.get(Source, thread.source_id)
    author_ids = {p.author_id for p in posts if p.author_id is not None}
    authors = {int(a.id): a for a in session.exec(select(Author).where(col(Author.id).in_(author_ids))).all()} if author_ids else {}  # type: ignore[arg-type]
    opener = authors.get(posts[0].author_id or -1)
    proposal = proposal or Proposal(  # never stored: the thread read as the proposal it is
        id=0, dao_id=source.dao_id if source else 0, origin="forum", external_id=f"thread:{thread.id}", title=thread.title,
        body=posts[0].text, author=opener.handle if opener else None, content_hash=posts[0].content_hash,
        discussion_url=thread.url)
    dao = session.get(Dao, proposal.dao_id)
    return ReportInputs(proposal=proposal, dao_slug=dao.slug if dao else "", threads=[thread], posts=posts,
                        authors=authors, voting_power={})

