"""The quality gate for a model's answer: it is shown only when it is short, not repetitive, not instruction-like,
cites a retrieved post, quotes only what those posts say, and uses their words. Otherwise the answer is composed
from the posts themselves (:mod:`agent.qa.compose`)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from agent.report.faithfulness import occurs_in

__all__ = ["MAX_ANSWER_CHARS", "MIN_ANSWER_CHARS", "answer_problems"]

MIN_ANSWER_CHARS, MAX_ANSWER_CHARS = 30, 700
MIN_GROUNDED = 0.6
MAX_REPEATED_TRIGRAMS = 0.25

_INSTRUCTION_LIKE = re.compile(
    r"\b(ignore|disregard)\b.{0,40}\b(instruction|instructions|prompt|above|previous)\b|\bsystem prompt\b|\bas an ai\b|"
    r"</?posts>|\banswer with json\b|\byou (must|should) (now )?(say|answer|reply|vote)\b",
    re.IGNORECASE,
)
_DECLINED = re.compile(r"\b(posts|they) do(es)? not (answer|say|mention|address)\b|\bno (information|answer)\b|\bi (cannot|can't|don't know)\b", re.IGNORECASE)
_QUOTED = re.compile(r"[\"“]([^\"“”]*)[\"”]")
_CONTENT = re.compile(r"[a-z][a-z0-9'\-]{3,}")
_STOP = frozenset(
    ["that", "this", "with", "from", "have", "were", "they", "their", "there", "what", "which", "about", "would", "could", "should", "been", "into", "also", "than", "them", "then", "these", "those", "will", "your", "more", "most", "some", "such", "only", "other", "over", "very", "just", "when", "where", "while", "because", "does", "said", "says", "post", "posts"]
)


def _content_words(text: str) -> list[str]:
    return [w for w in _CONTENT.findall(text.lower()) if w not in _STOP]


def answer_problems(text: str, *, cited: Sequence[int], posts: Mapping[int, str]) -> list[str]:
    """Why the answer must not be shown (empty: it passes). ``posts``: the retrieved posts' texts by id."""
    problems = []
    stripped = " ".join(text.split())
    if len(stripped) < MIN_ANSWER_CHARS:
        problems.append(f"too short ({len(stripped)} characters)")
    if len(stripped) > MAX_ANSWER_CHARS:
        problems.append(f"too long ({len(stripped)} characters)")
    words = stripped.lower().split()
    trigrams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    if trigrams and 1 - len(set(trigrams)) / len(trigrams) > MAX_REPEATED_TRIGRAMS:
        problems.append("repetitive")
    if _INSTRUCTION_LIKE.search(stripped):
        problems.append("instruction-like text")
    if _DECLINED.search(stripped):
        problems.append("declines to answer")
    cited_texts = [posts[p] for p in cited if p in posts]
    if not cited_texts:
        problems.append("cites no retrieved post")
    for quote in _QUOTED.findall(stripped):
        if any(c.isalnum() for c in quote) and not any(occurs_in(quote, t) for t in cited_texts):
            problems.append(f"quote not in the cited posts: {quote[:60]!r}")
    content = _content_words(stripped)
    if content and cited_texts:
        vocabulary = set(_content_words(" ".join(cited_texts)))
        grounded = sum(w in vocabulary for w in content) / len(content)
        if grounded < MIN_GROUNDED:
            problems.append(f"not grounded in the cited posts ({grounded:.0%} of its words are theirs)")
    return problems
