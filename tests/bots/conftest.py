"""Fixtures for the interface tests: services over the sample store, a bot wired to a loopback Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bots.services import Services
from ingest.core.domain import Proposal
from ingest.core.settings import ConcordSettings
from ingest.core.store import Store
from tests.sample_vectors import prewarm, sample_vectors  # noqa: F401 - sample_vectors is a fixture


def add_active_proposal(store: Store, *, title: str = "Fund the open-source grants programme") -> int:
    """A proposal open for voting now (the bundled sample is historical: everything in it is closed)."""
    dao = store.get_dao("arbitrum")
    now = datetime.now(UTC)
    with store.session() as session:
        proposal = Proposal(
            dao_id=dao.id, origin="snapshot", external_id="0xtest-active", title=title, body="Grant 1M ARB.",
            choices=["For", "Against", "Abstain"], start=now - timedelta(days=1), end=now + timedelta(days=4),
            state="active",
        )
        session.add(proposal)
        session.flush()
        return int(proposal.id or 0)


@pytest.fixture
def services(sample_store: Store, settings: ConcordSettings, sample_vectors: Path) -> Services:  # noqa: F811
    """The sample store's services; its proposals' text vectors already cached, as after a first prediction."""
    prewarm(sample_vectors, settings.data_dir)
    return Services(store=sample_store, settings=settings)


@pytest.fixture
async def fake_discord(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[object]:
    from discord.http import Route

    from tests.discord_loopback import LoopbackDiscord

    server = LoopbackDiscord()
    await server.start()
    monkeypatch.setattr(Route, "BASE", server.base)
    yield server
    await server.stop()


@pytest.fixture
async def bot(services: Services, fake_discord: object) -> AsyncIterator[object]:
    """The real bot, logged in against the loopback Discord, with the test guild in its state."""
    from bots.discord_bot.bot import build_bot
    from bots.discord_bot.ratelimit import RateLimiter
    from tests.discord_loopback import guild_payload

    built = build_bot(services, limiter=RateLimiter(calls=5, period=60), sync_commands=False)
    await built.login("test-token-not-a-secret")
    built._connection._add_guild_from_data(guild_payload())
    yield built
    await built.close()


TINY_POSTS = [
    "We should diversify the treasury into stablecoins so that a market crash cannot wipe out our runway.",
    "I oppose selling the native token for stablecoins; it signals weakness and crashes the price.",
    "The grants programme funded 40 projects last quarter, and most shipped on time.",
    "Security audits for the bridge contracts must come before any new incentive programme.",
    "Delegates should publish their voting rationale on the forum for every proposal.",
    "Gas rebates for new users would help onboarding, but the budget needs a cap.",
]


def add_tiny_dao(store: Store) -> list[int]:
    """A small DAO with one forum thread of six posts (quick to index with the real encoder)."""
    from ingest.core.domain import Author, Post, Thread, content_hash

    dao = store.ensure_dao("tinydao", "Tiny DAO", forum_url="https://forum.tiny.example")
    source = store.ensure_source(dao, "discourse", "https://forum.tiny.example", "Tiny forum")
    ids = []
    with store.session() as session:
        thread = Thread(source_id=source.id, external_id="1", title="Treasury and priorities", url="https://forum.tiny.example/t/1")
        author = Author(source_id=source.id, handle="alice")
        session.add_all([thread, author])
        session.flush()
        for number, text in enumerate(TINY_POSTS, start=1):
            post = Post(source_id=source.id, thread_id=thread.id, external_id=str(number), author_id=author.id, number=number,
                        text=text, url=f"https://forum.tiny.example/t/1/{number}", content_hash=content_hash(text))
            session.add(post)
            session.flush()
            ids.append(int(post.id or 0))
    return ids
