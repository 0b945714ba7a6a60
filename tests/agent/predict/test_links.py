"""Linking posts to proposals by explicit URLs, on real Discord messages and proposals from the shared data."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.predict.features import FeatureBuilder
from agent.predict.links import build_link_index, canonical_page
from agent.predict.loader import NAIVE_POST_TIME_SLACK, has_zone, load_directory, parse_time

REAL = Path(__file__).parent / "fixtures" / "real_links"


def _rows(name: str) -> list[dict]:
    return [
        json.loads(line) for line in (REAL / name).read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def _post(fragment: str) -> dict:
    return next(p for p in _rows("posts.jsonl") if fragment in p["text"])


def test_canonical_page_forms() -> None:
    assert (
        canonical_page("https://app.aave.com/governance/proposal/75/")
        == "app.aave.com/governance/proposal/75"
    )
    assert (
        canonical_page("https://app.aave.com/governance/proposal/?proposalId=77")
        == "app.aave.com/governance/proposal/77"
    )
    assert (
        canonical_page("https://www.vote.onaave.com/proposal/?proposalId=10.")
        == "vote.onaave.com/proposal/10"
    )
    assert canonical_page("not a url") is None


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        # a reply in the proposal's forum topic (its discussion_url, topic 9438)
        ("arc-aave-ethpow-fork-risk-mitigation-plan/9438/4", {"aave-v2-97": "forum_topic"}),
        # the proposal page, in its ?proposalId= form (the proposal's link is .../proposal/93)
        ("proposal/?proposalId=93", {"aave-v2-93": "proposal_page"}),
        # one forum topic shared by four (re-)submitted proposals: linked to each
        (
            "arc-extend-aave-liquidity-mining-rewards/4852/20",
            {f"aave-v2-{n}": "forum_topic" for n in (20, 21, 28, 34)},
        ),
        # www.comp.xyz vs the discussion_url's www.comp.xyz, two Compound proposals on topic 440
        (
            "setup-community-cuni-voting/440/11",
            {"compound-governoralpha-28": "forum_topic", "compound-governoralpha-29": "forum_topic"},
        ),
        ("compound.finance/governance/proposals/18", {"compound-governoralpha-18": "compound_page"}),
        (
            "excludes-proxy-contract-users-e-g-dharma-matcha-etc/1222/80",
            {"uniswap-governoralpha-2": "forum_topic"},
        ),
        # a forum topic that is no proposal's discussion, and an "AIP-16" mention: no link
        ("aip-from-idea-to-implementation-to-execution/202", {}),
        ("AIP-16", {}),
    ],
)
def test_real_messages_link_to_the_expected_proposals(fragment: str, expected: dict[str, str]) -> None:
    index = build_link_index(_rows("proposals.jsonl"))
    assert index.link(_post(fragment)["text"]) == expected


def test_loader_links_real_messages_and_counts_every_post() -> None:
    data = load_directory(REAL)
    stats = data.post_stats
    assert stats["read"] == 8 and stats["linked"] == 6 and stats["unlinked"] == 2
    assert (
        stats["linked_naive_time"] == 6 and stats["linked_without_time"] == 0
    )  # Discord: local time, no zone
    assert stats["links_by_method"] == {
        "given": 0,
        "forum_topic": 8,
        "proposal_page": 1,
        "snapshot": 0,
        "compound_page": 1,
    }
    assert {p.text[:30] for p in data.posts_by_proposal["aave-v2-28"]} == {_post("4852/20")["text"][:30]}


def test_pre_vote_posts_use_the_latest_instant_a_zoneless_time_can_mean() -> None:
    """aave-v2-97 was created at 21:56:17 UTC; the Discord message linking its topic says 21:29 in the exporter's
    (unstated) zone, so it may have been written after the proposal opened: it must not count as pre-vote."""
    data = load_directory(REAL)
    by_id = {p.id: p for p in data.proposals}
    message = _post("9438/4")
    assert not has_zone(message["created"]) and has_zone("2022-09-02T21:29Z") and has_zone(1_600_000_000)
    assert parse_time(message["created"]) < by_id["aave-v2-97"].opened_at  # type: ignore[operator]
    (post,) = data.posts_by_proposal["aave-v2-97"]
    assert post.created == parse_time(message["created"]) + NAIVE_POST_TIME_SLACK  # type: ignore[operator]
    builder = FeatureBuilder(data)
    assert builder.pre_vote_posts(by_id["aave-v2-97"]) == []
    # the 4852 message (2021-07-21 17:07) came after aave-v2-20 and -21 opened, before -28 and -34 (weeks later)
    talk = {
        pid: len(builder.pre_vote_posts(by_id[pid]))
        for pid in ("aave-v2-20", "aave-v2-21", "aave-v2-28", "aave-v2-34")
    }
    assert talk == {"aave-v2-20": 0, "aave-v2-21": 0, "aave-v2-28": 1, "aave-v2-34": 1}


def test_given_ids_are_kept_and_unknown_ones_counted(make_dir: Callable[..., Path]) -> None:
    proposals = [{"dao": "d", "id": "a", "created": 1000, "end": 2000, "outcome": "passed"}]
    posts = [
        {"dao": "d", "text": "no link here", "created": 500, "proposal_ids": ["a", "ghost"]},
        {"dao": "d", "text": "nothing", "created": 600},
    ]
    data = load_directory(make_dir(proposals, posts=posts))
    assert [p.text for p in data.posts_by_proposal["a"]] == ["no link here"]
    assert data.posts_by_proposal["a"][0].created == 500  # a unix time has a zone: no slack
    stats = data.post_stats
    assert (stats["read"], stats["linked"], stats["unlinked"], stats["given_unknown_proposal"]) == (
        2,
        1,
        1,
        1,
    )
    assert stats["links_by_method"]["given"] == 1
