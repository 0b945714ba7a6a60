"""Identities: authors tied to addresses only on published evidence, recorded with that evidence."""

from __future__ import annotations

from sqlmodel import select

from ingest.core.domain import Author, Proposal
from ingest.core.store import Store
from ingest.identity import find_claims, identities, link_identities, voting_power_by_author
from ingest.records import PostRecord, ProposalRecord, ThreadRecord, VoteRecord
from ingest.writer import write_records

ALICE = "0x" + "a1" * 20
BOB = "0x" + "b2" * 20
CONTRACT = "0x912CE59144191C1204E64559FE8253a0e49E6548"  # the ARB token, mentioned not owned


def _write(store: Store, kind: str, locator: str, records: list) -> None:
    dao = store.ensure_dao("arbitrum")
    source = store.ensure_source(dao, kind, locator)
    with store.session() as session:
        write_records(session, source, records)


def test_claims_need_self_reference() -> None:
    posts = [
        (
            "p1",
            "Delegate Statement: alice",
            f"Hi, I'm Alice.\nDelegate address: {ALICE}\nI care about grants.",
        ),
        ("p2", "STIP", f"Rewards will be paid in ARB ({CONTRACT}) from our multisig."),
        ("p3", "STIP", f"My wallet address is {ALICE}, happy to verify."),
        ("p4", "Other", f"Agreed with the above.\n{BOB}"),  # one trailing address: not a signature yet
    ]
    claims = {(c.kind, c.value) for c in find_claims(posts)}
    assert claims == {("delegate-statement", ALICE), ("self-statement", ALICE)}
    twice = posts + [("p5", "Other", f"Second post.\n{BOB}")]
    assert ("signature", BOB) in {(c.kind, c.value) for c in find_claims(twice)}


def test_forum_discord_and_votes_join_on_evidence_only(store: Store) -> None:
    forum = "https://forum.arbitrum.foundation"
    _write(
        store,
        "discourse",
        forum,
        [
            ThreadRecord("31", "Delegate Statement Template"),
            ThreadRecord("99", "STIP round 1"),
            PostRecord(
                "31", "310001", f"Delegate address: {ALICE}\nI vote for grants.", author_handle="alice"
            ),
            PostRecord(
                "99", "990001", f"Paid from the treasury {CONTRACT} as agreed.", author_handle="carol"
            ),
            PostRecord("99", "990002", f"My address is {ALICE}", author_handle="mallory"),
            PostRecord("99", "990003", f"My address is {BOB}", author_handle="mallory"),
        ],
    )
    _write(
        store,
        "discord",
        "discord:aave/1",
        [
            ThreadRecord("1", "#governance"),
            PostRecord(
                "1",
                "m1",
                "gm, voting For on the grants proposal",
                author_handle="alice#0001",
                author_display_name="alice.eth",
            ),
            PostRecord("1", "m2", "who is alice.eth?", author_handle="eve", author_display_name="Eve"),
        ],
    )
    _write(
        store,
        "snapshot",
        "arbitrumfoundation.eth",
        [
            ProposalRecord("snapshot", "0x01", "Grants", choices=["For", "Against"]),
            VoteRecord(
                "0x01", ALICE.upper().replace("0X", "0x"), 1, voting_power=1234.5, reason="Grants help"
            ),
            VoteRecord("0x01", BOB, 2, voting_power=10.0),
        ],
    )

    summary = link_identities(store, "arbitrum", resolve_ens={"alice.eth": ALICE}.get)
    assert (summary.linked, summary.conflicts) == (2, 1)
    with store.session() as session:
        authors = {a.handle: a for a in session.exec(select(Author))}
    assert authors["alice"].address is not None and authors["alice"].address.lower() == ALICE
    assert authors["alice"].address_evidence["claims"][0]["kind"] == "delegate-statement"
    assert authors["alice#0001"].address_evidence["claims"][0]["kind"] == "profile"
    assert authors["mallory"].address is None and authors["mallory"].address_evidence["status"] == "conflict"
    assert (
        authors["carol"].address is None and authors["carol"].address_evidence is None
    )  # mentioned a contract only
    assert authors["eve"].address is None  # naming someone else's ENS is not a claim

    people = {i.address.lower(): i for i in identities(store, "arbitrum")}
    alice = people[ALICE]
    assert {a["handle"] for a in alice.authors} == {"alice", "alice#0001"}
    assert {a["source"] for a in alice.authors} == {"discourse", "discord"}
    assert alice.votes == 1 and alice.voting_power == 1234.5
    assert people[BOB.lower()].authors == []  # Bob votes; nobody proved they are Bob

    with store.session() as session:
        proposal_id = session.exec(select(Proposal.id)).one()
    weights = voting_power_by_author(store, proposal_id)
    assert weights == {
        authors["alice"].id: 1234.5,
        authors["alice#0001"].id: 1234.5,
    }  # Bob's vote has no author

    again = link_identities(store, "arbitrum", resolve_ens={"alice.eth": ALICE}.get)
    assert (again.linked, again.conflicts) == (2, 1)


def test_without_a_resolver_an_ens_name_is_recorded_but_not_linked(sample_store: Store) -> None:
    summary = link_identities(sample_store, "aave")
    assert summary.linked == 0 and summary.unresolved_ens > 0
    with sample_store.session() as session:
        unresolved = [a for a in session.exec(select(Author)) if a.address_evidence]
    assert unresolved and all(a.address is None and a.address_evidence["unresolved_ens"] for a in unresolved)
