"""The consensus report, versioned: ``schema = "concord.report/1"``. Exported as JSON, Markdown and HTML."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "SCHEMA_VERSION",
    "Attestation",
    "CampReport",
    "Citation",
    "ConsensusReport",
    "DataWindow",
    "Faithfulness",
    "InputPost",
    "PredictionReport",
    "ProposalRef",
    "StanceSummary",
    "Summary",
]

SCHEMA_VERSION = "concord.report/1"


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


class Summary(BaseModel):
    """Wording by the chat model; ``post_ids`` are its citations (only ids among the inputs survive)."""

    text: str
    post_ids: list[int] = Field(default_factory=list)
    supported: bool = True
    generated_by: str = ""


class StanceSummary(BaseModel):
    model: str
    counts: dict[str, int]
    by_post: list[dict[str, Any]]


class CampReport(BaseModel):
    index: int
    name: str
    people: int
    posts: int
    voting_power: float | None = None
    stance_mix: dict[str, int] = Field(default_factory=dict)
    quotes: list[Citation] = Field(default_factory=list)


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
    camps: list[CampReport] = Field(default_factory=list)
    camps_method: str = ""
    bridging: list[Citation] = Field(default_factory=list)
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
