"""The report provider every face reads: the newest stored consensus report of a proposal, marked stale when its inputs changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.report.records import report_status
from ingest.core.errors import StoreError

if TYPE_CHECKING:
    from ingest.core.settings import ConcordSettings
    from ingest.core.store import Store

__all__ = ["StoredReports", "build_report_provider"]


class StoredReports:
    """Stored reports as JSON data (``stale`` and ``stale_reason`` added)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get_report(self, proposal_id: int) -> dict[str, Any] | None:
        """The stored report of the proposal, or None when none was generated yet."""
        status = report_status(self.store, proposal_id)
        if status.record is None or not status.record.path:
            return None
        path = Path(status.record.path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"The stored report {path} cannot be read ({exc}); regenerate it with `concord report {proposal_id}`."
            ) from exc
        data["stale"] = status.stale
        data["stale_reason"] = status.reason
        return data


def build_report_provider(settings: ConcordSettings, *, store: Store) -> StoredReports:
    """The report provider over ``store``."""
    return StoredReports(store)
