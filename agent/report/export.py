"""Write a report as versioned JSON, Markdown and HTML (same content, three views)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

from agent.report.model import Citation, ConsensusReport

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
    out += ["", "## Summary", ""]
    out += [f"- {s.text} ({', '.join(f'post {p}' for p in s.post_ids) or 'no post'})" for s in r.summary.sentences] or [r.summary.text]
    cites = ", ".join(str(p) for p in r.summary.post_ids) or "none"
    out.append(f"\n_Wording by `{r.summary.generated_by}`; cites posts: {cites}{'' if r.summary.supported else ' — UNSUPPORTED'}. {r.summary.gate}_")

    def quote(q: Citation) -> str:
        return f"> {q.quote}\n>\n> — {q.author}, {_link(q.post_id, q.url)}\n"

    ps = r.proposer_side
    out += ["", "## Proposer side", ""]
    if ps.members:
        out += [f"- **{m.author}** ({m.posts} posts): {'; '.join(m.evidence)}" for m in ps.members]
        out += ["", f"Their replies ({ps.posts} posts; never counted as community support, camps or common ground):", ""]
        out += [quote(q) for q in ps.replies]
    else:
        out.append(ps.note)
    m = r.stance_mix
    out += ["", "## Stance of the community", ""]
    out.append("By people: " + ", ".join(f"{k} {v}" for k, v in m.people.items()))
    out.append("By voting power: " + (", ".join(f"{k} {v:,.0f}" for k, v in m.voting_power.items()) if m.voting_power else "not known (no author address linked to votes)"))
    out.append("By posts: " + ", ".join(f"{k} {v}" for k, v in m.posts.items()))
    out.append(f"\n_{m.note} Threshold {m.threshold}._")
    if r.stance:
        out.append(f"\nPost stance model `{r.stance.model}`.")
    else:
        out.append(f"\nPost stance not available: {r.stance_missing}")
    out += ["", "## Camps", "", f"_{r.camps_method}_", ""]
    for camp in r.camps:
        power = f", voting power {camp.voting_power:,.0f}" if camp.voting_power is not None else ""
        out.append(f"### {camp.index + 1}. {camp.name} — {camp.people} people, {camp.posts} posts{power}")
        out.append(f"Members: {', '.join(camp.members)}. Reasons: {', '.join(camp.reasons) or 'none found'}.\n")
        out += [quote(q) for q in camp.quotes]
    out += ["## Requested changes", ""]
    for change in r.requested_changes:
        who = ", ".join(change.asked_by) or "not named"
        what = change.request.quote if change.request else (change.answer.quote if change.answer else "")
        out.append(f"- **{change.status}** — “{what}” (asked by {who}{'; ' + change.note if change.note else ''})")
        if change.answer:
            out.append(f"  - answer: “{change.answer.quote}” — {change.answer.author}, {_link(change.answer.post_id, change.answer.url)}")
    if not r.requested_changes:
        out.append("None found.")
    out += ["", "## Open questions (no reply from the proposer side)", ""]
    out += [f"- “{q.question.quote}” — {q.asked_by}, {_link(q.question.post_id, q.question.url)}" for q in r.open_questions] or ["None found."]
    out += ["", "## Cruxes", ""]
    out += [f"- {', '.join(c.topic)}: for “{c.sides['for'].quote}” vs against “{c.sides['against'].quote}”" for c in r.cruxes] or ["None found (no pair of supporting and opposing reasons on the same point)."]
    out += ["", "## Common ground", ""]
    out += [f"- {' / '.join(f'“{q.quote}” ({q.author}, {_link(q.post_id, q.url)})' for q in g.quotes)}" for g in r.common_ground] or ["None found."]
    if r.set_aside:
        out += ["", f"_{len(r.set_aside)} post(s) set aside as instruction-like text: {', '.join(str(x['post_id']) for x in r.set_aside)}._"]
    cs = r.changes_since
    out += ["", "## Changes since the previous report", ""]
    if cs.get("previous"):
        out.append(f"Previous report `{cs['previous']['report_sha256'][:12]}`: {len(cs.get('new_posts', []))} new post(s), {len(cs.get('removed_posts', []))} removed.")
        if "people_by_stance" in cs:
            out.append(f"People by stance then {cs['people_by_stance']['then']}, now {cs['people_by_stance']['now']}.")
        out += [f"- {c['change']}: {c['then']} → {c['now']}" for c in cs.get("requested_changes", [])]
    else:
        out.append(cs.get("note", "No previous report."))
    out.append("")
    out += ["## Prediction", ""]
    if r.prediction:
        interval = f" (interval {r.prediction.interval[0]:.2f}–{r.prediction.interval[1]:.2f})" if r.prediction.interval else ""
        out.append(f"P(pass) = {r.prediction.probability_pass:.2f}{interval} by `{r.prediction.model}`")
    else:
        out.append(f"Not available: {r.prediction_missing}")
    w = r.data_window
    out += ["", "## Data window", "", f"{w.posts} posts in {len(w.threads)} thread(s), from {w.first_post_at or 'unknown'} to {w.last_post_at or 'unknown'}. {w.note}"]
    phases = r.timeline.get("phases") or {}
    if phases:
        out.append("Posts " + ", ".join(f"{k} voting: {len(v)}" for k, v in phases.items()) + ".")
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
