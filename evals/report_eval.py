"""`concord eval report`: reading the room on the bundled sample's real threads with at least five posts, scored
against the labelled author roles and unit types (``evals/data/author_roles.jsonl``, ``unit_labels.jsonl``), and the
injection corpus (``injection_corpus.jsonl``) added to real threads, which must change nothing but itself.

Scored on the same 15 threads the proposer rules and the unit labels were written from: the proposer-side rules and
the committed unit-type head were both made with these threads in view, so these are in-sample numbers (the unit-type
held-out score is ``evals/units.py``'s thread-grouped cross-validation)."""

from __future__ import annotations

import json
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from agent.report.faithfulness import occurs_in
from ingest.core.domain import Author, Post, Proposal, Source, Thread, content_hash
from ingest.core.store import Store

__all__ = ["NullChat", "evaluate_reports", "inject", "load_corpus", "report_threads"]

DATA = Path(__file__).resolve().parent / "data"
CORPUS = DATA / "injection_corpus.jsonl"


class NullChat:
    """No chat model: the report's template digest (what the embedded default gives)."""

    model = "none"

    def complete(self, messages: Any, **kw: Any) -> str:
        raise RuntimeError("the report asked a chat model although none is configured")

    complete_json = complete  # type: ignore[assignment]

    def identity(self) -> dict[str, Any]:
        return {"backend": "embedded", "model": "none"}


def load_corpus(path: Path = CORPUS) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def report_threads(store: Store, *, min_posts: int = 5) -> list[tuple[int, str]]:
    """(proposal id, Discourse topic id) of each distinct discussion with at least ``min_posts`` posts (the first
    proposal of a thread stands for it)."""
    from agent.report.inputs import load_inputs

    out, seen = [], set()
    with store.session() as session:
        ids = [int(p) for p in session.exec(select(Proposal.id).order_by(col(Proposal.id))).all()]
    for pid in ids:
        inputs = load_inputs(store, pid)
        key = tuple(t.id for t in inputs.threads)
        if len(inputs.posts) < min_posts or not key or key in seen:
            continue
        seen.add(key)
        out.append((pid, inputs.threads[0].external_id))
    return out


def inject(store: Store, topic: str, corpus: list[dict[str, Any]]) -> list[int]:
    """Add the corpus posts (each by its own new account) at the end of Discourse topic ``topic``; their ids."""
    added = []
    with store.session() as session:
        thread = session.exec(select(Thread).join(Source, col(Source.id) == Thread.source_id)
                              .where(Thread.external_id == topic, Source.kind == "discourse")).first()
        assert thread is not None, f"no Discourse topic {topic} in the store"
        last = max([p.number or 0 for p in session.exec(select(Post).where(Post.thread_id == thread.id)).all()] + [0])
        for n, row in enumerate(corpus, 1):
            author = session.exec(select(Author).where(Author.source_id == thread.source_id, Author.handle == row["author"])).first()
            if author is None:
                author = Author(source_id=thread.source_id, handle=row["author"])
                session.add(author)
                session.flush()
            post = Post(source_id=thread.source_id, thread_id=thread.id, external_id=f"{row['id']}-{topic}", author_id=author.id,
                        number=last + n, text=row["text"], content_hash=content_hash(row["text"]))
            session.add(post)
            session.flush()
            added.append(int(post.id))  # type: ignore[arg-type]
    return added


