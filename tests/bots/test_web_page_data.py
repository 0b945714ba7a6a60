"""The dashboard keeps page data only while the store is unchanged, and staleness reads the same inputs as a report."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import select

from bots.services import Services
from bots.web.app import create_app
from bots.web.page_data import PageData, StoreStamp
from ingest.core.domain import Post, Proposal
from ingest.core.store import Store


def test_page_data_is_recomputed_after_any_write_to_the_store(sample_store: Store) -> None:
    data = PageData(StoreStamp(sample_store))
    calls: list[int] = []
    assert data.get("k", lambda: calls.append(1) or len(calls)) == 1
    assert data.get("k", lambda: calls.append(1) or len(calls)) == 1  # unchanged store: kept
    with sample_store.session() as session:  # a read commits too, and must not count as a change
        session.exec(select(Proposal).limit(1)).all()
    assert data.get("k", lambda: calls.append(1) or len(calls)) == 1
    with sample_store.session() as session:
        proposal = session.get(Proposal, 1)
        assert proposal is not None
        proposal.title = "Renamed while the server runs"
        session.add(proposal)
    assert data.get("k", lambda: calls.append(1) or len(calls)) == 2
    data.stamp.close()


def test_an_in_memory_store_is_never_cached() -> None:
    store = Store.open("sqlite://")
    data = PageData(StoreStamp(store))
    calls: list[int] = []
    data.get("k", lambda: calls.append(1))
    data.get("k", lambda: calls.append(1))
    assert len(calls) == 2
    store.close()


def test_errors_are_not_kept(sample_store: Store) -> None:
    data = PageData(StoreStamp(sample_store))

    def fails() -> None:
        raise LookupError("missing")

    for _ in range(2):
        try:
            data.get("k", fails)
        except LookupError:
            pass
        else:
            raise AssertionError("the error was kept as a value")
    assert data.get("k", lambda: "now there") == "now there"


def test_pages_show_an_edit_made_while_the_server_runs(services: Services, tmp_path: Path) -> None:
    from bots.web import queries

    client = TestClient(create_app(services.settings, services=services, results_dir=tmp_path / "none"))
    listed = queries.list_proposals(services.store, limit=1, offset=0)[0].id  # the list's first row
    for path in ("/proposals", f"/proposals/{listed}", f"/proposals/{listed}/report"):
        assert "Renamed while the server runs" not in client.get(path).text
    with services.store.session() as session:
        proposal = session.get(Proposal, listed)
        assert proposal is not None
        proposal.title = "Renamed while the server runs"
        session.add(proposal)
    for path in ("/proposals", f"/proposals/{listed}", f"/proposals/{listed}/report"):
        assert "Renamed while the server runs" in client.get(path).text, path


def test_staleness_reads_the_same_inputs_as_a_report(sample_store: Store) -> None:
    from agent.report.inputs import current_inputs, load_inputs
    from evals.faithfulness.reports import most_discussed

    pid = int(most_discussed(sample_store, "arbitrum", 1)[0])
    full = load_inputs(sample_store, pid)
    assert current_inputs(sample_store, pid) == (full.hash, tuple(int(p.id or 0) for p in full.posts))
    with sample_store.session() as session:  # a deleted post, a blank one and an edited one
        posts = list(session.exec(select(Post).where(Post.id.in_([p.id for p in full.posts[:3]]))).all())  # type: ignore[union-attr]
        posts[0].deleted = True
        posts[1].text = "   \n"
        posts[2].content_hash = "edited"
        session.add_all(posts)
    changed = load_inputs(sample_store, pid)
    assert changed.hash != full.hash and len(changed.posts) == len(full.posts) - 2
    assert current_inputs(sample_store, pid) == (changed.hash, tuple(int(p.id or 0) for p in changed.posts))
