"""Store the evidence on each author and group authors and voters of one DAO into identities.

An author gets an ``address`` only when every claim found for them points to the same address (an ENS
name counts once ``resolve_ens`` turns it into one). Conflicting claims leave the address empty and are
recorded as a conflict; nothing is merged on a similar handle or name. Snapshot and Governor voters are
identities by their address. ``Identity.voting_power`` lets consensus weigh camps by power.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, select

from ingest.core.domain import Author, Post, Proposal, Source, Thread, Vote
from ingest.core.store import Store
from ingest.identity.claims import Claim, find_claims, profile_claims

__all__ = ["Identity", "IdentitySummary", "identities", "link_identities", "voting_power_by_author"]


@dataclass
class IdentitySummary:
    dao: str
    linked: int = 0
    conflicts: int = 0
    unresolved_ens: int = 0
    authors_seen: int = 0

    def line(self) -> str:
        return (
            f"{self.dao}: {self.linked} authors linked to an address on evidence, {self.conflicts} with conflicting "
            f"claims (left unlinked), {self.unresolved_ens} with only an unresolved ENS name, of {self.authors_seen} authors"
        )


@dataclass
class Identity:
    """One address and everything tied to it in a DAO: authors on each source, votes, voting power."""

    address: str
    authors: list[dict[str, Any]] = field(default_factory=list)
    votes: int = 0
    voting_power: float = 0.0


def link_identities(
    store: Store, dao_slug: str, *, resolve_ens: Callable[[str], str | None] | None = None
) -> IdentitySummary:
    """Find claims for every author of the DAO and store ``address`` + ``address_evidence``; safe to rerun."""
    dao = store.get_dao(dao_slug)
    summary = IdentitySummary(dao=dao_slug)
    with store.session() as session:
        source_ids = [s.id for s in session.exec(select(Source).where(Source.dao_id == dao.id))]
        authors = session.exec(select(Author).where(col(Author.source_id).in_(source_ids))).all()
        posts: dict[int, list[tuple[str, str, str]]] = {}
        for author_id, post_id, title, text in session.exec(
            select(Post.author_id, Post.id, Thread.title, Post.text)
            .join(Thread, col(Thread.id) == Post.thread_id)
            .where(col(Post.source_id).in_(source_ids), col(Post.author_id).is_not(None), ~col(Post.deleted))
        ).all():
            posts.setdefault(author_id, []).append((f"post:{post_id}", title or "", text))
        for author in authors:
            summary.authors_seen += 1
            claims = profile_claims(author.handle, author.display_name, f"author:{author.id}")
            claims += find_claims(posts.get(author.id or -1, []))
            if not claims:
                continue
            evidence = _decide(claims, resolve_ens)
            address = evidence["address"]
            summary.linked += address is not None
            summary.conflicts += evidence["status"] == "conflict"
            summary.unresolved_ens += evidence["status"] == "ens-unresolved"
            if author.address != address or author.address_evidence != evidence:
                author.address, author.address_evidence = address, evidence
                session.add(author)
    return summary


def _decide(claims: list[Claim], resolve_ens: Callable[[str], str | None] | None) -> dict[str, Any]:
    addresses: dict[str, list[str]] = {}
    unresolved = []
    for claim in claims:
        if claim.is_address:
            addresses.setdefault(claim.value, []).append(claim.kind)
            continue
        resolved = resolve_ens(claim.value) if resolve_ens else None
        if resolved:
            addresses.setdefault(resolved.lower(), []).append(f"{claim.kind} via ENS {claim.value}")
        else:
            unresolved.append(claim.value)
    if len(addresses) == 1:
        status, address = "linked", next(iter(addresses))
    elif len(addresses) > 1:
        status, address = "conflict", None
    else:
        status, address = "ens-unresolved", None
    return {
        "status": status,
        "address": _checksum(address) if address else None,
        "claims": [c.as_dict() for c in claims],
        "unresolved_ens": sorted(set(unresolved)),
        "rule": "address set only when every claim agrees on one address",
    }


def _checksum(address: str) -> str:
    try:
        from eth_utils import to_checksum_address

        return str(to_checksum_address(address))
    except ImportError:  # pragma: no cover - eth-utils comes with the chain extra
        return address


def identities(store: Store, dao_slug: str) -> list[Identity]:
    """Every address of the DAO with its linked authors (any source) and its votes, most powerful first."""
    dao = store.get_dao(dao_slug)
    found: dict[str, Identity] = {}
    with store.session() as session:
        source_rows = {s.id: s for s in session.exec(select(Source).where(Source.dao_id == dao.id))}
        for author in session.exec(
            select(Author).where(
                col(Author.source_id).in_(list(source_rows)), col(Author.address).is_not(None)
            )
        ):
            key = str(author.address).lower()
            identity = found.setdefault(key, Identity(address=str(author.address)))
            source = source_rows[author.source_id]
            identity.authors.append(
                {
                    "source": source.kind,
                    "locator": source.locator,
                    "handle": author.handle,
                    "evidence": author.address_evidence,
                }
            )
        for voter, vp in session.exec(
            select(Vote.voter, Vote.voting_power)
            .join(Proposal, col(Proposal.id) == Vote.proposal_id)
            .where(Proposal.dao_id == dao.id)
        ).all():
            identity = found.setdefault(voter.lower(), Identity(address=voter))
            identity.votes += 1
            identity.voting_power = max(identity.voting_power, float(vp or 0.0))
    return sorted(found.values(), key=lambda i: (-i.voting_power, i.address))


def voting_power_by_author(store: Store, proposal_id: int) -> dict[int, float]:
    """Author id -> the voting power their evidenced address cast on ``proposal_id`` (authors who did not vote are absent).

    This is what weighs a camp of forum or Discord voices by power: only authors tied to an address on
    evidence count, each with the power of their own vote.
    """
    with store.session() as session:
        proposal = session.get(Proposal, proposal_id)
        if proposal is None:
            return {}
        power = {
            voter.lower(): float(vp or 0.0)
            for voter, vp in session.exec(
                select(Vote.voter, Vote.voting_power).where(Vote.proposal_id == proposal_id)
            ).all()
        }
        source_ids = list(session.exec(select(Source.id).where(Source.dao_id == proposal.dao_id)).all())
        authors = session.exec(
            select(Author.id, Author.address).where(
                col(Author.source_id).in_(source_ids), col(Author.address).is_not(None)
            )
        ).all()
    return {
        author_id: power[address.lower()]
        for author_id, address in authors
        if author_id is not None and address and address.lower() in power
    }