def _person_labels(units: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    by: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for u in units:
        if u["role"] == "community":
            by[(u["thread"], u["author"])][u["type"]] += 1
    out = {}
    for key, c in by.items():
        out[key] = "for" if c["support"] > c["objection"] else ("against" if c["objection"] > c["support"] else "neutral")
    return out


def _shown(report: Any) -> list[Any]:
    """Every citation a reader sees outside the units list."""
    cites = [q for c in report.camps for q in c.quotes] + list(report.proposer_side.replies)
    cites += [x for r in report.requested_changes for x in (r.request, r.answer) if x is not None]
    cites += [q.question for q in report.open_questions] + [s for c in report.cruxes for s in c.sides.values()]
    cites += [q for g in report.common_ground for q in g.quotes]
    return cites


def _visible_text(report: Any) -> str:
    parts = [report.summary.text] + [c.name for c in report.camps] + [r for c in report.camps for r in c.reasons]
    parts += [q.quote for q in _shown(report)] + [t for c in report.cruxes for t in c.topic]
    return "\n".join(parts)


def evaluate_reports(*, embedder: Any, stance: Any, chat: Any = None, store: Store | None = None, injection: bool = True) -> dict[str, Any]:
    from agent.predict.predictor import StorePredictor
    from agent.report import ReportBuilder
    from agent.report.prediction import report_predictor
    from evals.units import load_unit_labels

    with tempfile.TemporaryDirectory() as tmp:
        if store is None:
            from evals.retrieval.corpus import sample_store

            store = sample_store(Path(tmp) / "sample.db")
        builder = ReportBuilder(store, embedder=embedder, chat=chat or NullChat(), stance=stance, predictor=report_predictor(StorePredictor(store)))
        roles = {(r["thread"], r["author"]): r["role"] for r in (json.loads(x) for x in (DATA / "author_roles.jsonl").read_text().splitlines())}
        labelled_units = load_unit_labels()
        unit_truth = {(u["thread"], u["author"], u["text"]): u["type"] for u in labelled_units}
        person_truth = _person_labels(labelled_units)
        tp = fp = fn = 0
        purity_hits = purity_total = 0
        covered = {"shown": 0, "typed": 0, "total": 0}
        unit_pairs: list[tuple[str, str]] = []
        unsupported = 0
        per_thread = []
        reports = {}
        threads = report_threads(store)
        for pid, topic in threads:
            report = builder.build(pid)
            reports[topic] = (pid, report)
            with store.session() as session:
                texts = {int(p.id): p.text for p in session.exec(select(Post).where(col(Post.id).in_([x["post_id"] for x in report.manifest["input_posts"]]))).all()}  # type: ignore[arg-type]
            authors = {u["author"] for u in report.units} | {m.author for m in report.proposer_side.members}
            authors |= {m for c in report.camps for m in c.members}
            side = {m.author for m in report.proposer_side.members}
            for a in authors:
                truth = roles.get((topic, a)) == "proposer"
                tp += truth and a in side
                fp += (a in side) and not truth
                fn += truth and a not in side
            for camp in report.camps:
                for member in camp.members:
                    if (topic, member) in person_truth:
                        purity_total += 1
                        purity_hits += person_truth[(topic, member)] == camp.stance
            shown = {(q.author, q.quote) for q in _shown(report)}
            for u in report.units:
                key = (topic, u["author"], u["text"])
                if key in unit_truth:
                    unit_pairs.append((unit_truth[key], u["type"]))
                    if unit_truth[key] in ("objection", "requested_change") and roles.get((topic, u["author"])) == "community":
                        covered["total"] += 1
                        covered["typed"] += u["type"] == unit_truth[key]
                        covered["shown"] += (u["author"], u["text"]) in shown
            for q in _shown(report):
                unsupported += not occurs_in(q.quote, texts.get(q.post_id, ""))
            per_thread.append({"topic": topic, "proposal": pid, "posts": report.data_window.posts, "proposer_side": sorted(side),
                               "camps": [{"name": c.name, "people": c.people, "posts": c.posts} for c in report.camps],
                               "requested_changes": len(report.requested_changes), "open_questions": len(report.open_questions)})
        from sklearn.metrics import f1_score

        truth_types = [a for a, _ in unit_pairs]
        pred_types = [b for _, b in unit_pairs]
        result: dict[str, Any] = {
            "threads": len(threads), "posts": sum(t["posts"] for t in per_thread),
            "proposer_side": {"precision": round(tp / (tp + fp), 4) if tp + fp else None, "recall": round(tp / (tp + fn), 4) if tp + fn else None,
                              "tp": tp, "fp": fp, "fn": fn},
            "camp_purity": round(purity_hits / purity_total, 4) if purity_total else None, "camp_people_labelled": purity_total,
            "coverage": {"objections_and_requests": covered["total"],
                         "shown_in_report": round(covered["shown"] / covered["total"], 4) if covered["total"] else None,
                         "typed_correctly": round(covered["typed"] / covered["total"], 4) if covered["total"] else None},
            "unit_type_macro_f1_in_sample": round(float(f1_score(truth_types, pred_types, average="macro", zero_division=0)), 4) if unit_pairs else None,
            "units_scored": len(unit_pairs),
            "unsupported_quotes_kept": unsupported,
            "per_thread": per_thread,
        }
        held_out = Path(__file__).resolve().parent / "results" / "units.json"
        if held_out.is_file():
            units = json.loads(held_out.read_text())
            result["unit_type_macro_f1_held_out"] = {"model": units["model"]["all"]["macro_f1"], "majority_baseline": units["majority_baseline"]["all"]["macro_f1"],
                                                     "split": units["split"]}
        if injection:
            result["injection"] = _injection(store, builder, reports)
        result["note"] = ("In-sample: the proposer rules and the unit-type head were made with these threads in view; "
                          "labels are by an AI assistant (see evals/data/unit_guidelines.md).")
        store.close()
        return result


def _injection(store: Store, builder: Any, reports: dict[str, tuple[int, Any]]) -> dict[str, Any]:
    corpus = load_corpus()
    outcome: dict[str, Any] = {"kinds": sorted({r["kind"] for r in corpus}), "posts": len(corpus), "threads": [], "unchanged": True}
    injected_texts = [r["text"] for r in corpus]
    for topic in sorted({t for r in corpus for t in r["targets"]}):
        if topic not in reports:
            continue
        pid, clean = reports[topic]
        added = inject(store, topic, corpus)
        attacked = builder.build(pid)
        stance_clean = {p["post_id"]: p["label"] for p in (clean.stance.by_post if clean.stance else [])}
        stance_attacked = {p["post_id"]: p["label"] for p in (attacked.stance.by_post if attacked.stance else []) if p["post_id"] not in added}
        camps_clean = sorted((c.stance, tuple(c.members)) for c in clean.camps)
        camps_attacked = sorted((c.stance, tuple(c.members)) for c in attacked.camps)
        visible = _visible_text(attacked)
        leaked = [t[:40] for t in injected_texts if any(piece.strip() and piece.strip() in visible for piece in t.splitlines() if len(piece.strip()) > 12)]
        row = {
            "topic": topic, "stances_unchanged": stance_clean == stance_attacked, "camps_unchanged": camps_clean == camps_attacked,
            "prediction_unchanged": (clean.prediction.model_dump() if clean.prediction else None) == (attacked.prediction.model_dump() if attacked.prediction else None),
            "summary_unchanged": clean.summary.text == attacked.summary.text,
            "set_aside": sorted(s["post_id"] for s in attacked.set_aside) == sorted(added),
            "injected_text_shown": leaked,
        }
        row["ok"] = all(row[k] for k in ("stances_unchanged", "camps_unchanged", "prediction_unchanged", "summary_unchanged", "set_aside")) and not leaked
        outcome["unchanged"] = outcome["unchanged"] and row["ok"]
        outcome["threads"].append(row)
    return outcome
