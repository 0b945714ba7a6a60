"""`concord report`, `concord ask` and `concord llm`: consensus reports, cited answers, the embedded model."""

from __future__ import annotations

import time
from pathlib import Path

import click
import typer
from typer.core import TyperGroup

from bots.cli.context import CliContext, get_context, print_json

__all__ = ["ask", "llm_app", "report_app"]


class _DefaultToBuild(TyperGroup):
    """``concord report 42`` means ``concord report build 42``; ``verify`` and ``status`` stay sub-commands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in {"-h", "--help"}:
            args = ["build", *args]
        return super().parse_args(ctx, args)


report_app = typer.Typer(
    cls=_DefaultToBuild,
    no_args_is_help=True,
    help=(
        "Cited, signed consensus reports.\n\n"
        "Examples:\n\n"
        "  concord report 13 --dao arbitrum      # build (or serve the current) report of proposal 13\n\n"
        "  concord report verify .concord/reports/arbitrum/13-ab12cd34ef56.json --rerun"
    ),
)
llm_app = typer.Typer(help="The chat model: `concord llm serve` runs the embedded llama.cpp server.", no_args_is_help=True)


def _proposal_id(cli: CliContext, ref: str, dao: str | None) -> int:
    return int(cli.store().get_proposal(ref, dao).id)  # type: ignore[arg-type]


def _key(cli: CliContext) -> str:
    from agent.report import attestation_key

    configured = cli.settings.chain.attestation_key
    key, created = attestation_key(configured=configured.get_secret_value() if configured else None, data_dir=cli.settings.data_dir)
    if created:
        cli.err_console.print(
            f"Created a report attestation key in {cli.settings.data_dir / 'attestation.key'} (signs reports only; "
            "never fund it or make it a Safe owner). Set CONCORD_CHAIN__ATTESTATION_KEY to use your own."
        )
    return key


@report_app.command("build")
def build(
    ctx: typer.Context,
    proposal: str = typer.Argument(..., help="Store id or Snapshot/Governor id of the proposal"),
    dao: str | None = typer.Option(None, "--dao", help="DAO slug, when the id is ambiguous"),
    refresh: bool = typer.Option(False, "--refresh", help="Regenerate even when the stored report is current"),
    cached: bool = typer.Option(False, "--cached", help="Show the stored report without regenerating (marked STALE if it is)"),
    llm_stance: bool = typer.Option(False, "--llm-stance", help="Label stances with the chat model instead of the trained classifier (slow, weak on the small model)"),
    as_json: bool = typer.Option(False, "--json", help="Print the report JSON (plus paths and status) instead of Markdown"),
) -> None:
    """Build a consensus report of PROPOSAL, or serve the stored one while its inputs are unchanged.

    Example: concord report 13 --dao arbitrum
    """
    from agent.report import generate_report, load_report_file, report_status
    from agent.report.export import to_markdown
    from agent.report.model import ConsensusReport

    cli = get_context(ctx)
    pid = _proposal_id(cli, proposal, dao)
    status = report_status(cli.store(), pid)
    stored = Path(status.record.path) if status.record and status.record.path else None
    if stored is not None and stored.exists() and (cached or (not status.stale and not refresh)):
        data = load_report_file(stored)
        label = "STALE" if status.stale else "current"
        cli.err_console.print(f"Stored report ({label}: {status.reason}): {stored}")
        if as_json:
            print_json({"status": label, "reason": status.reason, "paths": {"json": str(stored)}, "report": data})
        else:
            if status.stale:
                typer.echo(f"> **STALE**: {status.reason}. Run without --cached to regenerate.\n")
            typer.echo(to_markdown(ConsensusReport.model_validate(data)))
        return
    if cached:
        cli.err_console.print(f"No stored report for proposal {pid}; building one.")
    elif status.record is not None:
        cli.err_console.print(f"Regenerating: {status.reason}.")
    key = _key(cli)
    started = time.monotonic()
    services = cli.services()
    with cli.err_console.status("Starting the chat model…") as spinner, services.chat() as chat:
        spinner.update(f"Reading the room on proposal {pid} (stances, camps, wording, citations)…")
        with cli.store().session() as session:
            from ingest.core.domain import Proposal

            title = session.get(Proposal, pid).title  # type: ignore[union-attr]
        generated = generate_report(services.report_builder(chat, llm_stance=llm_stance, proposal_title=title), pid, key=key,
                                    reports_dir=cli.settings.reports_dir)
    cli.err_console.print(f"Report built in {time.monotonic() - started:.1f} s: " + ", ".join(str(p) for p in generated.paths.values()))
    if as_json:
        print_json({"status": "current", "paths": {k: str(v) for k, v in generated.paths.items()}, "report": generated.report.to_data()})
    else:
        typer.echo(to_markdown(generated.report))


@report_app.command("status")
def status_cmd(
    ctx: typer.Context,
    proposal: str = typer.Argument(..., help="Store id or Snapshot/Governor id"),
    dao: str | None = typer.Option(None, "--dao"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Say whether the stored report of PROPOSAL is current or stale.  Example: concord report status 13"""
    from agent.report import report_status

    cli = get_context(ctx)
    status = report_status(cli.store(), _proposal_id(cli, proposal, dao))
    data = {"stale": status.stale, "reason": status.reason, "path": status.record.path if status.record else None,
            "inputs_hash": status.current_inputs_hash}
    if as_json:
        print_json(data)
    else:
        cli.console.print(f"{'STALE' if status.stale else 'current'}: {status.reason}" + (f" ({data['path']})" if data["path"] else ""))


