"""`concord draft`, `concord governance ...` and `concord audit ...`: thin wrappers over governance.service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from bots.cli.context import CliContext, get_context, print_json
from ingest.core.errors import ConfigError, InputError

if TYPE_CHECKING:  # pragma: no cover
    from governance.views import ActionView

__all__ = ["audit_app", "governance_app", "register"]

governance_app = typer.Typer(
    help="Draft proposals, recommend advisory votes, and collect Safe owners' approvals. Nothing runs without the signers.",
    no_args_is_help=True,
)
audit_app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)

_DAO = typer.Option(..., "--dao", help="DAO slug, e.g. arbitrum")
_JSON = typer.Option(False, "--json", help="Print JSON for scripts")
_RPC = typer.Option(None, "--rpc-url", help="JSON-RPC URL (default: chain.rpc_url)")
_SAFE = typer.Option(None, "--safe", help="Safe address (default: chain.safe_address)")
_GOVERNOR = typer.Option(None, "--governor", help="Governor address (default: chain.governor_address)")
_ACTION = typer.Option(None, "--action", help="On-chain call 'target:fn(types):args[:wei]' (repeatable)")
_FROM = typer.Option(None, "--from", help="Unlocked node account that relays execTransaction (pays gas; not an owner)")


def _service(cli: CliContext, *, rpc_url: str | None = None, safe: str | None = None, governor: str | None = None, sender: str | None = None) -> Any:
    """The services' governance object, or one built for this command's chain and relayer overrides."""
    if not (rpc_url or safe or governor or sender):
        return cli.services().require("governance")
    from governance.service import build_governance

    chain = cli.settings.chain.model_copy(
        update={k: v for k, v in {"rpc_url": rpc_url, "safe_address": safe, "governor_address": governor}.items() if v}
    )
    settings = cli.settings.model_copy(update={"chain": chain})
    node_sender = None
    if sender:
        from governance.chain.keys import NodeAccountSender

        node_sender = NodeAccountSender(sender)
    return build_governance(settings, store=cli.store(), sender=node_sender, post_retriever=cli.services().searcher)


def _print_action(cli: CliContext, action: ActionView) -> None:
    from rich.markup import escape

    cli.console.print(f"[bold]Action {action.id}[/bold] ({action.status}) — {escape(action.call)}")
    cli.console.print(f"Report {action.report_id} sha256 {action.report_sha256} · confidence {action.confidence:.2f}")
    for problem in action.problems:
        cli.console.print(f"[bold red]DO NOT SIGN — refused by rule '{problem.rule}': {escape(problem.message)}[/bold red]")
    cli.console.print("Safe transaction, every field:")
    for field in action.fields:
        line = f"  {field.name:<15} {escape(str(field.value))[:74]}\n  {'':<15} {escape(field.words)}"
        cli.console.print(line + (f"\n  {'':<15} [bold red]WARNING: {escape(field.warning)}[/bold red]" if field.warning else ""))
    cli.console.print(f"Safe tx hash to sign (EIP-712): {action.safe_tx_hash}")
    signed = ", ".join(s.owner for s in action.signed_by) or "nobody yet"
    cli.console.print(f"Signed by: {signed}" + (f" ({len(action.signed_by)} of {action.threshold})" if action.threshold else ""))
    for refused in action.refused_confirmations:
        cli.console.print(f"Refused confirmation from {refused.owner} (rule '{refused.rule}'): {escape(refused.message)}")
    if action.executed_tx_hash:
        cli.console.print(f"Executed in transaction {action.executed_tx_hash}")


def _show(cli: CliContext, action: ActionView, *, as_json: bool) -> None:
    print_json(action.to_json()) if as_json else _print_action(cli, action)


def draft(
    ctx: typer.Context,
    dao: str = _DAO,
    idea: str = typer.Option(..., "--idea", help="What the DAO should do and why (a few sentences)"),
    title: str | None = typer.Option(None, "--title", help="Title (default: the idea's first sentence)"),
    action: list[str] | None = _ACTION,
    governor: str | None = typer.Option(None, "--governor", help="Governor address for the propose() transaction"),
    author: str | None = typer.Option(None, "--author", help="Address that will sign the Snapshot proposal"),
    k: int = typer.Option(5, "--k", min=0, max=20, help="How many related posts to cite"),
    as_json: bool = _JSON,
) -> None:
    """Draft a proposal from an idea and the DAO's discussion; prints it with citations. Never submits anything.

    Example: concord draft --dao arbitrum --idea "Fund audits for grant recipients. ..." \\
      --action "0x912CE59144191C1204E64559FE8253a0e49E6548:transfer(address,uint256):0xdead...,1000"
    """
    from governance.service import GovernanceService  # noqa: F401 - imported for the lazy error path

    cli = get_context(ctx)
    draft = cli.services().require("drafter").draft(dao=dao, idea=idea, title=title, actions=action or [], k=k, author=author,
                                                    governor_address=governor)
    if as_json:
        print_json(draft.to_json())
        return
    from bots.draft_text import draft_text

    cli.console.print(f"[bold]Draft {draft.id}[/bold]\n")
    cli.console.print(draft_text(draft), markup=False, highlight=False)
    if draft.governor_tx:
        cli.console.print(f"Governor propose() transaction to {draft.governor_tx['to']} (unsigned, {len(draft.governor_tx['data']) // 2 - 1} bytes)")
    cli.console.print("Snapshot proposal payload ready (EIP-712; the author signs it). Use --json to export both.")


def recommend(
    ctx: typer.Context,
    report: str = typer.Option(..., "--report", help="Report id: <data_dir>/reports/<id>.json"),
    dao: str | None = typer.Option(None, "--dao", help="Override the report's DAO (with --proposal, for a hand-made report)"),
    proposal: str | None = typer.Option(None, "--proposal", help="Override the report's on-chain Governor proposal id"),
    choice: str | None = typer.Option(None, "--choice", help="for, against or abstain (default: the report's stance majority)"),
    confidence: float | None = typer.Option(None, "--confidence", help="0..1 (default: the report's predicted probability)"),
    reason: str | None = typer.Option(
        None, "--reason", help="A note kept with the action (never on chain: the vote's reason is the report's hash and link)"
    ),
    rpc_url: str | None = _RPC,
    safe: str | None = _SAFE,
    governor: str | None = _GOVERNOR,
    as_json: bool = _JSON,
) -> None:
    """Turn a consensus report's recommendation into a pending Safe action (policy guardrails apply).

    Example: concord governance recommend --report r42            (choice, confidence and reason from the report)
    """
    cli = get_context(ctx)
    service = _service(cli, rpc_url=rpc_url, safe=safe, governor=governor)
    action = service.recommend_from_report(report, choice=choice, confidence=confidence, reason=reason, dao=dao,
                                           proposal_ref=proposal)
    _show(cli, action, as_json=as_json)


def pending(ctx: typer.Context, include_all: bool = typer.Option(False, "--all", help="Include executed, rejected and expired"), as_json: bool = _JSON) -> None:
    """List actions waiting for owners' signatures.

    Example: concord governance pending --json
    """
    cli = get_context(ctx)
    rows = _service(cli).list_pending(include_closed=include_all)
    if as_json:
        print_json([r.to_json() for r in rows])
        return
    if not rows:
        cli.console.print("No pending actions.")
        return
    table = Table(title="Governance actions")
    for column in ("id", "dao", "status", "proposal", "choice", "confidence", "signatures", "expires"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r.id), r.dao, r.status, r.proposal[:18], str(r.choice), f"{r.confidence:.2f}", str(r.signatures), r.expires_at[:16])
    cli.console.print(table)


def show(ctx: typer.Context, action_id: int = typer.Argument(..., help="Action id"), rpc_url: str | None = _RPC, as_json: bool = _JSON) -> None:
    """Describe an action: the call in words, the Safe tx hash, the EIP-712 typed data to sign, who signed.

    Example: concord governance show 3 --json > action3.json
    """
    cli = get_context(ctx)
    action = _service(cli, rpc_url=rpc_url).describe(action_id)
    _show(cli, action, as_json=as_json)


def sign(
    ctx: typer.Context,
    action_id: int = typer.Argument(..., help="Action id"),
    signature: str = typer.Option(..., "--signature", help="0x… signature from the owner's wallet (eth_signTypedData_v4 or eth_sign)"),
    signer: str | None = typer.Option(None, "--signer", help="Owner address (required for contract owners, EIP-1271)"),
    signed_tx: str | None = typer.Option(None, "--signed-tx", help="The typed data JSON the wallet signed, for precise refusals"),
    rpc_url: str | None = _RPC,
    sender: str | None = _FROM,
    as_json: bool = _JSON,
) -> None:
    """Submit an owner's signature; when the threshold is met and --from is given, the vote is executed.

    Example: concord governance sign 3 --signature 0xabc… --from 0xRelayer
    """
    cli = get_context(ctx)
    typed = json.loads(Path(signed_tx).read_text()) if signed_tx else None
    action = _service(cli, rpc_url=rpc_url, sender=sender).submit_signature(action_id, signature=signature, signer=signer, signed_tx=typed)
    _show(cli, action, as_json=as_json)


def reject(
    ctx: typer.Context,
    action_id: int = typer.Argument(..., help="Action id"),
    signer: str = typer.Option(..., "--signer", help="Owner address"),
    signature: str = typer.Option(..., "--signature", help="personal_sign of the action's rejection_message"),
    rpc_url: str | None = _RPC,
    as_json: bool = _JSON,
) -> None:
    """Close an action with an owner's signed rejection.

    Example: concord governance reject 3 --signer 0xOwner --signature 0x…
    """
    cli = get_context(ctx)
    action = _service(cli, rpc_url=rpc_url).reject(action_id, signer=signer, signature=signature)
    _show(cli, action, as_json=as_json)


def execute(ctx: typer.Context, action_id: int = typer.Argument(..., help="Action id"), rpc_url: str | None = _RPC, sender: str | None = _FROM, as_json: bool = _JSON) -> None:
    """Re-check every signature and rule, then send execTransaction (the relayer pays gas).

    Example: concord governance execute 3 --from 0xRelayer
    """
    cli = get_context(ctx)
    if not sender:
        raise ConfigError("execute needs --from <unlocked relayer account> to pay gas; it is never an owner key.")
    action = _service(cli, rpc_url=rpc_url, sender=sender).execute(action_id)
    _show(cli, action, as_json=as_json)


def sync(
    ctx: typer.Context,
    action_id: int = typer.Argument(..., help="Action id"),
    service_url: str | None = typer.Option(None, "--service-url", help="Safe Transaction Service URL (default: chain.safe_tx_service_url)"),
    rpc_url: str | None = _RPC,
    sender: str | None = _FROM,
    as_json: bool = _JSON,
) -> None:
    """Pull owners' confirmations made in Safe{Wallet} and verify each like any other signature.

    Example: concord governance sync 3 --service-url https://safe-transaction-mainnet.safe.global
    """
    from governance.chain.safe_service import SafeTransactionServiceClient

    cli = get_context(ctx)
    url = service_url or cli.settings.chain.safe_tx_service_url
    if not url:
        raise InputError("No Safe Transaction Service URL: pass --service-url or set CONCORD_CHAIN__SAFE_TX_SERVICE_URL.")
    with SafeTransactionServiceClient(url) as client:
        action = _service(cli, rpc_url=rpc_url, sender=sender).sync_from_safe_service(action_id, client=client)
    _show(cli, action, as_json=as_json)


_SIGNER = typer.Option(None, "--signer", help="Address checkpoints must be signed by (default: the attestation key's)")
_ANCHOR = typer.Option(None, "--anchor", help="An entry hash published elsewhere (e.g. an on-chain vote reason) that must still be in the log; repeatable")
_MIRROR = typer.Option(None, "--mirror", help="Checkpoint mirror file (default: <data_dir>/audit-checkpoints.jsonl)")


def _checkpointer(cli: CliContext) -> Any:
    from governance.audit_checkpoints import checkpointer_from_settings

    return checkpointer_from_settings(cli.settings)


def _attestation_address(cli: CliContext) -> str | None:
    """The attestation key's address, without creating a key when there is none yet."""
    from agent.report.attest import KEY_FILE

    if cli.settings.chain.attestation_key is None and not (cli.settings.data_dir / KEY_FILE).exists():
        return None
    return str(_checkpointer(cli).address)


