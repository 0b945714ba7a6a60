"""Discourse JSON (``/t/{id}.json``, ``/t/{id}/posts.json``) to thread and post records."""

from __future__ import annotations

from typing import Any

from ingest.core.errors import InputError
from ingest.normalise.html import html_to_text
from ingest.normalise.payload import clean_text, optional_str, require
from ingest.normalise.timeparse import parse_time
from ingest.records import PostRecord, PresentPostsRecord, ThreadRecord

__all__ = ["discourse_post", "present_posts", "topic_to_thread"]


def topic_to_thread(topic: Any, base_url: str) -> ThreadRecord:
    topic_id = require(topic, "id", int, "Discourse topic")
    where = f"Discourse topic {topic_id}"
    return ThreadRecord(
        external_id=str(topic_id),
        title=str(require(topic, "title", str, where))[:500],
        url=f"{base_url.rstrip('/')}/t/{topic.get('slug') or topic_id}/{topic_id}",
        category=optional_str(topic, "category_name") or optional_str(topic, "category_id"),
        created_at=parse_time(topic.get("created_at"), f"{where} created_at"),
        bumped_at=parse_time(topic.get("bumped_at"), f"{where} bumped_at"),
        last_post_number=topic.get("highest_post_number") if isinstance(topic.get("highest_post_number"), int) else None,
    )


def discourse_post(post: Any, base_url: str) -> PostRecord:
    post_id = require(post, "id", int, "Discourse post")
    where = f"Discourse post {post_id}"
    topic_id = require(post, "topic_id", int, where)
    number = require(post, "post_number", int, where)
    cooked = require(post, "cooked", str, where)
    text = clean_text(html_to_text(cooked), where)
    deleted = bool(post.get("deleted_at")) or bool(post.get("user_deleted"))
    if not text and not deleted:
        raise InputError(f"{where}: empty post (no text after removing HTML)")
    return PostRecord(
        thread_external_id=str(topic_id),
        external_id=str(post_id),
        # A deleted post keeps its place but not its words (Discourse shows "(post deleted by author)"), as
        # for Discord deletions.
        text="" if deleted else text,
        html=None if deleted else cooked,
        author_handle=optional_str(post, "username"),
        author_display_name=optional_str(post, "name"),
        number=number,
        reply_to_number=post.get("reply_to_post_number") if isinstance(post.get("reply_to_post_number"), int) else None,
        url=f"{base_url.rstrip('/')}/t/{topic_id}/{number}",
        created_at=parse_time(post.get("created_at"), f"{where} created_at"),
        edited_at=parse_time(post.get("updated_at"), f"{where} updated_at"),
        deleted=deleted,
    )


def present_posts(payload: Any) -> PresentPostsRecord:
    """``{"topic_id", "stream"}`` from ``/t/{id}.json``: the ids of every post the topic has now."""
    topic_id = require(payload, "topic_id", int, "Discourse post stream")
    stream = require(payload, "stream", list, f"Discourse topic {topic_id} post_stream")
    if not stream or not all(isinstance(i, int) for i in stream):
        raise InputError(f"Discourse topic {topic_id}: post_stream.stream must be a non-empty list of post ids")
    return PresentPostsRecord(thread_external_id=str(topic_id), post_external_ids=frozenset(str(i) for i in stream))
