"""Concord embeddings package."""
