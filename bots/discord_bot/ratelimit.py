"""Per-user rate limits for the bot's commands (a sliding window, one per bot instance)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """At most ``calls`` commands per ``period`` seconds per user."""

    def __init__(self, *, calls: int = 5, period: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        if calls < 1 or period <= 0:
            raise ValueError("calls must be >= 1 and period > 0")
        self.calls = calls
        self.period = period
        self._clock = clock
        self._seen: dict[int, deque[float]] = {}

    def retry_after(self, user_id: int) -> float:
        """Record a call by ``user_id``; return 0 if allowed, else seconds until the next allowed call."""
        now = self._clock()
        window = self._seen.setdefault(user_id, deque())
        while window and now - window[0] >= self.period:
            window.popleft()
        if len(window) >= self.calls:
            return self.period - (now - window[0])
        window.append(now)
        return 0.0
