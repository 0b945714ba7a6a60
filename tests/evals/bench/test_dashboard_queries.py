"""The proposal list reads narrow rows and pages in SQL: same rows, order, statuses and pages as computing every
proposal's summary from its full row (the old way), with and without status and DAO filters."""

from __future__ import annotations


import pytest
from sqlmodel import select

from bots.web import queries
from evals.retrieval.corpus import sample_store
from ingest.core.domain import Dao, Proposal
from ingest.core.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    opened = sample_store(tmp_path_factory.mktemp("dash") / "sample.db")
    yield opened
    opened.close()


def _reference(store: Store) -> list[tuple[int, str]]:
    """(id, status) of every proposal, newest start first, from full rows and ``proposal_status``."""
    with store.session() as session:
        rows = session.exec(select(Proposal)).all()
    ordered = sorted(rows, key=lambda p: (p.start is not None, p.start.timestamp() if p.start else 0.0, p.id), reverse=True)
    return [(int(p.id), queries.proposal_status(p)) for p in ordered]  # type: ignore[arg-type]


def test_pages_match_full_rows(store: Store) -> None:
    reference = _reference(store)
    assert len(reference) > 120
    pages = [queries.list_proposals(store, limit=50, offset=o) for o in (0, 50, 100)]
    assert [(s.id, s.status) for page in pages for s in page] == reference[:150]
    for status in ("closed", "active", "pending"):
        wanted = [r for r in reference if r[1] == status]
        got = queries.list_proposals(store, status=status, limit=7, offset=3)
        assert [(s.id, s.status) for s in got] == wanted[3:10]


def test_fields_and_dao_filter(store: Store) -> None:
    first = queries.list_proposals(store, dao="arbitrum", limit=1)[0]
    full = queries.get_proposal(store, str(first.id))
    assert first.model_dump() == queries.ProposalSummary(**{k: getattr(full, k) for k in queries.ProposalSummary.model_fields}).model_dump()
    with store.session() as session:
        assert session.exec(select(Dao.slug)).all() == ["arbitrum"]
    assert queries.list_proposals(store, limit=500)[-1].id == _reference(store)[199][0]  # capped at MAX_PAGE
