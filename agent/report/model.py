"""The consensus report, versioned: ``schema = "concord.report/2"``. Exported as JSON, Markdown and HTML.

Changes from ``concord.report/1``: new sections ``proposer_side`` (who speaks for the proposal, with evidence, and
their replies), ``camps`` now groups *people* (each community member in exactly one camp, with stance, reasons
and quotes from distinct people; the proposer side is never in a camp), ``cruxes``, ``requested_changes``,
``open_questions``, ``common_ground`` (replaces ``bridging``), ``changes_since``, ``stance_mix`` (by people, by
voting power, by posts; low-confidence labels counted as ``uncertain``), ``set_aside`` (instruction-like text that
was read but never used), ``units`` (every argument unit with type, stance and confidence) and ``timeline``
(posts before/during/after voting); ``stance.counts`` now counts community posts only; ``summary`` gains
``sentences`` (each with the post ids it rests on) and ``gate`` (why a model's wording was or was not used)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "SCHEMA_VERSION",
    "Attestation",
    "CampReport",
    "Citation",
    "CommonGround",
    "ConsensusReport",
    "Crux",
    "DataWindow",
    "Faithfulness",
    "InputPost",
    "OpenQuestion",
    "PredictionReport",
    "ProposalRef",
    "ProposerMember",
    "ProposerSide",
    "RequestedChange",
    "StanceMix",
    "StanceSummary",
    "Summary",
    "SummarySentence",
]

SCHEMA_VERSION = "concord.report/2"


class Citation(BaseModel):
    """A quoted span and the post it comes from. The faithfulness check keeps only spans found verbatim."""

    post_id: int
    quote: str
    url: str | None = None
    author: str = ""


class ProposalRef(BaseModel):
    id: int
    external_id: str
    dao: str
    title: str
    origin: str
    url: str | None = None
    discussion_url: str | None = None
    start: str | None = None
    end: str | None = None
    content_hash: str


class InputPost(BaseModel):
    post_id: int
    content_hash: str
    url: str | None = None


class DataWindow(BaseModel):
    """Which posts the report read: their time span (where known), threads and count."""

    threads: list[dict[str, Any]] = Field(default_factory=list)
    posts: int = 0
    first_post_at: str | None = None
    last_post_at: str | None = None
    note: str = ""


class SummarySentence(BaseModel):
    text: str
    post_ids: list[int] = Field(default_factory=list)


class Summary(BaseModel):
    """The digest: template sentences over the report's structure, or a capable model's wording that passed the
    quality gate; ``post_ids`` are every sentence's citations."""

    text: str
    post_ids: list[int] = Field(default_factory=list)
    supported: bool = True
    generated_by: str = ""
    sentences: list[SummarySentence] = Field(default_factory=list)
    gate: str = ""


class StanceSummary(BaseModel):
    model: str
    counts: dict[str, int]
    by_post: list[dict[str, Any]]


class CampReport(BaseModel):
    """A group of community members with one stance and shared reasons; ``members`` are their handles."""

    index: int
    name: str
    stance: str = ""
    people: int
    posts: int
    voting_power: float | None = None
    members: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    reasons_by: str = ""
    stance_mix: dict[str, int] = Field(default_factory=dict)
    quotes: list[Citation] = Field(default_factory=list)


class ProposerMember(BaseModel):
    author: str
    evidence: list[str]
    posts: int = 0


class ProposerSide(BaseModel):
    """The proposal's author, opening poster and accounts answering as the proposing team, and their replies."""

    members: list[ProposerMember] = Field(default_factory=list)
    replies: list[Citation] = Field(default_factory=list)
    posts: int = 0
    note: str = ""


class Crux(BaseModel):
    """A reason on which camps split: the words they share and one quote from each side."""

    topic: list[str]
    sides: dict[str, Citation]


class RequestedChange(BaseModel):
    request: Citation | None = None
    asked_by: list[str] = Field(default_factory=list)
    status: str = "open"
    answer: Citation | None = None
    note: str = ""


class OpenQuestion(BaseModel):
    question: Citation
    asked_by: str


class CommonGround(BaseModel):
    """A point raised by people of opposing stances (one quote from each)."""

    stances: list[str]
    quotes: list[Citation]


class StanceMix(BaseModel):
    """Community stance three ways; ``uncertain`` holds labels below ``threshold`` confidence."""

    people: dict[str, int] = Field(default_factory=dict)
    voting_power: dict[str, float] | None = None
    posts: dict[str, int] = Field(default_factory=dict)
    threshold: float = 0.5
    note: str = ""


class PredictionReport(BaseModel):
    probability_pass: float
    interval: tuple[float, float] | None = None
    vote_share: dict[str, float] | None = None
    model: str = ""


class Faithfulness(BaseModel):
    checked: int = 0
    passed: int = 0
    dropped: list[dict[str, Any]] = Field(default_factory=list)


class Attestation(BaseModel):
    """SHA-256 of the report without this section, and its EIP-191 signature by the attestation key."""

    sha256: str
    signer: str
    signature: str
    scheme: str = "eip191-personal-sign(sha256-hex)"


class ConsensusReport(BaseModel):
    schema_version: str = Field(SCHEMA_VERSION, alias="schema")
    generated_at: str
    proposal: ProposalRef
    data_window: DataWindow
    summary: Summary
    stance: StanceSummary | None = None
    stance_missing: str | None = None
    proposer_side: ProposerSide = Field(default_factory=ProposerSide)
    stance_mix: StanceMix = Field(default_factory=StanceMix)
    camps: list[CampReport] = Field(default_factory=list)
    camps_method: str = ""
    cruxes: list[Crux] = Field(default_factory=list)
    requested_changes: list[RequestedChange] = Field(default_factory=list)
    open_questions: list[OpenQuestion] = Field(default_factory=list)
    common_ground: list[CommonGround] = Field(default_factory=list)
    changes_since: dict[str, Any] = Field(default_factory=dict)
    set_aside: list[dict[str, Any]] = Field(default_factory=list)
    units: list[dict[str, Any]] = Field(default_factory=list)
    timeline: dict[str, Any] = Field(default_factory=dict)
    prediction: PredictionReport | None = None
    prediction_missing: str | None = None
    faithfulness: Faithfulness = Field(default_factory=Faithfulness)
    inputs_hash: str
    manifest: dict[str, Any] = Field(default_factory=dict)
    attestation: Attestation | None = None

    model_config = {"populate_by_name": True}

    def to_data(self) -> dict[str, Any]:
        """Plain JSON data (``schema`` key, not the Python field name)."""
        return self.model_dump(mode="json", by_alias=True)
