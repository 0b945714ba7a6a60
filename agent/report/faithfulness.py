"""Faithfulness: every quoted span must occur verbatim in the post it cites; unsupported spans are dropped."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from agent.report.model import Citation, Faithfulness

__all__ = ["check_citations", "strip_unsupported_quotes"]

_QUOTED = re.compile(r"[\"“]([^\"”]{8,})[\"”]")


def _normalise(text: str) -> str:
    return " ".join(text.split())


def occurs_in(quote: str, text: str) -> bool:
    """True when ``quote`` occurs in ``text`` (exactly, or up to whitespace)."""
    return bool(quote.strip()) and (quote in text or _normalise(quote) in _normalise(text))


def check_citations(citations: Sequence[Citation], posts: Mapping[int, str], report: Faithfulness) -> list[Citation]:
    """The citations whose quote occurs in the cited post; every other one is recorded in ``report.dropped``."""
    kept = []
    for citation in citations:
        report.checked += 1
        text = posts.get(citation.post_id)
        if text is None:
            report.dropped.append({"post_id": citation.post_id, "quote": citation.quote, "reason": "cites a post that is not an input"})
        elif not occurs_in(citation.quote, text):
            report.dropped.append({"post_id": citation.post_id, "quote": citation.quote, "reason": "quote not found in the cited post"})
        else:
            report.passed += 1
            kept.append(citation)
    return kept


def strip_unsupported_quotes(text: str, cited: Sequence[int], posts: Mapping[int, str], report: Faithfulness) -> str:
    """Remove from generated text every quoted span (``"..."``) that occurs in none of its cited posts."""

    def replace(match: re.Match[str]) -> str:
        span = match.group(1)
        report.checked += 1
        if any(occurs_in(span, posts[p]) for p in cited if p in posts):
            report.passed += 1
            return match.group(0)
        report.dropped.append({"post_id": None, "quote": span, "reason": "quoted in the summary but found in no cited post"})
        return "[unsupported quote removed]"

    return _QUOTED.sub(replace, text)
