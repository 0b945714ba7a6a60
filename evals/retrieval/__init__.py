"""Retrieval recall@10 on a small labelled set drawn from the bundled sample."""
