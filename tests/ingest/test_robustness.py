"""Bad input never stops a run and never loses stored data; each bad record is quarantined with its error."""

from __future__ import annotations

import copy
from typing import Any

from sqlmodel import select

from ingest.core.domain import Post, QuarantinedRecord
from ingest.core.store import Store
from ingest.http import HttpPolicy, PoliteClient
from ingest.pipeline import run_ingestion
from ingest.replay import ReplayServer
from ingest.sources.discourse import DiscourseClient, DiscourseSource, known_topics
from tests.ingest.conftest import forum_post_count


def _bump(forum: dict[str, Any], topic_id: int, when: str = "2024-03-02T00:00:00.000Z") -> None:
    for topic in forum["responses"]["/latest.json"]["topic_list"]["topics"]:
        if topic["id"] == topic_id:
            topic["bumped_at"] = when
            topic["highest_post_number"] = topic.get("highest_post_number", 1) + 1
    forum["responses"]["/latest.json"]["topic_list"]["topics"].sort(
        key=lambda t: t["bumped_at"], reverse=True
    )


def test_bad_records_are_quarantined_and_stored_data_survives(
    sqlite_store: Store, forum: dict[str, Any]
) -> None:
    dao = sqlite_store.ensure_dao("arbitrum")
    policy = HttpPolicy(rate=0, timeout_s=0.5, retries=1, backoff_s=0.01)
    with ReplayServer(discourse=forum, page_size=10, hang_s=2) as server:
        with PoliteClient(server.url, policy=policy) as http:
            first = run_ingestion(
                sqlite_store,
                dao,
                DiscourseSource(
                    DiscourseClient(http),
                    site_url=forum["base_url"],
                    known=known_topics(sqlite_store, dao, forum["base_url"]),
                ),
            )
        assert first.quarantined == 0
        stored = forum_post_count(forum)
        with sqlite_store.session() as session:
            before = {p.external_id: p.text for p in session.exec(select(Post))}

        keys = [k for k in forum["responses"] if k != "/latest.json"]
        ids = [forum["responses"][k]["id"] for k in keys]
        r = forum["responses"]
        # 1. malformed JSON, 2. bad UTF-8, 3. unexpected schema, 4. server error, 5. hang (timeout)
        r[keys[0]] = '{"post_stream": {"posts": [ {"id": 1,, '
        r[keys[1]] = b'{"id": 1, "title": "caf\xe9 \xff\xfe", "post_stream": {"posts": []}}'
        r[keys[2]] = {**copy.deepcopy(r[keys[2]]), "post_stream": ["not", "an", "object"]}
        server.inject(f"/t/{ids[3]}.json", "500", "500", "500")
        server.inject(f"/t/{ids[4]}.json", "hang", "hang")
        # 6. a post with deep nesting + scripts + unknown fields (kept, cleaned), 7. an empty post,
        # 8. a 10 MB post, 9. a post whose fields have the wrong types
        topic = r[keys[5]]
        template = topic["post_stream"]["posts"][0]
        extra = [
            {
                **template,
                "id": 900001,
                "post_number": 101,
                "brand_new_field": {"x": 1},
                "cooked": "<div>" * 5000 + "deep <script>steal()</script>text" + "</div>" * 5000,
            },
            {**template, "id": 900002, "post_number": 102, "cooked": "<p>  </p><script>x()</script>"},
            {**template, "id": 900003, "post_number": 103, "cooked": "<p>" + "spam " * 2_100_000 + "</p>"},
            {**template, "id": 900004, "post_number": 104, "cooked": 12345},
        ]
        topic["post_stream"]["posts"] += extra
        topic["post_stream"]["stream"] = [p["id"] for p in topic["post_stream"]["posts"]]
        for topic_id in ids[:6]:
            _bump(forum, topic_id)

        with PoliteClient(server.url, policy=policy) as http:
            second = run_ingestion(
                sqlite_store,
                dao,
                DiscourseSource(
                    DiscourseClient(http),
                    site_url=forum["base_url"],
                    known=known_topics(sqlite_store, dao, forum["base_url"]),
                ),
            )

    assert second.ingested == 1  # only the deeply nested post
    assert second.quarantined == 8
    assert "quarantined" in second.line() and "skipped as duplicate" in second.line()
    with sqlite_store.session() as session:
        after = {p.external_id: p.text for p in session.exec(select(Post))}
        errors = [q.error for q in session.exec(select(QuarantinedRecord))]
        raws = [q.raw for q in session.exec(select(QuarantinedRecord))]
    assert len(after) == stored + 1
    assert all(after[k] == v for k, v in before.items())  # nothing stored was lost or altered
    assert after["900001"] == "deep text"
    joined = "\n".join(errors)
    for expected in (
        "not valid JSON",
        "not valid UTF-8",
        "no post_stream",
        "HTTP 500",
        "ReadTimeout",
        "empty post",
        "over the 1,000,000 limit",
        "'cooked' should be str",
    ):
        assert expected in joined, expected
    assert any("1,, " in raw for raw in raws)  # the raw answer is kept for inspection
