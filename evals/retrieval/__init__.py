"""Retrieval evaluation: labelled queries over the bundled sample (labels.jsonl, built by build_labels.py),
ranking metrics, and BM25 / dense / hybrid retrieval against baselines (evaluate.py)."""
