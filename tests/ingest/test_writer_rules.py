"""The writer's natural-key rules on their own (SQLite): insert, update or leave alone, and count each exactly."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_args, get_origin, get_type_hints

import pytest
from sqlmodel import select

from ingest.core.domain import Author, Post, Proposal, Source, Thread, Vote, content_hash
from ingest.core.errors import InputError
from ingest.core.store import Store
from ingest.records import PostRecord, PresentPostsRecord, ProposalRecord, ThreadRecord, VoteRecord
from ingest.writer import WriteCounts, mark_post_deleted, write_records

T = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(empty_store: Store) -> Store:
    return empty_store


def write(store: Store, records: list, *, kind: str = "discourse", locator: str = "https://forum.example") -> WriteCounts:
    source = store.ensure_source(store.ensure_dao("testdao"), kind, locator)
    with store.session() as session:
        return write_records(session, source, records)


def counts(inserted: int = 0, updated: int = 0, unchanged: int = 0) -> WriteCounts:
    return WriteCounts(inserted=inserted, updated=updated, unchanged=unchanged)


def rows(store: Store, model) -> list:
    with store.session() as session:
        return list(session.exec(select(model)))


def test_counts_add_up_field_by_field() -> None:
    total = counts(1, 2, 3)
    total.add(counts(10, 20, 30))
    assert total == counts(11, 22, 33)


def test_threads_insert_update_and_keep(db: Store) -> None:
    assert write(db, [ThreadRecord("1", "First", url="u1"), ThreadRecord("2", "Second")]) == counts(inserted=2)
    assert write(db, [ThreadRecord("1", "First", url="u1"), ThreadRecord("2", "Second")]) == counts(unchanged=2)
    # a field left None by the source never blanks a stored one, and does not count as a change
    assert write(db, [ThreadRecord("1", "First", url=None)]) == counts(unchanged=1)
    assert write(db, [ThreadRecord("1", "Renamed", category="c")]) == counts(updated=1)
    assert write(db, [ThreadRecord("1", "Renamed", category="c"), ThreadRecord("2", "Second", url="u2"),
                      ThreadRecord("3", "Third")]) == counts(inserted=1, unchanged=1, updated=1)
    assert write(db, [ThreadRecord("2", "Second", url="u3"), ThreadRecord("3", "Third!")]) == counts(updated=2)
    by_id = {t.external_id: t for t in rows(db, Thread)}
    assert (by_id["1"].title, by_id["1"].url, by_id["1"].category) == ("Renamed", "u1", "c")
    assert by_id["1"].updated_at is not None
    assert (by_id["2"].title, by_id["2"].url, by_id["3"].title) == ("Second", "u3", "Third!")


def test_the_last_record_of_a_key_in_a_batch_wins(db: Store) -> None:
    assert write(db, [ThreadRecord("1", "old"), ThreadRecord("1", "new")]) == counts(inserted=1)
    assert [t.title for t in rows(db, Thread)] == ["new"]
    assert write(db, [ThreadRecord("1", "x"), PostRecord("1", "p", "first"), PostRecord("1", "p", "second")]) == counts(
        inserted=1, updated=1)
    assert [p.text for p in rows(db, Post)] == ["second"]


def test_threads_posts_and_authors_belong_to_their_source(db: Store) -> None:
    write(db, [ThreadRecord("1", "A forum"), PostRecord("1", "p1", "hello", author_handle="alice")])
    assert write(db, [ThreadRecord("1", "A forum"), PostRecord("1", "p1", "hello", author_handle="alice")],
                 kind="discord", locator="guild") == counts(inserted=2)
    # a post whose thread the batch does not describe still lands in its own source's thread
    write(db, [PostRecord("1", "p2", "bare", author_handle="alice")], kind="discord", locator="guild")
    write(db, [PostRecord("1", "p3", "bare, in the source written first", author_handle="alice")])
    threads, authors = {t.id: t.source_id for t in rows(db, Thread)}, {a.id: a.source_id for a in rows(db, Author)}
    assert len(threads) == 2 and len(authors) == 2
    for post in rows(db, Post):
        assert threads[post.thread_id] == post.source_id and authors[post.author_id] == post.source_id


def test_posts_insert_with_their_thread_author_and_fields(db: Store) -> None:
    record = PostRecord("7", "700", "Hello **there**", author_handle="alice", author_external_id="u-1",
                        author_display_name="Alice A.", number=2, reply_to_number=1, html="<p>Hello</p>", url="https://x/700",
                        created_at=T, edited_at=T)
    assert write(db, [record]) == counts(inserted=1)
    (thread,) = rows(db, Thread)
    assert (thread.external_id, thread.title) == ("7", "")  # a thread the batch did not describe is created bare
    (author,) = rows(db, Author)
    assert (author.handle, author.external_id, author.display_name) == ("alice", "u-1", "Alice A.")
    (post,) = rows(db, Post)
    assert (post.thread_id, post.author_id, post.external_id, post.number, post.reply_to_number, post.text, post.html,
            post.url, post.deleted) == (thread.id, author.id, "700", 2, 1, "Hello **there**", "<p>Hello</p>", "https://x/700", False)
    assert post.created_at.replace(tzinfo=UTC) == T and post.edited_at.replace(tzinfo=UTC) == T
    assert post.content_hash == content_hash("Hello **there**", "")
    assert post.ingested_at is not None


def test_a_post_without_author_has_none_and_authors_are_reused(db: Store) -> None:
    write(db, [PostRecord("7", "1", "a", author_handle="alice"), PostRecord("7", "2", "b")])
    write(db, [PostRecord("7", "3", "c", author_handle="alice", author_display_name="changed")])
    (author,) = rows(db, Author)
    assert author.display_name is None  # the first record's author fields stay
    by_id = {p.external_id: p for p in rows(db, Post)}
    assert by_id["1"].author_id == by_id["3"].author_id == author.id and by_id["2"].author_id is None


def test_a_post_changes_only_when_its_text_or_deletion_changes(db: Store) -> None:
    write(db, [PostRecord("7", "1", "text", number=1)])
    assert write(db, [PostRecord("7", "1", "text", number=5)]) == counts(unchanged=1)  # same content: left alone
    assert rows(db, Post)[0].number == 1
    assert write(db, [PostRecord("7", "1", "edited", number=5)]) == counts(updated=1)
    post = rows(db, Post)[0]
    assert (post.text, post.number, post.content_hash) == ("edited", 5, content_hash("edited", ""))
    assert write(db, [PostRecord("7", "1", "edited", deleted=True)]) == counts(updated=1)
    post = rows(db, Post)[0]
    assert post.deleted and post.content_hash == content_hash("edited", "deleted")


def test_a_post_without_author_never_takes_another_posts_author(db: Store) -> None:
    write(db, [PostRecord("7", "1", "a", author_handle="XXXX"), PostRecord("7", "2", "b", author_handle=None)])
    by_id = {p.external_id: p for p in rows(db, Post)}
    assert by_id["1"].author_id is not None and by_id["2"].author_id is None


def test_every_post_of_a_batch_is_counted(db: Store) -> None:
    write(db, [PostRecord("7", str(n), f"text {n}") for n in range(4)])
    changed = [PostRecord("7", "0", "edited 0"), PostRecord("7", "1", "edited 1"), PostRecord("7", "2", "text 2"),
               PostRecord("7", "3", "text 3"), PostRecord("7", "4", "new 4"), PostRecord("7", "5", "new 5")]
    assert write(db, changed) == counts(inserted=2, updated=2, unchanged=2)


def test_a_deleted_post_keeps_its_row_but_not_its_text() -> None:
    post = Post(thread_id=1, external_id="1", text="secret", html="<p>secret</p>", content_hash="x")
    mark_post_deleted(post)
    assert (post.deleted, post.text, post.html, post.content_hash) == (True, "", None, content_hash("", "deleted"))


def test_posts_missing_from_a_complete_listing_are_marked_deleted(db: Store) -> None:
    write(db, [ThreadRecord("7", "t"), ThreadRecord("8", "other"), PostRecord("7", "1", "a"), PostRecord("7", "2", "b"),
               PostRecord("7", "3", "c"), PostRecord("8", "9", "elsewhere")])
    write(db, [PostRecord("7", "3", "c", deleted=True)])
    listing = PresentPostsRecord(thread_external_id="7", post_external_ids=frozenset({"1"}))
    assert write(db, [listing]) == counts(updated=1)  # "2" goes; "3" was already deleted; "9" is another thread's
    by_id = {p.external_id: p for p in rows(db, Post)}
    assert by_id["2"].deleted and by_id["2"].text == "" and by_id["2"].content_hash == content_hash("", "deleted")
    assert not by_id["1"].deleted and by_id["1"].text == "a" and not by_id["9"].deleted
    assert write(db, [PresentPostsRecord(thread_external_id="unknown", post_external_ids=frozenset())]) == counts()


def test_a_complete_listing_marks_posts_of_its_own_source_only(db: Store) -> None:
    write(db, [ThreadRecord("1", "forum topic"), PostRecord("1", "p1", "forum post")])  # this source's thread is older
    write(db, [ThreadRecord("1", "channel"), PostRecord("1", "q1", "chat message")], kind="discord", locator="guild")
    listing = PresentPostsRecord(thread_external_id="1", post_external_ids=frozenset({"q1"}))
    assert write(db, [listing], kind="discord", locator="guild") == counts()
    assert [p.deleted for p in rows(db, Post)] == [False, False]


def proposal(**changes) -> ProposalRecord:
    base = {"origin": "snapshot", "external_id": "0xp", "title": "Fund it", "body": "b", "author": "0xa", "choices": ["For", "Against"],
                "start": T, "end": T, "state": "closed", "outcome": "passed", "scores": [10.0, 2.0], "voter_count": 3}
    return ProposalRecord(**{**base, **changes})


def test_proposals_insert_update_and_keep(db: Store) -> None:
    assert write(db, [proposal()]) == counts(inserted=1)
    (stored,) = rows(db, Proposal)
    assert (stored.title, stored.outcome, stored.scores, stored.source_id) == ("Fund it", "passed", [10.0, 2.0],
                                                                               rows(db, Source)[0].id)
    assert write(db, [proposal()]) == counts(unchanged=1)
    assert rows(db, Proposal)[0].updated_at == stored.updated_at


def full_proposal(**changes: Any) -> ProposalRecord:
    """A proposal with every field set, so that each one can be changed on its own."""
    base = {"origin": "snapshot", "external_id": "0xp", "title": "Fund it", "body": "b", "author": "0xa",
            "choices": ["For", "Against"], "voting_type": "single-choice", "created_at": T - timedelta(days=2),
            "start": T - timedelta(days=1), "end": T, "state": "closed", "outcome": "passed", "scores": [10.0, 2.0],
            "scores_total": 12.0, "scores_state": "pending", "quorum": 5.0, "voter_count": 3,
            "discussion_url": "https://forum.example/t/fund-it/1", "url": "https://snapshot.example/#/p/0xp",
            "extra": {"eta": 1709294400, "actions": [{"target": "0xt", "value": "0"}]}}
    return ProposalRecord(**{**base, **changes})


PROPOSAL_KEY = ("origin", "external_id")
EDITABLE = [f.name for f in fields(ProposalRecord) if f.name not in PROPOSAL_KEY]
OPTIONAL = [name for name in EDITABLE if type(None) in get_args(get_type_hints(ProposalRecord)[name])]


def changed_value(name: str, value: Any) -> Any:
    """A value of the field's own type that differs from ``value`` (a field of a new type must be added here)."""
    hint = get_type_hints(ProposalRecord)[name]
    kind = next(a for a in get_args(hint) if a is not type(None)) if type(None) in get_args(hint) else hint
    if kind is str:
        return f"{value} (edited)"
    if kind is datetime:
        return value + timedelta(hours=1)
    if kind is int:
        return value + 1
    if kind is float:
        return value + 0.5
    if get_origin(kind) is list and get_args(kind) == (str,):
        return [*value, "Abstain"]
    if get_origin(kind) is list and get_args(kind) == (float,):
        return [v + 1.0 for v in value]
    if get_origin(kind) is dict:
        return {**value, "edited": True}
    pytest.fail(f"ProposalRecord.{name} has type {hint}: add a changed value for it to changed_value")


