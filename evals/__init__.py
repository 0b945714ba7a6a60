"""Concord evals package."""
