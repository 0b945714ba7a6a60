"""Proposal bodies as the forums show them: Markdown rendered to HTML with raw HTML disabled (escaped), links
only when http(s) (and opened with ``rel="noopener noreferrer nofollow"``), images shown as links (the page's
CSP loads no outside images)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape

__all__ = ["render_markdown"]


def _safe(url: str) -> bool:
    return url.strip().lower().startswith(("https://", "http://"))


@lru_cache(maxsize=1)
def _parser() -> Any:
    """One configured parser (building one per call cost more than rendering a typical body)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(["table", "strikethrough"])
    md.validateLink = _safe  # type: ignore[method-assign]

    def link_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        token.attrSet("rel", "noopener noreferrer nofollow")
        return renderer.renderToken(tokens, idx, options, env)

    def image(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        src = str(token.attrGet("src") or "")
        alt = token.content or "image"
        return f'<a class="image-link" href="{escape(src)}" rel="noopener noreferrer nofollow">[image: {escape(alt)}]</a>'

    md.add_render_rule("link_open", link_open)
    md.add_render_rule("image", image)
    return md


def render_markdown(text: str | None) -> Markup:
    """Safe HTML for a Jinja template (``{{ body|markdown }}``); the same text is rendered once (pages show the
    same proposal bodies again and again)."""
    return _rendered(text or "")


@lru_cache(maxsize=512)
def _rendered(text: str) -> Markup:
    return Markup(_parser().render(text))
