"""The live Discourse source against a loopback forum serving real Arbitrum topics."""

from __future__ import annotations

import copy
from typing import Any

from sqlmodel import select

from ingest.core.domain import Post, Thread
from ingest.core.store import Store
from ingest.http import PoliteClient
from ingest.normalise.html import html_to_text
from ingest.pipeline import run_ingestion
from ingest.replay import ReplayServer
from ingest.sources.discourse import DiscourseClient, DiscourseSource, known_topics
from tests.ingest.conftest import forum_post_count


def _source(http: PoliteClient, forum: dict[str, Any], store: Store) -> DiscourseSource:
    known = known_topics(store, store.ensure_dao("arbitrum"), forum["base_url"])
    return DiscourseSource(DiscourseClient(http), site_url=forum["base_url"], known=known, batch_items=50)


def test_reads_every_page_topic_and_post_then_nothing_twice(
    sqlite_store: Store, forum: dict[str, Any], server: ReplayServer, http: PoliteClient
) -> None:
    dao = sqlite_store.ensure_dao("arbitrum")
    first = run_ingestion(sqlite_store, dao, _source(http, forum, sqlite_store))
    posts = forum_post_count(forum)
    assert first.ingested == posts + 40 and first.quarantined == 0
    assert sqlite_store.count(Post) == posts and sqlite_store.count(Thread) == 40
    assert any(p.startswith("/latest.json?page=3") for p in server.request_log)  # 40 topics, 10 per page
    assert any("/posts.json?post_ids" in p for p in server.request_log)  # topics over 5 posts were paged
    with sqlite_store.session() as session:
        threads = {t.external_id: t for t in session.exec(select(Thread))}
    # Subcategories are named too: /categories.json lists them only with include_subcategories=true.
    assert {t.category for t in threads.values()} == {"Proposals", "Constitutional"}
    # /t/{id}.json has no bumped_at: every thread's bump time comes from the topic list.
    listed = {str(t["id"]): t["bumped_at"] for t in forum["responses"]["/latest.json"]["topic_list"]["topics"]}
    assert {k: t.bumped_at.isoformat()[:19] for k, t in threads.items()} == {
        k: v[:19] for k, v in listed.items()
    }
    requests_before = len(server.request_log)
    second = run_ingestion(sqlite_store, dao, _source(http, forum, sqlite_store))
    assert (second.ingested, second.updated, second.quarantined) == (0, 0, 0)
    assert sqlite_store.count(Post) == posts
    # Incremental: the second run stopped at the first page (bump watermark) and fetched no topic.
    assert not any(p.startswith("/t/") for p in server.request_log[requests_before:])


def test_new_post_and_edit_are_picked_up_from_bumped_topic_only(
    sqlite_store: Store, forum: dict[str, Any], server: ReplayServer, http: PoliteClient
) -> None:
    dao = sqlite_store.ensure_dao("arbitrum")
    run_ingestion(sqlite_store, dao, _source(http, forum, sqlite_store))
    key = next(k for k in forum["responses"] if k != "/latest.json")
    topic = forum["responses"][key]
    posts = topic["post_stream"]["posts"]
    new = copy.deepcopy(posts[-1])
    new.update(id=new["id"] + 5000, post_number=new["post_number"] + 1, cooked="<p>A brand new reply</p>")
    posts.append(new)
    topic["post_stream"]["stream"] = [p["id"] for p in posts]
    posts[0]["cooked"] = "<p>Edited opening post</p>"
    topic["highest_post_number"] = new["post_number"]
    topic["bumped_at"] = "2024-03-01T00:00:00.000Z"
    listing = forum["responses"]["/latest.json"]["topic_list"]["topics"]
    entry = next(t for t in listing if t["id"] == topic["id"])
    entry.update(highest_post_number=new["post_number"], bumped_at=topic["bumped_at"])
    before = len(server.request_log)
    summary = run_ingestion(sqlite_store, dao, _source(http, forum, sqlite_store))
    assert summary.ingested == 1  # the new reply
    assert summary.updated == 2  # the edited opening post and the thread's bump time
    fetched_topics = {p.split("?")[0] for p in server.request_log[before:] if p.startswith("/t/")}
    assert fetched_topics <= {f"/t/{topic['id']}.json", f"/t/{topic['id']}/posts.json"}
    with sqlite_store.session() as session:
        texts = set(session.exec(select(Post.text)).all())
    assert "A brand new reply" in texts and "Edited opening post" in texts


def test_cooked_html_becomes_clean_text_with_quotes_and_links() -> None:
    cooked = (
        '<aside class="quote" data-username="alice"><div class="title">alice:</div>'
        "<blockquote><p>We should fund it.</p></blockquote></aside>"
        '<p>I disagree, see <a href="https://forum.arbitrum.foundation/t/30">AIP-1</a>.</p>'
        "<script>alert(1)</script><style>p{}</style>"
    )
    text = html_to_text(cooked)
    assert "> We should fund it." in text
    assert "AIP-1 (https://forum.arbitrum.foundation/t/30)" in text
    assert "alert" not in text and "p{}" not in text