def audit_verify(
    ctx: typer.Context,
    signer: str | None = _SIGNER,
    anchor: list[str] | None = _ANCHOR,
    mirror: Path | None = _MIRROR,
    as_json: bool = _JSON,
) -> None:
    """Walk the audit log's hash chain and its signed checkpoints; exit 1 and name the first bad entry if anything was changed.

    Example: concord audit verify --anchor 3f1c...e9 --json
    """
    from governance.audit import verify
    from governance.audit_checkpoints import MIRROR_FILE

    cli = get_context(ctx)
    expected = signer or _attestation_address(cli)
    result = verify(cli.store(), signer=expected, mirror=mirror or cli.settings.data_dir / MIRROR_FILE, anchors=anchor or ())
    if as_json:
        print_json(result.as_dict())
    elif result.ok:
        cli.console.print(f"Audit log intact: {result.checked} entries, head {result.head_hash}")
        cli.console.print(
            f"{result.checkpoints} signed checkpoints"
            + (f" (signer {expected})" if expected else " (signer not checked: no attestation key here; pass --signer)")
            + f"; {result.unanchored} entries after the newest checkpoint"
            + (f"; anchors found: {len(result.anchors_found)}" if anchor else "")
        )
    else:
        cli.err_console.print(f"Audit log TAMPERED at entry {result.first_bad_id}: {result.problem}")
    if not result.ok:
        # SystemExit, not typer.Exit: under standalone_mode=False click swallows Exit's code.
        raise SystemExit(1)


