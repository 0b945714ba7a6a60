"""The loopback forum answers in Discourse's published shapes, and the client relies only on fields it always sends.

``tests/ingest/data/discourse_shapes.json`` is a trimmed copy of discourse/discourse's response schemas
(``spec/requests/api/schemas/json/``): property names, JSON types with nullability, required lists; its
``corrections`` say where the published schema is narrower than what the serializers send, and why.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ingest.http import PoliteClient
from ingest.replay import ReplayServer

SHAPES = json.loads((Path(__file__).parent / "data" / "discourse_shapes.json").read_text())["shapes"]
_JSON_TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
}

# What ingest/sources/discourse.py and ingest/normalise/discourse.py read, per object.
RELIED_ON = {
    "topic_list": ["topics"],
    "topic_list_item": ["id", "bumped_at", "highest_post_number", "category_id", "pinned", "pinned_globally"],
    "topic_view": ["id", "title", "slug", "created_at", "highest_post_number", "post_stream"],
    "post_stream": ["posts", "stream"],
    "post": [
        "id",
        "topic_id",
        "post_number",
        "cooked",
        "username",
        "name",
        "created_at",
        "updated_at",
        "reply_to_post_number",
        "deleted_at",
        "user_deleted",
    ],
    "category_list": ["categories"],
    "category": ["id", "name", "slug"],
}


def _problems(value: Any, shape: str, where: str) -> list[str]:
    """Fields the real API lacks, or with a type (or a null) the real API never sends."""
    spec = SHAPES[shape]
    if not isinstance(value, dict):
        return [f"{where}: expected an object, got {type(value).__name__}"]
    found = []
    for key, item in value.items():
        allowed = spec["properties"].get(key)
        if allowed is None:
            found.append(f"{where}.{key}: Discourse never sends this field")
            continue
        types = allowed["type"]
        if item is None:
            if "null" not in types:
                found.append(f"{where}.{key}: null, but Discourse always sends {types}")
        elif not any(
            isinstance(item, _JSON_TYPES[t]) and not (t in {"integer", "number"} and isinstance(item, bool))
            for t in types
            if t != "null"
        ):
            found.append(f"{where}.{key}: {type(item).__name__}, but Discourse sends {types}")
    found += [
        f"{where}.{key}: the client reads it, but it is missing"
        for key in RELIED_ON[shape]
        if key not in value
    ]
    return found


def test_the_client_relies_only_on_fields_discourse_always_sends() -> None:
    for shape, keys in RELIED_ON.items():
        required = set(SHAPES[shape]["required"])
        # pinned_globally: sent on every list item (TopicListItemSerializer), listed in the schema's required.
        assert set(keys) <= required, (shape, sorted(set(keys) - required))


def _get(http: PoliteClient, path: str, **params: Any) -> Any:
    return http.get_json(path, params=params or None)


def test_loopback_forum_answers_in_the_published_shapes(
    server: ReplayServer, http: PoliteClient, forum: dict[str, Any]
) -> None:
    problems: list[str] = []
    pages = []
    for page in range(10):  # 40 topics, 10 a page
        answer = _get(http, "/latest.json", page=page, order="activity")
        problems += _problems(answer["topic_list"], "topic_list", f"latest[{page}]")
        problems += [p for i, t in enumerate(answer["topic_list"]["topics"])
                     for p in _problems(t, "topic_list_item", f"latest[{page}].topics[{i}]")]  # fmt: skip
        pages.append(answer["topic_list"])
        if "more_topics_url" not in answer["topic_list"]:
            break
    listed = [t for p in pages for t in p["topics"]]
    assert len(listed) == 40 and len({t["id"] for t in listed}) == 40  # every topic once, pinned included
    assert listed[0]["pinned"] and not any(t["pinned"] for t in listed[1:])  # pinned first on page 0
    assert all(len(p["topics"]) == p["per_page"] for p in pages[:-1])  # more_topics_url only on full pages

    for topic in listed:
        view = _get(http, f"/t/{topic['id']}.json")
        problems += _problems(view, "topic_view", f"/t/{topic['id']}.json")
        problems += _problems(view["post_stream"], "post_stream", f"/t/{topic['id']}.json post_stream")
        problems += [p for i, post in enumerate(view["post_stream"]["posts"])
                     for p in _problems(post, "post", f"/t/{topic['id']}.json posts[{i}]")]  # fmt: skip
    biggest = max(listed, key=lambda t: t["posts_count"])
    view = _get(http, f"/t/{biggest['id']}.json")
    rest = [
        i for i in view["post_stream"]["stream"] if i not in {p["id"] for p in view["post_stream"]["posts"]}
    ]
    assert rest, "the biggest topic should need /posts.json"
    more = http.get_json(f"/t/{biggest['id']}/posts.json", params=[("post_ids[]", i) for i in rest])
    assert [p["id"] for p in more["post_stream"]["posts"]] == rest
    problems += [p for i, post in enumerate(more["post_stream"]["posts"])
                 for p in _problems(post, "post", f"/t/{biggest['id']}/posts.json posts[{i}]")]  # fmt: skip

    for flag in ("true", "false"):
        answer = _get(http, "/categories.json", include_subcategories=flag)
        problems += _problems(answer["category_list"], "category_list", f"categories({flag})")
        for c in answer["category_list"]["categories"]:
            problems += _problems(c, "category", f"categories({flag}).{c['id']}")
            problems += [p for s in c.get("subcategory_list") or []
                         for p in _problems(s, "category", f"categories({flag}).{c['id']}.{s['id']}")]  # fmt: skip
    assert problems == [], "\n".join(sorted({__import__("re").sub(r"\d+", "N", p) for p in problems}))


def test_topic_view_has_no_bump_time_and_no_category_name(server: ReplayServer, http: PoliteClient) -> None:
    topic_id = _get(http, "/latest.json")["topic_list"]["topics"][0]["id"]
    view = _get(http, f"/t/{topic_id}.json")
    assert "bumped_at" not in view and "category_name" not in view and isinstance(view["category_id"], int)


@pytest.mark.parametrize("flag", ["true", "false"])
def test_subcategories_are_listed_only_when_asked(
    server: ReplayServer, http: PoliteClient, flag: str
) -> None:
    categories = _get(http, "/categories.json", include_subcategories=flag)["category_list"]["categories"]
    assert [c["id"] for c in categories] == [7]  # top level only
    nested = categories[0]["subcategory_list"]
    assert categories[0]["subcategory_ids"] == [9]
    assert ([c["name"] for c in nested] if flag == "true" else nested) == (
        ["Constitutional"] if flag == "true" else None
    )


def test_categories_numbered_from_topic_names_follow_a_recording_edited_while_it_is_served() -> None:
    topics = [{"id": 1, "title": "A", "category_name": "Governance"}, {"id": 2, "title": "B", "category_name": "Treasury"}]
    recording = {"responses": {"/latest.json": {"topic_list": {"topics": topics}}}}
    with ReplayServer(discourse=recording) as server, PoliteClient(server.url) as client:
        ids = {t["id"]: t["category_id"] for t in client.get_json("/latest.json")["topic_list"]["topics"]}
        assert ids == {1: 1, 2: 2}
        topics[0]["category_name"] = "Zoning"  # edited in place: same list, same length
        ids = {t["id"]: t["category_id"] for t in client.get_json("/latest.json")["topic_list"]["topics"]}
        assert ids == {1: 2, 2: 1}
        names = [c["name"] for c in client.get_json("/categories.json")["category_list"]["categories"]]
        assert names == ["Treasury", "Zoning"]


def _named_recording() -> dict[str, Any]:
    """Topics named by ``category_name`` only (no ``category_id``, no ``categories``), as the sample's scrape is."""
    names = ["Treasury", "Governance", None, "Governance", "Zoning"]
    topics = [
        {"id": i + 1, "title": f"T{i}", "slug": f"t{i}", "category_name": name, "highest_post_number": 1,
         "bumped_at": f"2024-02-{10 + i:02d}T00:00:00.000Z"}
        for i, name in enumerate(names)
    ]  # fmt: skip
    responses: dict[str, Any] = {"/latest.json": {"topic_list": {"topics": topics}}}
    for t in topics:
        post = {"id": 100 + t["id"], "topic_id": t["id"], "post_number": 1, "cooked": "<p>x</p>", "username": "a"}
        responses[f"/t/{t['id']}.json"] = {**t, "post_stream": {"posts": [post], "stream": [post["id"]]}}
    return {"responses": responses}


