"""Consensus reports on a small real forum with the real embedded model and MiniLM."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from agent.camps import NAMING_SYSTEM_PROMPT
from agent.llm import OpenAIChatBackend, default_gguf_path, file_sha256
from agent.report import (
    SUMMARY_SYSTEM_PROMPT,
    Citation,
    ReportBuilder,
    ReportParams,
    attestation_key,
    check_citations,
    generate_report,
    load_report_file,
    report_status,
    strip_unsupported_quotes,
    verify_data,
    verify_report_file,
)
from agent.report.model import Faithfulness
from agent.report.version import builder_version, code_digest
from embeddings import CachedEmbedder, SentenceTransformerEmbedder, VectorCache
from ingest.core.domain import Post, ReportRecord, content_hash
from ingest.core.store import Store
from tests.agent.conftest import RecordingChat
from tests.embeddings.forum_data import INJECTION, add_post, make_forum


def test_faithfulness_drops_quotes_not_in_the_cited_post() -> None:
    posts = {1: "The milestones are vague and the payout is front-loaded.", 2: "Stream the funds monthly."}
    faith = Faithfulness()
    kept = check_citations(
        [Citation(post_id=1, quote="the payout is front-loaded"), Citation(post_id=1, quote="everyone supports this"),
         Citation(post_id=2, quote="the milestones are vague"), Citation(post_id=9, quote="Stream")],
        posts, faith,
    )
    assert [c.quote for c in kept] == ["the payout is front-loaded"]
    assert (faith.checked, faith.passed, len(faith.dropped)) == (4, 1, 3)
    text = strip_unsupported_quotes('Bob says "the payout is front-loaded" and "everyone supports this proposal".', [1], posts, faith)
    assert "the payout is front-loaded" in text and "everyone supports" not in text and "[unsupported quote removed]" in text


def test_faithfulness_drops_a_quote_that_occurs_only_in_another_input_post() -> None:
    """The rule is "verbatim in the post it cites": the exact words of post 2, same letter case, cited to post 1
    are dropped, and a summary quoting post 2 while citing only post 1 loses that quote."""
    posts = {1: "The milestones are vague and the payout is front-loaded.", 2: "Stream the funds monthly with clawbacks."}
    faith = Faithfulness()
    kept = check_citations([Citation(post_id=1, quote="Stream the funds monthly"), Citation(post_id=2, quote="Stream the funds monthly")], posts, faith)
    assert [c.post_id for c in kept] == [2]
    assert faith.dropped == [{"post_id": 1, "quote": "Stream the funds monthly", "reason": "quote not found in the cited post"}]
    text = strip_unsupported_quotes('Dave: "Stream the funds monthly".', [1], posts, faith)
    assert "Stream the funds" not in text and "[unsupported quote removed]" in text
    assert "Stream the funds monthly" in strip_unsupported_quotes('Dave: "Stream the funds monthly".', [2], posts, faith)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, chat: OpenAIChatBackend, minilm: SentenceTransformerEmbedder):  # type: ignore[no-untyped-def]
    """One report of the small forum's proposal, with an injection post in its discussion, built once."""
    root = tmp_path_factory.mktemp("report")
    store = Store.open(f"sqlite:///{(root / 'store.db').as_posix()}")
    ids = make_forum(store, injection=True)
    recording = RecordingChat(chat)
    builder = ReportBuilder(store, embedder=CachedEmbedder(minilm, VectorCache(root / "v.sqlite")), chat=recording)
    key, created = attestation_key(configured=None, data_dir=root / "data")
    assert created and attestation_key(configured=None, data_dir=root / "data") == (key, False)
    generated = generate_report(builder, ids["proposal"], key=key, reports_dir=root / "reports")
    yield store, ids, builder, recording, generated
    store.close()


def test_report_quotes_are_verbatim_and_cited(built) -> None:  # type: ignore[no-untyped-def]
    store, ids, _, _, generated = built
    report = generated.report
    with store.session() as session:
        texts = {p: session.get(Post, p).text for p in ids["posts_a"]}
    quotes = [q for c in report.camps for q in c.quotes] + [q for g in report.common_ground for q in g.quotes] + report.proposer_side.replies
    assert quotes and report.camps
    for q in quotes:
        assert q.quote in texts[q.post_id] and q.url and q.url.startswith("https://forum.example.org/t/101/")
    assert set(report.summary.post_ids) <= set(ids["posts_a"])
    assert report.faithfulness.passed == report.faithfulness.checked - sum(1 for d in report.faithfulness.dropped if d["post_id"] is None and d["quote"])
    assert report.data_window.posts == len(ids["posts_a"]) and report.data_window.first_post_at.startswith("2024-03-02")
    assert sum(c.people for c in report.camps) >= 3
    assert report.prediction is None and "ReportBuilder(predictor=" in report.prediction_missing
    assert report.stance is None and report.stance_missing


def test_injection_reaches_no_instruction(built) -> None:  # type: ignore[no-untyped-def]
    _, ids, _, recording, generated = built
    assert not recording.calls, "on the embedded default the report words nothing with the model"
    assert [s["post_id"] for s in generated.report.set_aside] == [ids["posts_a"][-1]]
    assert INJECTION not in json.dumps({k: v for k, v in generated.report.to_data().items() if k != "set_aside"})
    prompts = generated.report.manifest["prompts"]
    assert prompts["camp_naming"]["system"] == NAMING_SYSTEM_PROMPT and prompts["summary"]["system"] == SUMMARY_SYSTEM_PROMPT
    assert "everyone supports" not in generated.report.summary.text.lower()


