"""`concord ingest ...`: bring a DAO's discussion and decisions into the store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bots.cli.context import CliContext, get_context, print_json
from ingest.pipeline import IngestSource, IngestSummary, run_ingestion
from ingest.queue.jobs import IngestJob

__all__ = ["ingest_app"]

ingest_app = typer.Typer(help="Ingest a DAO's forum, chat and votes into the store.", no_args_is_help=True)


def _run_with_progress(cli: CliContext, jobs: list[tuple[str, IngestSource]], quiet: bool) -> list[IngestSummary]:
    """Run sources that have no job kind (governor, live Discord) with a progress bar per source."""
    store = cli.store()
    with _progress(cli, quiet) as on_source:
        summaries = []
        for slug, source in jobs:
            summaries.append(run_ingestion(store, store.get_dao(slug), source, on_batch=on_source(slug, source)))
    return summaries


def _run_job(cli: CliContext, job: IngestJob, quiet: bool) -> list[IngestSummary]:
    """Run ``job`` in-process through the same ingestion service the queue worker uses."""
    from ingest.queue.runner import build_ingestion

    with _progress(cli, quiet) as on_source:
        return build_ingestion(cli.settings, store=cli.store()).run(job, on_source=on_source)


@contextmanager
def _progress(cli: CliContext, quiet: bool) -> Iterator[Callable[[str, IngestSource], Callable[[IngestSummary, int], None]]]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=cli.err_console,
        disable=quiet,
        transient=False,
    ) as progress:

        def on_source(slug: str, source: IngestSource) -> Callable[[IngestSummary, int], None]:
            task = progress.add_task(f"{slug}: {source.kind} {source.name}", total=None)

            def advance(_summary: IngestSummary, items: int) -> None:
                progress.advance(task, items)

            return advance

        yield on_source


def _report(
    cli: CliContext,
    summaries: list[IngestSummary],
    as_json: bool,
    *,
    unreadable: list[str] | None = None,
    notes: list[str] | None = None,
) -> None:
    """Every run ends with its counts; unreadable files and notes go to stderr, one line each."""
    for line in unreadable or []:
        cli.err_console.print(f"Error: {line}", style="red", highlight=False, soft_wrap=True)
    for line in notes or []:
        cli.err_console.print(f"note: {line}", style="yellow", highlight=False, soft_wrap=True)
    if as_json:
        print_json([s.as_dict() for s in summaries])
        return
    for summary in summaries:
        cli.console.print(summary.line(), highlight=False)
        for error in summary.errors[:3]:
            cli.console.print(f"  quarantined: {error}", style="yellow", highlight=False)
    if unreadable:
        cli.console.print(f"{len(unreadable)} file(s) could not be read; nothing was stored from them", highlight=False)
    if any(s.quarantined for s in summaries):
        cli.console.print("  inspect with `concord quarantine list`, replay with `concord quarantine retry`", highlight=False)


def _exit_status(summaries: list[IngestSummary], unreadable: list[str] | None = None) -> int:
    """0 every record stored, 1 some records quarantined, 2 something could not be read at all."""
    if unreadable:
        return 2
    return 1 if any(s.quarantined for s in summaries) else 0


@ingest_app.command("sample")
def sample(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the run summaries as JSON"),
) -> None:
    """Ingest the bundled real sample (Arbitrum forum + Snapshot + Tally, Compound Governor votes, Aave Discord).

    The forum and Snapshot recordings are served from a loopback server and read by the live
    Discourse and Snapshot clients, the same code path a real forum or hub takes.

    Example: concord ingest sample && concord status
    """
    cli = get_context(ctx)
    _report(cli, _run_job(cli, IngestJob(kind="sample", dao="*"), quiet=as_json), as_json)


def _http_options(rate: float | None, timeout: float, retries: int) -> dict[str, float | int | None]:
    return {"rate": rate, "timeout_s": timeout, "retries": retries}


@ingest_app.command("discourse")
def discourse(
    ctx: typer.Context,
    url: str = typer.Argument(..., help="The forum's base URL, e.g. https://forum.arbitrum.foundation"),
    dao: str = typer.Option(..., "--dao", help="DAO slug to file the threads under (created if new)"),
    max_pages: int | None = typer.Option(None, "--max-pages", help="Read at most this many /latest.json pages"),
    rate: float | None = typer.Option(None, "--rate", help="Requests per second (default: settings request_rate)"),
    timeout: float = typer.Option(10.0, "--timeout", help="Seconds before a request is abandoned and retried"),
    retries: int = typer.Option(4, "--retries", help="Retries per request (5xx, 429, timeouts) with backoff"),
    batch_items: int = typer.Option(500, "--batch-items", help="Topics and posts written per transaction"),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as JSON"),
) -> None:
    """Read a Discourse forum's topics and posts through its public JSON API; re-running reads only what changed.

    Exit status: 0 every record stored, 1 some records quarantined (see `concord quarantine list`), 2 an error.

    Example: concord ingest discourse https://forum.arbitrum.foundation --dao arbitrum --max-pages 5
    """
    cli = get_context(ctx)
    options = {**_http_options(rate, timeout, retries), "max_pages": max_pages, "batch_items": batch_items}
    summaries = _run_job(cli, IngestJob(kind="discourse", dao=dao, target=url, options=options), quiet=as_json)
    _report(cli, summaries, as_json)
    raise typer.Exit(_exit_status(summaries))


@ingest_app.command("snapshot")
def snapshot(
    ctx: typer.Context,
    space: str = typer.Argument(..., help="Snapshot space id, e.g. arbitrumfoundation.eth"),
    dao: str = typer.Option(..., "--dao", help="DAO slug to file the proposals under (created if new)"),
    hub: str = typer.Option("https://hub.snapshot.org", "--hub", help="Snapshot hub base URL (GraphQL at /graphql)"),
    votes: bool = typer.Option(True, "--votes/--no-votes", help="Also read every proposal's votes"),
    rate: float | None = typer.Option(None, "--rate", help="Requests per second (default: settings request_rate)"),
    timeout: float = typer.Option(10.0, "--timeout", help="Seconds before a request is abandoned and retried"),
    retries: int = typer.Option(4, "--retries", help="Retries per request (5xx, 429, timeouts) with backoff"),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as JSON"),
) -> None:
    """Read a Snapshot space's proposals (every voting type, final scores) and votes with reasons.

    Exit status: 0 every record stored, 1 some records quarantined (see `concord quarantine list`), 2 an error.

    Example: concord ingest snapshot arbitrumfoundation.eth --dao arbitrum --rate 2
    """
    cli = get_context(ctx)
    options = {**_http_options(rate, timeout, retries), "hub": hub, "votes": votes}
    summaries = _run_job(cli, IngestJob(kind="snapshot", dao=dao, target=space, options=options), quiet=as_json)
    _report(cli, summaries, as_json)
    raise typer.Exit(_exit_status(summaries))


@ingest_app.command("discord-export")
def discord_export(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="DiscordChatExporter JSON files"),
    dao: str = typer.Option(..., "--dao", help="DAO slug to file the messages under (created if new)"),
    complete: bool = typer.Option(
        False,
        "--complete",
        help="Each file is a complete export of its date range: stored messages of the channel inside that range "
        "that the file lacks are marked deleted. Without it an export only adds and updates.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the run summaries as JSON"),
) -> None:
    """Import DiscordChatExporter JSON exports (one channel per file); re-running adds nothing twice.

    An export is evidence of what exists: it adds new messages, updates edited ones and restores messages it
    holds, whatever order exports are imported in. It marks nothing deleted unless --complete is given.
    A damaged message is quarantined with its reason (see `concord quarantine list`); the good ones are stored.

    Exit status: 0 every record stored, 1 some records quarantined, 2 a file could not be read at all
    (its line says why) or the store failed.

    Example: concord ingest discord-export --dao aave exports/governance.json
    """
    from ingest.core.errors import InputError
    from ingest.sources.discord_export import DiscordExportSource

    cli = get_context(ctx)
    summaries: list[IngestSummary] = []
    unreadable: list[str] = []
    notes: list[str] = []
    for path in files:
        try:
            DiscordExportSource.from_file(path)  # a file that cannot be read at all is one line, not a job
        except InputError as exc:
            unreadable.append(str(exc))
            continue
        job = IngestJob(kind="discord-export", dao=dao, target=str(path), options={"complete": complete})
        for summary in _run_job(cli, job, quiet=as_json):
            summaries.append(summary)
            notes += summary.notes
    _report(cli, summaries, as_json, unreadable=unreadable, notes=notes)
    raise typer.Exit(_exit_status(summaries, unreadable))


@ingest_app.command("governor")
def governor(
    ctx: typer.Context,
    dao: str = typer.Option(..., "--dao", help="DAO slug to file the proposals under (created if new)"),
    address: str | None = typer.Option(None, "--address", help="Governor contract address (default: settings chain.governor_address)"),
    rpc_url: str | None = typer.Option(None, "--rpc-url", help="JSON-RPC node URL (default: settings chain.rpc_url)"),
    from_block: int = typer.Option(0, "--from-block", help="First block to read (the Governor's deployment block)"),
    confirmations: int | None = typer.Option(None, "--confirmations", help="Blocks a log must be buried under (default: settings chain.confirmations)"),
    chunk_blocks: int = typer.Option(5_000, "--chunk-blocks", help="Blocks per eth_getLogs call; halves on 'too many results'"),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as JSON"),
) -> None:
    """Read ProposalCreated / VoteCast(WithParams) / Queued / Executed / Canceled logs of an OpenZeppelin Governor or GovernorBravo.

    Exit status: 0 every record stored, 1 some records quarantined (see `concord quarantine list`), 2 an error.

    Example: concord ingest governor --dao compound --rpc-url http://127.0.0.1:8545 --address 0xc0Da02939E1441F497fd74F78cE7Decb17B66529 --from-block 12006099
    """
    from ingest.core.errors import ConfigError
    from ingest.sources.governor import GovernorSource, open_governor_proposals

    cli = get_context(ctx)
    chain = cli.settings.chain
    url = rpc_url or chain.rpc_url
    target = address or chain.governor_address
    if not url:
        raise ConfigError("No RPC URL: pass --rpc-url or set CONCORD_CHAIN__RPC_URL")
    if not target:
        raise ConfigError("No Governor address: pass --address or set CONCORD_CHAIN__GOVERNOR_ADDRESS")
    from web3 import HTTPProvider, Web3

    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 30}))
    try:
        chain_id = int(w3.eth.chain_id)
    except Exception as exc:
        raise ConfigError(f"The JSON-RPC node at {url} did not answer eth_chainId ({exc}). Check --rpc-url.") from exc
    store = cli.store()
    record = store.ensure_dao(dao, chain_id=chain_id, governor_address=target)
    source = GovernorSource(
        w3,
        target,
        chain_id=chain_id,
        from_block=from_block,
        confirmations=chain.confirmations if confirmations is None else confirmations,
        chunk_blocks=chunk_blocks,
        open_items=open_governor_proposals(store, record),
    )
    summaries = _run_with_progress(cli, [(dao, source)], quiet=as_json)
    _report(cli, summaries, as_json)
    raise typer.Exit(_exit_status(summaries))


@ingest_app.command("discord")
def discord_live(
    ctx: typer.Context,
    dao: str = typer.Option(..., "--dao", help="DAO slug to file the messages under (created if new)"),
    channel: list[int] = typer.Option([], "--channel", help="Channel id to read (repeatable; default: every channel the bot may read)"),
    recheck: int = typer.Option(50, "--recheck", help="Re-read this many already stored messages per channel to catch edits and deletions"),
    as_json: bool = typer.Option(False, "--json", help="Print the run summaries as JSON"),
) -> None:
    """Read channel history live with the Concord bot (token from CONCORD_DISCORD__TOKEN); edits and deletions are honoured.

    Exit status: 0 every record stored, 1 some records quarantined (see `concord quarantine list`), 2 an error.

    Example: concord ingest discord --dao aave --channel 605528212239286312  (with CONCORD_DISCORD__TOKEN set)
    """
    import asyncio

    from ingest.core.errors import ConfigError
    from ingest.sources.discord_live import read_with_bot

    cli = get_context(ctx)
    token = cli.settings.discord.token
    if token is None or not token.get_secret_value():
        raise ConfigError("No Discord bot token: set CONCORD_DISCORD__TOKEN (or [discord] token in concord.toml)")
    store = cli.store()
    record = store.ensure_dao(dao)
    summaries = asyncio.run(
        read_with_bot(
            token.get_secret_value(), store, record, channel_ids=set(channel) or None, recheck=recheck,
            api_base=cli.settings.discord.api_base, gateway_url=cli.settings.discord.gateway_url,
        )
    )
    _report(cli, summaries, as_json)
    raise typer.Exit(_exit_status(summaries))


@ingest_app.command("link")
def link(
    ctx: typer.Context,
    dao: str = typer.Option(..., "--dao", help="DAO slug"),
    threshold: float = typer.Option(0.5, "--threshold", help="Minimum TF-IDF title similarity for a similarity link"),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON"),
) -> None:
    """Link threads and posts to proposals: explicit URLs first, then titles, then similarity; rerunning adds nothing twice.

    Example: concord ingest link --dao arbitrum  (after concord ingest sample)
    """
    from ingest.linking import link_dao

    cli = get_context(ctx)
    summary = link_dao(cli.store(), dao, similarity_threshold=threshold)
    if as_json:
        print_json({"dao": dao, "created": dict(summary.created), "existing": summary.existing})
    else:
        cli.console.print(summary.line())


@ingest_app.command("identities")
def identities_cmd(
    ctx: typer.Context,
    dao: str = typer.Option(..., "--dao", help="DAO slug"),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON"),
) -> None:
    """Tie authors to addresses on published evidence only (profile ENS, 'my address is', delegate statements, signatures).

    Example: concord ingest identities --dao arbitrum --json
    """
    from ingest.identity import link_identities

    cli = get_context(ctx)
    summary = link_identities(cli.store(), dao)
    if as_json:
        print_json({"dao": dao, "linked": summary.linked, "conflicts": summary.conflicts, "unresolved_ens": summary.unresolved_ens, "authors": summary.authors_seen})
    else:
        cli.console.print(summary.line())
