"""End-to-end report latency on the embedded model, the one implementation behind ``concord bench``'s report rows
and this script: build (stances off, camps, camp naming, LLM summary, faithfulness checks) and optionally sign,
export and verify-by-re-run one report, timed by stage. One run, not a timed test.

Run: ``python -m evals.bench_report --data-dir .concord [--proposal EXTERNAL_ID]`` (after `concord ingest sample`).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.llm.backend import ChatBackend
    from embeddings.base import Embedder
    from ingest.core.store import Store

__all__ = ["RARIBLE", "measure_report"]

RARIBLE = "0x66b953a7cf4de9f6de54e6eb87ae291b5cc62f12c7fed68eba91043607883221"


def measure_report(store: Store, proposal_id: int, *, chat: ChatBackend, embedder: Embedder, verify: bool = False) -> dict[str, float]:
    """Seconds to build one report of ``proposal_id`` (and, with ``verify``, to sign, export and verify it by
    re-running); ``posts`` is the number of discussion posts it read."""
    from agent.report import ReportBuilder, attestation_key, generate_report, verify_report_file

    builder = ReportBuilder(store, embedder=embedder, chat=chat)
    timings: dict[str, float] = {}
    if not verify:
        start = time.perf_counter()
        report = builder.build(proposal_id)
        timings["report_s"] = time.perf_counter() - start
        timings["posts"] = float(report.data_window.posts)
        return timings
    with tempfile.TemporaryDirectory() as tmp:
        key, _ = attestation_key(configured=None, data_dir=Path(tmp))
        start = time.perf_counter()
        generated = generate_report(builder, proposal_id, key=key, reports_dir=Path(tmp) / "reports")
        timings["report_s"] = time.perf_counter() - start
        start = time.perf_counter()
        result = verify_report_file(generated.paths["json"], builder=builder)
        timings["verify_rerun_s"] = time.perf_counter() - start
        timings["rerun_identical"] = float(bool(result.rerun_ok))
        timings["posts"] = float(generated.report.data_window.posts)
    return timings


def main() -> None:
    from agent.llm import EmbeddedServer, backend_for_url
    from embeddings import cached_embedder
    from ingest.core.settings import load_settings
    from ingest.core.store import Store

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=".concord")
    parser.add_argument("--proposal", default=RARIBLE)
    parser.add_argument("--dao", default="arbitrum")
    args = parser.parse_args()
    settings = load_settings(data_dir=Path(args.data_dir))
    store = Store.open(settings.effective_database_url)
    pid = int(store.get_proposal(args.proposal, args.dao).id)  # type: ignore[arg-type]
    start = time.perf_counter()
    with EmbeddedServer.from_settings(settings.llm, port=0) as server:
        started = time.perf_counter() - start
        chat = backend_for_url(settings.llm, server.base_url, weights_sha256=server.weights_sha256(), backend_name="embedded")
        timings = {"server_start_s": started, **measure_report(store, pid, chat=chat, embedder=cached_embedder(settings), verify=True)}
    for name, value in timings.items():
        print(f"{name:16s} {value:8.2f}")


if __name__ == "__main__":
    main()
