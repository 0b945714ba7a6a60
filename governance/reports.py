"""The minimal consensus-report input governance needs, and how a report's current hash is recomputed.

Integration point with ``agent/report``: a report is a JSON document; its identity is
SHA-256 over its canonical JSON (sorted keys, no whitespace, UTF-8) without the ``attestation``
section — the same definition as ``agent.report.attest.report_sha256`` (a test checks they agree).
Governance keeps only the report id and that hash; before each signature and before execution it
re-reads the stored JSON through a :class:`ReportSource` and refuses if the hash changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ingest.errors import InputError, NotFoundError

__all__ = [
    "SUPPORT",
    "CombinedReportSource",
    "DirectoryReportSource",
    "ReportRef",
    "ReportSource",
    "StoreReportSource",
    "recommendation_from_report",
    "report_sha256",
    "report_sha256_of_bytes",
]

#: GovernorCountingSimple's support values.
SUPPORT = {"against": 0, "for": 1, "abstain": 2}


def report_sha256(data: dict[str, Any]) -> str:
    """SHA-256 of a report's canonical JSON without its ``attestation`` section."""
    body = {k: v for k, v in data.items() if k != "attestation"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")).hexdigest()


def report_sha256_of_bytes(raw: bytes, *, where: str = "report") -> str:
    """Parse stored report JSON bytes and return :func:`report_sha256` of them."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{where} is not valid JSON ({exc}); regenerate it with `concord report`.") from exc
    if not isinstance(data, dict):
        raise InputError(f"{where} must hold a JSON object, found {type(data).__name__}.")
    return report_sha256(data)


@dataclass(frozen=True)
class ReportRef:
    """What an advisory vote is based on: a report (by id and hash) and its recommended choice."""

    report_id: str
    report_sha256: str
    dao: str
    proposal_ref: str
    choice: str
    confidence: float
    reason: str
    proposal_kind: str = "governor"

    def __post_init__(self) -> None:
        if self.choice not in SUPPORT:
            raise InputError(f"Unknown choice {self.choice!r}: use one of {', '.join(SUPPORT)}.")
        if not 0.0 <= self.confidence <= 1.0:
            raise InputError(f"Confidence must be between 0 and 1, got {self.confidence}.")
        if len(self.report_sha256) != 64:
            raise InputError("report_sha256 must be the 64-character hex SHA-256 of the report JSON.")

    @property
    def support(self) -> int:
        """The Governor's support value for the choice."""
        return SUPPORT[self.choice]


def recommendation_from_report(data: dict[str, Any], *, report_id: str) -> ReportRef:
    """Read a consensus report (``agent.report`` schema) into a recommendation.

    The choice follows the stance majority of the discussion (for vs against; a tie abstains); the
    confidence is the outcome model's probability for that side (0 when the report has no
    prediction, so the policy's minimum refuses it). The reason states both numbers.
    """
    proposal = data.get("proposal") or {}
    counts = (data.get("stance") or {}).get("counts") or {}
    pro, con = int(counts.get("for", 0)), int(counts.get("against", 0))
    choice = "for" if pro > con else "against" if con > pro else "abstain"
    prediction = data.get("prediction") or {}
    p_pass = prediction.get("probability_pass")
    if p_pass is None:
        confidence = 0.0
    else:
        confidence = float(p_pass) if choice == "for" else 1.0 - float(p_pass) if choice == "against" else 1.0 - abs(2 * float(p_pass) - 1)
    summary = " ".join(str((data.get("summary") or {}).get("text", "")).split())
    reason = f"Discussion: {pro} posts for, {con} against" + (f"; predicted pass probability {float(p_pass):.2f}" if p_pass is not None else "; no outcome prediction")
    reason += f". {summary[:200]}" if summary else "."
    origin = str(proposal.get("origin") or "governor")
    return ReportRef(
        report_id=report_id,
        report_sha256=report_sha256(data),
        dao=str(proposal.get("dao") or ""),
        proposal_ref=str(proposal.get("external_id") or ""),
        choice=choice,
        confidence=round(min(max(confidence, 0.0), 1.0), 4),
        reason=reason,
        proposal_kind=origin,
    )


@runtime_checkable
class ReportSource(Protocol):
    """Gives back a stored report's JSON, from which its current hash is recomputed."""

    def read_report(self, report_id: str) -> dict[str, Any]: ...

    def current_sha256(self, report_id: str) -> str: ...


@dataclass(frozen=True)
class DirectoryReportSource:
    """Reports stored as ``<directory>/<report_id>.json`` (what ``concord report`` exports)."""

    directory: Path

    def _path(self, report_id: str) -> Path:
        if "/" in report_id or "\\" in report_id or report_id.startswith("."):
            raise InputError(f"Bad report id {report_id!r}: ids are file names without folders.")
        return Path(self.directory) / f"{report_id}.json"

    def read_report(self, report_id: str) -> dict[str, Any]:
        """The parsed report."""
        path = self._path(report_id)
        try:
            return dict(json.loads(path.read_bytes()))
        except FileNotFoundError as exc:
            raise NotFoundError(f"No report {report_id!r} at {path}. Generate it with `concord report` first.") from exc

    def current_sha256(self, report_id: str) -> str:
        """The hash of the report file as it is now."""
        path = self._path(report_id)
        try:
            return report_sha256_of_bytes(path.read_bytes(), where=str(path))
        except FileNotFoundError as exc:
            raise NotFoundError(f"No report {report_id!r} at {path}. Generate it with `concord report` first.") from exc


class StoreReportSource:
    """Reports recorded in the store's ``report_record`` table; ``path`` points at the JSON export."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def _path(self, report_id: str) -> Path:
        from ingest.domain import ReportRecord

        if not report_id.isdigit():
            raise InputError(f"Report ids in the store are numbers; got {report_id!r}.")
        with self._store.session() as session:
            record = session.get(ReportRecord, int(report_id))
        if record is None or not record.path:
            raise NotFoundError(f"No stored report {report_id} with a JSON export. Generate it with `concord report`.")
        return Path(record.path)

    def read_report(self, report_id: str) -> dict[str, Any]:
        """The parsed JSON export of the stored report."""
        return dict(json.loads(self._path(report_id).read_bytes()))

    def current_sha256(self, report_id: str) -> str:
        """The hash of the JSON export as it is now."""
        path = self._path(report_id)
        return report_sha256_of_bytes(path.read_bytes(), where=str(path))


class CombinedReportSource:
    """Numeric ids are stored reports (``report_record``); other ids are files in ``directory``."""

    def __init__(self, store: Any, directory: Path) -> None:
        self._stored = StoreReportSource(store)
        self._files = DirectoryReportSource(Path(directory))

    def _pick(self, report_id: str) -> ReportSource:
        return self._stored if report_id.isdigit() else self._files

    def read_report(self, report_id: str) -> dict[str, Any]:
        """The parsed report."""
        return self._pick(report_id).read_report(report_id)

    def current_sha256(self, report_id: str) -> str:
        """The hash of the report as stored now."""
        return self._pick(report_id).current_sha256(report_id)
