"""`concord bench`: Concord's hot paths against naive baselines, measured in one run on this machine.

Each measure has one implementation, shared with its stand-alone script:

* ingestion (:mod:`evals.bench_ingest`): posts/s of :func:`ingest.pipeline.run_ingestion` (batched) vs the same
  normalised records written one row per transaction, on the first N messages of the real Aave Discord export;
* embedding (:mod:`evals.bench_embed`): texts/s of ``embed_batch`` (batch 64), and of a re-index through the
  content-hash cache, vs a stock loop calling ``SentenceTransformer.encode`` once per text, on real messages;
* vector search (here): single-query latency of FAISS ``IndexFlatIP`` pinned to one OpenMP thread (and with its
  default threads) vs a numpy scan over the very same memory, at growing sizes (generated unit vectors, dim 384);
* report latency (:mod:`evals.bench_report`): one whole report (camps, camp naming, LLM summary, faithfulness
  checks; stances off) on the embedded model, for sample proposals of growing discussion size.

Every row records its size, and ``vs_smallest`` (its figure over the same measure's figure at the smallest size)
shows how it grows. The load average before and after is recorded: the machine may be shared.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
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
    vs_smallest: float | None = None


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


def bench_ingest(sizes: list[int], *, workdir: Path) -> list[BenchRow]:
    """Posts/s: the pipeline vs one row per transaction, into fresh SQLite files (see :mod:`evals.bench_ingest`)."""
    from evals.bench_ingest import measure_ingestion

    rows = []
    for n in sizes:
        m = measure_ingestion(n, workdir)
        fast, slow = m["pipeline_posts_s"], m["naive_posts_s"]
        rows.append(BenchRow(
            "ingestion", int(m["posts"]), round(fast, 1), round(slow, 1), "posts/s", _ratio(fast, slow, higher_is_better=True),
            "one row per transaction", f"first {n} messages of the real Aave Discord export, SQLite file",
        ))
    return rows


def bench_embed(sizes: list[int], *, batch_size: int = 64) -> list[BenchRow]:
    """Texts/s: ``embed_batch`` and a cached re-index vs a stock per-text loop (see :mod:`evals.bench_embed`)."""
    from embeddings.minilm import SentenceTransformerEmbedder, minilm_path
    from evals.bench_embed import measure_embedding, sample_texts

    embedder = SentenceTransformerEmbedder(minilm_path(), batch_size=batch_size)
    rows = []
    for n in sizes:
        m = measure_embedding(sample_texts(n), batch_size=batch_size, embedder=embedder)
        stock = round(m["stock_loop"], 1)
        rows.append(BenchRow("embedding", n, round(m["embed_batch"], 1), stock, "texts/s", round(m["batch_vs_stock"], 2),
                             "SentenceTransformer.encode per text", f"MiniLM-L6 dim 384, batch {batch_size}, real Discord messages"))
        rows.append(BenchRow("re-index (vector cache)", n, round(m["cached_reindex"], 1), stock, "texts/s", round(m["reindex_vs_stock"], 2),
                             "SentenceTransformer.encode per text", "same texts again: every vector from the content-hash cache"))
    return rows


def _median_ms(fn: Callable[[int], object], count: int) -> float:
    timings = []
    for i in range(count):
        started = time.perf_counter()
        fn(i)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def bench_index(sizes: list[int], *, dim: int = 384, queries: int = 50, k: int = 10, seed: int = 0) -> list[BenchRow]:
    """Milliseconds per single query (k=10): FAISS IndexFlatIP on one OpenMP thread, and on its default threads,
    vs numpy brute force over the same vectors."""
    import faiss
    import numpy as np

    rng = np.random.default_rng(seed)
    q = rng.standard_normal((queries, dim), dtype=np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    default_threads = faiss.omp_get_max_threads()
    rows, threaded_rows = [], []
    for n in sizes:
        index = faiss.IndexFlatIP(dim)
        for start in range(0, n, 100_000):  # generate in chunks: peak memory stays near the index itself
            chunk = rng.standard_normal((min(100_000, n - start), dim), dtype=np.float32)
            chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
            index.add(chunk)
        xb = faiss.rev_swig_ptr(index.get_xb(), n * dim).reshape(n, dim)  # a view, no copy

        def naive(i: int, xb: Any = xb) -> object:
            scores = xb @ q[i]
            top = np.argpartition(-scores, k)[:k]
            return top[np.argsort(-scores[top])]

        slow = _median_ms(naive, min(queries, 20))
        try:
            faiss.omp_set_num_threads(1)  # single queries: no OpenMP fan-out (its threads spin on a busy box)
            pinned = _median_ms(lambda i, index=index: index.search(q[i : i + 1], k), queries)
        finally:
            faiss.omp_set_num_threads(default_threads)
        threaded = _median_ms(lambda i, index=index: index.search(q[i : i + 1], k), queries)
        note = f"IndexFlatIP dim {dim}, k={k}, median of {queries} single queries, generated unit vectors"
        rows.append(BenchRow("vector query (FAISS, 1 thread)", n, round(pinned, 3), round(slow, 3), "ms/query",
                             _ratio(pinned, slow, higher_is_better=False), "numpy scan + argpartition", note))
        threaded_rows.append(BenchRow(f"vector query (FAISS, {default_threads} threads)", n, round(threaded, 3), round(slow, 3), "ms/query",
                             _ratio(threaded, slow, higher_is_better=False), "numpy scan + argpartition", note))
        del xb, index
    return rows + threaded_rows


def bench_report(*, workdir: Path, proposals: int = 2) -> list[BenchRow]:
    """Seconds per whole report on the embedded model, for the bundled sample's Rarible proposal (a short
    discussion) and its most discussed proposals (see :mod:`evals.bench_report`)."""
    from agent.llm.embedded import EmbeddedServer
    from agent.llm.factory import backend_for_url
    from embeddings import cached_embedder
    from evals.bench_report import RARIBLE, measure_report
    from evals.faithfulness.reports import most_discussed
    from evals.retrieval.corpus import sample_store
    from ingest.settings import load_settings

    settings = load_settings(data_dir=workdir / "report-data")
    store = sample_store(workdir / "report-sample.db")
    try:
        chosen = [int(store.get_proposal(RARIBLE, "arbitrum").id)]  # type: ignore[arg-type]
        chosen += [p for p in most_discussed(store, "arbitrum", proposals) if p not in chosen][: max(0, proposals - 1)]
        started = time.perf_counter()
        with EmbeddedServer.from_settings(settings.llm, port=0) as server:
            boot = time.perf_counter() - started
            chat = backend_for_url(settings.llm, server.base_url, weights_sha256=server.weights_sha256(), backend_name="embedded")
            timings = [measure_report(store, pid, chat=chat, embedder=cached_embedder(settings)) for pid in chosen]
    finally:
        store.close()
    return [BenchRow(
        "report (end to end)", int(t["posts"]), round(t["report_s"], 2), None, "s/report", None, "",
        f"embedded SmolLM2-135M via its OpenAI-compatible server (started in {boot:.1f} s, not counted): camps, "
        "camp naming, LLM summary, faithfulness checks; stances off; size = discussion posts; MiniLM cache cold",
    ) for t in sorted(timings, key=lambda t: t["posts"])]


def _growth(rows: list[BenchRow]) -> None:
    first: dict[str, BenchRow] = {}
    for row in sorted(rows, key=lambda r: r.size):
        ref = first.setdefault(row.measure, row)
        row.vs_smallest = round(row.concord / ref.concord, 2) if ref.concord else None


def run_bench(
    *,
    ingest_sizes: list[int],
    embed_sizes: list[int],
    index_sizes: list[int],
    report: bool = True,
    report_proposals: int = 2,
    progress: Progress | None = None,
) -> BenchReport:
    """Every measurement, in one run; ``progress`` is told what is being measured."""
    import platform

    say = progress or (lambda _m: None)
    out = BenchReport(machine={"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                               "load_average": {"before": [round(x, 2) for x in os.getloadavg()]}})
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
        if report and report_proposals > 0:
            say("report latency (embedded LLM)")
            out.rows += bench_report(workdir=Path(tmp), proposals=report_proposals)
    _growth(out.rows)
    out.seconds = round(time.perf_counter() - started, 1)
    out.machine["load_average"]["after"] = [round(x, 2) for x in os.getloadavg()]
    return out
