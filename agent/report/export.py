"""Write a report as versioned JSON, Markdown and HTML (same content, three views)."""

from __future__ import annotations

import json
from pathlib import Path

from agent.report.model import ConsensusReport

__all__ = ["to_html", "to_json", "to_markdown", "write_report"]


def to_json(report: ConsensusReport) -> str:
    return json.dumps(report.to_data(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def _link(post_id: int, url: str | None) -> str:
    return f"[post {post_id}]({url})" if url else f"post {post_id}"


def to_markdown(report: ConsensusReport) -> str:
    """Readable Markdown: every quote carries its post id and link."""
    r = report
    out = [f"# Consensus report: {r.proposal.title}", ""]
    out.append(f"DAO `{r.proposal.dao}` · proposal {r.proposal.id} ({r.proposal.origin}) · generated {r.generated_at} · schema `{r.schema_version}`")
    if r.proposal.url:
        out.append(f"Proposal: {r.proposal.url}")
    out += ["", "## Summary", "", r.summary.text]
    cites = ", ".join(str(p) for p in r.summary.post_ids) or "none"
    out.append(f"\n_Wording by `{r.summary.generated_by}`; cites posts: {cites}{'' if r.summary.supported else ' — UNSUPPORTED'}_")
    out += ["", "## Stance"]
    if r.stance:
        out.append(f"Model `{r.stance.model}`: " + ", ".join(f"{k} {v}" for k, v in r.stance.counts.items()))
    else:
        out.append(f"Not available: {r.stance_missing}")
    out += ["", "## Camps", "", f"_{r.camps_method}_", ""]
    for camp in r.camps:
        power = f", voting power {camp.voting_power:,.0f}" if camp.voting_power is not None else ""
        mix = f", stances {camp.stance_mix}" if camp.stance_mix else ""
        out.append(f"### {camp.index + 1}. {camp.name} — {camp.people} people, {camp.posts} posts{power}{mix}")
        out += [f"> {q.quote}\n>\n> — {q.author}, {_link(q.post_id, q.url)}\n" for q in camp.quotes]
    if r.bridging:
        out += ["## Points that bridge camps", ""]
        out += [f"> {q.quote}\n>\n> — {q.author}, {_link(q.post_id, q.url)}\n" for q in r.bridging]
    out += ["## Prediction", ""]
    if r.prediction:
        interval = f" (interval {r.prediction.interval[0]:.2f}–{r.prediction.interval[1]:.2f})" if r.prediction.interval else ""
        out.append(f"P(pass) = {r.prediction.probability_pass:.2f}{interval} by `{r.prediction.model}`")
    else:
        out.append(f"Not available: {r.prediction_missing}")
    w = r.data_window
    out += ["", "## Data window", "", f"{w.posts} posts in {len(w.threads)} thread(s), from {w.first_post_at or 'unknown'} to {w.last_post_at or 'unknown'}. {w.note}"]
    out += [f"- {t['title']} {t.get('url') or ''}" for t in w.threads]
    f = r.faithfulness
    out += ["", "## Faithfulness", "", f"{f.passed} of {f.checked} quoted spans verified verbatim in their cited posts; {len(f.dropped)} dropped or flagged."]
    out += [f"- dropped: {d['reason']} (post {d.get('post_id')})" for d in f.dropped]
    out += ["", "## Attestation", ""]
    if r.attestation:
        out.append(f"SHA-256 `{r.attestation.sha256}` signed by `{r.attestation.signer}` ({r.attestation.scheme}).")
    out.append(f"Inputs hash `{r.inputs_hash}`; chat model `{r.manifest.get('chat_model', {}).get('model')}` "
               f"weights `{r.manifest.get('chat_model', {}).get('weights_sha256')}`.")
    return "\n".join(out) + "\n"


def to_html(report: ConsensusReport) -> str:
    """A standalone HTML page (Jinja2, autoescaped)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("agent.report", "templates"), autoescape=select_autoescape(["html", "j2"]))
    return env.get_template("report.html.j2").render(r=report)


def write_report(report: ConsensusReport, directory: Path) -> dict[str, Path]:
    """Write ``<proposal id>-<sha12>.json/.md/.html`` into ``directory``; returns the paths by format."""
    directory.mkdir(parents=True, exist_ok=True)
    tag = report.attestation.sha256[:12] if report.attestation else "unsigned"
    stem = directory / f"{report.proposal.id}-{tag}"
    paths = {"json": stem.with_suffix(".json"), "md": stem.with_suffix(".md"), "html": stem.with_suffix(".html")}
    paths["json"].write_text(to_json(report), encoding="utf-8")
    paths["md"].write_text(to_markdown(report), encoding="utf-8")
    paths["html"].write_text(to_html(report), encoding="utf-8")
    return paths
