"""A structured draft as plain text, the same for the CLI and the Discord bot: prior art first, then what to
expect (P(pass), objections with sources), then the body."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from governance.views import DraftView

__all__ = ["draft_text", "expectation_lines", "prior_art_lines", "writer_line"]


def _shares(shares: dict[str, float] | None) -> str:
    return ", ".join(f"{k} {v:.0%}" for k, v in sorted((shares or {}).items(), key=lambda kv: -kv[1])[:3]) or "no vote shares"


def prior_art_lines(draft: DraftView) -> list[str]:
    art = draft.prior_art
    lines = []
    if art.get("warning"):
        lines.append(f"⚠ {art['warning']}")
    for p in art.get("proposals") or []:
        where = f" <{p['url']}>" if p.get("url") else ""
        lines.append(f"- {p['title']} ({p.get('created') or 'date unknown'}; {p.get('outcome') or 'no recorded outcome'}; "
                     f"{_shares(p.get('vote_shares'))}){where}")
    return lines


def expectation_lines(draft: DraftView) -> list[str]:
    expect = draft.expectation
    prediction = expect.prediction or {}
    lines = []
    if "p_pass" in prediction:
        lines.append(f"Predicted P(pass): {prediction['p_pass']:.0%} (90% interval {prediction['low']:.0%}–{prediction['high']:.0%}; "
                     f"{prediction.get('method')}, trained on {prediction.get('n_train')} earlier proposals)")
    elif prediction.get("error"):
        lines.append(f"No prediction: {prediction['error']}")
    for o in expect.objections[:5]:
        lines.append(f"- Objection met by “{o['from']}”: “{o['quote']}” <{o.get('url') or 'no link'}>")
    for c in expect.requested_changes[:3]:
        lines.append(f"- Change requested on “{c['from']}”: “{c['quote']}” <{c.get('url') or 'no link'}>")
    return lines


def writer_line(draft: DraftView) -> str:
    """Who wrote which section, in one line: "Written by model X: Abstract, Motivation; composed: Timeline, …",
    with each refused model reply's reason."""
    groups: dict[str, list[str]] = {}
    refused: list[str] = []
    for heading, how in (draft.written_by or {}).items():
        if how.startswith("composed (model reply refused: "):
            refused.append(f"{heading} ({how.removeprefix('composed (model reply refused: ').rstrip(')')})")
            how = "composed"
        groups.setdefault(how, []).append(heading)
    if not groups:
        return ""
    line = "Written by " + "; ".join(f"{how}: {', '.join(h)}" for how, h in groups.items())
    return line + (f". Model text refused by the gate for {'; '.join(refused)}." if refused else ".")


def draft_text(draft: DraftView, *, with_body: bool = True) -> str:
    parts = [f"# {draft.title}"]
    prior = prior_art_lines(draft)
    if prior:
        parts.append("Prior art (most similar earlier proposals):\n" + "\n".join(prior))
    expect = expectation_lines(draft)
    if expect:
        parts.append("What to expect:\n" + "\n".join(expect))
    if with_body:
        if written := writer_line(draft):
            parts.append(written)
        parts.append(draft.body)
    return "\n\n".join(parts)
