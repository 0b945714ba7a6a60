"""Refusals folded per client and rule, so a flood of bad requests cannot flood the audit log.

An interface that serves untrusted clients (the dashboard) wraps each request in
``refusals_from(aggregator, client=...)``. Inside it, the first refusal of a (client, rule) pair in a
window is written in full (with the client named); later ones in the same window are only counted,
and the count is written as one ``refuse_summary`` entry when the window is over (at the next
refusal of any client, or at :meth:`RefusalAggregator.pending_summaries` on shutdown). Counts not
yet written are lost if the process dies: at most one window of repeated refusals per client and rule.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from ingest.core.domain import utcnow

__all__ = ["SUMMARY_ACTION", "RefusalAggregator", "RefusalScope", "Summary", "current_scope", "refusals_from"]

SUMMARY_ACTION = "refuse_summary"


@dataclass
class _Window:
    started: datetime
    suppressed: int = 0
    subject: str = ""


@dataclass(frozen=True)
class Summary:
    """Refusals of one client for one rule that were counted, not written one by one."""

    client: str
    rule: str
    count: int
    window_start: datetime
    window_seconds: float
    last_subject: str


class RefusalAggregator:
    """Thread-safe per-(client, rule) windows; one per process (the dashboard keeps it on ``app.state``)."""

    def __init__(self, *, window_seconds: float, clock: Callable[[], datetime] = utcnow, max_keys: int = 10_000) -> None:
        self.window = timedelta(seconds=window_seconds)
        self.window_seconds = window_seconds
        self.clock = clock
        self.max_keys = max_keys
        self._windows: OrderedDict[tuple[str, str], _Window] = OrderedDict()  # oldest window first
        self._lock = threading.Lock()

    def admit(self, *, client: str, rule: str, subject: str) -> tuple[bool, list[Summary]]:
        """Whether this refusal is written in full, and the summaries of windows that are over."""
        now = self.clock()
        with self._lock:
            due = self._close_windows(now)
            key = (client, rule)
            window = self._windows.get(key)
            if window is None:
                if len(self._windows) >= self.max_keys:
                    key = ("*", rule)  # too many distinct clients: fold the rest together
                    window = self._windows.get(key)
                if window is None:
                    self._windows[key] = _Window(started=now)
                    return True, due
            window.suppressed += 1
            window.subject = subject
            return False, due

    def _close_windows(self, now: datetime) -> list[Summary]:
        """Close the windows that are over: the oldest first, stopping at the first still open, so a refusal costs
        the windows it closes, not one look at every client's (windows open in the order they start; were the clock
        set back, a window could close late, never early)."""
        due: list[Summary] = []
        while self._windows:
            key, window = next(iter(self._windows.items()))
            if now - window.started < self.window:
                break
            del self._windows[key]
            if window.suppressed:
                due.append(Summary(key[0], key[1], window.suppressed, window.started, self.window_seconds, window.subject))
        return due

    def pending_summaries(self) -> list[Summary]:
        """Every count not yet written, windows closed now (call on shutdown)."""
        with self._lock:
            due = [Summary(c, r, w.suppressed, w.started, self.window_seconds, w.subject)
                   for (c, r), w in self._windows.items() if w.suppressed]
            self._windows.clear()
            return due


@dataclass(frozen=True)
class RefusalScope:
    aggregator: RefusalAggregator
    client: str


_SCOPE: ContextVar[RefusalScope | None] = ContextVar("concord_refusal_scope", default=None)


def current_scope() -> RefusalScope | None:
    """The scope set by :func:`refusals_from` for the request being served, if any."""
    return _SCOPE.get()


@contextmanager
def refusals_from(aggregator: RefusalAggregator, *, client: str) -> Iterator[None]:
    """Within this block, ``refuse`` entries are folded per ``client`` and rule."""
    token = _SCOPE.set(RefusalScope(aggregator, client))
    try:
        yield
    finally:
        _SCOPE.reset(token)