def test_exports_and_manifest(built) -> None:  # type: ignore[no-untyped-def]
    store, ids, _, _, generated = built
    data = load_report_file(generated.paths["json"])
    assert data["schema"] == "concord.report/2"
    manifest = data["manifest"]
    assert [p["post_id"] for p in manifest["input_posts"]] == ids["posts_a"]
    with store.session() as session:
        assert all(p["content_hash"] == session.get(Post, p["post_id"]).content_hash for p in manifest["input_posts"])
    assert manifest["chat_model"]["weights_sha256"] == file_sha256(default_gguf_path())
    assert manifest["chat_model"]["temperature"] == 0.0 and manifest["embedder"]["model_id"] == "all-MiniLM-L6-v2"
    md, html = generated.paths["md"].read_text(), generated.paths["html"].read_text()
    first = generated.report.camps[0].quotes[0]
    assert first.quote in md and f"post {first.post_id}" in md and data["attestation"]["sha256"] in md
    assert "<h2>Camps</h2>" in html and first.url in html


def test_signature_verifies_and_tampering_is_caught(built) -> None:  # type: ignore[no-untyped-def]
    _, _, _, _, generated = built
    path = generated.paths["json"]
    result = verify_report_file(path)
    assert result.ok and result.signer == generated.report.attestation.signer
    data = json.loads(path.read_text())
    data["camps"][0]["quotes"][0]["quote"] = INJECTION
    tampered = verify_data(data)
    assert not tampered.hash_ok and not tampered.ok
    assert not verify_report_file(path, expected_signer="0x" + "11" * 20).signature_ok


def test_rerun_with_same_store_and_model_reproduces_the_report(built) -> None:  # type: ignore[no-untyped-def]
    _, _, builder, _, generated = built
    result = verify_report_file(generated.paths["json"], builder=builder)
    assert result.rerun_ok, result.problems


def test_report_goes_stale_on_new_or_edited_posts(built) -> None:  # type: ignore[no-untyped-def]
    store, ids, _, _, _ = built
    status = report_status(store, ids["proposal"])
    assert not status.stale and status.record is not None
    new = add_post(store, ids["thread_a"], "ivan", "Late reply: I now support the grant with monthly streaming.", 50, None)
    status = report_status(store, ids["proposal"])
    assert status.stale and "1 new post" in status.reason
    with store.session() as session:
        session.delete(session.get(Post, new))
    assert not report_status(store, ids["proposal"]).stale
    with store.session() as session:
        post = session.get(Post, ids["posts_a"][0])
        post.text += " (edited)"
        post.content_hash = content_hash(post.text)
        session.add(post)
    status = report_status(store, ids["proposal"])
    assert status.stale and "edited" in status.reason
    # posts of another thread never touch this proposal's report
    add_post(store, ids["thread_b"], "judy", "Unrelated fee talk.", 60, None)
    assert report_status(store, ids["proposal"]).current_post_ids == tuple(ids["posts_a"])


def test_report_built_by_other_code_is_stale(built) -> None:  # type: ignore[no-untyped-def]
    store, ids, _, _, generated = built
    assert generated.report.manifest["builder_version"] == builder_version()
    assert not report_status(store, ids["proposal"]).code_changed  # (the fixture's inputs may have been edited by another test)
    with store.session() as session:
        record = session.exec(select(ReportRecord).where(ReportRecord.proposal_id == ids["proposal"])).first()
        original = dict(record.manifest)
        record.manifest = original | {"builder_version": "concord.report/2+code.000000000000"}
        session.add(record)
    status = report_status(store, ids["proposal"])
    assert status.stale and status.code_changed and "report code changed" in status.reason and "code.000000000000" in status.reason
    with store.session() as session:  # a report stored before builder versions were recorded is stale too
        record = session.exec(select(ReportRecord).where(ReportRecord.proposal_id == ids["proposal"])).first()
        record.manifest = {k: v for k, v in original.items() if k != "builder_version"}
        session.add(record)
    assert "before builder versions were recorded" in report_status(store, ids["proposal"]).reason
    with store.session() as session:
        record = session.exec(select(ReportRecord).where(ReportRecord.proposal_id == ids["proposal"])).first()
        record.manifest = original
        session.add(record)
    assert not report_status(store, ids["proposal"]).code_changed


def test_builder_code_digest_follows_the_code(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "builder.py").write_text("A = 1\n")
    (tmp_path / "quality_gate.py").write_text("B = 2\n")
    (tmp_path / "unrelated.py").write_text("C = 3\n")
    before = code_digest(tmp_path)
    (tmp_path / "unrelated.py").write_text("C = 4\n")
    assert code_digest(tmp_path) == before
    (tmp_path / "report" / "builder.py").write_text("A = 2\n")
    assert code_digest(tmp_path) != before


class TruncatingChat(RecordingChat):
    """The real backend, but every structured answer is cut off at max_tokens (as a long summary was, live)."""

    def complete_json(self, messages, *, schema, max_tokens=256):  # type: ignore[no-untyped-def]
        from agent.llm import LLMTruncatedError

        self.calls.append((list(messages), schema))
        raise LLMTruncatedError(f"cut off at max_tokens={max_tokens}")


def test_a_cut_off_answer_falls_back_to_the_template_digest(built, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store, ids, builder, recording, generated = built
    truncating = TruncatingChat(recording.inner)
    cut = ReportBuilder(store, embedder=builder.embedder, chat=truncating, params=ReportParams(model_wording="always"))
    report = cut.build(ids["proposal"])
    assert truncating.calls, "model_wording='always' asks the model"
    assert report.summary.generated_by.startswith("concord template digest") and report.summary.post_ids
    assert "LLMTruncatedError" in report.summary.gate and report.summary.text == generated.report.summary.text
    assert [camp.name for camp in report.camps] == [camp.name for camp in generated.report.camps]
