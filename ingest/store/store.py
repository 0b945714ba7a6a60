"""The store: one object over one database, used by every package."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from ingest.domain import Dao, IngestCursor, Proposal, QuarantinedRecord, Source, utcnow
from ingest.errors import NotFoundError, StoreError
from ingest.store.engine import open_engine
from ingest.store.migrate import current_revisions, head_revisions, upgrade

__all__ = ["Store"]


class Store:
    """Sessions, natural-key lookups, cursors and the quarantine over one database.

    Build with ``Store.open(url)``; it migrates the schema to the newest revision unless
    ``migrate=False``, in which case an out-of-date schema is an error that says to run ``concord init``.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Store:
        engine = open_engine(url)
        if migrate:
            upgrade(engine)
        elif current_revisions(engine) != head_revisions():
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
            except Exception:
                session.rollback()
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
        with self.session() as session:
            session.add(
                QuarantinedRecord(
                    source_id=source_id,
                    record_kind=record_kind,
                    external_ref=external_ref,
                    raw=raw,
                    error=error,
                )
            )

    def count(self, model: type[Any], *where: Any) -> int:
        with self.session() as session:
            return int(session.exec(select(func.count()).select_from(model).where(*where)).one())
