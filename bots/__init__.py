"""Concord bots package."""