def test_a_recording_with_its_categories_written_out_is_answered_byte_for_byte_the_same() -> None:
    from ingest.replay_forum import with_categories
    from ingest.sources.recordings import SAMPLE_DIR, load_recording

    for recording in (_named_recording(), load_recording(SAMPLE_DIR / "discourse-arbitrum.json.gz")):
        fixed = with_categories(recording)
        assert "categories" not in recording and recording["responses"] is fixed["responses"]
        plain, written = ReplayServer(discourse=recording, page_size=2), ReplayServer(discourse=fixed, page_size=2)
        targets = ["/categories.json?include_subcategories=true", "/categories.json"]
        targets += [f"/latest.json?page={p}" for p in range(len(recording["responses"]))]
        targets += [k for k in recording["responses"] if k.startswith("/t/")]
        targets += [f"/t/{k.split('/')[2].split('.')[0]}/posts.json?post_ids[]=1" for k in targets if k.startswith("/t/")]
        for target in targets:
            assert written.answer(target, None) == plain.answer(target, None), target
    _status, body, _headers = ReplayServer(discourse=with_categories(_named_recording())).answer("/latest.json", None)
    ids = {t["id"]: t["category_id"] for t in json.loads(body)["topic_list"]["topics"]}
    assert ids == {1: 2, 2: 1, 3: None, 4: 1, 5: 3}  # numbered by name: Governance, Treasury, Zoning
    given = {"responses": {}, "categories": [{"id": 4, "name": "Kept"}]}
    assert with_categories(given) is given


def test_the_replayed_sample_numbers_its_categories_once_not_on_every_request(monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    from ingest.core.store import Store
    from ingest.pipeline import run_ingestion
    from ingest.replay_forum import ForumShapes
    from ingest.sources.sample_replay import replayed_sample_sources

    derived = ForumShapes._derived_categories
    calls = []

    def counted(self: ForumShapes) -> list[dict[str, Any]]:
        calls.append(1)
        return derived(self)

    monkeypatch.setattr(ForumShapes, "_derived_categories", counted)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/s.db")
        try:
            with replayed_sample_sources(store=store) as jobs:
                forum = next(source for _slug, source in jobs if source.kind == "discourse")
                run_ingestion(store, store.ensure_dao("arbitrum"), forum)
                requests = forum.client.http.requests_made
        finally:
            store.close()
    assert requests > 300 and len(calls) <= 1
