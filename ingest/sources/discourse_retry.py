"""The Discourse topics a run could not read in full, kept in the source's ``retry`` cursor until they are.

A topic whose ``/t/{id}.json`` failed (a 5xx, a timeout, malformed JSON) or whose ``post_stream.stream``
lists posts that ``/t/{id}/posts.json`` did not return is *pending*: later runs read it again, whether or not
it was bumped, until it is read in full or has failed ``max_tries`` runs, when it is given up with its reason.
The state is one JSON object, stored as a cursor in the same transaction as the run's last batch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PendingTopic", "RetryBook"]

RETRY_STREAM = "retry"


@dataclass
class PendingTopic:
    """One topic to read again: what the topic list said of it, how many runs failed, and the last reason."""

    topic_id: int
    tries: int = 0
    reason: str = ""
    bumped_at: str | None = None
    category_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"tries": self.tries, "reason": self.reason, "bumped_at": self.bumped_at,
                "category_id": self.category_id}  # fmt: skip


@dataclass
class RetryBook:
    """Pending topics by id; ``failed`` / ``succeeded`` record this run's outcome for each."""

    max_tries: int = 5
    pending: dict[int, PendingTopic] = field(default_factory=dict)

    @classmethod
    def load(cls, value: str | None, *, max_tries: int) -> RetryBook:
        book = cls(max_tries=max_tries)
        if not value:
            return book
        try:
            state = json.loads(value)
        except ValueError:
            return book  # an unreadable state only costs retries; the walk still reads what was bumped
        for key, entry in (state if isinstance(state, dict) else {}).items():
            if str(key).isdigit() and isinstance(entry, dict):
                book.pending[int(key)] = PendingTopic(
                    int(key),
                    tries=int(entry.get("tries") or 0),
                    reason=str(entry.get("reason") or ""),
                    bumped_at=entry.get("bumped_at") if isinstance(entry.get("bumped_at"), str) else None,
                    category_id=entry.get("category_id")
                    if isinstance(entry.get("category_id"), int)
                    else None,
                )
        return book

    def dump(self) -> str:
        return json.dumps({str(k): v.as_json() for k, v in sorted(self.pending.items())}, sort_keys=True)

    def failed(self, topic_id: int, reason: str, entry: dict[str, Any] | None) -> PendingTopic | None:
        """Count one more failed run for the topic; returns it when this run used its last try (given up)."""
        known = self.pending.get(topic_id) or PendingTopic(topic_id)
        known.tries += 1
        known.reason = reason
        if entry is not None:
            known.bumped_at = (
                entry.get("bumped_at") if isinstance(entry.get("bumped_at"), str) else known.bumped_at
            )
            if isinstance(entry.get("category_id"), int):
                known.category_id = entry["category_id"]
        if known.tries >= self.max_tries:
            self.pending.pop(topic_id, None)
            return known
        self.pending[topic_id] = known
        return None

    def succeeded(self, topic_id: int) -> None:
        self.pending.pop(topic_id, None)
