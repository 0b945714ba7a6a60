"""Sources that read recorded API payloads: Discourse JSON, Snapshot GraphQL objects, Governor events.

They yield exactly the payload shapes the live APIs return, through the same normalisers,
so the bundled sample exercises the live code path from the payload onward.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ingest.core.domain import SourceKind
from ingest.core.errors import InputError
from ingest.normalise.discourse import discourse_post, topic_to_thread
from ingest.normalise.governor import governor_proposal, governor_vote
from ingest.normalise.snapshot import snapshot_proposal, snapshot_vote
from ingest.pipeline import Batch, RawItem
from ingest.records import Record

__all__ = ["RecordedDiscourse", "RecordedSnapshot", "RecordedGovernor"]


def _chunks(items: list[Any], size: int) -> Iterator[tuple[int, list[Any]]]:
    for start in range(0, len(items), size):
        yield start, items[start : start + size]


@dataclass
class RecordedDiscourse:
    """Topics from ``/latest.json`` and each ``/t/{id}.json``; the cursor per topic is its last post number."""

    recording: dict[str, Any]
    kind: str = SourceKind.DISCOURSE

    @property
    def locator(self) -> str:
        return str(self.recording["base_url"])

    @property
    def name(self) -> str:
        return self.locator.split("//")[-1]

    def batches(self, cursor_of: Callable[[str], str | None]) -> Iterator[Batch]:
        responses = self.recording["responses"]
        for topic in responses["/latest.json"]["topic_list"]["topics"]:
            stream = f"topic:{topic['id']}"
            seen = int(cursor_of(stream) or 0)
            if topic.get("highest_post_number", 0) <= seen:
                continue
            full = responses.get(f"/t/{topic['id']}.json")
            if full is None:
                yield Batch([RawItem("discourse-topic-missing", stream, topic)])
                continue
            posts = [p for p in full["post_stream"]["posts"] if int(p.get("post_number", 0)) > seen]
            items = [RawItem("discourse-topic", stream, {k: v for k, v in full.items() if k != "post_stream"})]
            items += [RawItem("discourse-post", f"{stream}/{p.get('post_number')}", p) for p in posts]
            yield Batch(items, (stream, str(full.get("highest_post_number") or len(full["post_stream"]["posts"]))))

    def normalise(self, item: RawItem) -> list[Record]:
        if item.kind == "discourse-topic":
            return [topic_to_thread(item.payload, self.locator)]
        if item.kind == "discourse-post":
            return [discourse_post(item.payload, self.locator)]
        raise InputError(f"Discourse recording has no /t/{{id}}.json for {item.ref}")


@dataclass
class RecordedSnapshot:
    """Proposals then votes of one space, ordered by creation; cursors are counts read so far."""

    recording: dict[str, Any]
    batch_size: int = 200
    kind: str = SourceKind.SNAPSHOT

    @property
    def locator(self) -> str:
        return str(self.recording["space"]["id"])

    @property
    def name(self) -> str:
        return str(self.recording["space"].get("name") or self.locator)

    def batches(self, cursor_of: Callable[[str], str | None]) -> Iterator[Batch]:
        for stream, kind in (("proposals", "snapshot-proposal"), ("votes", "snapshot-vote")):
            items = self.recording.get(stream) or []
            done = int(cursor_of(stream) or 0)
            for start, chunk in _chunks(items[done:], self.batch_size):
                raw = [RawItem(kind, str(x.get("id", done + start + i)), x) for i, x in enumerate(chunk)]
                yield Batch(raw, (stream, str(done + start + len(chunk))))

    def normalise(self, item: RawItem) -> list[Record]:
        return [snapshot_proposal(item.payload) if item.kind == "snapshot-proposal" else snapshot_vote(item.payload)]


@dataclass
class RecordedGovernor:
    """Decoded ProposalCreated (with tallies) and VoteCast events of one Governor."""

    recording: dict[str, Any]
    batch_size: int = 500
    kind: str = SourceKind.GOVERNOR

    @property
    def locator(self) -> str:
        return f"chain:{self.recording.get('chain_id')}/{self.recording['governor']}"

    @property
    def name(self) -> str:
        return str(self.recording["governor"])

    def batches(self, cursor_of: Callable[[str], str | None]) -> Iterator[Batch]:
        for stream, kind in (("proposals", "governor-proposal"), ("votes", "governor-vote")):
            items = self.recording.get(stream) or []
            done = int(cursor_of(stream) or 0)
            for start, chunk in _chunks(items[done:], self.batch_size):
                raw = [RawItem(kind, f"{stream}#{done + start + i}", x) for i, x in enumerate(chunk)]
                yield Batch(raw, (stream, str(done + start + len(chunk))))

    def normalise(self, item: RawItem) -> list[Record]:
        return [governor_proposal(item.payload) if item.kind == "governor-proposal" else governor_vote(item.payload)]
