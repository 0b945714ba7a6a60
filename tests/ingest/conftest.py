"""Fixtures for ingestion tests: real-shaped recordings built from the bundled sample, loopback servers."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingest.core.store import Store
from ingest.http import HttpPolicy, PoliteClient
from ingest.replay import ReplayServer
from ingest.sources.recordings import SAMPLE_DIR, load_recording

FAST = HttpPolicy(rate=0, timeout_s=2.0, retries=2, backoff_s=0.01, max_backoff_s=0.05)


@pytest.fixture(scope="session")
def _sample_discourse() -> dict[str, Any]:
    return load_recording(SAMPLE_DIR / "discourse-arbitrum.json.gz")


@pytest.fixture
def forum(_sample_discourse: dict[str, Any]) -> dict[str, Any]:
    """The 40 biggest real Arbitrum topics, with times (bumped newest first), as a Discourse recording.

    As on a real forum: the oldest topic is pinned globally (it heads page 0 of ``/latest.json``), and the
    topics sit in "Proposals" or its subcategory "Constitutional" (named only by
    ``/categories.json?include_subcategories=true``). The sample's scrape has no times; these are made up.
    """
    responses = _sample_discourse["responses"]
    keys = sorted(
        (k for k in responses if k != "/latest.json"),
        key=lambda k: -len(responses[k]["post_stream"]["posts"]),
    )[:40]
    topics = []
    out: dict[str, Any] = {}
    for i, key in enumerate(keys):
        full = copy.deepcopy(responses[key])
        bumped = f"2024-02-{28 - i // 2:02d}T{10 + i % 2}:00:00.000Z"
        started = datetime(2024, 1, 1, 9, tzinfo=UTC) + timedelta(hours=i)
        for post in full["post_stream"]["posts"]:
            stamp = (started + timedelta(minutes=post["post_number"])).isoformat().replace("+00:00", "Z")
            post.update(created_at=stamp, updated_at=stamp)
        full.update(
            bumped_at=bumped,
            created_at=full["post_stream"]["posts"][0]["created_at"],
            last_posted_at=full["post_stream"]["posts"][-1]["created_at"],
            category_id=7 if i % 4 else 9,
        )
        full.pop("category_name", None)
        if i == len(keys) - 1:
            full.update(
                pinned=True, pinned_globally=True, pinned_at="2024-01-02T00:00:00.000Z",
                bumped_at="2024-01-15T00:00:00.000Z",
            )  # fmt: skip
        out[key] = full
        topic = {k: v for k, v in full.items() if k != "post_stream"}
        topics.append(topic)
    out["/latest.json"] = {"topic_list": {"topics": topics}}
    categories = [
        {"id": 7, "name": "Proposals", "slug": "proposals"},
        {"id": 9, "name": "Constitutional", "slug": "constitutional", "parent_category_id": 7},
    ]
    return {"base_url": _sample_discourse["base_url"], "responses": out, "categories": categories}


def forum_post_count(recording: dict[str, Any]) -> int:
    return sum(
        len(v["post_stream"]["posts"]) for k, v in recording["responses"].items() if k != "/latest.json"
    )


@pytest.fixture
def server(forum: dict[str, Any]) -> Iterator[ReplayServer]:
    with ReplayServer(
        discourse=forum,
        snapshot={"space": {"id": "test.eth", "name": "Test"}, "proposals": [], "votes": []},
        page_size=10,
        topic_chunk=5,
    ) as replay:
        yield replay


@pytest.fixture
def http(server: ReplayServer) -> Iterator[PoliteClient]:
    with PoliteClient(server.url, policy=FAST) as client:
        yield client


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    opened = Store.open(sqlite_url)
    yield opened
    opened.close()
