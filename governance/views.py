"""What governance returns to its interfaces (CLI, Discord bot, dashboard): typed, frozen views, JSON via ``to_json``.

    ActionView       one action as a signer sees it: every Safe tx field in words, problems, typed data, signatures
    ActionSummary    one line of the approval queue
    SignatureView    an owner's recorded signature
    Problem          a rule that forbids signing the action now
    RefusedConfirmation  a Safe Transaction Service confirmation that a rule refused
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from governance.binding import TxField
from governance.errors import Rule

__all__ = ["ActionSummary", "ActionView", "Problem", "RefusedConfirmation", "SignatureView"]


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


def _plain(value: Any) -> Any:
    if isinstance(value, Rule):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