def test_the_full_proposal_sets_every_field() -> None:
    assert {name for name in EDITABLE if getattr(full_proposal(), name) in (None, [], {})} == set()


@pytest.mark.parametrize("name", EDITABLE)
def test_a_change_in_any_proposal_field_is_written(db: Store, name: str) -> None:
    write(db, [full_proposal()])
    (before,) = rows(db, Proposal)
    value = changed_value(name, getattr(full_proposal(), name))
    assert write(db, [full_proposal(**{name: value})]) == counts(updated=1)
    (stored,) = rows(db, Proposal)
    assert getattr(stored, name) == value
    assert stored.updated_at != before.updated_at and stored.content_hash != before.content_hash


@pytest.mark.parametrize("name", OPTIONAL)
def test_a_proposal_field_the_source_clears_is_cleared_in_the_store(db: Store, name: str) -> None:
    write(db, [full_proposal()])
    assert write(db, [full_proposal(**{name: None})]) == counts(updated=1)
    assert getattr(rows(db, Proposal)[0], name) is None


def test_choices_that_join_alike_are_still_different_choices(db: Store) -> None:
    write(db, [full_proposal(choices=["a|b", "c"])])
    assert write(db, [full_proposal(choices=["a", "b|c"])]) == counts(updated=1)
    assert rows(db, Proposal)[0].choices == ["a", "b|c"]


