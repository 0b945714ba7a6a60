"""Proposal drafting: an idea plus the DAO's own discussion -> a draft in the DAO's usual form.

The draft cites the posts it drew on (numbered, with links and verbatim quotes), lists on-chain actions
with their decoded calldata, and carries two unsigned artefacts: a Snapshot proposal message and a
Governor ``propose(targets, values, calldatas, description)`` transaction. Nothing is submitted here.

The body follows the DAO's own template (:mod:`governance.draft_template`), each section written by
:mod:`governance.draft_compose` (deterministic composition, or the chat model behind a quality gate), with the
most similar earlier proposals and the objections they met (:mod:`governance.prior_art`) ahead of it. Quotes are
copied verbatim, so every quoted sentence can be traced to a post.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from eth_utils import to_checksum_address
from sqlmodel import Session, select

from embeddings.hybrid import Hit, tokenize
from governance.calldata import PROPOSE, encode_call, parse_signature_types, propose_calldata
from governance.draft_compose import ComposeInput, compose_sections
from governance.draft_template import learn_template
from governance.prior_art import RoomSource, TextEmbedder, find_prior_art
from governance.snapshot import snapshot_proposal_message
from governance.views import DraftCitation
from ingest.core.domain import Dao, Post, Thread
from ingest.core.errors import InputError

if TYPE_CHECKING:
    from agent.llm import ChatBackend
    from governance.draft_writers import BodyWriter

__all__ = [
    "Draft",
    "DraftCitation",
    "OnchainAction",
    "PostRetriever",
    "build_draft",
    "parse_action",
]

_HEADING = re.compile(r"^#{1,3}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

@dataclass(frozen=True)
class OnchainAction:
    """One call the proposal would make: ``target.signature(args)`` with ``value`` wei."""

    target: str
    signature: str
    args: tuple[Any, ...]
    value: int = 0

    @property
    def calldata(self) -> bytes:
        """Selector + encoded arguments."""
        return encode_call(self.signature, list(self.args))

    def describe(self) -> str:
        """The call in words, with each argument named by its type."""
        name, types = parse_signature_types(self.signature)
        args = ", ".join(f"{t} {a!r}" if not isinstance(a, str) else f"{t} {a}" for t, a in zip(types, self.args))
        value = f" sending {self.value} wei" if self.value else ""
        return f"Call {to_checksum_address(self.target)}.{name}({args}){value}"


def _coerce(kind: str, raw: str) -> Any:
    raw = raw.strip()
    if kind == "address":
        return to_checksum_address(raw)
    if kind.startswith(("uint", "int")):
        return int(raw, 0)
    if kind == "bool":
        return raw.lower() in ("1", "true", "yes")
    if kind.startswith("bytes"):
        return bytes.fromhex(raw.removeprefix("0x"))
    if kind == "string":
        return raw
    raise InputError(f"Argument type {kind!r} is not supported on the command line; pass calldata another way.")


def parse_action(text: str) -> OnchainAction:
    """``0xTarget:transfer(address,uint256):0xabc…,1000[:value]`` -> an :class:`OnchainAction`."""
    parts = text.split(":")
    if len(parts) not in (2, 3, 4):
        raise InputError(
            f"An action looks like '0xTarget:transfer(address,uint256):0xRecipient,1000' (optionally ':<wei>'); got {text!r}."
        )
    target, signature = parts[0], parts[1]
    _, types = parse_signature_types(signature)
    raw_args = [a for a in parts[2].split(",")] if len(parts) > 2 and parts[2] else []
    if len(raw_args) != len(types):
        raise InputError(f"{signature} takes {len(types)} argument(s); got {len(raw_args)} in {text!r}.")
    value = int(parts[3], 0) if len(parts) == 4 else 0
    return OnchainAction(target=to_checksum_address(target), signature=signature.replace(" ", ""),
                         args=tuple(_coerce(t, a) for t, a in zip(types, raw_args)), value=value)


@runtime_checkable
class PostRetriever(Protocol):
    """Finds a DAO's posts relevant to a text, best first: :class:`embeddings.retrievers.DaoRetrievers` (hybrid,
    what the services wire) or :class:`embeddings.keyword.KeywordRetriever` (BM25 from the store, no index)."""

    def hits(self, query: str, *, dao: str, k: int = 10) -> list[Hit]: ...


@dataclass
class Draft:
    """A proposal draft and its unsigned Snapshot and Governor artefacts."""

    dao: str
    title: str
    sections: dict[str, str]
    headings: dict[str, str]
    citations: list[DraftCitation]
    actions: list[OnchainAction]
    snapshot_payload: dict[str, Any]
    governor_tx: dict[str, Any] | None
    idea: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def body(self) -> str:
        """The markdown body: the DAO's template sections in its order, references at the end."""
        parts = [f"## {heading}\n\n{text}" for heading, text in self.sections.items() if text]
        if self.citations:
            refs = "\n".join(f"[{c.number}] {c.thread_title} — {c.url or f'post {c.post_id}'}" for c in self.citations)
            parts.append(f"## References\n\n{refs}")
        return "\n\n".join(parts) + "\n"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {
            "dao": self.dao,
            "title": self.title,
            "body": self.body,
            "citations": [c.__dict__ for c in self.citations],
            "actions": [
                {"target": a.target, "signature": a.signature, "args": [str(x) if not isinstance(x, (int, str)) else x for x in a.args],
                 "value": a.value, "calldata": "0x" + a.calldata.hex(), "described": a.describe()}
                for a in self.actions
            ],
            "snapshot_payload": self.snapshot_payload,
            "governor_tx": self.governor_tx,
            "sections": [{"heading": h, "text": t} for h, t in self.sections.items()],
            **self.extra,
        }


