"""Who speaks for the proposal: the proposer side (its author, the thread's opening poster, accounts answering as
the proposing team), each with the evidence that put it there. Everyone else is the community."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["SpeakerPost", "find_proposer_side"]

_WE = re.compile(r"\b(we|we'll|we’ll|we've|we’ve|we're|we’re|we'd|we’d|our|ours|us)\b", re.IGNORECASE)
_TEAM = re.compile(
    r"\b(our (\w+ )?(proposal|team|application|grant|request|project|protocol|framework|budget)|in our proposal|we (have )?propos|"
    r"we(’|')?ll (take|remove|add|update|change|include|amend|revise|adjust)|we (will|can) (take|remove|add|update|change|include|amend|revise|adjust)|"
    r"we (have )?(updated|revised|amended|changed|removed|added) (the|our) proposal)\b",
    re.IGNORECASE,
)
_THANKS = re.compile(
    r"^\W*(hi|hey|hello|dear)?\W*@?[\w.\-]*\W*(thanks|thank you|thankyou|appreciate|grateful)\b[^.!?\n]{0,60}\b"
    r"(feedback|comment|comments|question|questions|input|support|review|reviewing|perspective|reply|response|insight|concern|concerns|kind words|queries)",
    re.IGNORECASE,
)
_ADDRESS = re.compile(r"^\W*(?:(?:hi|hey|hello|dear)\s+@?[\w.\-]+|@[\w.\-]+|.{0,80}?@[\w.\-]+|\[quote\])", re.IGNORECASE)


def _we_answer(text: str) -> bool:
    """A reply (addressed to someone, or answering a quoted passage, or thanking) that speaks as "we" at least twice."""
    return bool(_ADDRESS.match(text) or _THANKS.search(text)) and len(_WE.findall(text)) >= 2


@dataclass(frozen=True)
class SpeakerPost:
    post_id: int
    author: str
    text: str
    number: int | None = None
    address: str | None = None


@dataclass
class ProposerSide:
    """``members`` maps each proposer-side author to the evidence for it (one line per kind of evidence)."""

    members: dict[str, list[str]] = field(default_factory=dict)

    def __contains__(self, author: object) -> bool:
        return author in self.members


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]{4,}", text.lower())}


def find_proposer_side(
    posts: Sequence[SpeakerPost], *, proposal_author: str | None, proposal_body: str = "", proposal_title: str = "",
) -> ProposerSide:
    """Evidence, per author:

    - *proposal author*: the handle, or the linked address, equals the proposal's author field;
    - *posts the proposal*: the author's post 1 (the opening post) or any post shares most of its words with the
      proposal body (at least 60% of the post's distinct words of 4+ letters, and 40 of them);
    - *answers as the team*: "our proposal"/"we'll take … out"/"we have updated the proposal" in a reply, or two
      replies (to a person, a quoted question, or thanking for feedback) that speak as "we", or thanks for the
      feedback or support of the proposal in at least two posts and half of the author's posts.
    """
    side = ProposerSide()
    author_key = (proposal_author or "").strip().lower()
    body = _words(proposal_body)
    by_author: dict[str, list[SpeakerPost]] = defaultdict(list)
    for post in posts:
        by_author[post.author].append(post)
    for author, own in by_author.items():
        evidence: list[str] = []
        if author_key and (author.lower() == author_key or any((p.address or "").lower() == author_key for p in own)):
            evidence.append(f"same handle or address as the proposal's author ({proposal_author})")
        for post in own:
            words = _words(post.text)
            if body and len(words) >= 40 and len(words & body) >= 0.6 * len(words):
                evidence.append(f"post {post.post_id} repeats the proposal text ({len(words & body)} of its {len(words)} words)")
                break
        team_posts = [p.post_id for p in own if _TEAM.search(p.text)]
        answers = [p.post_id for p in own if _we_answer(p.text)]
        thanks = [p.post_id for p in own if _THANKS.search(p.text)]
        if team_posts and (answers or len(team_posts) >= 2 or any(_ADDRESS.match(p.text) or _THANKS.search(p.text) for p in own if p.post_id in team_posts)):
            evidence.append(f"speaks as the proposing team (\"our proposal\", \"we'll take … out\" …) in post(s) {', '.join(map(str, team_posts[:4]))}")
        elif len(answers) >= 2:
            evidence.append(f"answers others as \"we\" (replies to a person or a quoted question) in posts {', '.join(map(str, answers[:4]))}")
        elif len(thanks) >= 2 and len(thanks) >= 0.5 * len(own):
            evidence.append(f"thanks others for their feedback or support of the proposal in posts {', '.join(map(str, thanks[:4]))}")
        if evidence:
            side.members[author] = evidence
    return side
