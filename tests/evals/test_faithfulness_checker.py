"""The quote checker's contract (agent/report/faithfulness.py), one test per bug the evaluation found:
typography-only differences were dropped, quotes starting or ending inside a word were kept, and in summaries a
short quoted term made the text between two quotations look like one (so a fabricated quote after it survived)."""

from __future__ import annotations

import unicodedata

import pytest

from agent.report.faithfulness import check_citations, occurs_in, strip_unsupported_quotes
from agent.report.model import Citation, Faithfulness

# Real post text from the bundled sample (Arbitrum forum), with its curly apostrophes.
POST = ("I can’t speak to how they have it set up but it is fairly standard I believe to do this. "
        "A lot of the times the DAO will approve the funds that the special “team” is able to spend.\n\n"
        "I disagree with the payout schedule & the cannot-be-undone clause; we cannot support it as written. "
        "Fundación **Ethereum** México hosts the `vote` call.")


@pytest.mark.parametrize("quote", [
    "I can't speak to how they have it set up",          # straight apostrophe for a curly one
    'the special "team" is able to spend',                # straight quotes for curly ones
    "able to spend. I disagree with the payout",           # across a paragraph break
    "the payout schedule &amp; the cannot-be-undone",     # HTML entity
    unicodedata.normalize("NFD", "Fundación Ethereum México"),  # decomposed accents, Markdown dropped
    "hosts the vote call",                                # backticks dropped
    "I\u00a0can’t\u00a0speak",                            # no-break spaces
])
def test_typography_only_differences_are_supported(quote: str) -> None:
    assert occurs_in(quote, POST)


@pytest.mark.parametrize("quote", [
    "agree with the payout schedule",                     # inside "disagree": the meaning is reversed
    "as written. Fundación Ethereum Méx",                 # ends inside a word
    "we can",                                             # "we cannot"
    "I can’t speak to how they have it set",              # still fine: ends at a word boundary
])
def test_quotes_must_start_and_end_at_word_boundaries(quote: str) -> None:
    assert occurs_in(quote, POST) is quote.endswith("set")


@pytest.mark.parametrize("quote", ["", "   ", "\u00a0", "**", "i can’t speak", "I can speak to how", "we cannot support it as written. Extra words"])
def test_changed_empty_or_overrunning_quotes_are_unsupported(quote: str) -> None:
    assert not occurs_in(quote, POST)


def test_short_quoted_terms_do_not_shift_the_pairing() -> None:
    posts = {1: POST}
    faith = Faithfulness()
    text = 'On "DAO", members wrote "everyone supports this proposal" in the discussion.'
    out = strip_unsupported_quotes(text, [1], posts, faith)
    assert out == 'On "DAO", members wrote [unsupported quote removed] in the discussion.'
    assert (faith.checked, faith.passed) == (2, 1)


def test_short_fabricated_quotes_are_checked_too() -> None:
    faith = Faithfulness()
    assert strip_unsupported_quotes('Members called it "a scam".', [1], {1: POST}, faith) == "Members called it [unsupported quote removed]."
    assert strip_unsupported_quotes('Members said "I can’t speak" and "…".', [1], {1: POST}, faith) == 'Members said "I can’t speak" and "…".'


def test_check_citations_records_each_drop() -> None:
    faith = Faithfulness()
    kept = check_citations([Citation(post_id=1, quote="I can't speak"), Citation(post_id=1, quote="agree with the payout"),
                            Citation(post_id=2, quote="I can't speak")], {1: POST}, faith)
    assert [c.quote for c in kept] == ["I can't speak"]
    assert [d["reason"] for d in faith.dropped] == ["quote not found in the cited post", "cites a post that is not an input"]


@pytest.mark.parametrize(("fancy", "plain"), [
    *[(c, "'") for c in "‘’‚‛′"], *[(c, '"') for c in "“”„‟"], *[(c, "-") for c in "–—‒−"],
])  # "″" (double prime) is not here: NFKC turns it into two primes before the table is applied
def test_each_typographic_variant_reads_as_its_plain_character(fancy: str, plain: str) -> None:
    assert occurs_in(f"the {plain}team{plain} budget", f"Here the {fancy}team{fancy} budget stays.")
    assert occurs_in(f"the {fancy}team{fancy} budget", f"Here the {plain}team{plain} budget stays.")
    assert not occurs_in(f"the {plain}team{plain} budget", "Here the team budget stays.")


@pytest.mark.parametrize("invisible", ["\u200b", "\u200c", "\u200d", "\ufeff", "\u00ad"])
def test_invisible_characters_are_ignored(invisible: str) -> None:
    assert occurs_in("treasury budget", f"the trea{invisible}sury budget")
    assert occurs_in(f"trea{invisible}sury budget", "the treasury budget")


def test_markup_other_than_bold_and_code_is_not_ignored() -> None:
    assert occurs_in("the vote call", "the **vote** `call`")
    assert not occurs_in("the vote call", "the _vote_ call")
    assert not occurs_in("the vote call", "the *vote* call")


def test_a_quote_starting_or_ending_with_punctuation_needs_no_word_boundary_there() -> None:
    assert occurs_in("-be-undone clause", POST)  # starts inside "cannot-be-undone" at a hyphen
    assert occurs_in("we cannot support it as written.", POST)
    assert occurs_in("payout schedule &", POST)
    assert occurs_in("& the cannot-", POST)  # ends at a hyphen inside "cannot-be-undone"
    assert not occurs_in("-be-undone claus", POST)  # ...but still ends at a word boundary
    assert not occurs_in("annot-be-undone clause", POST)


def test_check_citations_counts_and_records_every_drop_whole() -> None:
    faith = Faithfulness()
    kept = check_citations([Citation(post_id=1, quote="I can't speak"), Citation(post_id=1, quote="we can"),
                            Citation(post_id=3, quote="anything"), Citation(post_id=2, quote="we can")],
                           {1: POST, 2: "we can"}, faith)
    assert [(c.post_id, c.quote) for c in kept] == [(1, "I can't speak"), (2, "we can")]
    assert (faith.checked, faith.passed) == (4, 2)
    assert faith.dropped == [
        {"post_id": 1, "quote": "we can", "reason": "quote not found in the cited post"},
        {"post_id": 3, "quote": "anything", "reason": "cites a post that is not an input"},
    ]


def test_a_summary_quote_must_occur_in_one_of_its_cited_posts() -> None:
    posts = {1: "The budget is too high.", 2: "We support the grant.", 3: "Nobody cited this one."}
    faith = Faithfulness()
    text = 'They said "We support the grant." and "Nobody cited this one." and “too high”.'
    out = strip_unsupported_quotes(text, [1, 2, 9], posts, faith)
    assert out == 'They said "We support the grant." and [unsupported quote removed] and “too high”.'
    assert (faith.checked, faith.passed) == (3, 2)
    assert faith.dropped == [{"post_id": None, "quote": "Nobody cited this one.",
                              "reason": "quoted in the summary but found in no cited post"}]


def test_quoted_spans_without_letters_or_digits_are_left_alone_and_not_counted() -> None:
    faith = Faithfulness()
    assert strip_unsupported_quotes('A "" and "--" and "7".', [1], {1: "no number"}, faith) == 'A "" and "--" and [unsupported quote removed].'
    assert (faith.checked, faith.passed) == (1, 0)
