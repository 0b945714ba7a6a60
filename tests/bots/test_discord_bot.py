"""The bot's slash commands driven through discord.py: gateway payload in, REST calls out (loopback)."""

from __future__ import annotations

from typing import Any

import pytest

from bots.discord_bot.text import split_message
from bots.services import Services
from tests.bots.conftest import add_active_proposal
from tests.discord_loopback import MEMBER_ROLE_ID, SIGNER_ROLE_ID, dispatch, interaction_payload

EPHEMERAL = 1 << 6


async def run(bot: Any, fake: Any, name: str, options: dict[str, Any] | None = None, **kw: Any) -> list[dict[str, Any]]:
    payload = interaction_payload(name, options, **kw)
    await dispatch(bot, payload)
    return fake.replies(payload["token"])


def text_of(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("content") or "" for r in replies)


def assert_no_mentions(replies: list[dict[str, Any]]) -> None:
    for reply in replies:
        if "content" in reply or "embeds" in reply:
            mentions = reply.get("allowed_mentions")
            assert mentions is not None and mentions["parse"] == [], reply  # no @everyone/@here, roles or users
            assert not mentions.get("roles") and not mentions.get("users"), reply


class StaticAnswerer:
    """A test double of agent.qa's answerer: returns a fixed answer, to exercise rendering only."""

    def __init__(self, answer: str, citations: list[dict[str, Any]]) -> None:
        self.result = {"answer": answer, "citations": citations}
        self.questions: list[str] = []

    def answer(self, question: str, *, dao: str | None = None) -> StaticAnswerer:
        self.questions.append(question)
        return self

    def as_dict(self) -> dict[str, Any]:
        return self.result


class StoredReports:
    """A test double of agent.report's provider: serves one stored report JSON."""

    def __init__(self, reports: dict[int, dict[str, Any]]) -> None:
        self.reports = reports

    def get_report(self, proposal_id: int) -> dict[str, Any] | None:
        return self.reports.get(proposal_id)


class ListedActions:
    """A test double of governance.service for the bot's read-only signer commands (it returns the real view types)."""

    def list_pending(self) -> list[Any]:
        from governance.views import ActionSummary

        return [ActionSummary(id=7, dao="arbitrum", kind="vote", status="pending", proposal="42", choice="for", confidence=0.9,
                              report_id="r", report_sha256="c" * 64, safe_tx_hash="0x" + "ab" * 32, expires_at="2030-01-01T00:00:00+00:00",
                              signatures=1)]

    def describe(self, action_id: int) -> Any:
        if action_id != 7:
            from ingest.core.errors import NotFoundError

            raise NotFoundError(f"Unknown action {action_id}: list pending actions with /pending.")
        from governance.binding import fields_in_words
        from governance.chain.safe_tx import SafeTx
        from governance.errors import Rule
        from governance.views import ActionView, Problem

        tx = SafeTx(safe="0x" + "11" * 20, chain_id=1, to="0x" + "22" * 20, data=b"\x56\x78", nonce=3,
                    gas_price=10**9, base_gas=2_000_000, refund_receiver="0x" + "77" * 20)
        return ActionView(
            id=7, kind="vote", status="pending", proposal="42", recommendation={"choice": "for"}, confidence=0.9, report_id="r",
            report_sha256="c" * 64, chain_id=1, safe=tx.safe, governor=tx.to, call="Call 0xGov.castVoteWithReason: vote For on proposal 42",
            calldata="0x5678", nonce=3, safe_tx=tx.to_json(), safe_tx_hash="0x" + "ab" * 32, fields=fields_in_words(tx), warnings=[],
            problems=[Problem(rule=Rule.REFUNDS_NOT_ALLOWED, message="the Safe transaction would pay a gas refund")],
            typed_data=None, contract_owner_message=None, rejection_message="x", signed_by=[], created_at="", expires_at="",
        )

    def submit_signature(self, action_id: int, *, signer: str, signature: str) -> dict[str, Any]:
        raise AssertionError("the bot must never submit signatures")

    reject = submit_signature


async def test_proposals_lists_active_with_link(bot: Any, fake_discord: Any, services: Services) -> None:
    proposal_id = add_active_proposal(services.store)
    replies = await run(bot, fake_discord, "proposals")
    # deferred ("thinking") before predicting: Discord drops an interaction not answered within 3 s
    assert [r["kind"] for r in replies] == ["callback", "followup"] and replies[0]["type"] == 5
    text = text_of(replies)
    assert "Fund the open-source grants programme" in text
    assert f"/proposals/{proposal_id}>" in text
    assert "prediction not available" in text  # no predictor wired: said, not invented
    assert_no_mentions(replies)