@report_app.command("verify")
def verify(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The report's .json export"),  # noqa: B008
    rerun: bool = typer.Option(False, "--rerun", help="Also rebuild it from this store and model and compare"),
    signer: str | None = typer.Option(None, "--signer", help="Require this signer address"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Check a report's SHA-256 and EIP-191 signature; with --rerun, re-run it and compare. Exit 1 on any failure.

    Example: concord report verify .concord/reports/arbitrum/13-ab12cd34ef56.json --rerun
    """
    from agent.report import verify_report_file

    cli = get_context(ctx)
    if rerun:
        services = cli.services()
        with cli.err_console.status("Re-running the report…"), services.chat() as chat:
            result = verify_report_file(file, builder=services.report_builder(chat), expected_signer=signer)
    else:
        result = verify_report_file(file, expected_signer=signer)
    data = {"ok": result.ok, "hash_ok": result.hash_ok, "signature_ok": result.signature_ok, "signer": result.signer,
            "sha256": result.recomputed_sha256, "rerun_ok": result.rerun_ok, "problems": result.problems}
    if as_json:
        print_json(data)
    else:
        cli.console.print(f"hash: {'ok' if result.hash_ok else 'MISMATCH'}  signature: {'ok' if result.signature_ok else 'INVALID'}"
                          f" (signer {result.signer})" + ("" if result.rerun_ok is None else f"  re-run: {'same' if result.rerun_ok else 'DIFFERENT'}"))
        for problem in result.problems:
            cli.console.print(f"  {problem}", style="red")
    if not result.ok:
        # SystemExit, not typer.Exit: bots.cli.main.main() runs click with standalone_mode=False, which turns
        # typer.Exit into a return value that main() drops, so the exit status would be 0
        raise SystemExit(1)


def ask(
    ctx: typer.Context,
    question: str = typer.Argument(..., help="A question about the DAO's discussion"),
    dao: str | None = typer.Option(None, "--dao", help="DAO slug (default: settings.default_dao, or the only DAO)"),
    proposal: str | None = typer.Option(None, "--proposal", help="Only search this proposal's discussion"),
    k: int = typer.Option(5, "--k", min=1, max=20, help="Posts to retrieve"),
    reindex: bool = typer.Option(False, "--reindex", help="Embed new or changed posts before answering"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Answer QUESTION from the DAO's posts, citing them with links: the chat model's answer when it passes the quality
    gate, else an answer quoted from the best-matching posts (who said what). Retrieval narrows to the proposal,
    thread or person the question names.

    Example: concord ask --dao arbitrum "What did delegates say about the token swap?"
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    cli = get_context(ctx)
    services = cli.services()
    retrievers, answerer = services.require("searcher"), services.require("answerer")
    slug = retrievers.resolve_dao(dao)
    if reindex or not retrievers.index(slug).exists():
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=cli.err_console) as progress:
            task = progress.add_task(f"Indexing {slug} posts", total=None)
            stats = retrievers.update_index(slug, progress=lambda done, total: progress.update(task, completed=done, total=total))
        cli.err_console.print(f"Index {slug}: {stats.total} posts, {stats.embedded} embedded now, {stats.cached} from cache.")
    with cli.err_console.status("Finding the posts and asking the chat model…"):
        answer = answerer.answer(question, dao=slug, proposal=proposal, k=k)
    if as_json:
        print_json(answer.as_dict())
        return
    cli.console.print(answer.text or "(no answer)", markup=False, highlight=False)
    if answer.cited:
        cli.console.print("\nSources:")
    for number, hit in enumerate(answer.cited, start=1):
        excerpt = " ".join(hit.text.split())[:160]
        who = answer.authors.get(hit.post_id)
        cli.console.print(f"  [{number}] post {hit.post_id}" + (f" by {who}" if who else "") + f": {hit.url or ''}\n    {excerpt}",
                          markup=False, highlight=False)
    if answer.method == "composed" and answer.rejected:
        cli.err_console.print("(quoted from the posts: the model's own answer was not used: " + "; ".join(answer.rejected)[:300] + ")",
                              style="yellow", markup=False)


@llm_app.command("serve")
def serve(
    ctx: typer.Context,
    port: int | None = typer.Option(None, "--port", help="Port on 127.0.0.1 (default: settings.llm.port)"),
    verbose: bool = typer.Option(False, "--verbose", help="Show llama.cpp's request log"),
) -> None:
    """Run the embedded llama.cpp server (OpenAI-compatible) until Ctrl-C.

    Example: concord llm serve --port 8765   then   CONCORD_LLM__BASE_URL=http://127.0.0.1:8765/v1 concord report 13
    """
    from agent.llm import EmbeddedServer

    cli = get_context(ctx)
    server = EmbeddedServer.from_settings(cli.settings.llm, port=port, verbose=verbose).start()
    cli.console.print(f"Serving {server.gguf_path.name} as {server.alias!r} at {server.base_url} (Ctrl-C stops it)")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        cli.console.print("Stopped.")
