"""Concord governance package."""
