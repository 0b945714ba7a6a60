"""The loopback forum's answers, in the shapes a real Discourse sends.

A recording holds ``/latest.json`` topic entries and ``/t/{id}.json`` answers as they were captured (or as a
test wrote them); this module renders them the way Discourse does, so the client meets what a live forum sends:

- ``/latest.json`` (``TopicListSerializer`` / ``TopicListItemSerializer``): topics by ``bumped_at``, newest
  first, with globally pinned topics first on page 0 (``TopicQuery#prioritize_pinned_topics``: later pages
  skip them and are offset by their count); ``more_topics_url`` only on a full page; ``bumped_at`` and
  ``category_id`` on every entry, and no ``category_name`` (the list has none).
- ``/t/{id}.json`` (``TopicViewSerializer``): no ``bumped_at`` and no ``category_name`` (the topic view has
  neither); ``category_id``; the first ``chunk`` posts and the whole ``post_stream.stream``.
- ``/categories.json`` (``CategoryListSerializer``): top-level categories only; with
  ``include_subcategories=true`` each carries its children in ``subcategory_list``.

Only fields the published response schemas (``spec/requests/api/schemas/json/``) list are sent. A recording
without ``bumped_at`` gets ``last_posted_at``, else ``created_at`` (what Discourse sets it to when no edit bumped
the topic); the bundled sample's scrape has no times at all, so there they stay null (``PROVENANCE.md``). A topic
without ``category_id`` gets the id its ``category_name`` has in ``/categories.json``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ForumShapes", "with_categories"]

# The field names each answer may carry, from the published schemas (see tests/ingest/data/discourse_shapes.json).
_LIST_ITEM_FIELDS = (
    "id", "title", "fancy_title", "slug", "posts_count", "reply_count", "highest_post_number", "image_url",
    "created_at", "last_posted_at", "bumped", "bumped_at", "archetype", "unseen", "pinned", "unpinned",
    "excerpt", "visible", "closed", "archived", "bookmarked", "liked", "views", "like_count", "has_summary",
    "last_poster_username", "category_id", "pinned_globally", "featured_link", "posters",
)  # fmt: skip
_VIEW_FIELDS = (
    "id", "title", "fancy_title", "posts_count", "created_at", "views", "reply_count", "like_count",
    "last_posted_at", "visible", "closed", "archived", "has_summary", "archetype", "slug", "category_id",
    "word_count", "deleted_at", "user_id", "featured_link", "pinned_globally", "pinned_at", "pinned_until",
    "image_url", "unpinned", "pinned", "highest_post_number", "deleted_by", "has_deleted", "chunk_size",
    "tags", "suggested_topics", "timeline_lookup", "participant_count",
)  # fmt: skip
_POST_FIELDS = (
    "id", "name", "username", "avatar_template", "created_at", "cooked", "post_number", "post_type",
    "updated_at", "reply_count", "reply_to_post_number", "quote_count", "incoming_link_count", "reads",
    "readers_count", "score", "yours", "topic_id", "topic_slug", "display_username", "primary_group_name",
    "version", "can_edit", "can_delete", "can_recover", "can_wiki", "read", "user_title", "bookmarked",
    "moderator", "admin", "staff", "user_id", "hidden", "trust_level", "deleted_at", "user_deleted",
    "edit_reason", "can_view_edit_history", "wiki",
)  # fmt: skip


def with_categories(recording: dict[str, Any]) -> dict[str, Any]:
    """The recording with its ``categories`` written out (numbered from the topics' names, as the answers number
    them when it has none), for a recording that stays as it is while it is served: no answer then reads every
    topic to work them out again. A recording that has them is returned as it is."""
    if "categories" in recording:
        return recording
    return {**recording, "categories": ForumShapes(recording)._derived_categories()}


def _project(source: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: source[k] for k in fields if k in source}


class ForumShapes:
    """Renders one Discourse recording (``{"responses": {...}, "categories": [...]?}``) as Discourse answers."""

    def __init__(
        self, recording: dict[str, Any], *, page_size: int = 30, topic_chunk: int = 20, memo: dict[Any, Any] | None = None
    ) -> None:
        self.recording = recording
        self.page_size = page_size
        self.topic_chunk = topic_chunk
        self._category_rows: list[dict[str, Any]] | None = None  # worked out once per answer, not once per topic
        self._ids_by_name: dict[str, int] | None = None
        self._memo = memo  # shared by the answers of one server: categories derived from the same names are kept

    # --- categories -------------------------------------------------------------

    def _categories(self) -> list[dict[str, Any]]:
        if self._category_rows is None:
            if "categories" in self.recording:
                self._category_rows = list(self.recording["categories"])
            else:
                self._category_rows = self._derived_categories()
        return self._category_rows

    def _derived_categories(self) -> list[dict[str, Any]]:
        """Categories numbered by name from the topics' ``category_name`` (a recording without ``categories``)."""
        named = tuple(t.get("category_name") for t in self._entries())
        if self._memo is not None and self._memo.get("names") == named:
            return self._memo["rows"]  # type: ignore[no-any-return]
        names = sorted({str(n) for n in named if n})
        rows = [{"id": i + 1, "name": n, "slug": n.lower().replace(" ", "-")} for i, n in enumerate(names)]
        if self._memo is not None:
            self._memo.update(names=named, rows=rows)
        return rows

    def _category_id(self, topic: dict[str, Any]) -> int | None:
        if isinstance(topic.get("category_id"), int):
            return topic["category_id"]
        if self._ids_by_name is None:
            self._ids_by_name = {}
            for c in self._categories():
                self._ids_by_name.setdefault(c.get("name"), c["id"])  # the first category of a name, as before
        name = topic.get("category_name")
        return self._ids_by_name.get(name) if name else None

    def category_list(self, *, include_subcategories: bool) -> dict[str, Any]:
        rows = self._categories()
        children: dict[int, list[dict[str, Any]]] = {}
        for c in rows:
            if isinstance(c.get("parent_category_id"), int):
                children.setdefault(c["parent_category_id"], []).append(c)

        def render(c: dict[str, Any]) -> dict[str, Any]:
            kids = children.get(c["id"], [])
            out = {
                "id": c["id"], "name": c["name"], "slug": c.get("slug") or str(c["name"]).lower(),
                "color": c.get("color", "0088CC"), "text_color": c.get("text_color", "FFFFFF"),
                "topic_count": c.get("topic_count", 0), "post_count": c.get("post_count", 0),
                "position": c.get("position", 0), "description": c.get("description"),
                "description_text": c.get("description"), "description_excerpt": c.get("description"),
                "topic_url": None, "read_restricted": False, "notification_level": 1,
                "has_children": bool(kids), "subcategory_ids": [k["id"] for k in kids],
                "subcategory_list": [render(k) for k in kids] if include_subcategories else None,
            }  # fmt: skip
            return out

        top = [render(c) for c in rows if not isinstance(c.get("parent_category_id"), int)]
        return {"category_list": {"can_create_category": False, "can_create_topic": False, "categories": top}}

    # --- topic list -------------------------------------------------------------

    def _entries(self) -> list[dict[str, Any]]:
        latest = self.recording["responses"].get("/latest.json") or {}
        return [t for t in (latest.get("topic_list") or {}).get("topics") or [] if isinstance(t, dict)]

    @staticmethod
    def _bumped_at(topic: dict[str, Any]) -> Any:
        return topic.get("bumped_at") or topic.get("last_posted_at") or topic.get("created_at")

    @staticmethod
    def _pinned_globally(entry: dict[str, Any]) -> bool:
        """Whether the rendered list item is pinned globally (its ``pinned`` and ``pinned_globally``)."""
        pinned = bool(entry.get("pinned"))
        return pinned and bool(entry.get("pinned_globally", pinned))

    def _list_item(self, entry: dict[str, Any]) -> dict[str, Any]:
        posts = entry.get("posts_count") if isinstance(entry.get("posts_count"), int) else 1
        pinned = bool(entry.get("pinned"))
        item = {
            "fancy_title": entry.get("title"), "reply_count": max(0, posts - 1), "image_url": None,
            "bumped": True, "archetype": "regular", "unseen": False, "unpinned": None, "visible": True,
            "closed": False, "archived": False, "bookmarked": None, "liked": None, "views": 0, "like_count": 0,
            "has_summary": False, "featured_link": None, "posters": [], "pinned_globally": pinned,
            **_project(entry, _LIST_ITEM_FIELDS),
            "pinned": pinned, "bumped_at": self._bumped_at(entry), "category_id": self._category_id(entry),
        }  # fmt: skip
        if item.get("last_posted_at") is None:
            item["last_posted_at"] = item.get("created_at")
        return item

    def latest(self, page: int) -> dict[str, Any]:
        """One page of ``/latest.json``: pinned topics first on page 0, then by ``bumped_at``, newest first."""
        entries = self._entries()  # ordered on the recorded entries; only the page's own are rendered
        pinned = [t for t in entries if self._pinned_globally(t)]
        rest = [t for t in entries if not self._pinned_globally(t)]
        rest.sort(key=lambda t: self._bumped_at(t) or "", reverse=True)
        if page == 0:
            chunk = [self._list_item(t) for t in (pinned + rest)[: self.page_size]]
        else:
            offset = max(0, page * self.page_size - len(pinned))
            chunk = [self._list_item(t) for t in rest[offset : offset + self.page_size]]
        topic_list: dict[str, Any] = {"can_create_topic": False, "per_page": self.page_size, "topics": chunk}
        if len(chunk) == self.page_size:
            topic_list["more_topics_url"] = f"/latest?order=activity&page={page + 1}"
        return {"users": [], "primary_groups": [], "topic_list": topic_list}

    # --- topic view -------------------------------------------------------------

    @staticmethod
    def _post(post: Any) -> Any:
        if not isinstance(post, dict):
            return post
        # Fields every post carries (PostSerializer) that a recording may not have kept: their plain values.
        defaults = {"post_type": 1, "version": 1, "reply_to_post_number": None, "hidden": False, "wiki": False,
                    "deleted_at": None, "user_deleted": False}  # fmt: skip
        return {**defaults, **_project(post, _POST_FIELDS)}

    def _view(self, full: dict[str, Any]) -> dict[str, Any]:
        defaults = {"fancy_title": full.get("title"), "archetype": "regular", "visible": True, "closed": False,
                    "archived": False, "deleted_at": None, "pinned": False, "pinned_globally": False,
                    "pinned_at": None, "pinned_until": None, "unpinned": None}  # fmt: skip
        view = {**defaults, **_project(full, _VIEW_FIELDS)}
        view["category_id"] = self._category_id(full)
        return view

    def topic(self, full: Any) -> Any:
        """``/t/{id}.json``: the topic view with its first posts and the whole stream."""
        if not isinstance(full, dict) or not isinstance(full.get("post_stream"), dict):
            return full  # a recording of a malformed answer is served as it is
        posts = full["post_stream"].get("posts") or []
        stream = full["post_stream"].get("stream") or [p.get("id") for p in posts if isinstance(p, dict)]
        view = self._view(full)
        view["chunk_size"] = self.topic_chunk
        view["post_stream"] = {"posts": [self._post(p) for p in posts[: self.topic_chunk]], "stream": stream}
        return view

    def topic_posts(self, full: dict[str, Any], wanted: set[int]) -> dict[str, Any]:
        """``/t/{id}/posts.json?post_ids[]=...``: the wanted posts the topic still has."""
        posts = [self._post(p) for p in full["post_stream"].get("posts") or [] if p.get("id") in wanted]
        return {"post_stream": {"posts": posts}, "id": full.get("id")}
