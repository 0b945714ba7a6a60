"""Exported reports link only http(s) URLs: a post URL from the forum is data, never script."""

from __future__ import annotations

import pytest

from agent.report.export import http_url, to_html, to_markdown
from agent.report.model import CampReport, Citation, CommonGround, ConsensusReport, DataWindow, ProposalRef, Summary

HOSTILE = [
    "javascript:alert(document.cookie)",
    " JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/x",
    "https://ok.example/a b",  # whitespace would split the Markdown link
    "https://ok.example/\njavascript:alert(1)",
]


def report_with(url: str) -> ConsensusReport:
    quote = Citation(post_id=7, quote="We should fund it.", url=url, author="alice")
    return ConsensusReport(
        generated_at="2026-01-01T00:00:00Z",
        proposal=ProposalRef(id=1, external_id="1", dao="arbitrum", title="Fund it", origin="snapshot", url=url, content_hash="c"),
        data_window=DataWindow(threads=[{"title": "Fund it thread", "url": url}], posts=1),
        summary=Summary(text="People want to fund it.", post_ids=[7]),
        camps=[CampReport(index=0, name="Funders", people=1, posts=1, quotes=[quote])],
        common_ground=[CommonGround(stances=["for", "against"], quotes=[quote])],
        inputs_hash="i",
    )


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_post_urls_are_not_linked(url: str) -> None:
    assert http_url(url) is None
    html = to_html(report_with(url))
    assert "javascript:" not in html.lower() and "data:text" not in html and "vbscript" not in html
    assert "<a " not in html and "post 7" in html
    markdown = to_markdown(report_with(url))
    assert "](" not in markdown and "javascript:" not in markdown.lower() and "data:text" not in markdown
    assert "post 7" in markdown


def test_http_links_are_kept_and_cannot_break_out_of_the_link() -> None:
    url = "https://forum.example/t/fund-it/15615/3"
    html = to_html(report_with(url))
    assert html.count(f'<a href="{url}">post 7</a>') == 2
    markdown = to_markdown(report_with(url))
    assert markdown.count(f"[post 7]({url})") == 2 and f"Proposal: {url}" in markdown
    sneaky = "https://ok.example/x)[click](javascript:alert(1)"
    assert http_url(sneaky) == "https://ok.example/x%29%5Bclick%5D%28javascript:alert%281%29"
    assert "](javascript:" not in to_markdown(report_with(sneaky))
    assert http_url('https://ok.example/"onmouseover="x') == "https://ok.example/%22onmouseover=%22x"
