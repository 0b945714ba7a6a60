"""A structured draft as plain text, the same for the CLI and the Discord bot: prior art first, then what to
expect (P(pass), objections with sources), then the body."""

from __future__ import annotations

from typing import Any

__all__ = ["draft_text", "expectation_lines", "prior_art_lines", "writer_line"]


def _shares(shares: dict[str, float] | None) -> str:
    return ", ".join(f"{k} {v:.0%}" for k, v in sorted((shares or {}).items(), key=lambda kv: -kv[1])[:3]) or "no vote shares"


def prior_art_lines(result: dict[str, Any]) -> list[str]:
    art = result.get("prior_art") or {}
    lines = []
    if art.get("warning"):
        lines.append(f"⚠ {art['warning']}")
    for p in art.get("proposals") or []:
        where = f" <{p['url']}>" if p.get("url") else ""
        lines.append(f"- {p['title']} ({p.get('created') or 'date unknown'}; {p.get('outcome') or 'no recorded outcome'}; "
                     f"{_shares(p.get('vote_shares'))}){where}")
    return lines


def expectation_lines(result: dict[str, Any]) -> list[str]:
    expect = result.get("expectation") or {}
    prediction = expect.get("prediction") or {}
    lines = []
    if "p_pass" in prediction:
        lines.append(f"Predicted P(pass): {prediction['p_pass']:.0%} (90% interval {prediction['low']:.0%}–{prediction['high']:.0%}; "
                     f"{prediction.get('method')}, trained on {prediction.get('n_train')} earlier proposals)")
    elif prediction.get("error"):
        lines.append(f"No prediction: {prediction['error']}")
    for o in (expect.get("objections") or [])[:5]:
        lines.append(f"- Objection met by “{o['from']}”: “{o['quote']}” <{o.get('url') or 'no link'}>")
    for c in (expect.get("requested_changes") or [])[:3]:
        lines.append(f"- Change requested on “{c['from']}”: “{c['quote']}” <{c.get('url') or 'no link'}>")
    return lines


def writer_line(result: dict[str, Any]) -> str:
    """Who wrote which section, in one line: "Written by model X: Abstract, Motivation; composed: Timeline, …",
    with each refused model reply's reason."""
    groups: dict[str, list[str]] = {}
    refused: list[str] = []
    for heading, how in (result.get("written_by") or {}).items():
        if how.startswith("composed (model reply refused: "):
            refused.append(f"{heading} ({how.removeprefix('composed (model reply refused: ').rstrip(')')})")
            how = "composed"
        groups.setdefault(how, []).append(heading)
    if not groups:
        return ""
    line = "Written by " + "; ".join(f"{how}: {', '.join(h)}" for how, h in groups.items())
    return line + (f". Model text refused by the gate for {'; '.join(refused)}." if refused else ".")


def draft_text(result: dict[str, Any], *, with_body: bool = True) -> str:
    parts = [f"# {result.get('title', 'Draft')}"]
    prior = prior_art_lines(result)
    if prior:
        parts.append("Prior art (most similar earlier proposals):\n" + "\n".join(prior))
    expect = expectation_lines(result)
    if expect:
        parts.append("What to expect:\n" + "\n".join(expect))
    if with_body:
        if written := writer_line(result):
            parts.append(written)
        parts.append(result.get("body", ""))
    return "\n\n".join(parts)
