"""The store: one object over one database, used by every package."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, func
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel import Session, col, select

from ingest.core.domain import Dao, IngestCursor, Proposal, Source, utcnow
from ingest.core.errors import NotFoundError, StoreError
from ingest.core.store.engine import database_error_reason, open_engine
from ingest.core.store.migrate import current_revisions, head_revisions, upgrade

__all__ = ["Store", "lost_database"]

T = TypeVar("T")


def _lost_message(engine: Engine, exc: DBAPIError) -> str:
    return (
        f"The database {engine.url.render_as_string(hide_password=True)} stopped answering "
        f"({database_error_reason(exc)}). Check that it is running and reachable, then run the command again: "
        "every committed batch is kept and the run resumes from its cursors."
    )


def lost_database(call: Callable[[], T], engine: Engine) -> T:
    """Run ``call``; a lost, frozen or timed-out database becomes one StoreError line."""
    try:
        return call()
    except (OperationalError, InterfaceError) as exc:
        raise StoreError(_lost_message(engine, exc)) from exc


def _rollback_quietly(session: Session) -> None:
    try:
        session.rollback()
    except Exception:  # noqa: BLE001 - the connection may be gone; the original error is what matters
        pass


class Store:
    """Sessions, natural-key lookups, cursors and the quarantine over one database.

    Build with ``Store.open(url)``; it migrates the schema to the newest revision unless
    ``migrate=False``, in which case an out-of-date schema is an error that says to run ``concord init``.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(
        cls, url: str, *, migrate: bool = True, connect_timeout_s: float = 10.0, statement_timeout_s: float = 120.0
    ) -> Store:
        engine = open_engine(url, connect_timeout_s=connect_timeout_s, statement_timeout_s=statement_timeout_s)
        if migrate:
            upgrade(engine)
        elif lost_database(lambda: current_revisions(engine), engine) != head_revisions():
            raise StoreError(
                f"The database {engine.url.render_as_string(hide_password=True)} is not initialised "
                "or is behind the code's schema. Run `concord init`."
            )
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except (OperationalError, InterfaceError) as exc:
                _rollback_quietly(session)
                raise StoreError(_lost_message(self.engine, exc)) from exc
            except Exception:
                _rollback_quietly(session)
                raise

    # --- DAOs and sources -------------------------------------------------

    def ensure_dao(self, slug: str, name: str | None = None, **fields: Any) -> Dao:
        """Return the DAO with ``slug``, creating it (and filling empty fields) if needed."""
        with self.session() as session:
            dao = session.exec(select(Dao).where(Dao.slug == slug)).first()
            if dao is None:
                dao = Dao(slug=slug, name=name or slug, **fields)
                session.add(dao)
            else:
                for key, value in fields.items():
                    if value is not None and getattr(dao, key) in (None, ""):
                        setattr(dao, key, value)
            session.flush()
            session.refresh(dao)
            return dao

    def get_dao(self, slug: str) -> Dao:
        with self.session() as session:
            dao = session.exec(select(Dao).where(Dao.slug == slug)).first()
            if dao is None:
                known = ", ".join(session.exec(select(Dao.slug).order_by(Dao.slug)).all()) or "none yet"
                raise NotFoundError(
                    f"Unknown DAO {slug!r}. Known DAOs: {known}. Ingest it first, e.g. `concord ingest sample`."
                )
            return dao

    def list_daos(self) -> list[Dao]:
        with self.session() as session:
            return list(session.exec(select(Dao).order_by(Dao.slug)).all())

    def ensure_source(self, dao: Dao, kind: str, locator: str, name: str = "") -> Source:
        with self.session() as session:
            source = session.exec(
                select(Source).where(
                    Source.dao_id == dao.id, Source.kind == kind, Source.locator == locator
                )
            ).first()
            if source is None:
                source = Source(dao_id=dao.id, kind=kind, locator=locator, name=name or locator)
                session.add(source)
                session.flush()
                session.refresh(source)
            return source

    # --- proposals ---------------------------------------------------------

    def get_proposal(self, ref: str, dao_slug: str | None = None) -> Proposal:
        """Find a proposal by its store id (``42``) or external id, optionally within one DAO."""
        with self.session() as session:
            query = select(Proposal)
            if dao_slug is not None:
                query = query.join(Dao, col(Dao.id) == Proposal.dao_id).where(Dao.slug == dao_slug)
            by_external = session.exec(query.where(Proposal.external_id == ref)).all()
            if len(by_external) == 1:
                return by_external[0]
            if len(by_external) > 1:
                raise NotFoundError(f"Proposal id {ref!r} exists in several DAOs; pass --dao to choose one.")
            if ref.isdigit():
                found = session.exec(query.where(Proposal.id == int(ref))).first()
                if found is not None:
                    return found
            where = f" in DAO {dao_slug!r}" if dao_slug else ""
            raise NotFoundError(
                f"Unknown proposal {ref!r}{where}. List proposals with `concord proposals` "
                "and pass a store id or the Snapshot/Governor id."
            )

    # --- cursors and quarantine -------------------------------------------

    def get_cursor(self, source_id: int, stream: str) -> str | None:
        with self.session() as session:
            cursor = session.exec(
                select(IngestCursor).where(IngestCursor.source_id == source_id, IngestCursor.stream == stream)
            ).first()
            return cursor.value if cursor else None

    @staticmethod
    def set_cursor(session: Session, source_id: int, stream: str, value: str) -> None:
        """Move a cursor inside the caller's transaction, so data and cursor commit together."""
        cursor = session.exec(
            select(IngestCursor).where(IngestCursor.source_id == source_id, IngestCursor.stream == stream)
        ).first()
        if cursor is None:
            session.add(IngestCursor(source_id=source_id, stream=stream, value=value))
        else:
            cursor.value = value
            cursor.updated_at = utcnow()
            session.add(cursor)

    def quarantine(
        self, *, source_id: int | None, record_kind: str, raw: str, error: str, external_ref: str | None = None
    ) -> None:
        """Keep a record that cannot be stored (see ``ingest.quarantine.quarantine``, keyed by its reference)."""
        from ingest.quarantine import quarantine, raw_text

        ref = external_ref or hashlib.sha256(raw_text(raw).encode("utf-8")).hexdigest()
        quarantine(self, source_id, record_kind, ref, raw, error)

    def count(self, model: type[Any], *where: Any) -> int:
        with self.session() as session:
            return int(session.exec(select(func.count()).select_from(model).where(*where)).one())
