"""`concord bench`: Concord's hot paths against naive baselines, measured in one run on this machine.

Each measure has one implementation, shared with its stand-alone script:

* ingestion (:mod:`evals.bench_ingest`): posts/s of ``concord ingest sample``'s path on the whole bundled sample
  (SQLite, and PostgreSQL where a server answers) and of :func:`ingest.pipeline.run_ingestion` on the first N
  messages of the real Aave Discord export, each vs the same normalised records written one row per transaction;
* embedding (:mod:`evals.bench_embed`): texts/s of Concord's encoder (ONNX Runtime fp32), and of a re-index
  through the content-hash cache, vs the stock batched ``SentenceTransformer.encode(texts, batch_size=64)``, on real
  messages, with the minimum cosine to the stock vectors;
* vector search (here): single-query latency of FAISS ``IndexFlatIP`` pinned to one OpenMP thread (and with its
  default threads) vs a numpy scan over the very same memory, and of Concord's IVF index and FAISS HNSW vs the exact
  one with their recall@10 and build times, at growing sizes (vectors drawn like real MiniLM embeddings, dim 384);
* report latency (:mod:`evals.bench_report`): one whole report (camps, camp naming, LLM summary, faithfulness
  checks; stances off) on the embedded model, for sample proposals of growing discussion size;
* reports at scale (:mod:`evals.bench_report_scale`): whole reports on real discussions of ~50, 500 and 2,000
  posts (windows of the bundled Aave Discord #governance export before a real proposal's vote), with the seconds
  of each stage on the row (``stages``).

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
from typing import Any, ClassVar

__all__ = ["BenchReport", "BenchRow", "bench_embed", "bench_index", "bench_ingest", "bench_report", "bench_report_scale", "run_bench"]

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
    recall_at_10: float | None = None
    cosine_min: float | None = None
    p99_ms: float | None = None
    stages: dict[str, float] | None = None

    EXTRAS: ClassVar[tuple[str, ...]] = ("recall_at_10", "cosine_min", "p99_ms", "stages")

    def as_dict(self) -> dict[str, Any]:
        """The row's keys; the extras only on the rows that carry them."""
        return {k: v for k, v in asdict(self).items() if k not in self.EXTRAS or v is not None}


@dataclass
class BenchReport:
    rows: list[BenchRow] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"machine": self.machine, "seconds": self.seconds, "rows": [r.as_dict() for r in self.rows]}


def _ratio(concord: float, baseline: float, *, higher_is_better: bool) -> float:
    if higher_is_better:
        return round(concord / baseline, 2) if baseline else float("inf")
    return round(baseline / concord, 2) if concord else float("inf")


def bench_ingest(sizes: list[int], *, workdir: Path, sample: bool = True, postgres_admin_url: str | None = None,
                 postgres_naive_limit: int = 1000) -> list[BenchRow]:
    """Posts/s vs one row per transaction (see :mod:`evals.bench_ingest`): with ``sample``, ``concord ingest
    sample``'s path on the whole bundled sample into a fresh SQLite file and, with ``postgres_admin_url``, into a
    fresh PostgreSQL database; then the pipeline on the first N Discord messages, fresh SQLite files."""
    from evals.bench_ingest import measure_ingestion, measure_sample

    rows = []
    targets: list[tuple[str, str | None]] = [("SQLite file", None)] if sample else []
    if sample and postgres_admin_url:
        targets.append(("PostgreSQL", postgres_admin_url))
    for where, admin_url in targets:
        limit = postgres_naive_limit if admin_url else None
        try:
            m = measure_sample(workdir / f"sample-{len(rows)}", postgres_admin_url=admin_url, naive_limit=limit)
        except Exception as exc:  # no PostgreSQL here: say so, measure the rest
            if admin_url is None:
                raise
            print(f"concord bench: PostgreSQL ingestion not measured ({type(exc).__name__}: {str(exc)[:160]})")
            continue
        fast, slow = m["replayed_posts_s"], m["naive_posts_s"]
        rows.append(BenchRow(
            f"ingestion (concord ingest sample, {'PostgreSQL' if admin_url else 'SQLite'})", int(m["posts"]), round(fast, 1),
            round(slow, 1), "posts/s", _ratio(fast, slow, higher_is_better=True), "one row per transaction",
            f"the whole bundled sample (forum replayed through the live HTTP clients in process, Discord export), {where}; "
            f"{m['replayed_cpu_posts_s']:,.0f} posts/s of process CPU time; sample in {m['whole_sample_s']:.1f} s; "
            f"load average {os.getloadavg()[0]:.1f}"
            + (f"; baseline on the first {int(m['naive_posts'])} of the same posts" if limit else ""),
        ))
    for n in sizes:
        m = measure_ingestion(n, workdir)
        fast, slow = m["pipeline_posts_s"], m["naive_posts_s"]
        rows.append(BenchRow(
            "ingestion", int(m["posts"]), round(fast, 1), round(slow, 1), "posts/s", _ratio(fast, slow, higher_is_better=True),
            "one row per transaction", f"first {n} messages of the real Aave Discord export, SQLite file",
        ))
    return rows