async def test_proposals_without_active_ones_says_so(bot: Any, fake_discord: Any) -> None:
    replies = await run(bot, fake_discord, "proposals", {"dao": "compound"})
    assert "No proposals are open for voting in compound" in text_of(replies)


async def test_consensus_unknown_proposal_is_a_clear_ephemeral_reply(bot: Any, fake_discord: Any, services: Services) -> None:
    services.reports = StoredReports({})
    replies = await run(bot, fake_discord, "consensus", {"proposal": "no-such-proposal"})
    assert len(replies) == 1
    assert replies[0]["flags"] & EPHEMERAL
    assert "Unknown proposal 'no-such-proposal'" in replies[0]["content"]


async def test_consensus_needs_embed_links(bot: Any, fake_discord: Any) -> None:
    replies = await run(bot, fake_discord, "consensus", {"proposal": "1"}, app_permissions=1 << 11)
    assert replies[0]["flags"] & EPHEMERAL
    assert "I lack the Embed Links permission" in replies[0]["content"]


async def test_consensus_renders_report_embed(bot: Any, fake_discord: Any, services: Services) -> None:
    report = {  # the shape agent.report writes (concord.report/1), trimmed
        "summary": {"text": "Most delegates support it, @everyone agrees.", "post_ids": [5]},
        "camps": [
            {"index": 0, "name": "Supporters", "people": 12, "posts": 20,
             "quotes": [{"quote": "Good for builders", "post_id": 5, "url": "https://x/5"}]},
            {"index": 1, "name": "Sceptics", "people": 3, "posts": 4, "quotes": []},
        ],
        "prediction": {"probability_pass": 0.8, "interval": [0.7, 0.9], "model": "m"},
    }
    services.reports = StoredReports({1: report})
    replies = await run(bot, fake_discord, "consensus", {"proposal": "1"})
    assert replies[0]["kind"] == "callback" and replies[0]["type"] == 5  # deferred before the prediction is computed
    replies = replies[1:]
    embed = replies[0]["embeds"][0]
    assert embed["url"].endswith("/proposals/1/report")
    names = [f["name"] for f in embed["fields"]]
    assert names[:2] == ["Supporters (12 people)", "Sceptics (3 people)"]
    assert embed["fields"][0]["value"] == "“Good for builders”"
    assert {"name": "Probability of passing", "value": "80% (70%–90%)", "inline": True} in embed["fields"]
    assert "@everyone" not in embed["description"]  # broken with a zero-width space
    assert_no_mentions(replies)


async def test_consensus_card_shows_the_report2_structure(bot: Any, fake_discord: Any, services: Services) -> None:
    report = {  # concord.report/2, trimmed
        "summary": {"text": "The proposer side (Janabe) wrote 6 of the 8 posts.", "post_ids": [300]},
        "stance_mix": {"people": {"for": 0, "against": 1, "neutral": 2, "off-topic": 0, "uncertain": 0}},
        "proposer_side": {"members": [{"author": "Janabe", "evidence": ["speaks as the team"], "posts": 6}], "posts": 6},
        "camps": [{"index": 0, "name": "Undecided or conditional: token swap", "stance": "neutral", "people": 2, "posts": 2,
                   "quotes": [{"quote": "take the token swap out", "post_id": 302}]}],
        "requested_changes": [{"status": "adopted", "asked_by": ["jengajojo"], "request": None,
                               "answer": {"quote": "We'll take the token swap out of the proposal", "post_id": 301}}],
        "open_questions": [{"question": {"quote": "Why now?", "post_id": 5}, "asked_by": "x"}],
    }
    services.reports = StoredReports({1: report})
    replies = await run(bot, fake_discord, "consensus", {"proposal": "1"})
    fields = {f["name"]: f["value"] for f in replies[-1]["embeds"][0]["fields"]}
    assert fields["Community, by people"] == "against 1, neutral 2"
    assert fields["Proposer side (not counted)"] == "Janabe: 6 posts"
    assert fields["Undecided or conditional: token swap (2 people)"] == "“take the token swap out”"
    assert fields["Requested changes"] == "**adopted** — “We'll take the token swap out of the proposal” (asked by jengajojo)"
    assert fields["Open questions"] == "1 without a reply from the proposer side"


async def test_consensus_without_report_service_says_why(bot: Any, fake_discord: Any) -> None:
    replies = await run(bot, fake_discord, "consensus", {"proposal": "1"})
    assert "The reports service is not available here" in replies[0]["content"]


