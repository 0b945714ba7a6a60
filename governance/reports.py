"""The minimal consensus-report input governance needs, and where its bytes are read back from.

Integration point with ``agent/report`` (issue 7): a report is a JSON document whose SHA-256 is its
identity. Governance keeps only the id and the hash; before each signature and before execution it
re-reads the report's bytes through a :class:`ReportSource` and refuses if the hash changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from ingest.errors import InputError, NotFoundError

__all__ = ["SUPPORT", "DirectoryReportSource", "ReportRef", "ReportSource", "StoreReportSource", "report_sha256"]

#: GovernorCountingSimple's support values.
SUPPORT = {"against": 0, "for": 1, "abstain": 2}


def report_sha256(data: bytes) -> str:
    """SHA-256 hex of a report's exact JSON bytes."""
    return hashlib.sha256(data).hexdigest()


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


@runtime_checkable
class ReportSource(Protocol):
    """Gives back a stored report's exact JSON bytes."""

    def read_report_bytes(self, report_id: str) -> bytes: ...


@dataclass(frozen=True)
class DirectoryReportSource:
    """Reports stored as ``<directory>/<report_id>.json``."""

    directory: Path

    def read_report_bytes(self, report_id: str) -> bytes:
        """The report file's bytes."""
        if "/" in report_id or "\\" in report_id or report_id.startswith("."):
            raise InputError(f"Bad report id {report_id!r}: ids are file names without folders.")
        path = Path(self.directory) / f"{report_id}.json"
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise NotFoundError(f"No report {report_id!r} at {path}. Generate it with `concord report` first.") from exc


class StoreReportSource:
    """Reports recorded in the store's ``report_record`` table (``path`` points at the JSON export)."""

    def __init__(self, store: object) -> None:
        self._store = store

    def read_report_bytes(self, report_id: str) -> bytes:
        """The bytes of the JSON file the report record points at."""
        from ingest.domain import ReportRecord

        if not report_id.isdigit():
            raise InputError(f"Report ids in the store are numbers; got {report_id!r}.")
        with self._store.session() as session:  # type: ignore[attr-defined]
            record = session.get(ReportRecord, int(report_id))
        if record is None or not record.path:
            raise NotFoundError(f"No stored report {report_id} with a JSON export. Generate it with `concord report`.")
        return Path(record.path).read_bytes()
