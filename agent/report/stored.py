"""The report provider every face reads: the newest stored consensus report of a proposal, marked stale when its inputs changed."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.report.records import report_status
from ingest.core.errors import StoreError

if TYPE_CHECKING:
    from ingest.core.settings import ConcordSettings
    from ingest.core.store import Store

__all__ = ["StoredReports", "build_report_provider"]


class StoredReports:
    """Stored reports as JSON data (``stale`` and ``stale_reason`` added).

    A report file is parsed once per (path, size, modification time, signed hash): pages show the same report again
    and again, and its staleness is checked on every call against the store (not cached).
    """

    CACHED_FILES = 64

    def __init__(self, store: Store) -> None:
        self.store = store
        self._parsed: OrderedDict[tuple[str, int, int, str], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def _read(self, path: Path, signed_hash: str) -> dict[str, Any]:
        info = path.stat()
        key = (str(path), info.st_size, info.st_mtime_ns, signed_hash)
        with self._lock:
            if key in self._parsed:
                self._parsed.move_to_end(key)
                return self._parsed[key]
        data = json.loads(path.read_text(encoding="utf-8"))
        with self._lock:
            self._parsed[key] = data
            while len(self._parsed) > self.CACHED_FILES:
                self._parsed.popitem(last=False)
        return data

    def get_report(self, proposal_id: int) -> dict[str, Any] | None:
        """The stored report of the proposal, or None when none was generated yet."""
        status = report_status(self.store, proposal_id)
        if status.record is None or not status.record.path:
            return None
        path = Path(status.record.path)
        try:
            data = dict(self._read(path, status.record.report_sha256))  # a copy: the flags below are per call
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
