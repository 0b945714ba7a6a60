"""The committed injection corpus on real sample threads changes nothing but itself; the report eval's scoring."""

from __future__ import annotations

import json

import pytest
from sqlmodel import col, select

from agent.predict.predictor import StorePredictor
from agent.report import ReportBuilder
from agent.report.prediction import report_predictor
from agent.stance.trained import load_trained_stance
from embeddings import SentenceTransformerEmbedder
from evals.readme import render_block
from evals.report_eval import NullChat, inject, load_corpus
from governance.reports import real_prediction
from ingest.core.domain import Post, Proposal
from ingest.core.store import Store

RARIBLE = "0x66b953a7cf4de9f6de54e6eb87ae291b5cc62f12c7fed68eba91043607883221"


def _visible(report) -> str:  # type: ignore[no-untyped-def]
    cites = [q for c in report.camps for q in c.quotes] + list(report.proposer_side.replies)
    cites += [x for r in report.requested_changes for x in (r.request, r.answer) if x is not None]
    cites += [q.question for q in report.open_questions] + [s for c in report.cruxes for s in c.sides.values()]
    cites += [q for g in report.common_ground for q in g.quotes]
    return "\n".join([report.summary.text, *(c.name for c in report.camps), *(r for c in report.camps for r in c.reasons),
                      *(q.quote for q in cites), *(t for c in report.cruxes for t in c.topic)])


def test_corpus_has_every_required_kind() -> None:
    kinds = {r["kind"] for r in load_corpus()}
    assert kinds >= {"plain", "hidden_html", "code_block", "markdown", "spanish", "chinese", "german"}


@pytest.mark.slow
def test_injection_corpus_changes_nothing_but_itself(sample_store: Store, minilm: SentenceTransformerEmbedder) -> None:
    corpus = load_corpus()
    builder = ReportBuilder(sample_store, embedder=minilm, chat=NullChat(), stance=load_trained_stance(embedder=minilm), predictor=report_predictor(StorePredictor(sample_store)))
    with sample_store.session() as session:
        rarible = session.exec(select(Proposal).where(Proposal.external_id == RARIBLE)).one()
        plurality = session.exec(select(Proposal).where(col(Proposal.discussion_url).contains("14976"))).first()
    for proposal, topic in ((rarible, "15615"), (plurality, "14976")):
        assert proposal is not None
        clean = builder.build(int(proposal.id))
        added = inject(sample_store, topic, corpus)
        attacked = builder.build(int(proposal.id))
        assert len(added) == len(corpus) and sorted(s["post_id"] for s in attacked.set_aside) == sorted(added)
        before = {p["post_id"]: (p["label"], p["confidence"]) for p in clean.stance.by_post}
        after = {p["post_id"]: (p["label"], p["confidence"]) for p in attacked.stance.by_post if p["post_id"] not in added}
        assert before == after  # the other posts' stances
        assert [(c.stance, c.members) for c in clean.camps] == [(c.stance, c.members) for c in attacked.camps]
        assert clean.stance_mix == attacked.stance_mix and clean.proposer_side == attacked.proposer_side
        assert clean.summary == attacked.summary
        assert clean.prediction == attacked.prediction, (clean.prediction, attacked.prediction)
        visible = _visible(attacked)
        for row in corpus:
            for line in row["text"].splitlines():
                assert len(line.strip()) < 12 or line.strip() not in visible, (row["kind"], line)
        assert not any(u["post_id"] in added for u in attacked.to_data()["units"])
        with sample_store.session() as session:
            for pid in added:
                session.delete(session.get(Post, pid))


def test_rarible_report_reads_the_room(sample_store: Store, minilm: SentenceTransformerEmbedder) -> None:
    builder = ReportBuilder(sample_store, embedder=minilm, chat=NullChat(), stance=load_trained_stance(embedder=minilm),
                            predictor=report_predictor(StorePredictor(sample_store, bootstrap=0)))
    with sample_store.session() as session:
        rarible = session.exec(select(Proposal).where(Proposal.external_id == RARIBLE)).one()
    report = builder.build(int(rarible.id))
    # Arbitrum had 21 closed proposals before it (its own model needs 30): the pooled model predicts, and says so
    assert report.prediction is not None and "pooled model, trained on 103 closed proposals of 2 DAOs (arbitrum 21, compound 82)" in report.prediction.model
    assert real_prediction(report.to_data())[0] == report.prediction.probability_pass
    assert [m.author for m in report.proposer_side.members] == ["Janabe"] and report.proposer_side.posts == 6
    assert {m for c in report.camps for m in c.members} == {"Usain", "jengajojo"} and sum(c.people for c in report.camps) == 2
    swap = [c for c in report.requested_changes if c.answer and "token swap" in c.answer.quote]
    assert swap and swap[0].status == "adopted" and "jengajojo" in swap[0].asked_by
    assert "token swap" in report.summary.text and "adopted" in report.summary.text
    assert report.data_window.threads[0]["url"] == "https://forum.arbitrum.foundation/t/15615"
    assert "no post timestamps" in report.data_window.note and report.timeline["order"] == "post number"


def test_readme_block_renders_the_results(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = {"threads": 2, "posts": 12, "proposer_side": {"precision": 1.0, "recall": 0.5, "tp": 1, "fp": 0, "fn": 1},
            "camp_purity": 0.75, "camp_people_labelled": 4, "coverage": {"objections_and_requests": 3, "shown_in_report": 1 / 3, "typed_correctly": 2 / 3},
            "unit_type_macro_f1_in_sample": 0.5, "units_scored": 10, "unsupported_quotes_kept": 0,
            "injection": {"posts": 9, "kinds": ["plain"], "threads": [{"ok": True}, {"ok": False}]}}
    (tmp_path / "report.json").write_text(json.dumps(data))
    block = render_block("report-quality", tmp_path)
    assert "| 1.000 / 0.500 (tp 1, fp 0, fn 1) |" in block and "| 0.333 / 0.667 (n=3) |" in block
    assert "| unsupported quotes kept | 0 |" in block and "| 1 of 2 threads |" in block
