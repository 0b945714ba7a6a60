"""Deterministic quote variants of a real post: verbatim spans and the ways a quote goes wrong (or only looks
different). Each function returns the quote, or ``None`` when the post offers nothing to build that case from.

Case types and the label they get (``supported``: the quote is the post's own words, in order, up to typography;
``unsupported``: it is not):

========================  ===========  ==================================================================
case                      expected     how it is built from the cited post
========================  ===========  ==================================================================
verbatim_sentence         supported    one whole sentence
verbatim_span             supported    6-14 consecutive words from inside a sentence
whole_post                supported    the entire post (a huge quote)
whitespace                supported    a span across a line break, quoted with single spaces / padding
typography                supported    curly <-> straight quotes and apostrophes, dashes, "…" vs "..."
unicode_form              supported    NFD-decomposed accents, no-break spaces
markup                    supported    HTML-escaped entities (&amp;) or Markdown markers (** `) dropped
wrong_post                unsupported  a sentence of another post of the same thread, cited to this one
word_changed              unsupported  one content word replaced by another word of the same post
negated                   unsupported  "not" inserted after an auxiliary verb, or removed
word_dropped              unsupported  one interior word left out
paraphrase                unsupported  words swapped for synonyms from a fixed list
spliced                   unsupported  the end of one sentence joined to the start of a later one
partial_word              unsupported  a span starting or ending inside a word (disagree -> agree, cannot -> can)
overrun                   unsupported  the entire post plus a sentence from another post
empty                     unsupported  an empty or whitespace-only quote
missing_post              unsupported  a verbatim sentence cited to a post id that is not an input
========================  ===========  ==================================================================
"""

from __future__ import annotations

import hashlib
import html
import random
import re
import unicodedata

__all__ = [
    "ANTONYM_PREFIXES",
    "EXPECTED",
    "SYNONYMS",
    "canonical",
    "lenient_occurs",
    "markup_variant",
    "negate",
    "paraphrase",
    "partial_word",
    "rng_for",
    "sentences",
    "span",
    "spliced",
    "typography_variant",
    "unicode_variant",
    "whitespace_variant",
    "window",
    "word_changed",
    "word_dropped",
]

EXPECTED = {
    "verbatim_sentence": "supported", "verbatim_span": "supported", "whole_post": "supported", "whitespace": "supported",
    "typography": "supported", "unicode_form": "supported", "markup": "supported",
    "wrong_post": "unsupported", "word_changed": "unsupported", "negated": "unsupported", "word_dropped": "unsupported",
    "paraphrase": "unsupported", "spliced": "unsupported", "partial_word": "unsupported", "overrun": "unsupported",
    "empty": "unsupported", "missing_post": "unsupported",
}

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“])|\n+")
_WORD = re.compile(r"\S+")
_AUX = re.compile(r"\b(is|are|was|were|will|would|should|can|could|do|does|did|has|have|must|may|might)\b(?! not\b)", re.IGNORECASE)
SYNONYMS = {
    "think": "believe", "believe": "think", "support": "back", "proposal": "plan", "important": "crucial",
    "community": "members", "because": "since", "however": "but", "would": "could", "should": "ought to",
    "good": "fine", "great": "excellent", "need": "require", "help": "assist", "also": "additionally",
    "very": "really", "many": "numerous", "large": "big", "small": "little", "project": "initiative",
    "funds": "money", "agree": "concur", "concerns": "worries", "clear": "obvious", "want": "wish",
}
ANTONYM_PREFIXES = (
    "unclear", "unfair", "disagree", "unnecessary", "unable", "unlikely", "inactive", "incorrect", "insufficient",
    "irresponsible", "unsure", "unhappy", "unacceptable", "inefficient", "unfortunately", "unreasonable", "impossible",
    "unknown", "invalid", "disagrees", "disagreed", "unfairly", "unsustainable", "dishonest", "disapprove",
)
_TYPOGRAPHY = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"',
                             "–": "-", "—": "-", "‒": "-", "−": "-", "\u200b": None, "\ufeff": None})


