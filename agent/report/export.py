"""Write a report as versioned JSON, Markdown and HTML (same content, three views)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

from agent.report.model import ConsensusReport

__all__ = ["http_url", "to_html", "to_json", "to_markdown", "write_report"]

_UNSAFE_IN_URL = re.compile(r"[\x00-\x20\x7f]")


def to_json(report: ConsensusReport) -> str:
    return json.dumps(report.to_data(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def http_url(value: object) -> str | None:
    """``value`` if it is an absolute http(s) URL, else None: a ``javascript:``/``data:`` link from a post is never written.

    Characters that could end a Markdown link or break out of it (spaces, brackets, angle brackets,
    quotes) are percent-encoded, so the URL stays one link target in both formats.
    """
    text = str(value or "").strip()
    if not text.lower().startswith(("https://", "http://")) or _UNSAFE_IN_URL.search(text):
        return None
    return quote(text, safe="/:?#@!$&*+,;=%~-._")


def _link(post_id: int, url: str | None) -> str:
    safe = http_url(url)
    return f"[post {post_id}]({safe})" if safe else f"post {post_id}"


def _plain_url(url: object) -> str:
    """A URL shown as text in Markdown (a renderer may autolink it): only http(s), encoded."""
    return http_url(url) or ""


def to_markdown(report: ConsensusReport) -> str:
    """Readable Markdown: every quote carries its post id and link."""
    r = report
    out = [f"# Consensus report: {r.proposal.title}", ""]
    out.append(f"DAO `{r.proposal.dao}` · proposal {r.proposal.id} ({r.proposal.origin}) · generated {r.generated_at} · schema `{r.schema_version}`")
    if http_url(r.proposal.url):
        out.append(f"Proposal: {_plain_url(r.proposal.url)}")
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
    out += [f"- {t['title']} {_plain_url(t.get('url'))}" for t in w.threads]
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
    env.filters["http_url"] = http_url
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
