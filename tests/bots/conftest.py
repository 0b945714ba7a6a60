"""Fixtures for the interface tests: services over the sample store, a bot wired to a loopback Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bots.web.services import Services
from ingest.domain import Proposal
from ingest.settings import ConcordSettings
from ingest.store import Store


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
def services(sample_store: Store, settings: ConcordSettings) -> Services:
    return Services(store=sample_store, settings=settings)


@pytest.fixture
async def fake_discord(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[object]:
    from discord.http import Route

    from tests.bots.discord_fake import FakeDiscord

    server = FakeDiscord()
    await server.start()
    monkeypatch.setattr(Route, "BASE", server.base)
    yield server
    await server.stop()


@pytest.fixture
async def bot(services: Services, fake_discord: object) -> AsyncIterator[object]:
    """The real bot, logged in against the loopback Discord, with the test guild in its state."""
    from bots.discord_bot.bot import build_bot
    from bots.discord_bot.ratelimit import RateLimiter
    from tests.bots.discord_fake import guild_payload

    built = build_bot(services, limiter=RateLimiter(calls=5, period=60), sync_commands=False)
    await built.login("test-token-not-a-secret")
    built._connection._add_guild_from_data(guild_payload())
    yield built
    await built.close()
