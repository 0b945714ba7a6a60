"""Identities across sources: authors tied to addresses only on published evidence, never on a guess."""

from ingest.identity.claims import Claim, find_claims
from ingest.identity.service import (
    Identity,
    IdentitySummary,
    identities,
    link_identities,
    voting_power_by_author,
)

__all__ = [
    "Claim",
    "Identity",
    "IdentitySummary",
    "find_claims",
    "identities",
    "link_identities",
    "voting_power_by_author",
]
