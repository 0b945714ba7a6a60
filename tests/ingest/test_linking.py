"""Linking threads and posts to proposals on the real Arbitrum sample."""

from __future__ import annotations

from sqlmodel import select

from ingest.core.domain import Proposal, ProposalLink, Thread
from ingest.core.store import Store
from ingest.linking import forum_topic_ids, link_dao, proposal_refs
from ingest.linking.urls import normalise_title

FORUM = "https://forum.arbitrum.foundation"


def test_url_extraction() -> None:
    text = (
        "See https://forum.arbitrum.foundation/t/aip-1-arbitrum-improvement-proposal-framework/30, "
        "also https://forum.arbitrum.foundation/t/16131/12 and https://gov.uniswap.org/t/other/99 "
        "and https://forum.arbitrum.foundation/c/proposals/7."
    )
    assert forum_topic_ids(text, FORUM) == [30, 16131]
    snap = "0x" + "ab" * 32
    refs = proposal_refs(
        f"vote at https://snapshot.org/#/arbitrumfoundation.eth/proposal/{snap} or https://www.tally.xyz/gov/arbitrum/proposal/123456"
    )
    assert refs == [snap, "123456"]
    assert normalise_title("[Non-Constitutional] Fund the  STIP!") == "fund the stip"


def test_links_with_method_confidence_and_evidence_then_nothing_twice(sample_store: Store) -> None:
    first = link_dao(sample_store, "arbitrum")
    assert first.created["discussion-field"] > 100 and first.created["url-in-proposal"] > 100
    assert first.created["similarity"] > 0
    with sample_store.session() as session:
        aip1 = session.exec(
            select(Proposal).where(Proposal.title == "AIP-1: Arbitrum Improvement Proposal Framework")
        ).first()
        assert aip1 is not None
        rows = session.exec(
            select(ProposalLink, Thread).join(Thread).where(ProposalLink.proposal_id == aip1.id)
        ).all()
        assert ("discussion-field", "30") in {(link.method, thread.external_id) for link, thread in rows}
        assert all(0 < link.confidence <= 1 and link.evidence for link, _ in rows)
        similarity = session.exec(select(ProposalLink).where(ProposalLink.method == "similarity")).all()
        assert all(
            0.5 <= link.confidence <= 1 and "tf-idf cosine" in (link.evidence or "") for link in similarity
        )
    total = sample_store.count(ProposalLink)
    second = link_dao(sample_store, "arbitrum")
    assert sum(second.created.values()) == 0 and sample_store.count(ProposalLink) == total
