"""Which normaliser replays a quarantined payload of each record kind (used by `concord quarantine retry`).

A kind is listed here when its stored payload is all its normaliser needs; kinds that record a failed fetch
(``*-error``) are not: their source fetches them again on its next run. A new source adds its kinds here.
"""

from __future__ import annotations

from ingest.normalise.discourse import discourse_post, present_posts, topic_to_thread
from ingest.normalise.governor import governor_proposal, governor_vote
from ingest.normalise.snapshot import snapshot_proposal, snapshot_vote
from ingest.quarantine import Normaliser
from ingest.sources.discord_export import CHANNEL_KIND, MESSAGE_KIND, normalise_channel, normalise_message

__all__ = ["quarantine_normalisers"]


def quarantine_normalisers() -> dict[str, Normaliser]:
    """A fresh mapping from record kind to the normaliser that replays its stored payload."""
    return {
        CHANNEL_KIND: normalise_channel,
        MESSAGE_KIND: normalise_message,
        "discourse-topic": lambda payload, source: [topic_to_thread(payload, source.locator)],
        "discourse-post": lambda payload, source: [discourse_post(payload, source.locator)],
        "discourse-stream": lambda payload, _source: [present_posts(payload)],
        "snapshot-proposal": lambda payload, _source: [snapshot_proposal(payload)],
        "snapshot-vote": lambda payload, _source: [snapshot_vote(payload)],
        "governor-proposal": lambda payload, _source: [governor_proposal(payload)],
        "governor-vote": lambda payload, _source: [governor_vote(payload)],
    }
