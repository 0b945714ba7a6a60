"""Concord agent package."""