_RUNTIME_NOTES = {
    "onnx": "ONNX Runtime fp32 (fused graph, exported from the packaged weights), batches of {batch} sorted by token count",
    "torch-bf16": "torch bfloat16 (this CPU has AMX bf16 matrix units), batches of {batch} sorted by length",
}


def bench_embed(sizes: list[int], *, batch_size: int = 64, vectors_out: list[Any] | None = None) -> list[BenchRow]:
    """Texts/s: Concord's encoder (the runtime ``auto`` picks on this CPU) and a cached re-index vs the stock batched
    ``SentenceTransformer.encode`` (see :mod:`evals.bench_embed`); where ``auto`` picks torch bf16, ONNX Runtime fp32
    is measured too, in rows of its own; the vectors of the default encoder's largest run go to ``vectors_out``."""
    from embeddings.bf16 import Bf16Embedder
    from embeddings.minilm import SentenceTransformerEmbedder, minilm_path, resolved_runtime
    from embeddings.onnx import OnnxEmbedder
    from evals.bench_embed import measure_embedding, sample_texts
    from ingest.core.settings import EmbeddingSettings

    stock = SentenceTransformerEmbedder(minilm_path(), batch_size=batch_size, model_id="all-MiniLM-L6-v2")
    default = resolved_runtime(EmbeddingSettings().runtime)
    rows = []
    with tempfile.TemporaryDirectory(prefix="concord-onnx-") as tmp:
        runtimes: dict[str, Any] = {"onnx": OnnxEmbedder(stock, Path(tmp))}
        if default == "torch-bf16":  # the default first, ONNX beside it
            runtimes = {"torch-bf16": Bf16Embedder(stock), **runtimes}
        for runtime, fast in runtimes.items():
            measure = "embedding" if runtime == default else "embedding (ONNX Runtime fp32, not the default here)"
            for n in sorted(sizes):
                m = measure_embedding(sample_texts(n), batch_size=batch_size, embedder=fast, stock=stock)
                base = round(m["stock_batched"], 1)
                name = f"SentenceTransformer.encode(texts, batch_size={batch_size})"
                rows.append(BenchRow(measure, n, round(m["embed_batch"], 1), base, "texts/s", round(m["batch_vs_stock"], 2), name,
                                     f"MiniLM-L6 dim 384 on {_RUNTIME_NOTES[runtime].format(batch=fast.batch_size)}, timed in turns with the stock call on "
                                     "chunks of 128; real Discord messages", cosine_min=round(m["cosine_min"], 6)))
                if runtime == default:
                    rows.append(BenchRow("re-index (vector cache)", n, round(m["cached_reindex"], 1), base, "texts/s",
                                         round(m["reindex_vs_stock"], 2), name, "same texts again: every vector from the content-hash cache"))
                    if vectors_out is not None:
                        vectors_out[:] = [m["vectors"]]
    return rows