def audit_checkpoint(ctx: typer.Context, as_json: bool = _JSON) -> None:
    """Sign the audit log's current head with the attestation key (an entry of the log and a line of the mirror file).

    Example: concord audit checkpoint --json
    """
    from governance.audit import checkpoint

    cli = get_context(ctx)
    entry = checkpoint(cli.store(), _checkpointer(cli), reason="manual")
    data = {"id": entry.id, "entry_hash": entry.entry_hash, **entry.payload}
    if as_json:
        print_json(data)
        return
    cli.console.print(f"Checkpoint {entry.id}: head {data['head_hash']} after {data['position']} entries, signed by {data['signer']}")


def audit_log(ctx: typer.Context, limit: int = typer.Option(20, "--limit", min=1), action: str | None = typer.Option(None, "--action", help="Only this action, e.g. execute"), as_json: bool = _JSON) -> None:
    """Show the newest audit entries.

    Example: concord audit log --action execute --limit 5
    """
    from governance.audit import list_entries

    cli = get_context(ctx)
    entries = list_entries(cli.store(), limit=limit, action=action)
    rows = [{"id": e.id, "at": e.created_at.isoformat(), "actor": e.actor, "action": e.action, "subject": e.subject,
             "payload": e.payload, "entry_hash": e.entry_hash} for e in entries]
    if as_json:
        print_json(rows)
        return
    table = Table(title="Audit log")
    for column in ("id", "at", "actor", "action", "subject", "hash"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r["id"]), r["at"][:19], r["actor"][:20], r["action"], r["subject"], r["entry_hash"][:12])
    cli.console.print(table)


governance_app.command("draft")(draft)
governance_app.command("recommend")(recommend)
governance_app.command("pending")(pending)
governance_app.command("show")(show)
governance_app.command("sign")(sign)
governance_app.command("reject")(reject)
governance_app.command("execute")(execute)
governance_app.command("sync")(sync)
audit_app.command("verify")(audit_verify)
audit_app.command("log")(audit_log)
audit_app.command("checkpoint")(audit_checkpoint)


def register(app: typer.Typer) -> None:
    """Add ``concord draft``, ``concord governance ...`` and ``concord audit ...`` to the root app."""
    app.command("draft")(draft)
    app.add_typer(governance_app, name="governance")
    app.add_typer(audit_app, name="audit")
