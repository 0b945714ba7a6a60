"""Faithfulness: every quoted span must occur verbatim in the post it cites; unsupported spans are dropped.

"Verbatim" means the post's own words, in order, starting and ending at word boundaries; differences of
typography only are ignored: whitespace, Unicode normal form (NFKC), curly vs straight quotes and apostrophes,
dash variants, HTML entities and Markdown emphasis/code markers. Letter case, words and word order must match.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping, Sequence

from agent.report.model import Citation, Faithfulness

__all__ = ["check_citations", "occurs_in", "strip_unsupported_quotes"]

# A quoted span in generated text: quote marks pair up left to right, so a short quoted term ("AIP") can never
# make the text *between* two quotations look like a quotation. Spans without a letter or digit are ignored.
_QUOTED = re.compile(r"[\"“]([^\"“”]*)[\"”]")
_TYPOGRAPHY = str.maketrans({
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"',
    "–": "-", "—": "-", "‒": "-", "−": "-", "\u200b": None, "\u200c": None, "\u200d": None, "\ufeff": None, "\u00ad": None,
})
_MARKUP = re.compile(r"\*\*|`")


def _normalise(text: str) -> str:
    """Typography-neutral form: entities decoded, NFKC, plain quotes and dashes, no ``**``/backticks, single spaces."""
    text = unicodedata.normalize("NFKC", html.unescape(text)).translate(_TYPOGRAPHY)
    return " ".join(_MARKUP.sub("", text).split())


def occurs_in(quote: str, text: str) -> bool:
    """True when ``quote`` occurs in ``text`` up to typography, beginning and ending at word boundaries
    (so "agree" is not found in "disagree", nor "we can" in "we cannot")."""
    q = _normalise(quote)
    if not q:
        return False
    start = r"(?<!\w)" if re.match(r"\w", q[0]) else ""
    end = r"(?!\w)" if re.match(r"\w", q[-1]) else ""
    return re.search(start + re.escape(q) + end, _normalise(text)) is not None


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
    """Remove from generated text every quoted span (``"..."`` or ``“...”``) that occurs in none of its cited posts."""

    def replace(match: re.Match[str]) -> str:
        span = match.group(1)
        if not any(c.isalnum() for c in span):
            return match.group(0)
        report.checked += 1
        if any(occurs_in(span, posts[p]) for p in cited if p in posts):
            report.passed += 1
            return match.group(0)
        report.dropped.append({"post_id": None, "quote": span, "reason": "quoted in the summary but found in no cited post"})
        return "[unsupported quote removed]"

    return _QUOTED.sub(replace, text)
