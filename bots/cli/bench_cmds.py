"""`concord bench`: one table of measured ratios (Concord vs naive baselines) with sizes, on this machine."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from bots.cli.context import get_context, print_json

__all__ = ["bench_cmd"]


def _sizes(text: str) -> list[int]:
    from ingest.core.errors import InputError

    try:
        return [int(float(s)) for s in text.split(",") if s.strip()]
    except ValueError as exc:
        raise InputError(f"Sizes must be comma-separated numbers like 1e4,1e5 (got {text!r}).") from exc


def bench_cmd(
    ctx: typer.Context,
    ingest_sizes: str = typer.Option("500,2000", "--ingest-sizes", help="Records per ingestion run (real Aave Discord export, max 3,611 messages)"),
    embed_sizes: str = typer.Option("128,512", "--embed-sizes", help="Texts per embedding run"),
    index_sizes: str = typer.Option("1e4,1e5,1e6", "--index-sizes", help="Vectors in the FAISS index (1e6 needs ~1.5 GB RAM)"),
    report: bool = typer.Option(True, "--report/--no-report", help="Also time whole reports on the embedded LLM (the sample's proposals)"),
    report_proposals: int = typer.Option(2, "--report-proposals", help="Reports to time: the sample's Rarible proposal, then the most discussed ones"),
    report_sizes: str = typer.Option("50,500,2000", "--report-sizes", help="Posts per report-at-scale run (real Aave Discord windows; empty skips)"),
    ingest_sample: bool = typer.Option(True, "--ingest-sample/--no-ingest-sample", help="Also time `concord ingest sample`'s path on the whole sample"),
    postgres_url: str = typer.Option("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", "--postgres-url",
                                     help="A PostgreSQL server to time ingestion on (databases concord_perf_* are made and dropped; empty skips)"),
    dashboard_requests: int = typer.Option(400, "--dashboard-requests", help="Requests of the dashboard load run (0 skips it)"),
    dashboard_baseline: Path | None = typer.Option(None, "--dashboard-baseline", help="Another checkout (e.g. main) to serve the same load for the ratio"),
    as_json: bool = typer.Option(False, "--json", help="Print the measurements as JSON"),
    out: Path | None = typer.Option(None, "--out", help="Also write the JSON here (e.g. evals/results/bench.json)"),
) -> None:
    """Measure ingestion, embedding, vector search and report latency against naive baselines, in one run.

    Example: concord bench --index-sizes 1e4,1e5,1e6 --out evals/results/bench.json
    """
    import json

    from evals.bench import run_bench

    cli = get_context(ctx)
    with cli.err_console.status("benchmarking") as status:
        result = run_bench(
            ingest_sizes=_sizes(ingest_sizes), embed_sizes=_sizes(embed_sizes), index_sizes=_sizes(index_sizes),
            report=report, report_proposals=report_proposals, report_sizes=_sizes(report_sizes),
            ingest_sample=ingest_sample, postgres_url=postgres_url or None, dashboard_requests=dashboard_requests,
            dashboard_baseline=dashboard_baseline, progress=lambda m: status.update(f"benchmarking: {m}"),
        )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result.as_dict(), indent=2))
    if as_json:
        print_json(result.as_dict())
        return
    load = result.machine.get("load_average", {})
    table = Table(title=f"concord bench ({result.machine.get('cpus')} CPUs, {result.seconds}s, load average "
                        f"{load.get('before', ['?'])[0]} -> {load.get('after', ['?'])[0]})")
    for col in ("measure", "size", "Concord", "baseline", "unit", "ratio", "vs smallest size", "baseline is"):
        table.add_column(col)
    for r in result.rows:
        table.add_row(r.measure, f"{r.size:,}", f"{r.concord:g}", "-" if r.baseline is None else f"{r.baseline:g}", r.unit,
                      "-" if r.ratio is None else f"{r.ratio:g}x", "-" if r.vs_smallest is None else f"{r.vs_smallest:g}x",
                      r.baseline_name)
    cli.console.print(table)
