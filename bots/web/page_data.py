"""What the dashboard's read pages show, kept until the store changes.

A proposal page, its report page and the proposal list read the same rows on every view; between two writes to the
store they cannot change (predictions are memoised per proposal version and reports are files recorded in the
store). :class:`PageData` keeps each page's data under the store's *change stamp* and drops everything when the
stamp moves:

* SQLite file: ``PRAGMA data_version`` on a connection of its own that never writes, so any commit by any other
  connection (this server's included) changes it;
* PostgreSQL: ``pg_current_wal_lsn()``, which moves on any write in the cluster (more often than needed, never
  less);
* anything else (an in-memory SQLite store): no stamp, nothing kept.

What depends on the clock (the signer page expires overdue actions) is not kept here.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import text

if TYPE_CHECKING:
    from ingest.core.store import Store

__all__ = ["PageData", "StoreStamp"]

T = TypeVar("T")


class StoreStamp:
    """A value that changes whenever the store's data may have changed (None: unknown, so never cache)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._sqlite: sqlite3.Connection | None = None
        url = store.engine.url
        self.backend = url.get_backend_name()
        if self.backend == "sqlite" and url.database not in (None, "", ":memory:"):
            try:
                self._sqlite = sqlite3.connect(f"file:{url.database}?mode=ro", uri=True, check_same_thread=False)
            except sqlite3.Error:  # not there (yet): no stamp, nothing cached
                self._sqlite = None

    def current(self) -> Hashable | None:
        if self._sqlite is not None:
            with self._lock:
                return ("sqlite", self._sqlite.execute("PRAGMA data_version").fetchone()[0])
        if self.backend == "postgresql":
            with self.store.engine.connect() as conn:
                return ("postgresql", str(conn.execute(text("SELECT pg_current_wal_lsn()")).scalar()))
        return None

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None


class PageData:
    """``get(key, compute)``: ``compute()``'s value for ``key`` while the store stamp is unchanged.

    Errors are not kept (a missing proposal raises again on the next view). At most ``max_entries`` values.
    """

    def __init__(self, stamp: StoreStamp, *, max_entries: int = 2048) -> None:
        self.stamp = stamp
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._seen: Hashable | None = None
        self._values: dict[Hashable, Any] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        stamp = self.stamp.current()
        if stamp is None:
            return compute()
        with self._lock:
            if stamp != self._seen:
                self._values.clear()
                self._seen = stamp
            elif key in self._values:
                return self._values[key]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            if self._seen == stamp and len(self._values) < self.max_entries:
                self._values[key] = value
        return value
