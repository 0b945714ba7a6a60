"""The Discord bot: application (slash) commands over Concord's services.

``build_bot(services)`` returns a ``discord.ext.commands.Bot`` whose command tree holds
``/ask``, ``/proposals``, ``/consensus``, ``/draft`` and, for members with the signer role,
``/pending``, ``/approve`` and ``/reject``. Nothing is decided here: approving sends the
signer to the dashboard's signing page, because only a wallet signature approves.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bots.discord_bot.ratelimit import RateLimiter
from bots.discord_bot.replies import consensus_embed, format_action, format_answer, send
from bots.discord_bot.text import no_mentions
from bots.services import Services, ServiceUnavailable
from bots.web import queries
from ingest.core.errors import ConcordError, InputError

__all__ = ["ConcordBot", "ConcordTree", "build_bot", "signer_only"]

log = logging.getLogger(__name__)

_PERMISSION_WORDS = {"embed_links": "Embed Links", "send_messages": "Send Messages", "read_message_history": "Read Message History"}


class ConcordTree(app_commands.CommandTree):
    """The command tree: per-user rate limits before every command, one place for error replies."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        bot = interaction.client
        assert isinstance(bot, ConcordBot)
        wait = bot.limiter.retry_after(interaction.user.id)
        if wait > 0:
            await send(interaction, f"Slow down: you can use Concord again in {wait:.0f} s.", ephemeral=True)
            return False
        return True

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError, /) -> None:
        await send(interaction, describe_error(error), ephemeral=True)