def _median_ms(fn: Callable[[int], object], count: int) -> float:
    timings = []
    for i in range(count):
        started = time.perf_counter()
        fn(i)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def embedding_like(base: Any, n: int, *, seed: int, spread: float | None = None) -> Any:
    """``n`` unit vectors drawn like real embeddings: a Gaussian kernel density estimate of the real vectors ``base``
    (a random real vector plus noise with the real vectors' own covariance, times ``spread``), normalised.

    ``spread`` defaults to :func:`matching_spread`: the value at which a synthetic set as large as ``base`` has the
    same median nearest-neighbour cosine as ``base`` itself, so neighbourhoods are as tight as real ones at that size
    and grow denser with ``n`` as a real corpus would (not hundreds of near-copies of each real vector, on which any
    approximate index finds everything).
    """
    import numpy as np

    spread = matching_spread(base, seed=seed) if spread is None else spread
    rng = np.random.default_rng(seed)
    centred = (base - base.mean(axis=0)).astype(np.float32)
    scale = np.float32(spread / np.sqrt(len(base)))
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, 50_000):  # in chunks: peak memory stays near the output itself
        m = min(50_000, n - start)
        a, b = base[rng.integers(0, len(base), m)], base[rng.integers(0, len(base), m)]
        x = a + rng.uniform(0, 0.5, (m, 1)).astype(np.float32) * (b - a)  # a point between two real messages
        x += (rng.standard_normal((m, len(base)), dtype=np.float32) * scale) @ centred
        out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def median_nn_cosine(x: Any) -> float:
    """Median over vectors of the cosine to their nearest other vector (unit vectors)."""
    import numpy as np

    gram = x @ x.T
    np.fill_diagonal(gram, -1.0)
    return float(np.median(gram.max(axis=1)))


def matching_spread(base: Any, *, seed: int = 0) -> float:
    """The kernel width at which ``len(base)`` synthetic vectors have ``base``'s median nearest-neighbour cosine
    (bisection; the real set's duplicates and near-duplicates are part of what is matched)."""
    target = median_nn_cosine(base)
    low, high = 0.0, 8.0
    for _ in range(18):
        mid = (low + high) / 2
        if median_nn_cosine(embedding_like(base, len(base), seed=seed + 7, spread=mid)) > target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def real_vectors(n: int = 512) -> Any:
    """MiniLM vectors of ``n`` real messages of the bundled sample (Concord's encoder)."""
    from embeddings.minilm import SentenceTransformerEmbedder, minilm_path
    from embeddings.onnx import OnnxEmbedder
    from evals.bench_embed import sample_texts

    with tempfile.TemporaryDirectory(prefix="concord-onnx-") as tmp:
        stock = SentenceTransformerEmbedder(minilm_path(), model_id="all-MiniLM-L6-v2")
        return OnnxEmbedder(stock, Path(tmp)).embed_batch(sample_texts(n))


HNSW_M, HNSW_EF_SEARCH, HNSW_EF_CONSTRUCTION = 32, 64, 40


