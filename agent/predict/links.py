"""Link discussion posts (forum replies, Discord messages) to proposals by explicit URL references only.

A post is linked to a proposal when its text contains one of:

- a link to the proposal's forum topic: ``<forum>/t/<slug>/<id>`` on the host of the proposal's ``discussion_url``,
  the same topic id (parsed by :func:`ingest.linking.urls.forum_topic_ids`, the project's rule for topic links);
- a link to the proposal's own page, i.e. its ``link`` field, compared after canonicalisation (host without ``www.``,
  no trailing slash, ``?proposalId=N`` / ``?id=N`` folded into the path): ``app.aave.com/governance/proposal/75/``
  and ``app.aave.com/governance/proposal/?proposalId=75`` both name ``aave-v2-75``;
- a Snapshot proposal link (parsed by :func:`ingest.linking.urls.proposal_refs`) to the proposal's ``snapshot_url``;
- ``compound.finance/governance/proposals/N``: Compound's proposal page, numbered globally across GovernorAlpha
  and GovernorBravo, so N names exactly one ``native_id`` among the DAO's proposals (linked only when unique).

Nothing is linked on a guess: no title similarity, no "AIP-N" numbers (Aave's AIP numbers differ from governance
v2 proposal ids), no Uniswap app ``#/vote/N`` links (without a governor index they are ambiguous between governors).
Several proposals can share one forum topic (a re-submitted proposal); a post linking that topic is linked to each.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ingest.linking.urls import forum_topic_ids, proposal_refs

__all__ = ["METHODS", "LinkIndex", "build_link_index", "canonical_page"]

_URL = re.compile(r"https?://[^\s<>()\[\]\"'`|]+", re.IGNORECASE)
_COMPOUND_PAGE = re.compile(r"compound\.finance/governance/proposals/(\d+)(?![\d])", re.IGNORECASE)
_ID_PARAMS = ("proposalid", "id")

#: Link methods, strongest first; a post linked by several methods to one proposal counts under the first.
METHODS: tuple[str, ...] = ("forum_topic", "proposal_page", "snapshot", "compound_page")


def _host(netloc: str) -> str:
    return netloc.lower().split("@")[-1].split(":")[0].removeprefix("www.")


def canonical_page(url: str) -> str | None:
    """``host/path[/id]`` of a proposal page URL (lower-case host without ``www.``, no trailing slash, the value of
    a ``proposalId``/``id`` query parameter appended to the path, fragment kept); None when ``url`` has no host."""
    parts = urlsplit(url.strip().rstrip(".,;:!?"))
    host = _host(parts.netloc)
    if not host:
        return None
    path = parts.path.rstrip("/")
    query = {k.lower(): v for k, v in parse_qs(parts.query).items()}
    for key in _ID_PARAMS:
        if query.get(key):
            path = f"{path}/{query[key][0]}"
            break
    fragment = f"#{parts.fragment.rstrip('/')}" if parts.fragment else ""
    return f"{host}{path}{fragment}"


@dataclass
class LinkIndex:
    """What each proposal can be referred to by; :meth:`link` finds the proposals a text refers to."""

    #: forum host -> topic id -> proposal ids
    topics: dict[str, dict[int, list[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    #: canonical page URL -> proposal ids
    pages: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    #: lower-case snapshot proposal id -> proposal ids
    snapshot: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    #: Compound proposal number -> proposal ids (kept only where unique)
    compound: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))

    def link(self, text: str) -> dict[str, str]:
        """Proposal id -> method (one of :data:`METHODS`) for every proposal ``text`` refers to explicitly."""
        found: dict[str, str] = {}
        if not text or "http" not in text.lower():
            return found
        lowered = text.lower()
        for host, by_topic in self.topics.items():
            if host not in lowered:
                continue
            for topic in forum_topic_ids(text, f"https://{host}"):
                for pid in by_topic.get(topic, ()):
                    found.setdefault(pid, "forum_topic")
        for match in _URL.finditer(text):
            key = canonical_page(match.group(0))
            for pid in self.pages.get(key or "", ()):
                found.setdefault(pid, "proposal_page")
        for ref in proposal_refs(text):
            for pid in self.snapshot.get(ref.lower(), ()):
                found.setdefault(pid, "snapshot")
        for match in _COMPOUND_PAGE.finditer(text):
            ids = self.compound.get(int(match.group(1)), [])
            if len(ids) == 1:
                found.setdefault(ids[0], "compound_page")
        return found


def build_link_index(rows: Iterable[Mapping[str, Any]]) -> LinkIndex:
    """Index proposal rows (``proposals.jsonl`` dicts) by forum topic, page URL, Snapshot id and Compound number."""
    index = LinkIndex()
    for row in rows:
        pid = str(row.get("id") or "")
        if not pid:
            continue
        discussion = str(row.get("discussion_url") or "")
        if discussion:
            host = _host(urlsplit(discussion).netloc)
            for topic in forum_topic_ids(discussion, f"https://{host}"):
                index.topics[host][topic].append(pid)
        link = str(row.get("link") or "")
        key = canonical_page(link) if link.startswith("http") else None
        if key:
            index.pages[key].append(pid)
        for ref in proposal_refs(str(row.get("snapshot_url") or "")):
            index.snapshot[ref.lower()].append(pid)
        native = str(row.get("native_id") or "")
        if str(row.get("dao") or "") == "compound" and native.isdigit():
            index.compound[int(native)].append(pid)
    return index