async def test_ask_splits_long_answers_and_never_mentions(bot: Any, fake_discord: Any, services: Services) -> None:
    long_answer = ("@everyone the treasury question came up often. " * 120).strip()
    services.answerer = StaticAnswerer(long_answer, [{"post_id": 5, "url": "https://forum/t/5", "quote": "diversify"}])
    replies = await run(bot, fake_discord, "ask", {"question": "What about the treasury?"})
    assert replies[0]["kind"] == "callback" and replies[0]["type"] == 5  # deferred: "thinking"
    followups = [r for r in replies if r["kind"] == "followup"]
    assert len(followups) >= 3
    assert all(len(r["content"]) <= 2000 for r in followups)
    joined = text_of(followups)
    assert "@everyone" not in joined and "<https://forum/t/5>" in joined and "[1]" in joined
    assert_no_mentions(followups)


async def test_signer_commands_need_the_role(bot: Any, fake_discord: Any, services: Services) -> None:
    services.governance = ListedActions()
    replies = await run(bot, fake_discord, "pending", roles=[MEMBER_ROLE_ID])
    assert replies[0]["flags"] & EPHEMERAL
    assert "Only members with the `signer` role" in replies[0]["content"]
    replies = await run(bot, fake_discord, "pending", roles=[SIGNER_ROLE_ID], user_id=222)
    assert "#7: vote: for on proposal 42 (arbitrum) — 1 signed so far" in replies[0]["content"]


async def test_pending_card_shows_every_field_and_highlights_refunds(bot: Any, fake_discord: Any, services: Services) -> None:
    services.governance = ListedActions()
    replies = await run(bot, fake_discord, "pending", roles=[SIGNER_ROLE_ID], user_id=444)
    card = text_of(replies)
    for name in ("safe", "chain_id", "to", "value", "data", "operation", "safeTxGas", "baseGas", "gasPrice", "gasToken",
                 "refundReceiver", "nonce"):
        assert f"• `{name}`:" in card
    assert "• `gasPrice`: the Safe refunds gas at 1000000000 wei" in card and "⚠ **the Safe pays a gas refund**" in card
    assert f"⚠ **refunds go to 0x{'77' * 20}**".lower() in card.lower()
    assert "⛔ **Do not sign — refused by rule `refunds_not_allowed`" in card
    assert "• `value`: sends no ether\n" in card  # a safe field carries no warning


async def test_approve_sends_signer_to_signing_page(bot: Any, fake_discord: Any, services: Services) -> None:
    services.governance = ListedActions()
    replies = await run(bot, fake_discord, "approve", {"action": 7}, roles=[SIGNER_ROLE_ID])
    content = replies[0]["content"]
    assert replies[0]["flags"] & EPHEMERAL
    assert "<http://127.0.0.1:8000/signer/7>" in content and "0x" + "ab" * 32 in content
    assert "castVoteWithReason: vote For on proposal 42" in content
    replies = await run(bot, fake_discord, "reject", {"action": 99}, roles=[SIGNER_ROLE_ID], user_id=333)
    assert "Unknown action 99" in replies[0]["content"]


async def test_signer_commands_refuse_direct_messages(bot: Any, fake_discord: Any) -> None:
    replies = await run(bot, fake_discord, "pending", in_guild=False)
    assert "only inside the DAO's server" in replies[0]["content"]


async def test_per_user_rate_limit(bot: Any, fake_discord: Any) -> None:
    for _ in range(5):
        replies = await run(bot, fake_discord, "proposals", user_id=444)
        assert "Slow down" not in text_of(replies)
    replies = await run(bot, fake_discord, "proposals", user_id=444)
    assert "Slow down: you can use Concord again in" in replies[0]["content"]
    assert replies[0]["flags"] & EPHEMERAL
    other = await run(bot, fake_discord, "proposals", user_id=555)
    assert "Slow down" not in text_of(other)


def test_split_message_keeps_every_word() -> None:
    text = " ".join(f"word{i}" for i in range(1500))
    chunks = split_message(text, limit=500)
    assert all(len(c) <= 500 for c in chunks)
    assert " ".join(chunks).split() == text.split()


@pytest.mark.parametrize("limit", [5])
def test_split_message_rejects_tiny_limits(limit: int) -> None:
    with pytest.raises(ValueError):
        split_message("abc", limit=limit)