def bench_index(sizes: list[int], *, base: Any = None, queries: int = 50, k: int = 10, seed: int = 0,
                hnsw_max: int = 100_000) -> list[BenchRow]:
    """Milliseconds per single query (k=10), on vectors drawn like real embeddings (:func:`embedding_like`):

    * exact: FAISS IndexFlatIP on one OpenMP thread, and on its default threads, vs a numpy scan of the same memory
      (above 10^5 vectors timed over 10 queries: each takes a second or more);
    * approximate: the IVF index Concord builds from :data:`embeddings.ann.EXACT_MAX` vectors on (its plan for that
      size, at every size so both kinds show), and FAISS HNSW (M 32, efSearch 64) up to ``hnsw_max`` vectors (its
      build is the slow part), one thread, vs the exact flat index, with recall@10 against it and build times.
    """
    import faiss
    import numpy as np

    from embeddings.ann import EXACT_MAX, TRAIN_PER_CELL, IndexPlan, build_index, plan_for, search_one

    base = real_vectors() if base is None else base
    dim = int(base.shape[1])
    spread = matching_spread(base, seed=seed)
    q = embedding_like(base, queries, seed=seed + 1, spread=spread)
    default_threads = faiss.omp_get_max_threads()
    rows, threaded_rows, ivf_rows, hnsw_rows = [], [], [], []
    shape = (f"vectors drawn like real MiniLM embeddings: {len(base)} real sample vectors, each synthetic one between "
             f"two of them plus noise with their covariance x {spread:.2f} (the width at which {len(base)} synthetic "
             f"vectors have the real ones' median nearest-neighbour cosine, {median_nn_cosine(base):.2f})")
    for n in sizes:
        xb = embedding_like(base, n, seed=seed, spread=spread)
        plan = plan_for(max(n, EXACT_MAX))
        plan = IndexPlan("ivf", nlist=min(plan.nlist, max(1, n // TRAIN_PER_CELL)), nprobe=plan.nprobe)
        started = time.perf_counter()
        ivf = build_index(xb, np.arange(n, dtype=np.int64), plan, seed=seed)
        build_s = time.perf_counter() - started
        hnsw = hnsw_build_s = None
        if n <= hnsw_max:
            started = time.perf_counter()
            hnsw = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            hnsw.add(xb)
            hnsw.hnsw.efSearch = HNSW_EF_SEARCH
            hnsw_build_s = time.perf_counter() - started
        index = faiss.IndexFlatIP(dim)
        index.add(xb)
        del xb
        xb = faiss.rev_swig_ptr(index.get_xb(), n * dim).reshape(n, dim)  # a view of the flat index, no copy
        exact_queries = queries if n <= 100_000 else 10

        def naive(i: int, xb: Any = xb) -> object:
            scores = xb @ q[i]
            top = np.argpartition(-scores, k)[:k]
            return top[np.argsort(-scores[top])]

        slow = _median_ms(naive, min(exact_queries, 20))
        try:
            faiss.omp_set_num_threads(1)  # single queries: no OpenMP fan-out (its threads spin on a busy box)
            pinned = _median_ms(lambda i, index=index: index.search(q[i : i + 1], k), exact_queries)
        finally:
            faiss.omp_set_num_threads(default_threads)
        threaded = _median_ms(lambda i, index=index: index.search(q[i : i + 1], k), exact_queries)
        _, truth = index.search(q, k)  # all queries at once: the ground truth

        def recall_of(found: list[set[int]], truth: Any = truth) -> float:
            return float(np.mean([len(found[i] & set(truth[i].tolist())) / k for i in range(queries)]))

        note = (f"IndexFlatIP dim {dim}, k={k}, median of {exact_queries} single queries; {shape}")
        rows.append(BenchRow("vector query (FAISS, 1 thread)", n, round(pinned, 3), round(slow, 3), "ms/query",
                             _ratio(pinned, slow, higher_is_better=False), "numpy scan + argpartition", note))
        threaded_rows.append(BenchRow(f"vector query (FAISS, {default_threads} threads)", n, round(threaded, 3), round(slow, 3), "ms/query",
                             _ratio(threaded, slow, higher_is_better=False), "numpy scan + argpartition", note))
        approx = _median_ms(lambda i, ivf=ivf: search_one(ivf, q[i], k), queries)
        recall = recall_of([set(search_one(ivf, q[i], k)[1].tolist()) for i in range(queries)])
        chosen = "Concord uses it at this size" if n >= EXACT_MAX else f"Concord searches exactly below {EXACT_MAX:,} vectors"
        ivf_rows.append(BenchRow("vector query (IVF, 1 thread)", n, round(approx, 3), round(pinned, 3), "ms/query",
                                    _ratio(approx, pinned, higher_is_better=False), "FAISS IndexFlatIP, 1 thread (exact)",
                                    f"{plan.describe()}, built in {build_s:.1f} s (k-means on {min(n, plan.nlist * TRAIN_PER_CELL):,} "
                                    f"vectors, adds in batches of 100,000); median of {queries} single queries, recall@10 "
                                    f"vs exact; {chosen}", recall_at_10=round(recall, 3)))
        if hnsw is not None:
            fast = _median_ms(lambda i, hnsw=hnsw: search_one(hnsw, q[i], k), queries)
            recall = recall_of([set(search_one(hnsw, q[i], k)[1].tolist()) for i in range(queries)])
            hnsw_rows.append(BenchRow("vector query (HNSW, 1 thread)", n, round(fast, 3), round(pinned, 3), "ms/query",
                                        _ratio(fast, pinned, higher_is_better=False), "FAISS IndexFlatIP, 1 thread (exact)",
                                        f"IndexHNSWFlat M {HNSW_M}, efSearch {HNSW_EF_SEARCH}, efConstruction "
                                        f"{HNSW_EF_CONSTRUCTION}, built in {hnsw_build_s:.1f} s on {default_threads} threads; "
                                        f"median of {queries} single queries, recall@10 vs exact; measured, not used (no "
                                        "removal of edited posts; slower build)", recall_at_10=round(recall, 3)))
        del xb, index, ivf, hnsw
    return rows + threaded_rows + ivf_rows + hnsw_rows


def bench_report(*, workdir: Path, proposals: int = 2) -> list[BenchRow]:
    """Seconds per whole report on the embedded model, for the bundled sample's Rarible proposal (a short
    discussion) and its most discussed proposals (see :mod:`evals.bench_report`)."""
    from agent.llm.embedded import EmbeddedServer
    from agent.llm.factory import backend_for_url
    from embeddings import cached_embedder
    from evals.bench_report import RARIBLE, measure_report
    from evals.faithfulness.reports import most_discussed
    from evals.retrieval.corpus import sample_store
    from ingest.core.settings import load_settings

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


def bench_report_scale(sizes: list[int], *, workdir: Path) -> list[BenchRow]:
    """Seconds per whole report on real discussions of growing size (windows of the bundled Aave Discord
    #governance export before a real Aave proposal's vote), with per-stage seconds (see :mod:`evals.bench_report_scale`)."""
    from evals.bench_report_scale import measure_report_scale

    rows = []
    for m in measure_report_scale(sizes, workdir / "report-scale"):
        rows.append(BenchRow(
            "report at scale (end to end)", int(m["posts"]), round(m["report_s"], 2), None, "s/report", None, "",
            f"{m['units']} units, {m['camps']} camps, {m['cpu_s']:.1f} s of process CPU, load average {m['load']:.1f}; real Aave Discord #governance "
            f"messages up to the vote on Aave proposal aave-v2-104{'' if m['body'] else ' (title only: no ../shared/data)'}; "
            "trained stance + unit types, MiniLM (cold vector cache), template digest; seconds by stage in `stages`",
            stages={k: v for k, v in m["stages"].items()},
        ))
    return rows


def bench_dashboard(*, workdir: Path, requests: int = 400, concurrency: int = 16, baseline_tree: Path | None = None) -> list[BenchRow]:
    """Requests/s of ``concord serve`` under a bounded load (see :mod:`evals.bench_dashboard`); with ``baseline_tree``
    the same load against that checkout's server (e.g. the main branch) in the same run."""
    from evals.bench_dashboard import measure_dashboard

    m = measure_dashboard(workdir, requests=requests, concurrency=concurrency, baseline_tree=baseline_tree)
    ours, base = m["concord"], m.get("baseline")
    note = (f"{m['concord']['requests']} requests at concurrency {concurrency} over {', '.join(m['paths'])}, bundled sample "
            f"store (SQLite); p50 {ours['p50_ms']:.0f} ms; {ours['failures']} 5xx")
    if base:
        note += f"; baseline p99 {base['p99_ms']:.0f} ms, p50 {base['p50_ms']:.0f} ms"
    return [BenchRow("dashboard (concord serve)", requests, round(ours["requests_s"], 1), round(base["requests_s"], 1) if base else None,
                     "requests/s", _ratio(ours["requests_s"], base["requests_s"], higher_is_better=True) if base else None,
                     f"the same server from {baseline_tree}" if base else "", note, p99_ms=round(ours["p99_ms"], 1))]


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
    report_sizes: list[int] | None = None,
    ingest_sample: bool = True,
    postgres_url: str | None = None,
    dashboard_requests: int = 400,
    dashboard_baseline: Path | None = None,
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
            out.rows += bench_ingest(ingest_sizes, workdir=Path(tmp), sample=ingest_sample, postgres_admin_url=postgres_url)
        vectors: list[Any] = []
        if embed_sizes:
            say("embedding")
            out.rows += bench_embed(embed_sizes, vectors_out=vectors)
        if index_sizes:
            say("vector index")
            out.rows += bench_index(index_sizes, base=vectors[0] if vectors else None)
        if dashboard_requests > 0:
            say("dashboard under load")
            out.rows += bench_dashboard(workdir=Path(tmp), requests=dashboard_requests, baseline_tree=dashboard_baseline)
        if report and report_proposals > 0:
            say("report latency (embedded LLM)")
            out.rows += bench_report(workdir=Path(tmp), proposals=report_proposals)
        if report_sizes:
            say("reports at scale")
            out.rows += bench_report_scale(report_sizes, workdir=Path(tmp))
    _growth(out.rows)
    out.seconds = round(time.perf_counter() - started, 1)
    out.machine["load_average"]["after"] = [round(x, 2) for x in os.getloadavg()]
    return out