def rng_for(*parts: str) -> random.Random:
    """A random generator seeded by ``parts`` (stable across runs and machines)."""
    return random.Random(hashlib.sha256("\x1f".join(parts).encode()).digest())


def canonical(text: str) -> str:
    """A reference form used only to sanity-check labels: HTML entities decoded, Markdown ``**``/backticks
    dropped, NFKC, straight quotes, plain dashes, lower case, single spaces. (Written apart from the checker under
    test, and more lenient than it: it ignores case.)"""
    text = html.unescape(text).replace("**", "").replace("`", "")
    text = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY)
    return " ".join(text.lower().split())


def lenient_occurs(quote: str, text: str) -> bool:
    """Reference test, more lenient than any checker should be: the canonical quote occurs in the canonical text
    at word boundaries. A label ``unsupported`` must fail it."""
    q, t = canonical(quote), canonical(text)
    if not q:
        return False
    pattern = (r"(?<![\w])" if q[0].isalnum() else "") + re.escape(q) + (r"(?![\w])" if q[-1].isalnum() else "")
    return re.search(pattern, t) is not None


def sentences(text: str, *, min_words: int = 8, max_words: int = 40) -> list[str]:
    """The post's sentences (split at ``. ! ?`` and line breaks) of ``min_words``-``max_words`` words, in order."""
    out = []
    for piece in _SENTENCE_END.split(text):
        piece = piece.strip()
        if min_words <= len(piece.split()) <= max_words and "[quote]" not in piece:
            out.append(piece)
    return out


def span(sentence: str, rng: random.Random, *, low: int = 6, high: int = 14) -> str | None:
    """``low``-``high`` consecutive words from inside ``sentence`` (exact characters, not re-joined)."""
    words = list(_WORD.finditer(sentence))
    if len(words) < low + 1:
        return None
    size = rng.randint(low, min(high, len(words) - 1))
    start = rng.randint(0, len(words) - size)
    return sentence[words[start].start() : words[start + size - 1].end()]


def whitespace_variant(text: str, rng: random.Random) -> str | None:
    """A span running across a line break, quoted with single spaces (and padded with spaces)."""
    breaks = [m for m in re.finditer(r"\S+[ \t]*\n+\s*\S+", text)]
    if not breaks:
        return None
    m = rng.choice(breaks)
    before = text[max(0, m.start() - 60) : m.start()].split()[-4:]
    after = text[m.end() : m.end() + 60].split()[:4]
    if len(before) < 2 or len(after) < 2:
        return None
    middle = " ".join(m.group(0).split())
    return "  " + " ".join([*before, middle, *after]) + " "


def typography_variant(sentence: str) -> str | None:
    """``sentence`` with curly quotes/apostrophes made straight (or straight made curly), dashes as hyphens and
    "…" as "..."; ``None`` when it has none of these."""
    if re.search(r"[‘’“”–—…]", sentence):
        return sentence.translate(_TYPOGRAPHY).replace("…", "...")
    if "'" in sentence:
        return sentence.replace("'", "’")
    return None


def window(text: str, at: int, rng: random.Random) -> str:
    """The exact characters of the line around position ``at``: from 3-6 words before it to 3-6 words after."""
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    end = len(text) if end < 0 else end
    before = list(_WORD.finditer(text, start, at))
    after = list(_WORD.finditer(text, at, end))
    if not after:
        return text[start:end].strip()
    left = before[-min(len(before), rng.randint(3, 6))].start() if before else after[0].start()
    right = after[min(len(after), rng.randint(3, 6)) - 1].end()
    return text[left:right]


def unicode_variant(text: str, rng: random.Random) -> str | None:
    """A window of ``text`` around an accented letter, in Unicode NFD; else a sentence with no-break spaces."""
    m = re.search(r"[À-ÖØ-öø-ž]", text)
    if m is not None:
        piece = window(text, m.start(), rng)
        decomposed = unicodedata.normalize("NFD", piece)
        if decomposed != piece and len(piece.split()) >= 3:
            return decomposed
    first = next(iter(sentences(text, min_words=5)), None)
    return first.replace(" ", "\u00a0") if first and " " in first else None


