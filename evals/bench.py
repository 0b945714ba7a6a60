"""`concord bench`: Concord's hot paths against naive baselines, measured in one run on this machine.

* ingestion: posts/s of :func:`ingest.pipeline.run_ingestion` (batched, one transaction per batch) vs
  the naive way (the same normalised records, one transaction per post), on the bundled real Aave Discord export;
* embedding: texts/s of Concord's embedder (``embed_batch``, batch 64) vs a stock loop calling
  ``SentenceTransformer.encode`` once per text, on real post texts;
* vector search: FAISS ``IndexFlatIP`` query latency at growing index sizes (generated unit vectors, dim 384)
  vs a numpy brute-force scan over the very same memory;
* report latency: the LLM step of a report (a summary of 12 real posts, <=128 tokens) on the embedded model
  through its OpenAI-compatible server (the whole ReportBuilder is not wired here: it needs a trained stance model).

Sizes are parameters; each row records its size so growth can be read off the table.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BenchReport", "BenchRow", "bench_embed", "bench_index", "bench_ingest", "bench_report", "run_bench"]

Progress = Callable[[str], None]


@dataclass
class BenchRow:
    """One measurement: Concord's figure, the baseline's, and their ratio (higher = Concord better)."""

    measure: str
    size: int
    concord: float
    baseline: float | None
    unit: str
    ratio: float | None
    baseline_name: str = ""
    note: str = ""


@dataclass
class BenchReport:
    rows: list[BenchRow] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"machine": self.machine, "seconds": self.seconds, "rows": [asdict(r) for r in self.rows]}


def _ratio(concord: float, baseline: float, *, higher_is_better: bool) -> float:
    if higher_is_better:
        return round(concord / baseline, 2) if baseline else float("inf")
    return round(baseline / concord, 2) if concord else float("inf")


# ---------------------------------------------------------------- ingestion


@dataclass
class _Limited:
    """A source wrapper that stops after ``limit`` payloads (to measure at a given size)."""

    inner: Any
    limit: int

    @property
    def kind(self) -> str:
        return str(self.inner.kind)

    @property
    def locator(self) -> str:
        return str(self.inner.locator)

    @property
    def name(self) -> str:
        return str(self.inner.name)

    def batches(self, cursor_of: Callable[[str], str | None]) -> Iterator[Any]:
        from ingest.pipeline import Batch

        left = self.limit
        for batch in self.inner.batches(cursor_of):
            if left <= 0:
                return
            items = batch.items[:left]
            left -= len(items)
            yield Batch(items, batch.cursor if len(items) == len(batch.items) else None)

    def normalise(self, item: Any) -> Any:
        return self.inner.normalise(item)


def _discord_source(limit: int) -> _Limited:
    from ingest.sources.discord_export import DiscordExportSource
    from ingest.sources.recordings import SAMPLE_DIR

    return _Limited(DiscordExportSource.from_file(SAMPLE_DIR / "discord-aave.json.gz"), limit)


def bench_ingest(sizes: list[int], *, workdir: Path) -> list[BenchRow]:
    """Posts/s: the pipeline vs one transaction per post, into fresh SQLite files."""
    from ingest.pipeline import run_ingestion
    from ingest.store import Store
    from ingest.writer import write_records

    rows = []
    for n in sizes:
        store = Store.open(f"sqlite:///{(workdir / f'ingest-{n}.db').as_posix()}")
        dao = store.ensure_dao("aave", "Aave")
        started = time.perf_counter()
        summary = run_ingestion(store, dao, _discord_source(n))
        fast = summary.ingested / (time.perf_counter() - started)
        store.close()

        naive_store = Store.open(f"sqlite:///{(workdir / f'naive-{n}.db').as_posix()}")
        naive_dao = naive_store.ensure_dao("aave", "Aave")
        source_impl = _discord_source(n)
        source = naive_store.ensure_source(naive_dao, source_impl.kind, source_impl.locator, source_impl.name)
        items = [item for batch in source_impl.batches(lambda _s: None) for item in batch.items]
        started = time.perf_counter()
        written = 0
        for item in items:
            try:
                records = source_impl.normalise(item)
            except Exception:  # noqa: BLE001 - the pipeline quarantines these; the baseline just skips them
                continue
            for record in records:
                with naive_store.session() as session:
                    counts = write_records(session, source, [record])
                written += counts.inserted
        slow = written / (time.perf_counter() - started)
        naive_store.close()
        rows.append(BenchRow(
            "ingestion", summary.ingested, round(fast, 1), round(slow, 1), "records/s",
            _ratio(fast, slow, higher_is_better=True), "one transaction per record",
            "real Aave Discord export (threads + authors + posts), SQLite file",
        ))
    return rows


# ---------------------------------------------------------------- embeddings


def _real_texts(n: int) -> list[str]:
    import gzip
    import json

    from ingest.sources.recordings import SAMPLE_DIR

    with gzip.open(SAMPLE_DIR / "discord-aave.json.gz", "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    texts = [m.get("content", "") for m in data.get("messages", []) if m.get("content")]
    return [texts[i % len(texts)] for i in range(n)]


def bench_embed(sizes: list[int], *, batch_size: int = 64) -> list[BenchRow]:
    """Texts/s: Concord's batched embedder vs a stock per-text ``SentenceTransformer.encode`` loop."""
    from embeddings.minilm import SentenceTransformerEmbedder, minilm_path

    embedder = SentenceTransformerEmbedder(minilm_path(), batch_size=batch_size)
    stock = embedder.model  # the very same loaded SentenceTransformer
    embedder.embed_batch(["warm up"])
    rows = []
    for n in sizes:
        texts = _real_texts(n)
        started = time.perf_counter()
        vectors = embedder.embed_batch(texts)
        fast = len(vectors) / (time.perf_counter() - started)
        started = time.perf_counter()
        for text in texts:
            stock.encode(text, show_progress_bar=False)
        slow = n / (time.perf_counter() - started)
        rows.append(BenchRow(
            "embedding", n, round(fast, 1), round(slow, 1), "texts/s", _ratio(fast, slow, higher_is_better=True),
            "SentenceTransformer.encode per text", f"MiniLM-L6 dim 384, batch {batch_size}, real Discord posts",
        ))
    return rows