def _best_quote(text: str, idea_terms: set[str], *, limit: int = 320) -> str:
    sentences = [s.strip() for s in _SENTENCE.split(" ".join(text.split())) if len(s.strip()) > 20]
    if not sentences:
        return " ".join(text.split())[:limit]
    best = max(sentences, key=lambda s: len(idea_terms & set(tokenize(s))))
    return best if len(best) <= limit else best[: limit - 1] + "…"


def build_draft(
    session: Session,
    *,
    dao_slug: str,
    idea: str,
    title: str | None = None,
    actions: Sequence[OnchainAction] = (),
    retriever: PostRetriever,
    k: int = 5,
    now: datetime,
    author: str = ZERO_ADDRESS,
    governor_address: str | None = None,
    voting_days: float = 5.0,
    embedder: TextEmbedder | None = None,
    rooms: RoomSource | None = None,
    chat: ChatBackend | None = None,
    expect: Callable[[str, str], dict[str, Any] | None] | None = None,
    body_writer: BodyWriter | None = None,
) -> Draft:
    """Draft a proposal for ``dao_slug`` from ``idea`` in the DAO's own template, citing the ``k`` most relevant
    posts, with the most similar earlier proposals first (``embedder``: MiniLM; BM25 without) and, when ``expect``
    is given (``expect(title, body)`` -> a prediction dict), the draft's predicted P(pass). ``chat`` writes the prose
    sections behind a quality gate; without it every section is composed deterministically."""
    idea = idea.strip()
    if len(idea) < 20:
        raise InputError("Describe the idea in at least a sentence (20+ characters): what should the DAO do and why?")
    dao = session.exec(select(Dao).where(Dao.slug == dao_slug)).first()
    if dao is None:
        raise InputError(f"Unknown DAO {dao_slug!r}; ingest it first.")
    hits = [(h.post_id, h.score) for h in retriever.hits(idea, dao=dao_slug, k=k)] if k else []
    idea_terms = set(tokenize(idea))
    citations: list[DraftCitation] = []
    for number, (post_id, score) in enumerate(hits, start=1):
        post = session.get(Post, post_id)
        if post is None:
            continue
        thread = session.get(Thread, post.thread_id)
        citations.append(
            DraftCitation(number=number, post_id=post_id, thread_title=thread.title if thread else "", url=post.url or (thread.url if thread else None),
                     quote=_best_quote(post.text, idea_terms), score=round(score, 3))
        )
    sentences = [s for s in _SENTENCE.split(" ".join(idea.split())) if s]
    draft_title = (title or sentences[0].rstrip(".!?"))[:200]
    template = learn_template(session, dao_slug)
    prior = find_prior_art(session, dao_slug=dao_slug, idea=idea, embedder=embedder, rooms=rooms, before=now)
    space = dao.snapshot_space or f"{dao_slug}.eth"
    sections, how = compose_sections(template, ComposeInput(
        dao_name=dao.name or dao_slug, space=space, idea=idea, title=draft_title, citations=citations,
        actions=list(actions), prior_art=prior, now=now, voting_days=voting_days), chat=chat, body_writer=body_writer)
    draft = Draft(
        dao=dao_slug,
        title=draft_title,
        sections=sections,
        headings={h: h for h in sections},
        citations=citations,
        actions=list(actions),
        snapshot_payload={},
        governor_tx=None,
        idea=idea,
    )
    objections = [{"quote": o.quote, "url": o.url, "from": p.title, "outcome": p.outcome}
                  for p in prior.proposals for o in p.objections]
    requested = [{"quote": o.quote, "url": o.url, "from": p.title, "status": o.status}
                 for p in prior.proposals for o in p.requested_changes]
    draft.extra = {
        "template": template.as_dict(),
        "written_by": how["sections"],
        "prior_art": prior.as_dict(),
        "expectation": {"prediction": expect(draft.title, draft.body) if expect else None,
                        "objections": objections, "requested_changes": requested},
    }
    start = int((now + timedelta(days=1)).timestamp())
    draft.snapshot_payload = snapshot_proposal_message(
        author=author, space=dao.snapshot_space or f"{dao_slug}.eth", title=draft.title, body=draft.body,
        choices=["For", "Against", "Abstain"], start=start, end=start + int(voting_days * 86400), snapshot=0,
        timestamp=int(now.timestamp()), discussion=citations[0].url or "" if citations else "",
    )
    governor = governor_address or dao.governor_address
    if actions and governor:
        description = f"# {draft.title}\n\n{draft.body}"
        data = propose_calldata([a.target for a in actions], [a.value for a in actions], [a.calldata for a in actions], description)
        draft.governor_tx = {
            "to": to_checksum_address(governor),
            "value": 0,
            "data": "0x" + data.hex(),
            "function": PROPOSE,
            "targets": [a.target for a in actions],
            "values": [a.value for a in actions],
            "calldatas": ["0x" + a.calldata.hex() for a in actions],
            "description": description,
            "note": "Unsigned. A delegate with enough voting power must review and send it.",
        }
    return draft
