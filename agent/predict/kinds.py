"""A proposal's kind and the amount it asks for, parsed from its title and body (and its platform type).

Kinds: funding request, parameter change, election, constitutional, signalling (one-hot; a proposal may match
none). The amount is the largest number written next to a currency or token symbol, as log(1 + amount); rough by
design: "1.5m ARB", "$250,000", "100k USDC".
"""

from __future__ import annotations

import math
import re

from agent.predict.records import HistoryProposal

__all__ = ["KIND_FEATURES", "asked_amount", "kind_features"]

KIND_FEATURES = ("kind_funding", "kind_parameter", "kind_election", "kind_constitutional", "kind_signalling",
                 "log_amount", "has_amount")

_PATTERNS = {
    "funding": re.compile(r"\b(grant|fund(?:ing|s)?|budget|treasury|request for|payment|compensat|reimburs|"
                          r"incentive|program|sponsor|allocat)", re.IGNORECASE),
    "parameter": re.compile(r"\b(parameter|risk|interest rate|reserve factor|ltv|collateral|fee|threshold|"
                            r"supply cap|borrow cap|quorum|oracle|upgrade|listing|list\b|onboard|freeze)", re.IGNORECASE),
    "election": re.compile(r"\b(elect|election|nominat|council|committee|steward|delegate|member of|appoint|"
                           r"confirm|reconfirm)", re.IGNORECASE),
    "constitutional": re.compile(r"\b(constitution|bylaw|charter|governance (?:framework|process)|amend|aip-1\b|"
                                 r"procedure|voting (?:rules|period))", re.IGNORECASE),
    "signalling": re.compile(r"\b(poll|signal|temperature|sentiment|opinion|should (?:we|the)|ban\b|point of "
                             r"interest|\bpoi\b|pitch|draft)", re.IGNORECASE),
}
_DCL_KIND = {"grant": "funding", "tender": "funding", "bid": "funding", "hiring": "funding", "poll": "signalling",
             "poi": "signalling", "ban_name": "signalling", "draft": "signalling", "pitch": "signalling",
             "governance": "constitutional", "catalyst": "parameter", "linked_wearables": "parameter"}
_UNITS = r"(?:\$|usd[ct]?|dai|arb|mana|eth|weth|comp|aave|uni|ldo|gho)"
_NUMBER = r"(\d[\d,]*(?:\.\d+)?)\s*(k|m|mm|million|thousand|b|billion)?"
_AMOUNT = re.compile(rf"{_UNITS}\s?{_NUMBER}|{_NUMBER}\s?{_UNITS}\b", re.IGNORECASE)
_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mm": 1e6, "million": 1e6, "b": 1e9, "billion": 1e9}


def asked_amount(text: str) -> float | None:
    """The largest currency or token amount written in ``text``, or None."""
    best = None
    for match in _AMOUNT.finditer(text):
        number, scale = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        try:
            value = float(number.replace(",", "")) * _SCALE.get((scale or "").lower(), 1.0)
        except ValueError:
            continue
        if value < 1e13:  # a token address or a hash is not an amount
            best = value if best is None else max(best, value)
    return best


def kind_features(proposal: HistoryProposal) -> list[float]:
    """:data:`KIND_FEATURES` of ``proposal`` (reads only its own text and type)."""
    text = f"{proposal.title}\n{proposal.body[:4000]}"
    flags = {kind: bool(pattern.search(proposal.title)) for kind, pattern in _PATTERNS.items()}
    if not any(flags.values()):  # the title decides; the body only when the title says nothing
        flags = {kind: bool(pattern.search(text)) for kind, pattern in _PATTERNS.items()}
    typed = _DCL_KIND.get(proposal.kind)
    if typed:
        flags = {kind: kind == typed for kind in flags}
    amount = asked_amount(text)
    return [*(1.0 if flags[k] else 0.0 for k in _PATTERNS), math.log1p(amount) if amount else 0.0,
            1.0 if amount else 0.0]
