"""Live Discourse forum source: ``/latest.json`` pages, ``/categories.json``, ``/t/{id}.json``, ``/t/{id}/posts.json``.

Incremental: topics come newest-bumped first, after the pinned topics Discourse puts at the head of page 0
whatever their bump time; the walk stops at the first unpinned topic bumped no later than the stored
``bumped`` watermark. Each stored thread row (last post number, bump time) is its topic's cursor, written in
the same transaction as its posts, so an unchanged topic costs nothing and a killed run resumes topic by
topic. The bump time and the category come from the topic list (``/t/{id}.json`` has neither; categories are
named through ``/categories.json?include_subcategories=true``). A topic bumped again (new posts or edits) is
read in full and the writer keeps what did not change. Deletions: a post Discourse marks deleted
(``deleted_at`` / ``user_deleted``) and a stored post missing from a re-read topic's ``post_stream.stream`` are
flagged deleted with their text blanked, as Discord deletions are; a deletion is seen when its topic is read
again (a new post or a bump). A topic that failed (5xx, timeout, malformed JSON) or whose stream lists posts
``/t/{id}/posts.json`` did not return is quarantined and read again on later runs until it is complete or
given up (``discourse_retry``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ingest.core.domain import Dao, Source, SourceKind, Thread
from ingest.core.errors import InputError
from ingest.core.store import Store
from ingest.http import BadResponseError, PoliteClient, RemoteError
from ingest.normalise.discourse import discourse_post, present_posts, topic_to_thread
from ingest.normalise.timeparse import parse_time
from ingest.pipeline import Batch, RawItem
from ingest.records import Record
from ingest.sources.discourse_retry import RETRY_STREAM, RetryBook

__all__ = ["DiscourseClient", "DiscourseSource", "known_topics"]

POSTS_PER_REQUEST = 20


class DiscourseClient:
    """The few Discourse JSON endpoints Concord reads, over a PoliteClient."""

    def __init__(self, http: PoliteClient) -> None:
        self.http = http

    def latest(self, page: int) -> dict[str, Any]:
        data = self.http.get_json("/latest.json", params={"page": page, "order": "activity"})
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("topic_list"), dict)
            or not isinstance(data["topic_list"].get("topics"), list)
        ):
            raise BadResponseError(
                f"/latest.json page {page}: no topic_list.topics list in the answer",
                raw=json.dumps(data)[:100_000],
            )
        return data

    def categories(self) -> dict[int, str]:
        """Category id -> name, subcategories included (they are only listed with ``include_subcategories``)."""
        data = self.http.get_json("/categories.json", params={"include_subcategories": "true"})
        rows = (
            ((data or {}).get("category_list") or {}).get("categories") or []
            if isinstance(data, dict)
            else []
        )
        names: dict[int, str] = {}
        todo = list(rows) if isinstance(rows, list) else []
        while todo:
            c = todo.pop()
            if not isinstance(c, dict) or not isinstance(c.get("id"), int):
                continue
            names[c["id"]] = str(c.get("name") or c.get("slug"))
            if isinstance(c.get("subcategory_list"), list):
                todo.extend(c["subcategory_list"])
        return names

    def topic(self, topic_id: int) -> dict[str, Any]:
        data = self.http.get_json(f"/t/{topic_id}.json")
        if not isinstance(data, dict) or not isinstance(data.get("post_stream"), dict):
            raise BadResponseError(
                f"/t/{topic_id}.json: no post_stream in the answer", raw=json.dumps(data)[:100_000]
            )
        return data

    def posts(self, topic_id: int, post_ids: list[int]) -> list[dict[str, Any]]:
        """The posts of a long topic that ``/t/{id}.json`` did not include, 20 per request."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(post_ids), POSTS_PER_REQUEST):
            chunk = post_ids[start : start + POSTS_PER_REQUEST]
            data = self.http.get_json(f"/t/{topic_id}/posts.json", params=[("post_ids[]", i) for i in chunk])
            posts = ((data or {}).get("post_stream") or {}).get("posts") if isinstance(data, dict) else None
            if not isinstance(posts, list):
                raise BadResponseError(
                    f"/t/{topic_id}/posts.json: no post_stream.posts list", raw=json.dumps(data)[:100_000]
                )
            found.extend(posts)
        return found


def _later(bumped: str, seen: str | None) -> bool:
    if not seen:
        return True
    try:
        return parse_time(bumped) > parse_time(seen)  # type: ignore[operator]
    except (InputError, TypeError):
        return bumped != seen


def known_topics(store: Store, dao: Dao, locator: str) -> dict[str, tuple[int, str | None]]:
    """Topic id -> (last post number, bump time) of the threads already stored for this forum."""
    from sqlmodel import select

    with store.session() as session:
        source = session.exec(
            select(Source).where(
                Source.dao_id == dao.id,
                Source.kind == SourceKind.DISCOURSE,
                Source.locator == locator.rstrip("/"),
            )
        ).first()
        if source is None:
            return {}
        rows = session.exec(
            select(Thread.external_id, Thread.last_post_number, Thread.bumped_at).where(
                Thread.source_id == source.id
            )
        ).all()
    return {ext: (int(n or 0), b.isoformat() if b else None) for ext, n, b in rows}


