"""Concord ingest package."""