def markup_variant(text: str, rng: random.Random) -> str | None:
    """A window of ``text`` around Markdown ``**``/backtick markers with the markers dropped, or around ``& < >``
    HTML-escaped; ``None`` when the post has neither."""
    m = re.search(r"\*\*|`", text)
    if m is not None:
        piece = window(text, m.start(), rng)
        if ("**" in piece or "`" in piece) and len(piece.split()) >= 3:
            return piece.replace("**", "").replace("`", "")
    m = re.search(r"[&<>]", text)
    if m is not None:
        piece = window(text, m.start(), rng)
        if re.search(r"[&<>]", piece) and len(piece.split()) >= 3:
            return piece.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return None


def word_changed(quote: str, vocabulary: list[str], rng: random.Random) -> str | None:
    """``quote`` with one content word (4+ letters, not the first) replaced by another word of ``vocabulary``."""
    words = list(_WORD.finditer(quote))
    slots = [m for m in words[1:] if re.fullmatch(r"[A-Za-z]{4,}", m.group(0))]
    choices = sorted({w for w in vocabulary if re.fullmatch(r"[a-z]{4,}", w)})
    if not slots or len(choices) < 2:
        return None
    slot = rng.choice(slots)
    replacement = rng.choice([w for w in choices if w != slot.group(0).lower()])
    return quote[: slot.start()] + replacement + quote[slot.end() :]


def negate(quote: str) -> str | None:
    """Remove a "not", or insert one after the first auxiliary verb; ``None`` when neither applies."""
    if re.search(r"\bnot\b", quote):
        return re.sub(r"\s*\bnot\b", "", quote, count=1)
    m = _AUX.search(quote)
    if m is None:
        return None
    return quote[: m.end()] + " not" + quote[m.end() :]


def word_dropped(quote: str, rng: random.Random) -> str | None:
    """``quote`` without one interior word."""
    words = list(_WORD.finditer(quote))
    if len(words) < 4:
        return None
    m = words[rng.randint(1, len(words) - 2)]
    return quote[: m.start()] + quote[m.end() :].lstrip()


def paraphrase(quote: str) -> str | None:
    """``quote`` with every word found in :data:`SYNONYMS` swapped; ``None`` when no word is."""
    count = 0

    def swap(m: re.Match[str]) -> str:
        nonlocal count
        word = m.group(0)
        new = SYNONYMS.get(word.lower())
        if new is None:
            return word
        count += 1
        return new.capitalize() if word[0].isupper() else new

    out = re.sub(r"[A-Za-z]+", swap, quote)
    return out if count else None


def spliced(first: str, later: str, rng: random.Random) -> str:
    """The last 3-6 words of ``first`` joined to the first 3-6 words of ``later``."""
    a, b = first.split(), later.split()
    return " ".join(a[-rng.randint(3, min(6, len(a))) :] + b[: rng.randint(3, min(6, len(b)))])


def partial_word(text: str, rng: random.Random) -> str | None:
    """A span starting inside a negative word (``disagree`` quoted as ``agree ...``) or ending inside ``cannot``
    (``... we can``): verbatim characters whose meaning is reversed."""
    options = []
    for m in re.finditer(r"\b(" + "|".join(ANTONYM_PREFIXES) + r")\b", text, re.IGNORECASE):
        root = 3 if m.group(0).lower().startswith(("dis", "non")) else 2
        tail = text[m.start() + root : m.start() + root + 120].split()
        options.append(" ".join(tail[:6]) if len(tail) >= 4 else None)
    for m in re.finditer(r"\bcannot\b", text):
        head = text[max(0, m.start() - 120) : m.start()].split()
        options.append(" ".join([*head[-5:], "can"]) if len(head) >= 3 else None)
    options = [o for o in options if o]
    return rng.choice(options) if options else None