async def test_draft_uses_the_governance_drafting_service(bot: Any, fake_discord: Any, services: Services) -> None:
    from bots.services import wire

    wire(services)  # the real governance service: drafts from the sample's forum posts
    assert services.drafter is not None, services.missing
    replies = await run(bot, fake_discord, "draft", {"topic": "Fund a security audit programme for bridges", "dao": "arbitrum"})
    assert replies[0]["type"] == 5  # deferred while drafting
    text = text_of(replies)
    assert text.strip().startswith("**Fund a security audit programme for bridges**")
    assert "<https://forum.arbitrum.foundation/t/" in text and "nothing was submitted" in text
    assert "**Prior art**" in text and "Predicted P(pass):" in text and "## Abstract" in text
    assert all(len(r.get("content") or "") <= 2000 for r in replies)
    replies = await run(bot, fake_discord, "draft", {"topic": "Fund a security audit programme"}, user_id=999)
    assert "Which DAO?" in text_of(replies)


@pytest.mark.llm
@pytest.mark.slow
async def test_ask_answers_with_citations_from_the_real_qa_service(bot: Any, fake_discord: Any, services: Services) -> None:
    from bots.services import wire
    from tests.bots.conftest import add_tiny_dao

    add_tiny_dao(services.store)
    wire(services)  # agent.qa over a MiniLM index and the embedded llama.cpp model
    assert services.answerer is not None and services.searcher is not None, services.missing
    services.searcher.retriever("tinydao")  # index the posts before the command
    replies = await run(bot, fake_discord, "ask", {"question": "Should the treasury be diversified into stablecoins?", "dao": "tinydao"})
    assert replies[0]["type"] == 5
    text = text_of(replies)
    assert "Sources**" in text
    assert "<https://forum.tiny.example/t/1/" in text  # links to the stored posts it used
    assert_no_mentions(replies)


async def test_proposals_show_the_real_prediction(bot: Any, fake_discord: Any, services: Services) -> None:
    from agent.predict.pooled import predict_store
    from bots.services import wire
    from ingest.core.domain import Proposal

    (services.settings.index_dir / "vectors.sqlite").unlink()  # the real default from scratch: no proposal embedded yet
    proposal_id = add_active_proposal(services.store)
    wire(services)  # agent.predict, trained on the earlier proposals in the store
    assert services.predictor is not None and services.searcher is not None, services.missing
    with services.store.session() as session:
        proposal = session.get(Proposal, proposal_id)
    # the expectation comes from agent.predict itself, not from the bot's adapter under test, reading the feature
    # families the settings name (by default text too) through the same encoder
    predictor = services.predictor
    assert predictor.families == tuple(services.settings.prediction.families) == ("text",)
    expected = predict_store(services.store, proposal, families=predictor.families, embed=predictor.embed).as_dict()["p_pass"]
    assert 0.0 < expected < 1.0
    assert services.searcher.embedder.stats.embedded > 500  # every sample proposal's text, by the configured encoder
    replies = await run(bot, fake_discord, "proposals", {"dao": "arbitrum"})
    assert f"predicted {expected:.0%} to pass" in text_of(replies)


class FixedPredictor:
    """A test double with a known answer, so the rendering is checked against a value chosen here."""

    def predict(self, proposal_id: int) -> dict[str, Any] | None:
        return {"p_pass": 0.734, "low": 0.6, "high": 0.85, "model_id": "fixed"}


async def test_proposals_render_the_predicted_probability(bot: Any, fake_discord: Any, services: Services) -> None:
    add_active_proposal(services.store)
    services.predictor = FixedPredictor()
    replies = await run(bot, fake_discord, "proposals", {"dao": "arbitrum"})
    assert "predicted 73% to pass" in text_of(replies)


class CountingActions(ListedActions):
    def __init__(self) -> None:
        self.described: list[int] = []

    def describe(self, action_id: int) -> dict[str, Any]:
        self.described.append(action_id)
        return super().describe(action_id)


@pytest.mark.parametrize("command", ["approve", "reject"])
async def test_approve_and_reject_need_the_signer_role(bot: Any, fake_discord: Any, services: Services, command: str) -> None:
    """Each command guards itself (@signer_only): a member without the role learns nothing about the action."""
    actions = CountingActions()
    services.governance = actions
    replies = await run(bot, fake_discord, command, {"action": 7}, roles=[MEMBER_ROLE_ID], user_id=601)
    assert replies[0]["flags"] & EPHEMERAL
    assert "Only members with the `signer` role" in replies[0]["content"]
    assert "signer/7" not in replies[0]["content"] and actions.described == []
    replies = await run(bot, fake_discord, command, {"action": 7}, roles=[SIGNER_ROLE_ID], user_id=602)
    assert "<http://127.0.0.1:8000/signer/7>" in replies[0]["content"] and actions.described == [7]