def describe_error(error: Exception) -> str:
    """One clear sentence for the member, by error kind."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, app_commands.MissingRole):
        return f"Only members with the `{error.missing_role}` role can use this command."
    if isinstance(error, app_commands.BotMissingPermissions):
        missing = ", ".join(_PERMISSION_WORDS.get(p, p.replace("_", " ").title()) for p in error.missing_permissions)
        return f"I lack the {missing} permission in this channel. Ask a server admin to grant it to Concord."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works only inside the DAO's server, not in direct messages."
    if isinstance(error, ConcordError | ServiceUnavailable):
        return str(error)
    log.exception("Command failed", exc_info=error)
    return "Something went wrong while answering. The error was logged; please try again later."


def signer_only() -> Any:
    """A check: the member must hold the signer role named in ``settings.discord.signer_role``."""

    def predicate(interaction: discord.Interaction) -> bool:
        bot = interaction.client
        assert isinstance(bot, ConcordBot)
        if interaction.guild is None:  # guild_only() hides the command in DMs; this enforces it too
            raise app_commands.NoPrivateMessage()
        role = bot.services.settings.discord.signer_role
        roles = getattr(interaction.user, "roles", [])
        if not any(r.name == role for r in roles):
            raise app_commands.MissingRole(role)
        return True

    return app_commands.check(predicate)


class ConcordCommands(commands.Cog):
    """The slash commands. Each parses input, calls a service, renders the reply."""

    def __init__(self, bot: ConcordBot) -> None:
        self.bot = bot

    @property
    def services(self) -> Services:
        return self.bot.services

    def _dashboard(self, path: str) -> str:
        return self.services.settings.discord.dashboard_url.rstrip("/") + path

    @app_commands.command(name="ask", description="Ask about the DAO's history; answers cite their sources")
    @app_commands.describe(question="Your question, e.g. 'Why did the treasury diversification fail?'", dao="DAO slug")
    async def ask(self, interaction: discord.Interaction, question: app_commands.Range[str, 3, 500], dao: str | None = None) -> None:
        answerer = self.services.require("answerer")
        await interaction.response.defer(thinking=True)
        result = await asyncio.to_thread(answerer.answer, question, dao=dao or self.services.settings.default_dao)
        await send(interaction, format_answer(result.as_dict()))

    @app_commands.command(name="proposals", description="Active proposals with their predicted outcome")
    @app_commands.describe(dao="DAO slug (default: all)")
    async def proposals(self, interaction: discord.Interaction, dao: str | None = None) -> None:
        rows = await asyncio.to_thread(queries.list_proposals, self.services.store, dao=dao, status="active", limit=10)
        if not rows:
            where = f" in {dao}" if dao else ""
            await send(interaction, f"No proposals are open for voting{where} right now. All proposals: <{self._dashboard('/proposals')}>")
            return
        await interaction.response.defer(thinking=True)  # each prediction fits the model: seconds, beyond Discord's 3 s
        lines = ["**Open for voting**"]
        for row in rows:
            ends = f", ends {row.end:%Y-%m-%d}" if row.end else ""
            link = self._dashboard(f"/proposals/{row.id}")
            predicted = await asyncio.to_thread(self._prediction_text, row.id)
            lines.append(f"• **{row.title}** ({row.dao}{ends}) — {predicted} — <{link}>")
        await send(interaction, "\n".join(lines))

    def _prediction_text(self, proposal_id: int) -> str:
        if self.services.predictor is None:
            return "prediction not available"
        predicted = self.services.predictor.predict(proposal_id)
        if not predicted or predicted.get("p_pass") is None:
            return "no prediction"
        return f"predicted {predicted['p_pass']:.0%} to pass"

    @app_commands.command(name="consensus", description="The consensus report of a proposal: camps, probability, link")
    @app_commands.describe(proposal="Proposal id (store id or Snapshot/Governor id)")
    @app_commands.checks.bot_has_permissions(embed_links=True)
    async def consensus(self, interaction: discord.Interaction, proposal: str) -> None:
        found = await asyncio.to_thread(queries.get_proposal, self.services.store, proposal.strip())
        report = await asyncio.to_thread(self.services.require("reports").get_report, found.id)
        report_url = self._dashboard(f"/proposals/{found.id}/report")
        if report is None:
            await send(interaction, f"No consensus report for “{found.title}” yet. It appears at <{report_url}> once generated.")
            return
        await interaction.response.defer(thinking=True)  # the prediction fits the model: seconds, beyond Discord's 3 s
        predictor = self.services.predictor
        predicted = await asyncio.to_thread(predictor.predict, found.id) if predictor is not None else None
        embed = consensus_embed(title=found.title, report_url=report_url, report=report, prediction=predicted)
        await send(interaction, embed=embed)

    @app_commands.command(name="draft", description="Draft a proposal text from the discussion (for review, never submitted)")
    @app_commands.describe(topic="What the proposal should do", dao="DAO slug")
    async def draft(self, interaction: discord.Interaction, topic: app_commands.Range[str, 5, 500], dao: str | None = None) -> None:
        drafter = self.services.require("drafter")
        slug = dao or self.services.settings.default_dao
        if not slug:
            raise InputError("Which DAO? Pass the dao option (e.g. arbitrum) or set default_dao in concord.toml.")
        await interaction.response.defer(thinking=True)
        draft = await asyncio.to_thread(drafter.draft, dao=slug, idea=topic)
        sources = [f"[{c.number}] <{c.url}>" for c in draft.citations if c.url]
        footer = f"\n\nDraft #{draft.id} is stored for review; nothing was submitted."
        from bots.draft_text import expectation_lines, prior_art_lines, writer_line

        prior, expect = prior_art_lines(draft), expectation_lines(draft)
        text = f"**{draft.title}**"
        if prior:
            text += "\n\n**Prior art**\n" + "\n".join(prior)
        if expect:
            text += "\n\n**What to expect**\n" + "\n".join(expect)
        if written := writer_line(draft):
            text += f"\n\n_{written}_"
        text += f"\n\n{draft.body}"
        if sources:
            text += "\n\n**Sources**\n" + "\n".join(sources)
        await send(interaction, text + footer)

    @app_commands.command(name="pending", description="Signers: actions waiting for your signature")
    @app_commands.guild_only()
    @signer_only()
    async def pending(self, interaction: discord.Interaction) -> None:
        actions = await asyncio.to_thread(self.services.require("governance").list_pending)
        if not actions:
            await send(interaction, "Nothing is waiting for signatures.", ephemeral=True)
            return
        governance = self.services.require("governance")
        lines = ["**Waiting for signatures**"]
        for action in actions:
            link = self._dashboard(f"/signer/{action.id}")
            what = f"{action.kind}: {action.choice} on proposal {action.proposal} ({action.dao})"
            lines.append(f"#{action.id}: {what} — {action.signatures} signed so far")
            described = await asyncio.to_thread(governance.describe, action.id)
            lines.append(format_action(described, link=link) + "\n")
        await send(interaction, "\n".join(lines), ephemeral=True)

    @app_commands.command(name="approve", description="Signers: approve an action (opens the signing page)")
    @app_commands.describe(action="Action number from /pending")
    @app_commands.guild_only()
    @signer_only()
    async def approve(self, interaction: discord.Interaction, action: int) -> None:
        await self._to_signing_page(interaction, action, "approve")

    @app_commands.command(name="reject", description="Signers: reject an action (opens the signing page)")
    @app_commands.describe(action="Action number from /pending")
    @app_commands.guild_only()
    @signer_only()
    async def reject(self, interaction: discord.Interaction, action: int) -> None:
        await self._to_signing_page(interaction, action, "reject")

    async def _to_signing_page(self, interaction: discord.Interaction, action_id: int, verb: str) -> None:
        described = await asyncio.to_thread(self.services.require("governance").describe, action_id)
        url = self._dashboard(f"/signer/{action_id}")
        await send(
            interaction,
            f"To {verb} action #{action_id} ({described.call}), sign it with "
            f"your wallet on the signing page: <{url}>\nSafe transaction hash: `{described.safe_tx_hash}`. "
            "A Discord click cannot approve anything: only an owner's wallet signature counts.\n\n"
            + format_action(described, link=url),
            ephemeral=True,
        )


class ConcordBot(commands.Bot):
    """The bot. Holds its services and rate limiter; no module-level state."""

    def __init__(self, services: Services, *, limiter: RateLimiter | None = None, sync_commands: bool = True) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=ConcordTree,
            allowed_mentions=no_mentions(),
        )
        self.services = services
        self.limiter = limiter or RateLimiter()
        self.sync_commands = sync_commands

    async def setup_hook(self) -> None:
        await self.add_cog(ConcordCommands(self))
        if self.sync_commands:
            guild_id = self.services.settings.discord.guild_id
            if guild_id:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
            else:
                await self.tree.sync()


def build_bot(services: Services, *, limiter: RateLimiter | None = None, sync_commands: bool = True) -> ConcordBot:
    """The bot over ``services`` (commands sync to ``settings.discord.guild_id`` on start when set)."""
    return ConcordBot(services, limiter=limiter, sync_commands=sync_commands)
