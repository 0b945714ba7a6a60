"""Snapshot hub source: a small typed GraphQL client and an incremental proposals + votes source.

Paging follows the hub's rules: ``orderBy: "created", orderDirection: asc`` with ``created_gte`` and a ``skip``
that only counts the items already read at that same second, so ties are neither lost nor read twice.
Proposals that are not final yet (open, or scores still pending) are re-read on every run until they are.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypedDict

from ingest.core.domain import Dao, Proposal, ProposalOrigin, SourceKind
from ingest.core.errors import InputError
from ingest.core.store import Store
from ingest.http import BadResponseError, PoliteClient, RemoteError
from ingest.normalise.snapshot import snapshot_proposal, snapshot_vote
from ingest.pipeline import Batch, RawItem
from ingest.records import Record

__all__ = [
    "IN_ARGUMENT_LIMIT",
    "PROPOSAL_FIELDS",
    "VOTE_FIELDS",
    "SnapshotClient",
    "SnapshotSource",
    "SpaceInfo",
    "open_proposal_ids",
]

PROPOSAL_FIELDS = """id title body choices start end snapshot state author created type
    scores scores_state scores_total scores_updated quorum votes discussion link space { id name }"""
# The hub refuses a `*_in` list longer than 100 (snapshot-hub src/graphql/helpers.ts, ARG_LIMITS "*_in").
IN_ARGUMENT_LIMIT = 100

VOTE_FIELDS = "id voter vp choice reason created proposal { id choices type }"

_SPACE_QUERY = "query Space($id: String!) { space(id: $id) { id name network symbol } }"
_PROPOSALS_QUERY = (
    "query Proposals($space: String!, $first: Int!, $skip: Int!, $created_gte: Int!) {"
    ' proposals(first: $first, skip: $skip, orderBy: "created", orderDirection: asc,'
    " where: {space: $space, created_gte: $created_gte}) { " + PROPOSAL_FIELDS + " } }"
)
_PROPOSALS_BY_ID_QUERY = (
    "query ProposalsById($ids: [String]!, $first: Int!) {"
    " proposals(first: $first, where: {id_in: $ids}) { " + PROPOSAL_FIELDS + " } }"
)
_VOTES_QUERY = (
    "query Votes($proposal: String!, $first: Int!, $skip: Int!, $created_gte: Int!) {"
    ' votes(first: $first, skip: $skip, orderBy: "created", orderDirection: asc,'
    " where: {proposal: $proposal, created_gte: $created_gte}) { " + VOTE_FIELDS + " } }"
)


class SpaceInfo(TypedDict, total=False):
    id: str
    name: str
    network: str
    symbol: str


class SnapshotClient:
    """Typed calls to the hub's GraphQL API (``https://hub.snapshot.org/graphql``)."""

    def __init__(self, http: PoliteClient, *, path: str = "/graphql") -> None:
        self.http = http
        self.path = path

    def query(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        answer = self.http.post_json(self.path, body={"query": query, "variables": variables})
        if not isinstance(answer, dict):
            raise BadResponseError(
                f"{self.path}: expected a JSON object, got {type(answer).__name__}",
                raw=json.dumps(answer)[:10_000],
            )
        if answer.get("errors"):
            raise BadResponseError(
                f"{self.path}: GraphQL errors {answer['errors']!r:.300}", raw=json.dumps(answer)[:10_000]
            )
        data = answer.get("data")
        if not isinstance(data, dict):
            raise BadResponseError(f"{self.path}: answer has no data object", raw=json.dumps(answer)[:10_000])
        return data

    def space(self, space_id: str) -> SpaceInfo | None:
        return self.query(_SPACE_QUERY, {"id": space_id}).get("space")

    def proposals(self, space: str, *, created_gte: int, skip: int, first: int) -> list[dict[str, Any]]:
        data = self.query(
            _PROPOSALS_QUERY, {"space": space, "first": first, "skip": skip, "created_gte": created_gte}
        )
        return _list(data, "proposals")

    def proposals_by_id(self, ids: list[str]) -> list[dict[str, Any]]:
        """The proposals with these ids, asked ``IN_ARGUMENT_LIMIT`` at a time (the hub refuses longer lists)."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), IN_ARGUMENT_LIMIT):
            chunk = ids[start : start + IN_ARGUMENT_LIMIT]
            found += _list(self.query(_PROPOSALS_BY_ID_QUERY, {"ids": chunk, "first": len(chunk)}), "proposals")
        return found

    def votes(self, proposal: str, *, created_gte: int, skip: int, first: int) -> list[dict[str, Any]]:
        data = self.query(
            _VOTES_QUERY, {"proposal": proposal, "first": first, "skip": skip, "created_gte": created_gte}
        )
        return _list(data, "votes")


def _list(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key)
    if not isinstance(value, list):
        raise BadResponseError(
            f"GraphQL answer: {key} should be a list, got {type(value).__name__}",
            raw=json.dumps(data)[:10_000],
        )
    return value


def _parse_cursor(value: str | None) -> tuple[int, int]:
    if not value:
        return 0, 0
    created, _, skip = value.partition(":")
    return int(created), int(skip or 0)


def _advance(created: int, skip: int, page: list[Any]) -> tuple[int, int]:
    for item in page:
        value = item.get("created") if isinstance(item, dict) else None
        if isinstance(value, int) and value > created:
            created, skip = value, 1
        else:
            skip += 1
    return created, skip


def open_proposal_ids(store: Store, dao: Dao) -> tuple[str, ...]:
    """Snapshot proposals of ``dao`` in the store whose votes or scores may still change."""
    from sqlmodel import col, select

    with store.session() as session:
        rows = session.exec(
            select(Proposal.external_id).where(
                Proposal.dao_id == dao.id,
                Proposal.origin == ProposalOrigin.SNAPSHOT,
                (col(Proposal.state) != "closed") | (col(Proposal.scores_state) == "pending"),
            )
        ).all()
    return tuple(rows)


@dataclass
class SnapshotSource:
    """One Snapshot space: its proposals, then the votes of each proposal.

    ``open_ids`` are stored proposals that were not final at the last run (see ``open_proposal_ids``);
    they are re-read, with their new votes, before the new proposals.
    """

    client: SnapshotClient
    space: str
    page_size: int = 100
    votes: bool = True
    open_ids: tuple[str, ...] = ()
    kind: str = SourceKind.SNAPSHOT

    @property
    def locator(self) -> str:
        return self.space

    @property
    def name(self) -> str:
        return self.space

    def batches(self, cursor_of: Callable[[str], str | None]) -> Iterator[Batch]:
        try:
            if self.open_ids:
                refreshed = [
                    p for p in self.client.proposals_by_id(list(self.open_ids)) if isinstance(p, dict)
                ]
                yield Batch([RawItem("snapshot-proposal", str(p.get("id")), p) for p in refreshed])
                yield from self._votes_of(refreshed, cursor_of)
            created, skip = _parse_cursor(cursor_of("proposals"))
            while True:
                page = self.client.proposals(self.space, created_gte=created, skip=skip, first=self.page_size)
                if not page:
                    return
                created, skip = _advance(created, skip, page)
                yield Batch(
                    [
                        RawItem("snapshot-proposal", str(p.get("id") if isinstance(p, dict) else "?"), p)
                        for p in page
                    ]
                )
                yield from self._votes_of([p for p in page if isinstance(p, dict)], cursor_of)
                # The proposals cursor moves only once the page's votes are in: a killed run re-reads the page.
                yield Batch([], ("proposals", f"{created}:{skip}"))
                if len(page) < self.page_size:
                    return
        except (RemoteError, BadResponseError) as exc:
            yield Batch(
                [
                    RawItem(
                        "snapshot-error",
                        f"{self.space}/proposals",
                        {"error": f"{type(exc).__name__}: {exc}", "raw": getattr(exc, "raw", "")},
                    )
                ]
            )

    def _votes_of(
        self, proposals: list[dict[str, Any]], cursor_of: Callable[[str], str | None]
    ) -> Iterator[Batch]:
        if not self.votes:
            return
        for proposal in proposals:
            if isinstance(proposal.get("id"), str):
                yield from self._vote_batches(proposal["id"], cursor_of)

    def _vote_batches(self, proposal_id: str, cursor_of: Callable[[str], str | None]) -> Iterator[Batch]:
        stream = f"votes:{proposal_id}"
        created, skip = _parse_cursor(cursor_of(stream))
        while True:
            try:
                page = self.client.votes(proposal_id, created_gte=created, skip=skip, first=self.page_size)
            except (RemoteError, BadResponseError) as exc:
                yield Batch(
                    [
                        RawItem(
                            "snapshot-error",
                            stream,
                            {"error": f"{type(exc).__name__}: {exc}", "raw": getattr(exc, "raw", "")},
                        )
                    ]
                )
                return
            if not page:
                return
            created, skip = _advance(created, skip, page)
            yield Batch(
                [RawItem("snapshot-vote", str(v.get("id") if isinstance(v, dict) else "?"), v) for v in page],
                (stream, f"{created}:{skip}"),
            )
            if len(page) < self.page_size:
                return

    def normalise(self, item: RawItem) -> list[Record]:
        if item.kind == "snapshot-proposal":
            return [snapshot_proposal(item.payload)]
        if item.kind == "snapshot-vote":
            return [snapshot_vote(item.payload)]
        if item.kind == "snapshot-error":
            raise InputError(str(item.payload.get("error")))
        raise InputError(f"Snapshot source cannot read a {item.kind!r} item")