def _bump(forum: dict[str, Any], topic: dict[str, Any], when: str) -> None:
    topic["bumped_at"] = when
    listing = forum["responses"]["/latest.json"]["topic_list"]["topics"]
    next(t for t in listing if t["id"] == topic["id"]).update(bumped_at=when)


def test_deleted_and_vanished_posts_are_flagged_and_blanked(
    sqlite_store: Store, forum: dict[str, Any], server: ReplayServer, http: PoliteClient
) -> None:
    dao = sqlite_store.ensure_dao("arbitrum")
    run_ingestion(sqlite_store, dao, _source(http, forum, sqlite_store))
    key = next(
        k for k in forum["responses"] if k != "/latest.json"
    )  # the biggest topic: paged through posts.json
    topic = forum["responses"][key]
    posts = topic["post_stream"]["posts"]
    assert len(posts) > 8
    vanished, by_author, kept = posts[7], posts[3], posts[4]  # posts[7] only comes through /posts.json
    # A moderator deletes one post: it leaves the stream. Its author deletes another: Discourse keeps it in the
    # stream, flagged, with placeholder text.
    posts.remove(vanished)
    topic["post_stream"]["stream"] = [p["id"] for p in posts]
    by_author.update(
        user_deleted=True, deleted_at="2024-03-01T00:00:00.000Z", cooked="<p>(post deleted by author)</p>"
    )
    _bump(forum, topic, "2024-03-01T00:00:00.000Z")
    second = run_ingestion(sqlite_store, dao, _source(http, forum, sqlite_store))
    assert (second.ingested, second.updated, second.quarantined) == (0, 3, 0)  # two deletions + the bump

    with sqlite_store.session() as session:
        rows = {p.external_id: p for p in session.exec(select(Post))}
    for gone in (vanished, by_author):
        row = rows[str(gone["id"])]
        assert (row.deleted, row.text, row.html) == (
            True,
            "",
            None,
        )  # as Discord deletions: kept, flagged, blanked
        assert row.number == gone["post_number"]  # the thread keeps its shape
    assert not rows[str(kept["id"])].deleted and rows[str(kept["id"])].text
    assert sum(1 for r in rows.values() if r.deleted) == 2
    assert len(rows) == forum_post_count(forum) + 1  # nothing was removed from the store

    _bump(
        forum, topic, "2024-03-02T00:00:00.000Z"
    )  # read the topic again: the deletions are not applied twice
    third = run_ingestion(sqlite_store, dao, _source(http, forum, sqlite_store))
    assert (third.ingested, third.updated, third.quarantined) == (0, 1, 0)  # the thread's bump time only
    fourth = run_ingestion(sqlite_store, dao, _source(http, forum, sqlite_store))
    assert (fourth.ingested, fourth.updated, fourth.quarantined) == (0, 0, 0)


def test_a_topic_bumped_behind_an_old_pinned_topic_is_read(
    sqlite_store: Store, forum: dict[str, Any], server: ReplayServer, http: PoliteClient
) -> None:
    """Pinned topics head page 0 whatever their bump time: they must not end the incremental walk."""
    dao = sqlite_store.ensure_dao("arbitrum")
    run_ingestion(sqlite_store, dao, _source(http, forum, sqlite_store))
    listing = forum["responses"]["/latest.json"]["topic_list"]["topics"]
    pinned = next(t for t in listing if t.get("pinned"))
    assert pinned["bumped_at"] < min(t["bumped_at"] for t in listing if not t.get("pinned"))
    quiet = listing[5]  # an unpinned topic: a new reply bumps it to the top, just behind the pinned one
    topic = forum["responses"][f"/t/{quiet['id']}.json"]
    posts = topic["post_stream"]["posts"]
    reply = {**copy.deepcopy(posts[-1]), "id": posts[-1]["id"] + 7000, "post_number": posts[-1]["post_number"] + 1}
    reply["cooked"] = "<p>A reply behind the pinned topic</p>"
    posts.append(reply)
    topic["post_stream"]["stream"] = [p["id"] for p in posts]
    quiet.update(highest_post_number=reply["post_number"], bumped_at="2024-03-05T00:00:00.000Z")
    assert [t["id"] for t in server_page(http, 0)[:2]] == [pinned["id"], quiet["id"]]

    summary = run_ingestion(sqlite_store, dao, _source(http, forum, sqlite_store))
    assert summary.ingested == 1
    with sqlite_store.session() as session:
        assert "A reply behind the pinned topic" in set(session.exec(select(Post.text)).all())
        thread = session.exec(select(Thread).where(Thread.external_id == str(quiet["id"]))).one()
    assert thread.bumped_at is not None and thread.bumped_at.isoformat().startswith("2024-03-05T00:00:00")


def server_page(http: PoliteClient, page: int) -> list[dict[str, Any]]:
    return DiscourseClient(http).latest(page)["topic_list"]["topics"]
