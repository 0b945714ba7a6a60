"""Discourse `cooked` HTML to clean text: quotes marked with '> ', links kept, scripts dropped.

libxml2's HTML parser (through lxml) calls a small streaming renderer for each start tag, end tag and run of
text; no tree is built, nothing recurses, so 10,000 nested <div>s are fine. The rendering is the one
BeautifulSoup-on-lxml gave, which received the same parser events (tests keep that reference and compare the two
on every bundled forum post): whitespace-only text outside ``pre``/``textarea`` collapses to one space or
newline; text inside ``rt``/``rp`` (ruby annotations), comments and processing instructions are skipped; the
outermost quote (``blockquote``, ``aside.quote``, not inside any ``blockquote``/``aside``) becomes '> ' lines.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from lxml import etree

__all__ = ["MAX_POST_CHARS", "html_to_text"]

MAX_POST_CHARS = 200_000
_DROP = frozenset({"script", "style", "iframe", "object", "embed", "noscript", "template", "svg"})
_BLOCK = frozenset({"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "tr", "table", "ul", "ol", "section"})
_PARAGRAPH = frozenset({"p", "div", "pre", "table", "ul", "ol", "section"})
_RUBY = frozenset({"rt", "rp"})  # their text is an annotation, not the post's words
_PRESERVE = frozenset({"pre", "textarea"})  # whitespace-only text inside these is kept as it is
_VOID = frozenset({"br", "img"})  # rendered at their start; anything inside them is not
_ASCII_SPACES = "\x20\x0a\x09\x0c\x0d"
_SPACE_BEFORE_NEWLINE = re.compile(r"[ \t]+\n")
_BLANK_LINES = re.compile(r"\n{3,}")
_local = threading.local()


def html_to_text(markup: str) -> str:
    """Render HTML as readable text. Deeply nested or hostile markup cannot make it recurse or run code."""
    if not hasattr(_local, "parser"):  # one per thread: lxml inspects the target's methods whenever a parser is made
        _local.renderer = _Renderer()
        _local.parser = etree.HTMLParser(target=_local.renderer, recover=True, huge_tree=False)
    _local.renderer.reset()
    try:
        _local.parser.feed(markup)
        text = _local.parser.close()
    except BaseException:
        del _local.parser  # a parser that failed half-way is not reused
        raise
    if " \n" in text or "\t\n" in text:  # what the pattern needs to match at all
        text = _SPACE_BEFORE_NEWLINE.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


class _Scope:
    """Output being written: the whole document, or one outermost quote until it closes."""

    __slots__ = ("labels", "parts")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.labels: list[list[str]] = []  # the text of each link open in this scope (its label)


class _Frame:
    __slots__ = ("closing", "href", "label", "quote", "tag")

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.closing = ""  # written after the element's content
        self.href: str | None = None
        self.label: list[str] | None = None
        self.quote = False  # an outermost quote: its scope closes with it


class _Renderer:
    """An lxml parser target; ``close`` returns the text before blank lines are tidied."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.scopes = [_Scope()]
        self.frames: list[_Frame] = []
        self.pending: list[str] = []  # the current run of text (libxml2 may hand it over in pieces)
        self.dropped = self.ruby = self.preserve = self.void = self.quoting = 0

    # --- text -------------------------------------------------------------------------------------------------

    def _flush(self) -> None:
        if not self.pending:
            return
        value = "".join(self.pending)
        self.pending.clear()
        if self.dropped or self.ruby or self.void:
            return
        if not self.preserve and not value.strip(_ASCII_SPACES):  # nothing but ASCII whitespace
            value = "\n" if "\n" in value else " "
        self._words(value)

    def _words(self, value: str) -> None:
        scope = self.scopes[-1]
        scope.parts.append(value)
        for label in scope.labels:
            label.append(value)

    def _markup(self, value: str) -> None:
        self.scopes[-1].parts.append(value)

    # --- parser events ----------------------------------------------------------------------------------------

    def data(self, value: str) -> None:
        self.pending.append(value)

    def comment(self, _text: str) -> None:
        self._flush()

    def pi(self, _target: str, _data: str | None = None) -> None:
        self._flush()

    def doctype(self, *_args: Any) -> None:
        self._flush()

    def start(self, tag: str, attrs: Any, _nsmap: Any = None) -> None:
        self._flush()
        frame = _Frame(tag)
        self.frames.append(frame)
        if self.dropped or self.void or tag in _DROP:
            self.dropped += 1
            frame.closing = "dropped"
            return
        if tag in _VOID:
            self.void += 1
            if tag == "br":
                self._markup("\n")
            elif alt := attrs.get("alt"):
                self._markup(f"[image: {alt}]")
            return
        if tag in ("blockquote", "aside"):
            if not self.quoting and (tag == "blockquote" or "quote" in (attrs.get("class") or "").split()):
                frame.quote = True
                self.scopes.append(_Scope())
            self.quoting += 1
        if tag in _RUBY:
            self.ruby += 1
        if tag in _PRESERVE:
            self.preserve += 1
        if tag in _BLOCK:
            frame.closing = "\n\n" if tag in _PARAGRAPH else "\n"
        if tag == "a" and attrs.get("href"):
            frame.href = attrs["href"]
            frame.label = []
            self.scopes[-1].labels.append(frame.label)
        if tag == "li":
            self._markup("- ")

    def end(self, _tag: str) -> None:
        self._flush()
        frame = self.frames.pop()
        if frame.closing == "dropped":
            self.dropped -= 1
            return
        tag = frame.tag
        if tag in _VOID:
            self.void -= 1
            return
        if frame.label is not None:
            labels = self.scopes[-1].labels
            del labels[next(i for i in range(len(labels) - 1, -1, -1) if labels[i] is frame.label)]
            href = frame.href or ""
            if href != "".join(frame.label) and not href.startswith("#"):
                self._markup(f" ({href})")
        if frame.closing:
            self._markup(frame.closing)
        if tag in _RUBY:
            self.ruby -= 1
        if tag in _PRESERVE:
            self.preserve -= 1
        if tag in ("blockquote", "aside"):
            self.quoting -= 1
        if frame.quote:
            inner = "".join(self.scopes.pop().parts)
            quoted = "\n".join(f"> {line}".rstrip() for line in inner.strip().splitlines() if line.strip())
            self._words(f"\n{quoted}\n")

    def close(self) -> str:
        self._flush()
        while self.frames:  # libxml2 closes what is open; this only guards against a parser that would not
            self.end(self.frames[-1].tag)
        return "".join(self.scopes[0].parts)
