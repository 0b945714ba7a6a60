"""Normalisers: one module per API shape, each turning raw payloads into ingest.records."""
