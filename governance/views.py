"""What governance returns to its interfaces (CLI, Discord bot, dashboard): typed, frozen views, JSON via ``to_json``.

    ActionView       one action as a signer sees it: every Safe tx field in words, problems, typed data, signatures
    ActionSummary    one line of the approval queue
    SignatureView    an owner's recorded signature
    Problem          a rule that forbids signing the action now
    RefusedConfirmation  a Safe Transaction Service confirmation that a rule refused
    DraftView        a stored proposal draft: citations, actions, sections, prior art, what to expect
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from governance.binding import TxField
from governance.errors import Rule

__all__ = [
    "ActionSummary",
    "ActionView",
    "DraftActionView",
    "DraftCitation",
    "DraftExpectation",
    "DraftSection",
    "DraftView",
    "Problem",
    "RefusedConfirmation",
    "SignatureView",
]


@dataclass(frozen=True)
class SignatureView:
    """An owner's verified signature: who, which form (``eip712``, ``eth_sign``, ``eip1271``), when (ISO 8601)."""

    owner: str
    kind: str
    at: str


@dataclass(frozen=True)
class Problem:
    """A rule that refuses the action as it stands."""

    rule: Rule
    message: str


@dataclass(frozen=True)
class RefusedConfirmation:
    """A confirmation pulled from the Safe Transaction Service that a rule refused."""

    owner: str
    rule: Rule
    message: str


@dataclass(frozen=True)
class ActionView:
    """Everything a signer needs about one action; ``typed_data`` is None while a problem stands."""

    id: int
    kind: str
    status: str
    proposal: str
    recommendation: dict[str, Any]
    confidence: float
    report_id: str
    report_sha256: str
    chain_id: int
    safe: str
    governor: str
    call: str
    calldata: str
    nonce: int
    safe_tx: dict[str, Any]
    safe_tx_hash: str
    fields: list[TxField]
    warnings: list[str]
    problems: list[Problem]
    typed_data: dict[str, Any] | None
    contract_owner_message: str | None
    rejection_message: str
    signed_by: list[SignatureView]
    created_at: str
    expires_at: str
    executed_tx_hash: str | None = None
    note: str = ""
    owners: list[str] | None = None
    threshold: int | None = None
    refused_confirmations: list[RefusedConfirmation] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready (rule names as plain strings)."""
        return _plain(asdict(self))


@dataclass(frozen=True)
class ActionSummary:
    """One action in the approval queue."""

    id: int
    dao: str
    kind: str
    status: str
    proposal: str
    choice: str | None
    confidence: float
    report_id: str
    report_sha256: str
    safe_tx_hash: str
    expires_at: str
    signatures: int
    executed_tx_hash: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


@dataclass(frozen=True)
class DraftCitation:
    """A post the draft cites as ``[number]``, with the verbatim quote it used."""

    number: int
    post_id: int
    thread_title: str
    url: str | None
    quote: str
    score: float


@dataclass(frozen=True)
class DraftActionView:
    """One on-chain call of the draft, decoded (``described``) and encoded (``calldata``, 0x-hex)."""

    target: str
    signature: str
    args: list[Any]
    value: int
    calldata: str
    described: str


@dataclass(frozen=True)
class DraftSection:
    """One section of the DAO's template and its text."""

    heading: str
    text: str


@dataclass(frozen=True)
class DraftExpectation:
    """What the draft may meet: the predictor's answer (None without a predictor; ``error`` when it had none)
    and the objections and requested changes similar earlier proposals met."""

    prediction: dict[str, Any] | None = None
    objections: list[dict[str, Any]] = field(default_factory=list)
    requested_changes: list[dict[str, Any]] = field(default_factory=list)


# Keys of the draft's JSON that DraftView types; any other key the drafter adds is kept in ``extra``.
_DRAFT_KEYS = ("id", "dao", "title", "body", "citations", "actions", "sections", "snapshot_payload", "governor_tx",
               "template", "written_by", "prior_art", "expectation")


@dataclass(frozen=True)
class DraftView:
    """A proposal draft as stored (``id``) for review; nothing in it was signed or submitted.

    ``template`` and ``prior_art`` are the drafter's own JSON (:mod:`governance.draft_template`,
    :mod:`governance.prior_art`); ``written_by`` says per section whether a model or the composer wrote it.
    """

    id: int
    dao: str
    title: str
    body: str
    citations: list[DraftCitation]
    actions: list[DraftActionView]
    sections: list[DraftSection]
    snapshot_payload: dict[str, Any]
    governor_tx: dict[str, Any] | None
    expectation: DraftExpectation = field(default_factory=DraftExpectation)
    template: dict[str, Any] = field(default_factory=dict)
    written_by: dict[str, str] = field(default_factory=dict)
    prior_art: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DraftView:
        """The view of a draft's JSON (``Draft.as_dict()`` plus its stored ``id``)."""
        expectation = data.get("expectation") or {}
        return cls(
            id=int(data["id"]),
            dao=data["dao"],
            title=data["title"],
            body=data["body"],
            citations=[DraftCitation(**c) for c in data.get("citations") or []],
            actions=[DraftActionView(**a) for a in data.get("actions") or []],
            sections=[DraftSection(**s) for s in data.get("sections") or []],
            snapshot_payload=data.get("snapshot_payload") or {},
            governor_tx=data.get("governor_tx"),
            expectation=DraftExpectation(
                prediction=expectation.get("prediction"),
                objections=list(expectation.get("objections") or []),
                requested_changes=list(expectation.get("requested_changes") or []),
            ),
            template=data.get("template") or {},
            written_by=data.get("written_by") or {},
            prior_art=data.get("prior_art") or {},
            extra={k: v for k, v in data.items() if k not in _DRAFT_KEYS},
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: the same keys as the draft's JSON (``extra`` merged back in)."""
        out = asdict(self)
        extra = out.pop("extra")
        return {**out, **extra}


def _plain(value: Any) -> Any:
    if isinstance(value, Rule):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