def test_an_identical_proposal_is_left_alone_on_both_backends(store: Store) -> None:
    assert write(store, [full_proposal()]) == counts(inserted=1)
    (stored,) = rows(store, Proposal)
    assert write(store, [full_proposal()]) == counts(unchanged=1)
    # the same instants at another offset are the same proposal; the extra's keys in another order too
    elsewhere = timezone(timedelta(hours=2))
    shifted = full_proposal(created_at=(T - timedelta(days=2)).astimezone(elsewhere), end=T.astimezone(elsewhere),
                            extra={"actions": [{"value": "0", "target": "0xt"}], "eta": 1709294400})
    assert write(store, [shifted]) == counts(unchanged=1)
    (again,) = rows(store, Proposal)
    assert (again.updated_at, again.content_hash) == (stored.updated_at, stored.content_hash)


def test_votes_insert_update_and_keep(db: Store) -> None:
    write(db, [proposal(), proposal(external_id="0xq")])
    votes = [VoteRecord("0xp", "0xv1", 1, voting_power=5.0, reason="yes"), VoteRecord("0xq", "0xv1", 2, voting_power=1.0)]
    assert write(db, votes) == counts(inserted=2)
    assert write(db, votes) == counts(unchanged=2)
    assert write(db, [VoteRecord("0xp", "0xv1", 1, voting_power=6.0, reason="yes")]) == counts(updated=1)
    by_proposal = {v.proposal_id: v for v in rows(db, Vote)}
    ids = {p.external_id: p.id for p in rows(db, Proposal)}
    assert (by_proposal[ids["0xp"]].voting_power, by_proposal[ids["0xp"]].reason) == (6.0, "yes")
    assert (by_proposal[ids["0xq"]].choice, by_proposal[ids["0xq"]].voting_power) == (2, 1.0)


