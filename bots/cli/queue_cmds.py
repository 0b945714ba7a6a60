"""`concord queue ...`: ingestion as jobs on a real broker (Celery on Redis or RabbitMQ), and the worker that runs them."""

from __future__ import annotations

import typer

from bots.cli.context import get_context, print_json

__all__ = ["queue_app"]

queue_app = typer.Typer(help="Queue-backed ingestion: submit jobs, run workers (needs queue.broker_url).", no_args_is_help=True)


@queue_app.command("submit")
def submit_cmd(
    ctx: typer.Context,
    kind: str = typer.Argument(..., help="sample, discord-export, discourse or snapshot"),
    target: str = typer.Argument("", help="File path, forum URL or Snapshot space (nothing for sample)"),
    dao: str = typer.Option(..., "--dao", help="DAO slug ('*' with sample: every sample DAO)"),
    max_pages: int | None = typer.Option(None, "--max-pages", help="discourse: read at most this many /latest.json pages"),
    hub: str | None = typer.Option(None, "--hub", help="snapshot: hub base URL"),
    wait_s: float | None = typer.Option(None, "--wait", help="Wait up to this many seconds for the result"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Put an ingestion job on the queue; any `concord queue worker` attached to the broker runs it.

    Example: CONCORD_QUEUE__BROKER_URL=redis://127.0.0.1:6379/0 concord queue submit sample --dao compound --wait 120
    """
    from ingest.queue import IngestJob, submit, wait

    cli = get_context(ctx)
    options: dict[str, object] = {}
    if max_pages is not None:
        options["max_pages"] = max_pages
    if hub:
        options["hub"] = hub
    job = IngestJob(kind=kind, dao=dao, target=target, options=options)
    task_id = submit(cli.settings, job)
    out: dict[str, object] = {"task_id": task_id, "job": job.as_dict()}
    if wait_s is not None:
        out["summaries"] = wait(cli.settings, task_id, timeout_s=wait_s)
    if as_json:
        print_json(out)
        return
    cli.console.print(f"queued {kind} for {dao}: task {task_id}")
    for summary in out.get("summaries", []):  # type: ignore[union-attr]
        cli.console.print(f"  {summary['source']}: {summary['ingested']} ingested, {summary['duplicates']} skipped as duplicate")


@queue_app.command("worker")
def worker_cmd(
    ctx: typer.Context,
    concurrency: int = typer.Option(1, "--concurrency", help="Jobs run at once by this worker (processes)"),
    hostname: str | None = typer.Option(None, "--hostname", help="Worker name, e.g. ingest1@%h"),
    loglevel: str = typer.Option("INFO", "--loglevel"),
) -> None:
    """Run an ingestion worker: takes jobs from the broker and writes into the shared store until stopped.

    Example: CONCORD_DATABASE_URL=postgresql+psycopg://concord@db/concord concord queue worker --concurrency 2
    """
    from ingest.queue import run_worker

    cli = get_context(ctx)
    run_worker(cli.settings, concurrency=concurrency, hostname=hostname, loglevel=loglevel)
