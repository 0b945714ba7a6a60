"""The ask evaluation's labels refer to the bundled sample, and its quote recheck is strict."""

from __future__ import annotations

from sqlmodel import select

from evals.ask.evaluate import load_questions, unsupported_quotes
from ingest.core.domain import Author, Thread
from ingest.core.store import Store


def test_every_label_names_a_thread_or_person_of_the_sample(sample_store: Store) -> None:
    questions = load_questions()
    assert len(questions) >= 15 and len({q["id"] for q in questions}) == len(questions)
    with sample_store.session() as session:
        titles = [t.lower() for t in session.exec(select(Thread.title)).all()]
        handles = {h.lower() for h in session.exec(select(Author.handle)).all()}
    for q in questions:
        for phrase in q["relevant"].get("thread_title", []):
            assert any(phrase.lower() in t for t in titles), (q["id"], phrase)
        for person in q["relevant"].get("author", []):
            assert person.lower() in handles, (q["id"], person)


def test_a_quote_counts_only_when_a_cited_post_has_it_verbatim() -> None:
    posts = ["We'll take the token swap out of the proposal as we've heard from a few delegates."]
    assert unsupported_quotes("They said “We’ll take the token swap out of the proposal”.", posts) == []
    assert unsupported_quotes("They said “we will drop the swap”.", posts) == ["we will drop the swap"]
    assert unsupported_quotes("A title in ‘single quotes’ is not a quotation.", posts) == []
