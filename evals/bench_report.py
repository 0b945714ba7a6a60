"""End-to-end report latency on the embedded model: build + sign + export one report of a sample proposal,
timed by stage (server start, report build, verification re-run). One run, not a timed test.

Run: ``python -m evals.bench_report --data-dir .concord [--proposal EXTERNAL_ID]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from agent.llm import EmbeddedServer, backend_for_url
from agent.report import ReportBuilder, attestation_key, generate_report, verify_report_file
from embeddings import cached_embedder
from ingest.settings import load_settings
from ingest.store import Store

__all__ = ["bench_report"]

RARIBLE = "0x66b953a7cf4de9f6de54e6eb87ae291b5cc62f12c7fed68eba91043607883221"


def bench_report(data_dir: Path, proposal: str, dao: str = "arbitrum") -> dict[str, float]:
    settings = load_settings(data_dir=data_dir)
    store = Store.open(settings.effective_database_url)
    pid = int(store.get_proposal(proposal, dao).id)  # type: ignore[arg-type]
    timings: dict[str, float] = {}
    start = time.perf_counter()
    with EmbeddedServer.from_settings(settings.llm, port=0) as server:
        timings["server_start_s"] = time.perf_counter() - start
        chat = backend_for_url(settings.llm, server.base_url, weights_sha256=server.weights_sha256(), backend_name="embedded")
        builder = ReportBuilder(store, embedder=cached_embedder(settings), chat=chat)
        with tempfile.TemporaryDirectory() as tmp:
            key, _ = attestation_key(configured=None, data_dir=Path(tmp))
            start = time.perf_counter()
            generated = generate_report(builder, pid, key=key, reports_dir=Path(tmp) / "reports")
            timings["report_s"] = time.perf_counter() - start
            start = time.perf_counter()
            result = verify_report_file(generated.paths["json"], builder=builder)
            timings["verify_rerun_s"] = time.perf_counter() - start
            timings["rerun_identical"] = float(bool(result.rerun_ok))
            timings["posts"] = float(generated.report.data_window.posts)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=".concord")
    parser.add_argument("--proposal", default=RARIBLE)
    args = parser.parse_args()
    for name, value in bench_report(Path(args.data_dir), args.proposal).items():
        print(f"{name:16s} {value:8.2f}")


if __name__ == "__main__":
    main()