def test_votes_for_unknown_proposals_are_refused_before_anything_is_written(db: Store) -> None:
    write(db, [proposal()])
    with pytest.raises(InputError) as caught:
        write(db, [VoteRecord("0xp", "0xv1", 1), VoteRecord("0xz", "0xv2", 1), VoteRecord("0xy", "0xv3", 1)])
    assert str(caught.value) == "votes refer to proposals not in the store: ['0xy', '0xz']; ingest the proposals first"
    assert rows(db, Vote) == []


def test_a_batch_writes_threads_before_posts_and_proposals_before_votes(db: Store) -> None:
    batch = [VoteRecord("0xp", "0xv1", 1), PostRecord("7", "1", "a"), proposal(), ThreadRecord("7", "Titled")]
    assert write(db, batch) == counts(inserted=4)
    assert [t.title for t in rows(db, Thread)] == ["Titled"]


def test_rows_read_back_as_written_on_both_backends(store: Store) -> None:
    """New rows go to the driver with each column's own bind processing: qmark tuples on SQLite, named mappings on
    PostgreSQL; datetimes, booleans, JSON and NULLs must read back as written on both."""
    edited = datetime(2024, 3, 2, 8, 30, 15, 123456, tzinfo=UTC)
    batch = [
        ThreadRecord("7", "Titled", url="https://forum.example/t/7"),
        PostRecord("7", "1", "first", author_handle="alice", number=1, created_at=T, edited_at=edited),
        PostRecord("7", "2", "", deleted=True, number=2),
        proposal(),
        VoteRecord("0xp", "0xv1", [1, 2], voting_power=5.5, reason="both", created_at=edited),
    ]
    assert write(store, batch) == counts(inserted=5)
    posts = {p.external_id: p for p in rows(store, Post)}
    assert (posts["1"].text, posts["1"].number, posts["1"].deleted) == ("first", 1, False)
    assert (posts["1"].created_at, posts["1"].edited_at) == (T, edited)
    assert (posts["2"].deleted, posts["2"].created_at, posts["2"].author_id) == (True, None, None)
    assert posts["1"].ingested_at is not None and posts["1"].ingested_at.tzinfo is not None
    (stored,) = rows(store, Proposal)
    assert (stored.choices, stored.scores, stored.end) == (proposal().choices, [10.0, 2.0], proposal().end)
    (vote,) = rows(store, Vote)
    assert (vote.choice, vote.voting_power, vote.reason, vote.created_at) == ([1, 2], 5.5, "both", edited)
    assert write(store, batch) == counts(unchanged=5)