def _quarantined(kind: str, ref: str, error: str, raw: Any = "") -> RawItem:
    """The one place this source sends something to the quarantine: a payload its ``normalise`` rejects."""
    return RawItem(kind, ref, {"error": error, "raw": raw})


def _error_item(ref: str, exc: Exception) -> RawItem:
    return _quarantined("discourse-error", ref, f"{type(exc).__name__}: {exc}", getattr(exc, "raw", ""))


def _pinned(topic: Any) -> bool:
    """A pinned topic heads page 0 of ``/latest.json`` whatever its bump time (``TopicQuery`` pinning)."""
    return isinstance(topic, dict) and bool(topic.get("pinned") or topic.get("pinned_globally"))


@dataclass
class DiscourseSource:
    """One Discourse forum. ``max_pages`` bounds the walk through ``/latest.json`` (None = to the end).

    ``known`` maps topic id -> (last post number, bump time) already stored (see ``known_topics``); topics
    are grouped into batches of about ``batch_items`` payloads, each written in one transaction.
    ``site_url`` is the forum's public address when the client reads it through another one (a replay
    server, a proxy): it names the source and builds post URLs, so reruns land on the same source.
    A topic that could not be read in full is read again on later runs, up to ``max_tries`` runs in all,
    then given up with its reason (see ``discourse_retry``).
    """

    client: DiscourseClient
    max_pages: int | None = None
    site_url: str | None = None
    known: dict[str, tuple[int, str | None]] = field(default_factory=dict)
    batch_items: int = 500
    max_tries: int = 5
    kind: str = SourceKind.DISCOURSE
    _categories: dict[int, str] = field(default_factory=dict)
    _book: RetryBook = field(default_factory=RetryBook)

    @property
    def locator(self) -> str:
        return (self.site_url or self.client.http.base_url).rstrip("/")

    @property
    def name(self) -> str:
        return self.locator.split("//")[-1]

    def batches(self, cursor_of: Callable[[str], str | None]) -> Iterator[Batch]:
        try:
            self._categories = self.client.categories()
        except (RemoteError, BadResponseError):
            self._categories = {}  # categories only name threads; their absence loses nothing
        self._book = RetryBook.load(cursor_of(RETRY_STREAM), max_tries=self.max_tries)
        owed = dict(self._book.pending)  # read again this run, bumped or not
        watermark = cursor_of("bumped")
        newest = watermark
        page = 0
        complete = False
        pending: list[RawItem] = []
        while self.max_pages is None or page < self.max_pages:
            try:
                listing = self.client.latest(page)
            except (RemoteError, BadResponseError) as exc:
                # The watermark stays where it was: the next run walks these pages again.
                yield Batch([*pending, _error_item(f"/latest.json?page={page}", exc)], self._retry_cursor())
                return
            stop = False
            for topic in listing["topic_list"]["topics"]:
                bumped = topic.get("bumped_at") if isinstance(topic, dict) else None
                if watermark and isinstance(bumped, str) and bumped <= watermark and not _pinned(topic):
                    stop = True  # pinned topics head page 0 out of bump order: only an unpinned one ends the walk
                    break
                if isinstance(topic, dict) and isinstance(topic.get("id"), int):
                    # Read by the walk's own rule: a failed read left its thread row as it was, so it is due.
                    owed.pop(topic["id"], None)
                pending += self._topic_items(topic, cursor_of)
                if len(pending) >= self.batch_items:
                    yield Batch(pending)
                    pending = []
                if isinstance(bumped, str) and (newest is None or bumped > newest):
                    newest = bumped
            page += 1
            if stop or not listing["topic_list"].get("more_topics_url"):
                complete = True
                break
        for topic_id, owed_topic in owed.items():
            entry = {"id": topic_id, "bumped_at": owed_topic.bumped_at, "category_id": owed_topic.category_id}
            pending += self._topic_items(entry, cursor_of, again=True)
            if len(pending) >= self.batch_items:
                yield Batch(pending)
                pending = []
        # The retry state commits before the watermark moves: a run killed in between walks the pages again.
        yield Batch(pending, self._retry_cursor())
        if complete and newest and newest != watermark:
            yield Batch([], ("bumped", newest))

    def _retry_cursor(self) -> tuple[str, str]:
        return (RETRY_STREAM, self._book.dump())

    def _seen(self, topic_id: int, cursor_of: Callable[[str], str | None]) -> tuple[int, str | None]:
        """What the store already has of a topic: from its thread row, else an older per-topic cursor."""
        if str(topic_id) in self.known:
            return self.known[str(topic_id)]
        old = cursor_of(f"topic:{topic_id}")
        if old and old.isdigit():  # RecordedDiscourse keeps the last post number alone
            return int(old), None
        if old:
            state = json.loads(old)
            return int(state.get("n") or 0), state.get("b")
        return 0, None

    def _failed(self, topic_id: int, entry: dict[str, Any], item: RawItem) -> list[RawItem]:
        """Book a failed read; quarantine it the first time and when it is given up, not on every retry."""
        reason = str(item.payload.get("error"))
        first = topic_id not in self._book.pending
        given_up = self._book.failed(topic_id, reason, entry)
        if given_up is not None:
            return [
                _quarantined(
                    item.kind,
                    item.ref,
                    f"given up after {given_up.tries} tries: {reason}",
                    item.payload.get("raw", ""),
                )
            ]
        return [item] if first else []

    def _topic_items(
        self, topic: Any, cursor_of: Callable[[str], str | None], *, again: bool = False
    ) -> list[RawItem]:
        if not isinstance(topic, dict) or not isinstance(topic.get("id"), int):
            return [RawItem("discourse-topic", "latest-entry", topic)]  # normalise rejects it with the reason
        topic_id = topic["id"]
        ref = f"topic:{topic_id}"
        seen_n, seen_b = self._seen(topic_id, cursor_of)
        highest = (
            topic.get("highest_post_number") if isinstance(topic.get("highest_post_number"), int) else None
        )
        bumped = topic.get("bumped_at")
        bumped_again = again or (bool(bumped) and _later(bumped, seen_b))
        if not again and highest is not None and highest <= seen_n and not (bumped_again and seen_n):
            return []
        try:
            full = self.client.topic(topic_id)
            loaded = [p for p in full["post_stream"].get("posts") or [] if isinstance(p, dict)]
            have = {p.get("id") for p in loaded}
            stream = [i for i in full["post_stream"].get("stream") or [] if isinstance(i, int)]
            missing = [i for i in stream if i not in have]
            if missing:
                loaded += self.client.posts(topic_id, missing)
        except (RemoteError, BadResponseError) as exc:
            return self._failed(topic_id, topic, _error_item(f"/t/{topic_id}.json", exc))
        have = {p.get("id") for p in loaded}
        still_missing = [i for i in stream if i not in have]
        posts = [
            p
            for p in loaded
            if bumped_again or not isinstance(p.get("post_number"), int) or p["post_number"] > seen_n
        ]
        # /t/{id}.json has neither a bump time nor a category name: both come from the topic list.
        header = {k: v for k, v in full.items() if k not in {"post_stream", "bumped_at", "category_name"}}
        header["bumped_at"] = bumped if isinstance(bumped, str) else None
        category_id = topic.get("category_id") if isinstance(topic.get("category_id"), int) else None
        if category_id is None and isinstance(header.get("category_id"), int):
            category_id = header["category_id"]
        header["category_name"] = self._categories.get(category_id) if category_id is not None else None
        items: list[RawItem] = []
        if still_missing:
            # Not complete: the thread row keeps its old bump time and last post number (its cursor), so
            # nothing reads it as done, and the topic is read again on the next run.
            header["bumped_at"] = None
            header["highest_post_number"] = None
            problem = _quarantined(
                "discourse-missing-posts",
                f"/t/{topic_id}/posts.json",
                f"Discourse topic {topic_id}: {len(still_missing)} post(s) listed in post_stream.stream were "
                f"not returned by /t/{topic_id}/posts.json: {still_missing[:20]}",
                {"topic_id": topic_id, "missing": still_missing},
            )
            items += self._failed(topic_id, topic, problem)
        else:
            self._book.succeeded(topic_id)
            numbers = [p["post_number"] for p in loaded if isinstance(p.get("post_number"), int)]
            if numbers and not isinstance(header.get("highest_post_number"), int):
                header["highest_post_number"] = max(numbers)
        # The thread row (last post number, bump time) is the topic's cursor: it commits with the posts.
        items.insert(0, RawItem("discourse-topic", ref, header))
        items += [RawItem("discourse-post", f"{ref}/{p.get('post_number')}", p) for p in posts]
        if seen_n and stream:
            # A topic read before: stored posts no longer in its stream were deleted (same transaction).
            items.append(
                RawItem("discourse-stream", f"{ref}/stream", {"topic_id": topic_id, "stream": stream})
            )
        return items

    def normalise(self, item: RawItem) -> list[Record]:
        if item.kind == "discourse-topic":
            return [topic_to_thread(item.payload, self.locator)]
        if item.kind == "discourse-post":
            return [discourse_post(item.payload, self.locator)]
        if item.kind == "discourse-stream":
            return [present_posts(item.payload)]
        if item.kind in {"discourse-error", "discourse-missing-posts"}:
            raise InputError(str(item.payload.get("error")))
        raise InputError(f"Discourse source cannot read a {item.kind!r} item")
