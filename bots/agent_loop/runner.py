"""Wiring the agent from settings: one :class:`DaoTick` per configured DAO, a lock per DAO, the scheduler."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bots.agent_loop.forecast import Forecaster, SignedForecaster
from bots.agent_loop.notify import DiscordRestNotifier, DiscourseReplier, Notifier
from bots.agent_loop.reports import ServicesReportWriter
from bots.agent_loop.steps import StepResult
from bots.agent_loop.tick import DaoTick, TickReport
from bots.services import Services, build_services
from ingest.core.errors import InputError
from ingest.core.settings import AgentDaoSettings, ConcordSettings

__all__ = ["AgentRunner", "dao_lock", "select_daos"]


def select_daos(settings: ConcordSettings, dao: str | None) -> dict[str, AgentDaoSettings]:
    """The configured DAOs, or the one named; a name that is not configured is an error naming the fix."""
    configured = settings.agent.daos
    if dao is None:
        if not configured:
            raise InputError("No DAO configured for the agent: add an [agent.daos.<slug>] section to concord.toml "
                             "(see README, 'The agent loop').")
        return dict(configured)
    if dao not in configured:
        known = ", ".join(sorted(configured)) or "none"
        raise InputError(f"DAO {dao!r} has no [agent.daos.{dao}] section (configured: {known}).")
    return {dao: configured[dao]}


@contextmanager
def dao_lock(settings: ConcordSettings, dao: str, *, client: Any = None) -> Iterator[bool]:
    """Hold the DAO's tick lock (Redis, on the configured broker) for the block; yields False when another agent has it.

    Without a Redis broker there is no shared lock: one process is assumed (the in-process default).
    """
    url = settings.queue.broker_url or ""
    if client is None and url.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(url)
    if client is None:
        yield True
        return
    lock = client.lock(f"concord:agent-lock:{dao}", timeout=settings.agent.lock_timeout_s, blocking=False)
    if not lock.acquire(blocking=False):
        yield False
        return
    try:
        yield True
    finally:
        import contextlib

        from redis.exceptions import LockError

        with contextlib.suppress(LockError):  # it expired and another agent took it: nothing of ours to release
            lock.release()


def _dao_services(services: Services, config: AgentDaoSettings) -> Services:
    """The Services of one DAO: its own Safe and Governor when its section names them."""
    chain = services.settings.chain
    changes = {k: v for k, v in {"safe_address": config.safe_address, "governor_address": config.governor_address}.items()
               if v and v != getattr(chain, k)}
    if not changes:
        return services
    settings = services.settings.model_copy(update={"chain": chain.model_copy(update=changes)})
    return build_services(settings, store=services.store)


class AgentRunner:
    """Runs ticks for the configured DAOs over one Services object. Collaborators can be replaced (tests)."""

    def __init__(self, services: Services, *, notifier: Notifier | None = None, forecaster: Forecaster | None = None,
                 reports: Any = None, lock_client: Any = None, observe: Callable[[StepResult], None] | None = None) -> None:
        self.services, self.settings = services, services.settings
        self.notifier = notifier if notifier is not None else self._notifier()
        self.forecaster = forecaster if forecaster is not None else self._forecaster()
        self.reports = reports if reports is not None else (ServicesReportWriter(services) if services.searcher is not None else None)
        self.lock_client, self.observe = lock_client, observe

    def close(self) -> None:
        """Close the notifier's HTTP connections."""
        close = getattr(self.notifier, "close", None)
        if callable(close):
            close()

    def _notifier(self) -> Notifier | None:
        token = self.settings.discord.token
        if token is None or not token.get_secret_value():
            return None
        return DiscordRestNotifier(token.get_secret_value(), api_base=self.settings.discord.api_base)

    def _forecaster(self) -> Forecaster | None:
        predictor = self.services.predictor
        if predictor is None:
            return None
        from agent.report.attest import attestation_key
        from governance.audit_checkpoints import checkpointer_from_settings

        configured = self.settings.chain.attestation_key
        key, _ = attestation_key(configured=configured.get_secret_value() if configured else None,
                                 data_dir=self.settings.data_dir)
        return SignedForecaster(self.services.store, key=key, checkpointer=checkpointer_from_settings(self.settings),
                                predictor=lambda _store, proposal: predictor.prediction(proposal))

    def tick(self, dao: str, config: AgentDaoSettings) -> TickReport:
        with dao_lock(self.settings, dao, client=self.lock_client) as held:
            if not held:
                return TickReport(dao=dao, skipped={"tick": "another agent holds this DAO's lock"})
            services = _dao_services(self.services, config)
            forum = None
            if config.discourse_url and config.discourse_user_api_key is not None:
                forum = DiscourseReplier(config.discourse_url, config.discourse_user_api_key.get_secret_value())
            safe_service = None
            if self.settings.chain.safe_tx_service_url:
                from governance.chain.safe_service import SafeTransactionServiceClient

                safe_service = SafeTransactionServiceClient(self.settings.chain.safe_tx_service_url)
            try:
                return DaoTick(services, dao, config, notifier=self.notifier, forum=forum, forecaster=self.forecaster,
                               reports=self.reports, safe_service=safe_service, observe=self.observe).run()
            finally:
                for client in (forum, safe_service):
                    if client is not None:
                        client.close()

    def tick_all(self, daos: dict[str, AgentDaoSettings]) -> list[TickReport]:
        return [self.tick(dao, config) for dao, config in daos.items()]

    def run_forever(self, daos: dict[str, AgentDaoSettings], *, stop: threading.Event,
                    on_tick: Callable[[TickReport], None] | None = None, on_error: Callable[[str, Exception], None] | None = None) -> None:
        """Tick each DAO at its interval until ``stop`` is set (SIGTERM sets it; a tick in progress finishes first)."""
        import time

        due = dict.fromkeys(daos, 0.0)
        while not stop.is_set():
            now = time.monotonic()
            for dao, config in daos.items():
                if stop.is_set() or now < due[dao]:
                    continue
                try:
                    report = self.tick(dao, config)
                    if on_tick is not None:
                        on_tick(report)
                except Exception as exc:
                    if on_error is None:
                        raise
                    on_error(dao, exc)
                due[dao] = time.monotonic() + (config.interval_s or self.settings.agent.interval_s)
            stop.wait(max(0.05, min(due.values()) - time.monotonic()))
