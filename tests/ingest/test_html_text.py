"""The streaming HTML renderer reads every post exactly as the BeautifulSoup rendering it replaced did."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from ingest.normalise.html import html_to_text
from ingest.sources.recordings import SAMPLE_DIR, load_recording
from tests.ingest.html_reference import reference_html_to_text

# Markup that takes each rule down an unusual path (quotes inside asides, links around quotes, ruby, whitespace
# in and out of <pre>, comments, void tags, entities, drops around quotes, depth past libxml2's tree limit).
AWKWARD = [
    "", "   ", "\n\n", "hello", "<p>a</p>\n \n\n<p>b</p>", "<pre>  x\n\n\n  y  </pre>\n  <p> </p>",
    "<ruby>漢<rt>kan</rt>字<rp>(</rp></ruby> tail", "<rt><b>bold</b> <blockquote>in rt</blockquote></rt>after",
    "<a href='x'>x</a> <a href='#y'>y</a> <a href='z'>zz<script>q</script></a> <a href='w'><a href='v'>v</a></a>",
    ("<aside class='quote no-group'><div class='title'>bob:</div><blockquote><p>inner</p>"
     "<blockquote>deeper</blockquote></blockquote></aside><p>reply</p>"),
    "<aside><blockquote>in a plain aside</blockquote></aside>", "<aside class='quotes'><p>not a quote</p></aside>",
    "<!-- c -->x<!-- d -->y<?pi x?>z", "<ul><li>one<li>two</ul><table><tr><td>a<td>b</table>",
    "<img alt='pic'><img src=x><br>after", "<a href='https://x'><blockquote>q</blockquote></a>",
    "<svg><blockquote>hidden</blockquote></svg>after svg", "<p>a &amp; b &lt; c &nbsp; &foo; &#x1F600;</p>",
    "<textarea>  \n </textarea>x", "<p>\t\t</p>y", "<blockquote>x\x0by\u2028z</blockquote>",
    "<?xml version='1.0' encoding='utf-8'?><p>x</p>", "<html><head><title>T</title></head><body><p>b</p></body></html>",
    "<pre><blockquote>  \n  </blockquote>  x</pre>", "<noscript><p>n</p></noscript>k", "<h2>Title</h2>text<hr>more",
    "<div>" * 5000 + "deep <script>steal()</script>text" + "</div>" * 5000,
    "<blockquote>" * 300 + "nested quotes" + "</blockquote>" * 300,
    # whitespace: only the five ASCII spaces collapse; spaces and tabs before a newline go; 3+ newlines become 2
    "<p>a</p>\xa0<p>b</p>", "<p>a</p>\u2003\n<p>b</p>", "<p>a</p>\r\n\x0c<p>b</p>", "<b>x</b>\t \t<b>y</b>",
    "a \t \nb\t\nc \n", "<pre>a \t\n\n\n\nb</pre>", "x\n\n\n\n\ny", "x\xa0\ny", "<br> <br>\t<br>\n<br>",
]  # fmt: skip


def _reference(markup: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BeautifulSoup warns about XML declarations and locator-like text
        return reference_html_to_text(markup)


def _sample_posts() -> list[str]:
    recording: dict[str, Any] = load_recording(SAMPLE_DIR / "discourse-arbitrum.json.gz")
    cooked = []
    for answer in recording["responses"].values():
        if isinstance(answer, dict) and isinstance(answer.get("post_stream"), dict):
            cooked += [p["cooked"] for p in answer["post_stream"]["posts"] if isinstance(p.get("cooked"), str)]
    return cooked


def test_every_bundled_forum_post_renders_as_the_reference_does() -> None:
    posts = _sample_posts()
    assert len(posts) > 1500
    different = [i for i, markup in enumerate(posts) if html_to_text(markup) != _reference(markup)]
    assert different == []


@pytest.mark.parametrize("markup", AWKWARD, ids=range(len(AWKWARD)))
def test_awkward_markup_renders_as_the_reference_does(markup: str) -> None:
    assert html_to_text(markup) == _reference(markup)


def test_the_rules_in_words() -> None:
    assert html_to_text("<ruby>漢<rt>kan</rt>字</ruby>") == "漢字"  # annotations are not the post's words
    assert html_to_text("<p>see <a href='https://x.org/a'>the draft</a> and <a href='https://x.org'>https://x.org</a></p>") == (
        "see the draft (https://x.org/a) and https://x.org"
    )
    assert html_to_text("<aside class='quote'><blockquote><p>one</p><p>two</p></blockquote></aside><p>me</p>") == "> one\n> two\nme"
    assert html_to_text("<div>" * 5000 + "deep <script>x()</script>text" + "</div>" * 5000) == "deep text"
    assert html_to_text("<pre>a  \n   b</pre>") == "a\n   b"
