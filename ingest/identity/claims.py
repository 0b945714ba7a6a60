"""Finding the addresses and ENS names a person published about themselves.

Only self-referential evidence counts: an ENS name as the handle or display name (a profile), "my address
is 0x…" / "delegate address: 0x…" in their own post, or the same address or name signed at the end of
two or more of their posts. An address merely mentioned (a contract, a multisig, someone else) is ignored.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["ADDRESS", "ENS", "Claim", "find_claims", "profile_claims"]

ADDRESS = r"0x[0-9a-fA-F]{40}"
ENS = r"[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.eth"
_VALUE = rf"({ADDRESS}|{ENS})"
_SELF = re.compile(
    rf"\b(?:my|our)\s+(?:(?:delegate|delegation|wallet|voting|public|eth|ethereum|ens)\s+)*(?:address|wallet|ens(?:\s+name)?|name)"
    rf"\s*(?:is|:|=|-|\u2013)?\s*(?:is\s+)?@?{_VALUE}(?![0-9a-zA-Z])",
    re.IGNORECASE,
)
_DELEGATE_LINE = re.compile(
    rf"^\s*(?:[-*]\s*)?(?:delegate\s+)?(?:address|wallet|ens(?:\s+name)?)\s*[:=\u2013-]\s*@?{_VALUE}\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_IAM = re.compile(rf"\bI(?:'m|\s+am)\s+@?({ENS})\b", re.IGNORECASE)
_SIGN_OFF = re.compile(rf"^\s*(?:[-\u2013\u2014~]+\s*)?(?:address\s*:\s*)?@?{_VALUE}\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Claim:
    """One piece of evidence that an author controls ``value`` (an address or an ENS name)."""

    value: str
    kind: str  # profile | self-statement | delegate-statement | signature | voter
    where: str
    quote: str

    @property
    def is_address(self) -> bool:
        return bool(re.fullmatch(ADDRESS, self.value))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _norm(value: str) -> str:
    return value.lower()


def profile_claims(handle: str, display_name: str | None, where: str) -> list[Claim]:
    """An ENS name (or address) used as the handle or display name is a claim published in a profile."""
    found = []
    for label in (handle, display_name):
        if label and re.fullmatch(rf"@?{_VALUE}", label.strip(), re.IGNORECASE):
            found.append(Claim(_norm(label.strip().lstrip("@")), "profile", where, label.strip()))
    return list({c.value: c for c in found}.values())


def find_claims(posts: Iterable[tuple[str, str, str]]) -> list[Claim]:
    """Claims in one author's posts, given as (reference, thread title, text)."""
    claims: list[Claim] = []
    sign_offs: Counter[str] = Counter()
    sign_off_where: dict[str, tuple[str, str]] = {}
    for ref, title, text in posts:
        for match in _SELF.finditer(text):
            claims.append(Claim(_norm(match.group(1)), "self-statement", ref, match.group(0)[:300]))
        for match in _IAM.finditer(text):
            claims.append(Claim(_norm(match.group(1)), "self-statement", ref, match.group(0)[:300]))
        if "delegate" in (title or "").lower():
            for match in _DELEGATE_LINE.finditer(text):
                claims.append(
                    Claim(_norm(match.group(1)), "delegate-statement", ref, match.group(0).strip()[:300])
                )
        lines = [line for line in text.strip().splitlines() if line.strip()]
        if len(lines) >= 2 and (end := _SIGN_OFF.match(lines[-1])):
            value = _norm(end.group(1))
            sign_offs[value] += 1
            sign_off_where.setdefault(value, (ref, lines[-1].strip()[:300]))
    for value, count in sign_offs.items():
        if count >= 2:  # one trailing address may be a contract; the same one signed twice is a signature
            ref, quote = sign_off_where[value]
            claims.append(Claim(value, "signature", ref, f"{quote} (signed {count} posts)"))
    return list({(c.value, c.kind): c for c in claims}.values())
