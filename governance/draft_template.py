"""A DAO's proposal template, learnt from the bodies of its passed proposals: which section headings it uses
and in what order (Arbitrum: Abstract, Motivation, Rationale, Specifications, Steps to Implement, Timeline,
Overall Cost). Each heading is given a role (what goes in it) so a drafter knows how to fill it.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from ingest.core.domain import Dao, Proposal

__all__ = ["ROLES", "DraftTemplate", "TemplateSection", "heading_role", "learn_template", "proposal_headings",
           "split_sections"]

_MD_HEADING = re.compile(r"^\s{0,3}#{1,4}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_BOLD_HEADING = re.compile(r"^\s{0,3}\*\*([^*\n]{3,60})\*\*\s*:?\s*$", re.MULTILINE)
#: "Abstract:" alone on its line: how small models often head a section (read in model output only, see ``plain``).
_PLAIN_HEADING = re.compile(r"^\s{0,3}([A-Z][^:\n.!?]{2,50}):\s*$", re.MULTILINE)

#: role -> words that name it in headings (first match wins, checked in this order).
ROLES: dict[str, tuple[str, ...]] = {
    "summary": ("abstract", "summary", "tl;dr", "tldr", "overview", "simple summary"),
    "motivation": ("motivation", "problem", "background", "context", "why"),
    "rationale": ("rationale", "justification", "benefits", "alignment"),
    "specification": ("specification", "specifications", "details of the proposal", "proposal details", "details",
                      "scope", "deliverables", "implementation"),
    "steps": ("steps to implement", "steps", "execution", "next steps", "process"),
    "timeline": ("timeline", "schedule", "milestones", "duration"),
    "cost": ("overall cost", "cost", "budget", "funding", "compensation", "general cost", "request"),
    "risks": ("risks", "considerations", "concerns", "security"),
    "actions": ("on-chain actions", "onchain actions", "transactions", "technical details"),
}
DEFAULT_HEADINGS = (("Summary", "summary"), ("Motivation", "motivation"), ("Rationale", "rationale"),
                    ("Specification", "specification"), ("Steps to Implement", "steps"), ("Timeline", "timeline"),
                    ("Cost", "cost"))


def _clean(heading: str) -> str:
    text = re.sub(r"[*_`]+", "", heading).replace("\xa0", " ")
    text = re.sub(r"\(.*?\)", "", text)
    text = text.strip().strip(":").strip()
    return " ".join(text.split())


def heading_role(heading: str) -> str | None:
    """The role a heading plays (``summary``, ``motivation``, ...), None when it is DAO-specific."""
    low = _clean(heading).lower()
    for role, names in ROLES.items():
        if any(low == n or low.startswith(n + " ") or low.endswith(" " + n) for n in names):
            return role
    return None


def _heading_spans(body: str, *, plain: bool = False) -> list[tuple[int, int, str]]:
    """(start, end, cleaned name) of each section heading line, in order, first occurrence of a name only."""
    found = [(m.start(), m.end(), m.group(1)) for m in _MD_HEADING.finditer(body or "")]
    found += [(m.start(), m.end(), m.group(1)) for m in _BOLD_HEADING.finditer(body or "")]
    if plain:
        found += [(m.start(), m.end(), m.group(1)) for m in _PLAIN_HEADING.finditer(body or "")]
    out: list[tuple[int, int, str]] = []
    names: set[str] = set()
    for start, end, raw in sorted(found):
        name = _clean(raw)
        if 2 < len(name) <= 60 and not name.lower().startswith(("category", "submitted by", "author")) and name not in names:
            names.add(name)
            out.append((start, end, name))
    return out


def proposal_headings(body: str, *, plain: bool = False) -> list[str]:
    """The section headings of one proposal body, in order (markdown ``#`` headings and bold-only lines; with
    ``plain``, also a line that is only a capitalised name and a colon, as "Abstract:", which models write)."""
    return [name for _, _, name in _heading_spans(body, plain=plain)]


def split_sections(body: str, *, plain: bool = False) -> list[tuple[str, str]]:
    """``(heading, text)`` for each section of a proposal body, in order; the text runs to the next heading (a
    repeated heading's text stays with the section above it). Text before the first heading is not returned.
    ``plain`` also reads "Abstract:" lines as headings (for model output; stored proposals are read without it)."""
    spans = _heading_spans(body, plain=plain)
    ends = [start for start, _, _ in spans[1:]] + [len(body or "")]
    return [(name, (body or "")[end:stop].strip()) for (_, end, name), stop in zip(spans, ends)]


@dataclass(frozen=True)
class TemplateSection:
    heading: str
    role: str | None
    share: float  # of the learnt-from proposals that have this heading


@dataclass(frozen=True)
class DraftTemplate:
    """Headings in order, with what the template was learnt from (``basis``)."""

    dao: str
    sections: tuple[TemplateSection, ...]
    basis: dict[str, Any] = field(default_factory=dict)

    @property
    def headings(self) -> list[str]:
        return [s.heading for s in self.sections]

    def as_dict(self) -> dict[str, Any]:
        return {"dao": self.dao, "sections": [s.__dict__ for s in self.sections], "basis": self.basis}


def learn_template(session: Session, dao_slug: str, *, min_share: float = 0.2, limit: int = 2000) -> DraftTemplate:
    """The headings that at least ``min_share`` of the DAO's structured passed proposals use, ordered by their
    median relative position. Falls back to all closed proposals when none has a recorded outcome, and to a generic
    template when fewer than three proposals have headings; ``basis`` says which happened."""
    rows = session.exec(
        select(Proposal.body, Proposal.outcome, Proposal.title).join(Dao, col(Dao.id) == Proposal.dao_id)
        .where(Dao.slug == dao_slug).order_by(col(Proposal.id)).limit(limit)
    ).all()
    passed = [r for r in rows if (r[1] or "").lower() == "passed"]
    basis: dict[str, Any] = {"proposals": len(rows), "passed": len(passed)}
    if passed:
        pool, basis["learnt_from"] = passed, "passed proposals"
    else:
        pool, basis["learnt_from"] = list(rows), "all stored proposals (none has a recorded outcome)"
    structured = [h for h in (proposal_headings(r[0]) for r in pool) if len(h) >= 3]
    basis["structured"] = len(structured)
    if len(structured) < 3:
        basis["learnt_from"] = "generic template (fewer than 3 of the DAO's proposals have section headings)"
        return DraftTemplate(dao_slug, tuple(TemplateSection(h, r, 0.0) for h, r in DEFAULT_HEADINGS), basis)
    counts: Counter[str] = Counter()
    positions: dict[str, list[float]] = defaultdict(list)
    spelling: dict[str, Counter[str]] = defaultdict(Counter)
    for headings in structured:
        seen: set[str] = set()
        for i, h in enumerate(headings):
            key = h.lower()
            if key in seen:
                continue
            seen.add(key)
            counts[key] += 1
            positions[key].append(i / max(1, len(headings) - 1))
            spelling[key][h] += 1
    n = len(structured)
    kept = [k for k, c in counts.items() if c / n >= min_share]
    kept.sort(key=lambda k: (statistics.median(positions[k]), -counts[k], k))
    sections: list[TemplateSection] = []
    roles_used: set[str] = set()
    for key in kept:
        role = heading_role(key)
        if role is not None and role in roles_used:
            continue  # two spellings of one role (Specification / Specifications): keep the more common, earlier one
        if role:
            roles_used.add(role)
        sections.append(TemplateSection(spelling[key].most_common(1)[0][0], role, round(counts[key] / n, 3)))
    if not any(s.role == "summary" for s in sections):
        sections.insert(0, TemplateSection("Summary", "summary", 0.0))
    return DraftTemplate(dao_slug, tuple(sections), basis)
