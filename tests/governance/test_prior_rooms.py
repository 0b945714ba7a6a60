"""Prior art's objections and requested changes from the report's room structure of a real sample discussion, cached
by the discussion's inputs hash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from governance.prior_art import StoredRoomSource
from governance.prior_rooms import METHOD, RoomStructureSource
from ingest.core.domain import Author, Post, Proposal, Thread, content_hash
from ingest.core.store import Store

GRANTS = "AIP - 3 [Non-Constitutional] Fund the Grants Framework Proposal Milestone 1"  # proposer: DisruptionJoe


@pytest.mark.slow
def test_objections_and_requested_changes_come_from_the_room_structure_of_the_real_thread(
        sample_store: Store, minilm: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rooms = RoomStructureSource(sample_store, embedder=minilm, cache_dir=tmp_path / "rooms")
    with sample_store.session() as session:
        proposal = session.exec(select(Proposal).where(Proposal.title == GRANTS)).first()
        assert proposal is not None
        assert StoredRoomSource().points(session, proposal).objections == []  # no stored report: nothing to quote
        points = rooms.points(session, proposal)
        assert points.method == METHOD
        assert len(points.objections) == 3 and len(points.requested_changes) == 3
        for point in [*points.objections, *points.requested_changes]:
            post = session.get(Post, point.post_id)
            assert post is not None and " ".join(point.quote.split()) in " ".join(post.text.split())  # verbatim
            thread = session.get(Thread, post.thread_id)
            assert thread is not None and thread.external_id == "14976"  # the proposal's own discussion
            assert post.url == point.url
        assert {p.status for p in points.requested_changes} <= {"open", "answered", "adopted"}
        authors = {session.get(Author, session.get(Post, p.post_id).author_id).handle for p in points.objections}  # type: ignore[union-attr]
    cached = list((tmp_path / "rooms").glob("*.json"))
    assert len(cached) == 1
    proposer_side = json.loads(cached[0].read_text())["proposer_side"]
    assert "DisruptionJoe" in proposer_side and not authors & set(proposer_side)  # the proposer's answers are not objections

    def no_rebuild() -> Any:
        raise AssertionError("a cached discussion must not be read again")

    monkeypatch.setattr(rooms, "_report_builder", no_rebuild)
    with sample_store.session() as session:
        again = rooms.points(session, session.exec(select(Proposal).where(Proposal.title == GRANTS)).one())
    assert again == points
    monkeypatch.undo()

    text = "I object: the 710k ARB management fee is far too high for a first milestone and should be halved."
    with sample_store.session() as session:  # a new reply changes the inputs hash: the thread is read again
        session.add(Post(source_id=thread.source_id, thread_id=thread.id, external_id="test-new", author_id=None, number=99,
                         text=text, url="https://forum.arbitrum.foundation/t/14976/99", content_hash=content_hash(text)))
    with sample_store.session() as session:
        rooms.points(session, session.exec(select(Proposal).where(Proposal.title == GRANTS)).one())
    assert len(list((tmp_path / "rooms").glob("*.json"))) == 2
