"""What a run could not read from Discourse is read again on later runs, until complete or given up."""

from __future__ import annotations

import copy
from typing import Any

from sqlmodel import select

from ingest.core.domain import Post, QuarantinedRecord, Thread
from ingest.core.store import Store
from ingest.http import PoliteClient
from ingest.pipeline import IngestSummary, run_ingestion
from ingest.replay import ReplayServer
from ingest.sources.discourse import DiscourseClient, DiscourseSource, known_topics


def _run(store: Store, http: PoliteClient, forum: dict[str, Any], *, max_tries: int = 5) -> IngestSummary:
    dao = store.ensure_dao("arbitrum")
    known = known_topics(store, dao, forum["base_url"])
    source = DiscourseSource(
        DiscourseClient(http), site_url=forum["base_url"], known=known, batch_items=50, max_tries=max_tries
    )
    return run_ingestion(store, dao, source)


def _reply(forum: dict[str, Any], topic_id: int, text: str, when: str) -> None:
    """A new reply: the topic gains a post and is bumped to the top of /latest.json."""
    topic = forum["responses"][f"/t/{topic_id}.json"]
    posts = topic["post_stream"]["posts"]
    new = {
        **copy.deepcopy(posts[-1]),
        "id": posts[-1]["id"] + 7000,
        "post_number": posts[-1]["post_number"] + 1,
    }
    new["cooked"] = f"<p>{text}</p>"
    posts.append(new)
    topic["post_stream"]["stream"] = [p["id"] for p in posts]
    entry = next(t for t in forum["responses"]["/latest.json"]["topic_list"]["topics"] if t["id"] == topic_id)
    entry.update(highest_post_number=new["post_number"], bumped_at=when)


def _texts(store: Store) -> set[str]:
    with store.session() as session:
        return set(session.exec(select(Post.text)).all())


def _quarantine(store: Store) -> list[QuarantinedRecord]:
    with store.session() as session:
        return list(session.exec(select(QuarantinedRecord).order_by(QuarantinedRecord.id)))


def test_a_topic_that_failed_is_read_again_once_the_server_recovers(
    sqlite_store: Store, forum: dict[str, Any], server: ReplayServer, http: PoliteClient
) -> None:
    _run(sqlite_store, http, forum)
    topics = forum["responses"]["/latest.json"]["topic_list"]["topics"]
    broken, garbled = topics[3]["id"], topics[4]["id"]
    _reply(forum, broken, "Reply behind a 500", "2024-03-02T00:00:00.000Z")
    _reply(forum, garbled, "Reply behind bad JSON", "2024-03-02T01:00:00.000Z")
    server.inject(f"/t/{broken}.json", "500", "500", "500")  # every try of one run (FAST: 1 + 2 retries)
    server.inject(f"/t/{garbled}.json", "badjson")
    down = _run(sqlite_store, http, forum)
    assert down.quarantined == 2 and "Reply behind a 500" not in _texts(sqlite_store)

    # The server is back; nothing was bumped since: the walk alone would stop at page 0 and read neither.
    before = len(server.request_log)
    back = _run(sqlite_store, http, forum)
    assert (back.ingested, back.quarantined) == (2, 0)
    assert {"Reply behind a 500", "Reply behind bad JSON"} <= _texts(sqlite_store)
    fetched = {p for p in server.request_log[before:] if p.startswith("/t/") and p.endswith(".json")}
    assert fetched == {f"/t/{broken}.json", f"/t/{garbled}.json"}
    # Retried and done: the next run reads no topic at all.
    before = len(server.request_log)
    assert _run(sqlite_store, http, forum).quarantined == 0
    assert not any(p.startswith("/t/") for p in server.request_log[before:])


def test_a_topic_failing_every_run_is_given_up_with_its_reason(
    sqlite_store: Store, forum: dict[str, Any], server: ReplayServer, http: PoliteClient
) -> None:
    _run(sqlite_store, http, forum)
    topic_id = forum["responses"]["/latest.json"]["topic_list"]["topics"][2]["id"]
    _reply(forum, topic_id, "Never readable", "2024-03-02T00:00:00.000Z")
    path = f"/t/{topic_id}.json"
    runs = []
    for _ in range(4):
        server.inject(path, "500", "500", "500")
        before = len(server.request_log)
        runs.append(_run(sqlite_store, http, forum, max_tries=3))
        runs[-1].errors.append(str(sum(1 for p in server.request_log[before:] if p == path)))
    # Quarantined on the first failure and when given up on the third; not re-added by the retry between.
    assert [r.quarantined for r in runs] == [1, 0, 1, 0]
    assert [r.errors[-1] for r in runs] == ["3", "3", "3", "0"]  # the fourth run no longer asks for it
    rows = _quarantine(sqlite_store)
    # The quarantine keeps one row per record (source, kind, ref): the give-up updates the first failure's row.
    assert [r.external_ref for r in rows] == [path]
    assert rows[0].attempts == 2
    assert "given up after 3 tries" in rows[0].error and "HTTP 500" in rows[0].error


def test_posts_missing_from_posts_json_are_retried_and_the_thread_is_not_complete_until_they_come(
    sqlite_store: Store, forum: dict[str, Any], server: ReplayServer, http: PoliteClient
) -> None:
    key = max(
        (k for k in forum["responses"] if k != "/latest.json"),
        key=lambda k: len(forum["responses"][k]["post_stream"]["posts"]),
    )
    topic = forum["responses"][key]
    posts = topic["post_stream"]["posts"]
    assert len(posts) > 10  # the loopback sends 5 with /t/{id}.json: the rest come through /posts.json
    topic["post_stream"]["stream"] = [p["id"] for p in posts]
    vanished = [
        posts.pop(7),
        posts.pop(7),
        posts.pop(7),
    ]  # in the stream, but /posts.json returns none of them

    first = _run(sqlite_store, http, forum)
    assert first.quarantined == 1
    row = _quarantine(sqlite_store)[0]
    assert row.external_ref == f"/t/{topic['id']}/posts.json" and "3 post(s)" in row.error
    with sqlite_store.session() as session:
        thread = session.exec(select(Thread).where(Thread.external_id == str(topic["id"]))).one()
    assert thread.last_post_number is None and thread.bumped_at is None  # not stored as complete

    still = _run(sqlite_store, http, forum)  # still missing: read again, no second quarantine row
    assert still.quarantined == 0 and len(_quarantine(sqlite_store)) == 1
    assert any(p == f"/t/{topic['id']}.json" for p in server.request_log[-20:])

    posts[7:7] = vanished  # the posts are back (a moderator restored them, a replica caught up)
    back = _run(sqlite_store, http, forum)
    assert back.ingested == 3
    with sqlite_store.session() as session:
        stored = set(session.exec(select(Post.external_id)).all())
        thread = session.exec(select(Thread).where(Thread.external_id == str(topic["id"]))).one()
    assert {str(p["id"]) for p in vanished} <= stored
    assert thread.last_post_number == max(p["post_number"] for p in posts) and thread.bumped_at is not None
    before = len(server.request_log)
    assert _run(sqlite_store, http, forum).ingested == 0
    assert not any(p.startswith("/t/") for p in server.request_log[before:])
