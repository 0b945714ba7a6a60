"""The BeautifulSoup rendering ``ingest.normalise.html`` replaced, kept as the reference its tests compare against.

This is the implementation Concord shipped before the streaming lxml renderer, unchanged; it is slow (a whole
BeautifulSoup tree per post) and used only by tests.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag

__all__ = ["reference_html_to_text"]

_DROP = {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg"}
_BLOCK = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "tr", "table", "ul", "ol", "section"}


def reference_html_to_text(markup: str) -> str:
    """Render HTML as readable text. Deeply nested or hostile markup cannot make it recurse or run code."""
    soup = BeautifulSoup(markup, "lxml")
    for tag in soup.find_all(_DROP):
        tag.decompose()
    for quote in soup.find_all(["blockquote", "aside"]):
        if quote.name == "aside" and "quote" not in (quote.get("class") or []):
            continue
        if quote.find_parent(["blockquote", "aside"]) is not None:
            continue
        inner = _flatten(quote)
        quoted = "\n".join(f"> {line}".rstrip() for line in inner.strip().splitlines() if line.strip())
        quote.replace_with(NavigableString(f"\n{quoted}\n"))
    text = _flatten(soup)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _flatten(root: Tag) -> str:
    """Iterative walk (no recursion), so 10,000 nested <div>s are fine."""
    parts: list[str] = []
    stack: list[object] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, str) and not isinstance(node, NavigableString):
            parts.append(node)
            continue
        if isinstance(node, NavigableString):
            if type(node) is NavigableString:  # skip comments, CDATA, doctype
                parts.append(str(node))
            continue
        if not isinstance(node, Tag):
            continue
        if node.name == "br":
            parts.append("\n")
            continue
        if node.name == "img":
            alt = node.get("alt")
            if alt:
                parts.append(f"[image: {alt}]")
            continue
        closing: list[object] = []
        if node.name == "a" and node.get("href"):
            href = str(node["href"])
            label = node.get_text()
            if href and href != label and not href.startswith("#"):
                closing.append(f" ({href})")
        if node.name in _BLOCK:
            closing.append("\n\n" if node.name in {"p", "div", "pre", "table", "ul", "ol", "section"} else "\n")
        if node.name == "li":
            parts.append("- ")
        stack.extend(reversed(closing))
        stack.extend(reversed(list(node.children)))
    return "".join(parts)