# ---------------------------------------------------------------- vector index


def bench_index(sizes: list[int], *, dim: int = 384, queries: int = 50, k: int = 10, seed: int = 0) -> list[BenchRow]:
    """Milliseconds per query (k=10): FAISS IndexFlatIP vs numpy brute force over the same vectors."""
    import faiss
    import numpy as np

    rng = np.random.default_rng(seed)
    q = rng.standard_normal((queries, dim), dtype=np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    rows = []
    for n in sizes:
        index = faiss.IndexFlatIP(dim)
        for start in range(0, n, 100_000):  # generate in chunks: peak memory stays near the index itself
            chunk = rng.standard_normal((min(100_000, n - start), dim), dtype=np.float32)
            chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
            index.add(chunk)
        xb = faiss.rev_swig_ptr(index.get_xb(), n * dim).reshape(n, dim)  # a view, no copy
        single = []
        for i in range(queries):
            started = time.perf_counter()
            index.search(q[i : i + 1], k)
            single.append(time.perf_counter() - started)
        naive = []
        for i in range(min(queries, 10)):
            started = time.perf_counter()
            scores = xb @ q[i]
            top = np.argpartition(-scores, k)[:k]
            top[np.argsort(-scores[top])]
            naive.append(time.perf_counter() - started)
        fast = statistics.median(single) * 1000
        slow = statistics.median(naive) * 1000
        rows.append(BenchRow(
            "vector query", n, round(fast, 3), round(slow, 3), "ms/query", _ratio(fast, slow, higher_is_better=False),
            "numpy scan + argpartition", f"IndexFlatIP dim {dim}, k={k}, median of {queries}, generated unit vectors",
        ))
        del xb, index
    return rows


# ---------------------------------------------------------------- report latency


def bench_report(*, workdir: Path, threads: int = 2) -> list[BenchRow]:
    """Seconds for the summary step of a report on the embedded model (12 real Discord posts)."""
    from agent.llm.backend import ChatMessage
    from agent.llm.embedded import EmbeddedServer, default_gguf_path
    from agent.llm.factory import backend_for_url
    from ingest.settings import LLMSettings

    texts = _real_texts(12)
    prompt = "Summarise the discussion in two sentences and name the main camps.\n" + "\n".join(f"- {t[:300]}" for t in texts)
    timings = []
    with EmbeddedServer(default_gguf_path(), port=0, threads=threads) as server:
        backend = backend_for_url(LLMSettings(), server.base_url)
        for _ in range(3):
            started = time.perf_counter()
            backend.complete([ChatMessage("user", prompt)], max_tokens=128)
            timings.append(time.perf_counter() - started)
    return [BenchRow(
        "report LLM step", len(prompt), round(statistics.median(timings), 3), None, "s/report step", None, "",
        "embedded SmolLM2-135M Q4_1 via its OpenAI-compatible server: one summary of 12 real posts "
        "(<=128 tokens, median of 3); size = prompt characters",
    )]


def run_bench(
    *,
    ingest_sizes: list[int],
    embed_sizes: list[int],
    index_sizes: list[int],
    report: bool = True,
    progress: Progress | None = None,
) -> BenchReport:
    """Every measurement, in one run; ``progress`` is told what is being measured."""
    import os
    import platform

    say = progress or (lambda _m: None)
    out = BenchReport(machine={"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()})
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="concord-bench-") as tmp:
        if ingest_sizes:
            say("ingestion")
            out.rows += bench_ingest(ingest_sizes, workdir=Path(tmp))
        if embed_sizes:
            say("embedding")
            out.rows += bench_embed(embed_sizes)
        if index_sizes:
            say("vector index")
            out.rows += bench_index(index_sizes)
        if report:
            say("report latency (embedded LLM)")
            out.rows += bench_report(workdir=Path(tmp))
    out.seconds = round(time.perf_counter() - started, 1)
    return out
