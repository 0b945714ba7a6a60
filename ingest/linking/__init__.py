"""Linking discussion (threads, posts) to proposals: explicit URLs first, then titles, then text similarity."""

from ingest.linking.service import LinkSummary, link_dao
from ingest.linking.urls import forum_topic_ids, proposal_refs

__all__ = ["LinkSummary", "forum_topic_ids", "link_dao", "proposal_refs"]
