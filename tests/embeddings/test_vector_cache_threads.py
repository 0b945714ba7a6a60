"""The vector cache is shared by request threads (the bot's /ask runs each command on a worker thread)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from embeddings.cache import VectorCache


def test_the_cache_opened_on_one_thread_serves_others(tmp_path: Path) -> None:
    cache = VectorCache(tmp_path / "vectors.sqlite")
    cache.put_many("m", [("a", b"\x00" * 4)])
    with ThreadPoolExecutor(max_workers=4) as pool:
        writes = list(pool.map(lambda i: cache.put_many("m", [(f"h{i}", bytes([i]) * 4)]), range(8)))
        reads = list(pool.map(lambda i: cache.get_many("m", ["a", f"h{i}"]), range(8)))
    assert writes == [None] * 8
    assert all(r == {"a": b"\x00" * 4, f"h{i}": bytes([i]) * 4} for i, r in enumerate(reads))
    cache.close()
