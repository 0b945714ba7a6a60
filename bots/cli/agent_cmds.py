"""`concord agent run` and `concord agent status`: the agent loop as a command."""

from __future__ import annotations

import json
import signal
import sys
import threading
from datetime import UTC, datetime
from typing import Any

import typer

from bots.cli.context import get_context, print_json

__all__ = ["agent_app"]

agent_app = typer.Typer(help="The agent loop: watch, report, forecast, recommend and notify; execute only after the Safe's owners sign.",
                        no_args_is_help=True)


class _Log:
    """One line per event on stderr: human text, or one JSON object per line (agent.json_logs / --json-logs)."""

    def __init__(self, *, json_lines: bool) -> None:
        self.json_lines = json_lines

    def event(self, event: str, **fields: Any) -> None:
        if self.json_lines:
            record = {"ts": datetime.now(UTC).isoformat(), "event": event, **fields}
            sys.stderr.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
        else:
            rest = " ".join(f"{k}={v}" for k, v in fields.items() if not isinstance(v, dict | list))
            sys.stderr.write(f"{event} {rest}\n")
        sys.stderr.flush()


@agent_app.command("run")
def run(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Run one tick per DAO and exit (default: loop at agent.interval_s)"),
    dao: str | None = typer.Option(None, "--dao", help="Only this DAO (an [agent.daos.<slug>] section)"),
    as_json: bool = typer.Option(False, "--json", help="With --once: print what each tick did as JSON"),
    json_logs: bool = typer.Option(False, "--json-logs", help="Structured logs: one JSON object per line on stderr"),
) -> None:
    """Run the agent: per DAO, ingest → report → forecast → post → recommend → notify signers → execute → score.

    Example: concord agent run --once --dao arbitrum
    """
    from bots.agent_loop.metrics import AgentMetrics, serve_metrics
    from bots.agent_loop.runner import AgentRunner, select_daos

    cli = get_context(ctx)
    daos = select_daos(cli.settings, dao)
    log = _Log(json_lines=json_logs or cli.settings.agent.json_logs)
    metrics = AgentMetrics()

    def observe(step: Any) -> None:
        metrics.step(step)
        log.event("step", key=step.key, stage=step.stage, status=step.status, detail=step.detail)

    runner = AgentRunner(cli.services(), observe=observe)
    if once:
        reports = []
        for name, config in daos.items():
            report = runner.tick(name, config)
            metrics.tick(report)
            log.event("tick", dao=name, acted=len(report.acted()), waiting=len(report.waiting), skipped=report.skipped)
            reports.append(report.as_dict())
        runner.close()
        if as_json:
            print_json(reports)
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = serve_metrics(metrics, cli.settings.agent.metrics_port, store=cli.store()) if cli.settings.agent.metrics_port else None
    log.event("start", daos=",".join(daos), interval_s=cli.settings.agent.interval_s)

    def on_tick(report: Any) -> None:
        metrics.tick(report)
        log.event("tick", dao=report.dao, acted=len(report.acted()), waiting=len(report.waiting), skipped=report.skipped)

    def on_error(name: str, exc: Exception) -> None:
        metrics.failure(name)
        log.event("tick-failed", dao=name, error=str(exc))

    try:
        runner.run_forever(daos, stop=stop, on_tick=on_tick, on_error=on_error)
    finally:
        runner.close()
        if server is not None:
            server.shutdown()
        log.event("stopped", reason="signal")


@agent_app.command("status")
def status(
    ctx: typer.Context,
    dao: str | None = typer.Option(None, "--dao", help="Only this DAO"),
    as_json: bool = typer.Option(False, "--json", help="JSON for scripts"),
) -> None:
    """What the agent last did per DAO, and what is waiting on whom.

    Example: concord agent status --json
    """
    from bots.agent_loop.status import agent_status

    cli = get_context(ctx)
    data = agent_status(cli.services(), dao=dao)
    if as_json:
        print_json(data)
        return
    if not data["daos"]:
        typer.echo("The agent has not run yet (no DAO configured or no tick recorded). Start it with `concord agent run --once`.")
    for row in data["daos"]:
        typer.echo(f"{row['dao']}: last tick {row['last_tick'] or 'never'} ({row['ticks']} ticks)")
        for step in row["recent_steps"]:
            why = step["detail"].get("reason") or step["detail"].get("error") or ""
            typer.echo(f"  {step['at']}  {step['stage']:<9} {step['status']:<8} {step['key']}  {why}")
        for wait in row["waiting"]:
            what = f"action {wait['action']}" if "action" in wait else f"proposal {wait.get('proposal')}"
            typer.echo(f"  waiting: {what} on {wait['on']}")


@agent_app.command("worker")
def worker(
    ctx: typer.Context,
    concurrency: int = typer.Option(1, "--concurrency", help="Ticks and ingestion jobs run at once by this worker"),
    loglevel: str = typer.Option("INFO", "--loglevel", help="Celery log level"),
) -> None:
    """A Celery worker that runs agent ticks (and ingestion jobs) from the broker (needs queue.broker_url).

    Example: CONCORD_QUEUE__BROKER_URL=redis://redis:6379/0 concord agent worker
    """
    from bots.agent_loop.tasks import create_agent_celery
    from ingest.queue.app import QUEUE_NAME

    app = create_agent_celery(get_context(ctx).settings)
    app.worker_main(["worker", f"--concurrency={concurrency}", f"--queues={QUEUE_NAME}", f"--loglevel={loglevel}",
                     "--pool=prefork" if concurrency > 1 else "--pool=solo"])


@agent_app.command("beat")
def beat(
    ctx: typer.Context,
    loglevel: str = typer.Option("INFO", "--loglevel", help="Celery log level"),
) -> None:
    """Celery beat: enqueue each configured DAO's tick at its interval for the workers (run exactly one beat).

    Example: CONCORD_QUEUE__BROKER_URL=redis://redis:6379/0 concord agent beat
    """
    from bots.agent_loop.tasks import create_agent_celery

    cli = get_context(ctx)
    app = create_agent_celery(cli.settings)
    schedule = cli.settings.data_dir / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    app.start(["beat", f"--loglevel={loglevel}", f"--schedule={schedule}"])
