"""How the bot answers: split long text, never mention anyone, embeds for reports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bots.discord_bot.text import neutralise_mentions, no_mentions, split_message

if TYPE_CHECKING:
    import discord

    from governance.views import ActionView

__all__ = ["consensus_embed", "format_action", "format_answer", "send"]


async def send(
    interaction: discord.Interaction,
    text: str = "",
    *,
    embed: discord.Embed | None = None,
    ephemeral: bool = False,
) -> None:
    """Reply to ``interaction``: the first chunk as the response (or a follow-up once deferred), the rest as follow-ups."""
    chunks = split_message(neutralise_mentions(text)) if text else []
    first = chunks[0] if chunks else None
    kwargs: dict[str, Any] = {"allowed_mentions": no_mentions(), "ephemeral": ephemeral}
    if first is not None:
        kwargs["content"] = first
    if embed is not None and len(chunks) <= 1:
        kwargs["embed"] = embed
    if interaction.response.is_done():
        await interaction.followup.send(**kwargs)
    else:
        await interaction.response.send_message(**kwargs)
    for chunk in chunks[1:]:
        await interaction.followup.send(chunk, allowed_mentions=no_mentions(), ephemeral=ephemeral)
    if embed is not None and len(chunks) > 1:
        await interaction.followup.send(embed=embed, allowed_mentions=no_mentions(), ephemeral=ephemeral)


def format_action(described: ActionView, *, link: str) -> str:
    """A signer's card for one action: what it does, every Safe transaction field in words, risks in bold."""
    lines = [f"**#{described.id}** ({described.status}): {described.call} — <{link}>"]
    for problem in described.problems:
        lines.append(f"⛔ **Do not sign — refused by rule `{problem.rule}`: {problem.message}**")
    for field in described.fields:
        line = f"• `{field.name}`: {field.words}"
        lines.append(f"{line} — ⚠ **{field.warning}**" if field.warning else line)
    lines.append(f"Safe transaction hash: `{described.safe_tx_hash}`")
    return "\n".join(lines)


def format_answer(result: dict[str, Any]) -> str:
    """An answer with numbered citations; links in <> so Discord does not unfurl them."""
    lines = [str(result.get("answer", "")).strip() or "I found nothing in the DAO's history that answers this."]
    citations = result.get("citations") or []
    if citations:
        lines.append("")
        lines.append("**Sources**" if result.get("cited_by_model", True) else "**Sources** (quoted above, from the best-matching posts)")
        for number, cite in enumerate(citations, start=1):
            where = f"<{cite['url']}>" if cite.get("url") else f"post {cite.get('post_id')}"
            quote = " ".join(str(cite.get("quote") or cite.get("excerpt") or "").split())
            quote = (quote[:180] + "…") if len(quote) > 180 else quote
            lines.append(f"[{number}] {where}" + (f" — “{quote}”" if quote else ""))
    return "\n".join(lines)


def consensus_embed(
    *, title: str, report_url: str, report: dict[str, Any], prediction: dict[str, Any] | None
) -> discord.Embed:
    """The report summary as an embed: camps, probability, and a link to the full report."""
    import discord

    summary_data = report.get("summary") or {}
    summary = neutralise_mentions(str(summary_data.get("text") if isinstance(summary_data, dict) else summary_data).strip())
    embed = discord.Embed(title=title[:256], url=report_url, description=(summary[:1000] or None))
    mix = (report.get("stance_mix") or {}).get("people") or {}
    if mix:
        embed.add_field(name="Community, by people", value=", ".join(f"{k} {v}" for k, v in mix.items() if v) or "nobody", inline=False)
    side = report.get("proposer_side") or {}
    if side.get("members"):
        names = ", ".join(str(m.get("author", "")) for m in side["members"])
        embed.add_field(name="Proposer side (not counted)", value=neutralise_mentions(f"{names}: {side.get('posts', 0)} posts")[:1024], inline=False)
    for camp in (report.get("camps") or [])[:5]:
        quotes = camp.get("quotes") or []
        text = f"“{quotes[0]['quote']}”" if quotes else "—"
        embed.add_field(
            name=f"{camp.get('name', 'Camp')} ({camp.get('people', '?')} people)"[:256],
            value=neutralise_mentions(text)[:1024],
            inline=False,
        )
    changes = report.get("requested_changes") or []
    if changes:
        lines = []
        for change in changes[:3]:
            cited = change.get("request") or change.get("answer") or {}
            quote = str(cited.get("quote", ""))
            quote = (quote[:140] + "…") if len(quote) > 140 else quote
            who = ", ".join(change.get("asked_by") or []) or "not named"
            lines.append(f"**{change.get('status', 'open')}** — “{quote}” (asked by {who})")
        embed.add_field(name="Requested changes", value=neutralise_mentions("\n".join(lines))[:1024], inline=False)
    questions = report.get("open_questions") or []
    if questions:
        embed.add_field(name="Open questions", value=f"{len(questions)} without a reply from the proposer side", inline=True)
    stated = report.get("prediction")
    if stated and stated.get("probability_pass") is not None:
        prediction = {"p_pass": stated["probability_pass"], "low": (stated.get("interval") or [None, None])[0],
                      "high": (stated.get("interval") or [None, None])[1]}
    if prediction and prediction.get("p_pass") is not None:
        value = f"{prediction['p_pass']:.0%}"
        if prediction.get("low") is not None and prediction.get("high") is not None:
            value += f" ({prediction['low']:.0%}–{prediction['high']:.0%})"
        embed.add_field(name="Probability of passing", value=value, inline=True)
    else:
        embed.add_field(name="Probability of passing", value="not available", inline=True)
    if report.get("stale"):
        embed.add_field(name="Stale", value=str(report.get("stale_reason", "inputs changed")), inline=False)
    embed.add_field(name="Full report", value=f"[open]({report_url})", inline=True)
    return embed
