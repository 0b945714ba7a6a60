"""The Snapshot GraphQL client and source against a loopback hub answering the real query shapes."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlmodel import select

from ingest.core.domain import Proposal, QuarantinedRecord, Vote
from ingest.core.store import Store
from ingest.http import BadResponseError, PoliteClient
from ingest.pipeline import run_ingestion
from ingest.replay import ReplayServer
from ingest.sources.recordings import SAMPLE_DIR, load_recording
from ingest.sources.snapshot import _PROPOSALS_BY_ID_QUERY, SnapshotClient, SnapshotSource, open_proposal_ids
from tests.ingest.conftest import FAST

TYPES = {
    "single-choice": (["For", "Against", "Abstain"], [2, 1, 1]),
    "basic": (["For", "Against", "Abstain"], [1, 3, 2]),
    "approval": (["Alpha", "Beta", "Gamma"], [[1, 3], [2], [1, 2, 3]]),
    "ranked-choice": (["Alpha", "Beta", "Gamma"], [[3, 1, 2], [1, 2, 3], [2, 3, 1]]),
    "weighted": (["Alpha", "Beta"], [{"1": 3, "2": 1}, {"2": 1}, {"1": 1, "2": 1}]),
    "quadratic": (["Alpha", "Beta"], [{"1": 1}, {"1": 2, "2": 2}, {"2": 5}]),
}
EXPECTED_LABELS = {
    "single-choice": "Against",
    "basic": "For",
    "approval": "Alpha, Gamma",
    "ranked-choice": "Gamma > Alpha > Beta",
    "weighted": "Alpha 75%, Beta 25%",
    "quadratic": "Alpha 100%",
}


@pytest.fixture(scope="module")
def hub_recording() -> dict[str, Any]:
    """Six real Arbitrum proposals, one per voting type, with final scores and three votes each.

    Four proposals share one ``created`` second so paging by created_gte + skip must handle ties.
    """
    sample = load_recording(SAMPLE_DIR / "snapshot-arbitrum.json.gz")
    proposals, votes = [], []
    for i, (kind, (choices, picks)) in enumerate(TYPES.items()):
        proposal = copy.deepcopy(sample["proposals"][i])
        created = 1_700_000_000 + (0 if i < 4 else i)
        proposal.update(type=kind, choices=choices, created=created, state="closed", scores_state="final")
        proposal["scores"] = [float(10 * (j + 1)) for j in range(len(choices))]
        proposal["scores_total"] = sum(proposal["scores"])
        proposal["votes"] = 3
        proposals.append(proposal)
        for j, pick in enumerate(picks):
            votes.append(
                {
                    "id": f"0xvote{i}{j}",
                    "voter": f"0x{(i * 3 + j + 1):040x}",
                    "vp": 100.0 * (j + 1),
                    "choice": pick,
                    "reason": "Because the forum thread convinced me" if j == 0 else "",
                    "created": created + 60 + (j // 2),  # two votes in the same second
                    "proposal": {"id": proposal["id"], "choices": choices, "type": kind},
                }
            )
    return {"space": sample["space"], "proposals": proposals, "votes": votes}


def _run(store: Store, url: str, space: str) -> Any:
    dao = store.ensure_dao("arbitrum")
    with PoliteClient(url, policy=FAST) as http:
        source = SnapshotSource(
            SnapshotClient(http), space, page_size=2, open_ids=open_proposal_ids(store, dao)
        )
        return run_ingestion(store, dao, source)


def test_every_voting_type_with_scores_and_reasons_then_nothing_twice(
    store: Store, hub_recording: dict[str, Any]
) -> None:
    space = hub_recording["space"]["id"]
    with ReplayServer(snapshot=hub_recording) as hub:
        first = _run(store, hub.url, space)
        assert first.quarantined == 0
        assert store.count(Proposal) == 6 and store.count(Vote) == 18
        second = _run(store, hub.url, space)
        assert (second.ingested, second.updated, second.quarantined) == (0, 0, 0)
    with store.session() as session:
        proposals = {p.voting_type: p for p in session.exec(select(Proposal))}
        assert set(proposals) == set(TYPES)
        assert all(p.scores_state == "final" and p.scores and p.scores_total for p in proposals.values())
        for kind, proposal in proposals.items():
            votes = session.exec(
                select(Vote).where(Vote.proposal_id == proposal.id).order_by(Vote.voting_power)
            ).all()
            assert votes[0].choice_label == EXPECTED_LABELS[kind]
            assert votes[0].reason == "Because the forum thread convinced me" and votes[1].reason is None


def test_pending_proposal_is_refreshed_until_final(
    sqlite_store: Store, hub_recording: dict[str, Any]
) -> None:
    recording = copy.deepcopy(hub_recording)
    recording["proposals"][0].update(state="active", scores_state="pending", scores=[1.0, 0.0, 0.0])
    space = recording["space"]["id"]
    with ReplayServer(snapshot=recording) as hub:
        _run(sqlite_store, hub.url, space)
        dao = sqlite_store.get_dao("arbitrum")
        assert open_proposal_ids(sqlite_store, dao) == (recording["proposals"][0]["id"],)
        recording["proposals"][0].update(state="closed", scores_state="final", scores=[30.0, 20.0, 10.0])
        recording["votes"].append(
            {**recording["votes"][0], "id": "0xlate", "voter": "0x" + "ab" * 20, "created": 1_700_000_500}
        )
        summary = _run(sqlite_store, hub.url, space)
    assert summary.updated == 1 and summary.ingested == 1  # new scores, and the late vote
    assert open_proposal_ids(sqlite_store, dao) == ()


def test_wrong_choice_shape_is_quarantined_not_fatal(
    sqlite_store: Store, hub_recording: dict[str, Any]
) -> None:
    recording = copy.deepcopy(hub_recording)
    recording["votes"][6]["choice"] = 7  # approval vote with a bare index
    recording["votes"][0]["choice"] = 9  # single-choice index out of range
    with ReplayServer(snapshot=recording) as hub:
        summary = _run(sqlite_store, hub.url, recording["space"]["id"])
    assert summary.quarantined == 2 and sqlite_store.count(Vote) == 16
    with sqlite_store.session() as session:
        errors = sorted(q.error for q in session.exec(select(QuarantinedRecord)))
    assert "outside 1..3" in errors[0] + errors[1] and "list of indexes" in errors[0] + errors[1]


def test_hub_outage_is_quarantined_and_the_next_run_catches_up(
    sqlite_store: Store, hub_recording: dict[str, Any]
) -> None:
    with ReplayServer(snapshot=hub_recording) as hub:
        hub.inject("/graphql", "500", "500", "500")  # FAST policy: 1 try + 2 retries, all refused
        down = _run(sqlite_store, hub.url, hub_recording["space"]["id"])
        assert down.quarantined == 1 and sqlite_store.count(Proposal) == 0
        with sqlite_store.session() as session:
            assert "HTTP 500" in session.exec(select(QuarantinedRecord.error)).one()
        back = _run(sqlite_store, hub.url, hub_recording["space"]["id"])
    assert back.quarantined == 0 and sqlite_store.count(Proposal) == 6 and sqlite_store.count(Vote) == 18


def _proposals(count: int, space: str, *, state: str = "closed", created: int = 1_700_000_000) -> list[dict[str, Any]]:
    """``count`` real proposals re-filed under ``space``, three created in each second."""
    sample = load_recording(SAMPLE_DIR / "snapshot-arbitrum.json.gz")
    out = []
    for i in range(count):
        proposal = copy.deepcopy(sample["proposals"][i % len(sample["proposals"])])
        proposal.update(
            id=f"0x{i:064x}",
            created=created + i // 3,
            state=state,
            scores_state="final" if state == "closed" else "pending",
            space={"id": space, "name": space},
        )
        out.append(proposal)
    return out


def test_the_hub_refuses_an_id_list_over_100_as_the_real_hub_does(hub_recording: dict[str, Any]) -> None:
    """snapshot-hub src/graphql/helpers.ts: ARG_LIMITS default '*_in': 100, checked by checkLimits."""
    with ReplayServer(snapshot=hub_recording) as hub, PoliteClient(hub.url, policy=FAST) as http:
        client = SnapshotClient(http)
        ids = [f"0x{i:064x}" for i in range(101)]
        answer = http.post_json(
            "/graphql",
            body={"query": _PROPOSALS_BY_ID_QUERY, "variables": {"ids": ids, "first": 101}},
        )
        assert answer["errors"][0]["message"] == "The `id_in` argument must not be greater than 100"
        assert answer["data"] == {"proposals": None}
        with pytest.raises(BadResponseError, match="must not be greater than 1000"):
            client.proposals("x.eth", created_gte=0, skip=0, first=1001)
        real = [p["id"] for p in hub_recording["proposals"]]
        found = client.proposals_by_id(ids[:97] + real)  # 103 ids: asked as 100 + 3, both accepted
        assert sorted(p["id"] for p in found) == sorted(real)


def test_open_proposals_are_refreshed_100_ids_at_a_time(sqlite_store: Store) -> None:
    recording = {"space": {"id": "big.eth", "name": "Big"}, "proposals": _proposals(230, "big.eth", state="active"), "votes": []}
    dao = sqlite_store.ensure_dao("big")
    with ReplayServer(snapshot=recording) as hub, PoliteClient(hub.url, policy=FAST) as http:
        first = run_ingestion(sqlite_store, dao, SnapshotSource(SnapshotClient(http), "big.eth", votes=False))
        assert first.ingested == 230 and len(open_proposal_ids(sqlite_store, dao)) == 230
        for p in recording["proposals"]:
            p.update(state="closed", scores_state="final")
        source = SnapshotSource(
            SnapshotClient(http), "big.eth", votes=False, open_ids=open_proposal_ids(sqlite_store, dao)
        )
        second = run_ingestion(sqlite_store, dao, source)
    assert (second.updated, second.quarantined) == (230, 0)
    assert open_proposal_ids(sqlite_store, dao) == ()


def test_paging_through_same_second_ties_never_reads_an_item_twice(sqlite_store: Store) -> None:
    """Three proposals per second, pages of two: every page boundary falls inside or at the edge of a tie."""
    recording = {"space": {"id": "ties.eth", "name": "Ties"}, "proposals": _proposals(17, "ties.eth"), "votes": []}
    with ReplayServer(snapshot=recording) as hub, PoliteClient(hub.url, policy=FAST) as http:
        source = SnapshotSource(SnapshotClient(http), "ties.eth", page_size=2, votes=False)
        cursors: dict[str, str] = {}
        read = [
            item.ref
            for batch in source.batches(cursors.get)
            for item in batch.items
        ]
        assert sorted(read) == sorted(p["id"] for p in recording["proposals"])  # each once, none lost
        summary = run_ingestion(sqlite_store, sqlite_store.ensure_dao("ties"), source)
        assert (summary.ingested, summary.duplicates) == (17, 0)
        again = run_ingestion(sqlite_store, sqlite_store.ensure_dao("ties"), source)
    assert (again.ingested, again.updated, again.duplicates) == (0, 0, 0)  # the cursor read nothing twice
