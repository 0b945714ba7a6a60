"""`concord forecast ...`: commit a signed forecast before a vote opens, score it after, show the track record."""

from __future__ import annotations

import typer

from bots.cli.context import get_context, print_json

__all__ = ["forecast_app"]

forecast_app = typer.Typer(
    no_args_is_help=True,
    help=(
        "Forecasts committed before the vote and scored after.\n\n"
        "Examples:\n\n"
        "  concord forecast commit 0xabc… --dao arbitrum   # only before voting opens\n\n"
        "  concord forecast score\n\n"
        "  concord forecast track-record --dao arbitrum --json\n\n"
        "  concord forecast live 0xabc… --dao arbitrum        # during voting, from the votes so far"
    ),
)


@forecast_app.command("commit")
def commit(
    ctx: typer.Context,
    proposal: str = typer.Argument(..., help="Store id or Snapshot/Governor id of a proposal whose vote has not opened"),
    dao: str | None = typer.Option(None, "--dao", help="DAO slug, when the id is ambiguous"),
    as_json: bool = typer.Option(False, "--json", help="Print the committed forecast as JSON"),
) -> None:
    """Predict PROPOSAL now, sign the forecast with the attestation key, store it and write it to the audit log.

    Refused once voting has started, and when the proposal already has a forecast. Prints the one-line statement
    to publish, which carries the forecast's SHA-256.

    Example: concord forecast commit 0xabc… --dao arbitrum
    """
    from bots.cli.report_cmds import _key
    from governance.audit_checkpoints import checkpointer_from_settings
    from governance.forecasts import commit_forecast

    cli = get_context(ctx)
    services = cli.services()
    store = services.store
    predictor = services.require("predictor")  # the same predictor service the reports and the dashboard read
    target = store.get_proposal(proposal, dao)
    record = commit_forecast(store, target, key=_key(cli), checkpointer=checkpointer_from_settings(cli.settings),
                             predictor=lambda _store, p: predictor.prediction(p))
    if as_json:
        print_json({"forecast_sha256": record.forecast_sha256, "signer": record.signer, "signature": record.signature,
                    "audit_entry_id": record.audit_entry_id, "statement": record.statement, "body": record.body})
        return
    typer.echo(record.statement)


@forecast_app.command("live")
def live(
    ctx: typer.Context,
    proposal: str = typer.Argument(..., help="Store id or Snapshot/Governor id of a proposal whose vote has opened"),
    dao: str | None = typer.Option(None, "--dao", help="DAO slug, when the id is ambiguous"),
    at: str | None = typer.Option(None, "--at", help="Forecast as of this ISO time (default now): votes after it are not read"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """P(pass) and the expected final shares of PROPOSAL from its stored votes cast so far, the share of the voting
    period elapsed and the DAO's turnout curve (a model fitted on the DAO's stored proposals closed before it).

    Not signed or stored: commit forecasts before the vote with `concord forecast commit`.

    Example: concord forecast live 0xabc… --dao arbitrum --at 2024-03-01T12:00:00Z
    """
    from agent.predict.live import live_forecast_from_store
    from agent.predict.loader import parse_time
    from ingest.core.errors import InputError

    cli = get_context(ctx)
    store = cli.store()
    target = store.get_proposal(proposal, dao)
    moment = parse_time(at) if at else None
    if at and moment is None:
        raise InputError(f"--at {at!r} is not a time; write it like 2024-03-01T12:00:00Z")
    forecast = live_forecast_from_store(store, int(target.id or 0), at=moment)
    if as_json:
        print_json(forecast.as_dict())
        return
    s = forecast.expected_shares
    now = forecast.current_shares
    typer.echo(f"{forecast.elapsed:.0%} of the voting period elapsed, {forecast.votes_so_far} votes so far "
               f"(For {now['for']:.0%}, Against {now['against']:.0%}, other {now['other']:.0%})")
    typer.echo(f"P(pass) {forecast.p_pass:.2f}; expected final shares For {s['for']:.0%}, Against {s['against']:.0%}, "
               f"other {s['other']:.0%}")
    typer.echo(f"method: {forecast.method}; fitted on {forecast.n_train} earlier closed proposals")


@forecast_app.command("score")
def score(
    ctx: typer.Context,
    dao: str | None = typer.Option(None, "--dao", help="Only this DAO's forecasts"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Score every committed forecast whose proposal has since passed or failed (each score is audited).

    Example: concord forecast score --dao arbitrum
    """
    from governance.audit_checkpoints import checkpointer_from_settings
    from governance.forecasts import score_forecasts

    cli = get_context(ctx)
    scored = score_forecasts(cli.store(), dao=dao, checkpointer=checkpointer_from_settings(cli.settings))
    if as_json:
        print_json([s.__dict__ for s in scored])
        return
    for s in scored:
        typer.echo(f"{s.proposal}: P(pass) {s.p_pass:.2f}, {s.outcome}, Brier {s.brier:.3f}")
    typer.echo(f"{len(scored)} forecast{'' if len(scored) == 1 else 's'} scored")


@forecast_app.command("track-record")
def track_record_cmd(
    ctx: typer.Context,
    dao: str = typer.Option(..., "--dao", help="DAO slug"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Brier, log loss, accuracy and reliability over DAO's committed forecasts only (never hindsight re-scores).

    Example: concord forecast track-record --dao arbitrum --json
    """
    from governance.forecasts import track_record

    cli = get_context(ctx)
    record = track_record(cli.store(), dao)
    if as_json:
        print_json(record.as_dict())
        return

    def fmt(v: float | None) -> str:
        return "–" if v is None else f"{v:.3f}"

    typer.echo(f"{dao}: {record.committed} committed, {record.scored} scored; Brier {fmt(record.brier)}, "
               f"log loss {fmt(record.log_loss)}, accuracy {fmt(record.accuracy)}, ECE {fmt(record.ece)}")
    for f in record.forecasts:
        typer.echo(f"  {f['proposal']}: P(pass) {f['p_pass']:.2f} committed {f['committed_at']} -> {f['outcome'] or 'open'}")