def test_every_proposal_and_vote_of_a_batch_is_counted(db: Store) -> None:
    assert write(db, [proposal(), proposal(external_id="0xq")]) == counts(inserted=2)
    assert write(db, [proposal(title="new"), proposal(external_id="0xq", title="new"), proposal(external_id="0xr"),
                      proposal(external_id="0xs")]) == counts(inserted=2, updated=2)
    assert write(db, [proposal(title="new"), proposal(external_id="0xq", title="new")]) == counts(unchanged=2)
    votes = [VoteRecord("0xp", "0xv1", 1), VoteRecord("0xp", "0xv2", 1)]
    write(db, votes)
    assert write(db, [VoteRecord("0xp", "0xv1", 2), VoteRecord("0xp", "0xv2", 2)]) == counts(updated=2)


def test_proposals_and_votes_belong_to_their_dao(db: Store) -> None:
    later = db.ensure_source(db.ensure_dao("second"), "governor", "0xgovernor")
    with db.session() as session:  # the other DAO's proposal "1" is stored first
        write_records(session, later, [proposal(external_id="1", title="second dao's")])
    assert write(db, [proposal(external_id="1", title="first dao's")]) == counts(inserted=1)
    assert write(db, [VoteRecord("1", "0xv1", 1)]) == counts(inserted=1)
    with db.session() as session:
        write_records(session, later, [VoteRecord("1", "0xv2", 2)])
    by_id = {p.id: p for p in rows(db, Proposal)}
    titles = {v.voter: by_id[v.proposal_id].title for v in rows(db, Vote)}
    assert titles == {"0xv1": "first dao's", "0xv2": "second dao's"} and len(by_id) == 2


def test_a_refusal_names_the_first_five_unknown_proposals(db: Store) -> None:
    with pytest.raises(InputError) as caught:
        write(db, [VoteRecord(f"0x{n}", "0xv", 1) for n in range(7)])
    assert "['0x0', '0x1', '0x2', '0x3', '0x4']; ingest" in str(caught.value)


def test_complete_listings_of_a_batch_are_each_applied_and_counted(db: Store) -> None:
    write(db, [PostRecord("7", "1", "a"), PostRecord("7", "2", "b"), PostRecord("7", "3", "c"), PostRecord("8", "4", "d")])
    listings = [PresentPostsRecord("unknown", frozenset()), PresentPostsRecord("7", frozenset({"1"})),
                PresentPostsRecord("8", frozenset())]
    assert write(db, listings) == counts(updated=3)
    assert [p.external_id for p in rows(db, Post) if p.deleted] == ["2", "3", "4"]
