"""Every datetime column of the domain tables stores and returns aware UTC, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func
from sqlalchemy.exc import StatementError
from sqlmodel import SQLModel, select

import ingest.core.domain  # noqa: F401 - registers every table
from ingest.core.domain import Dao, Proposal, UTCDateTime
from ingest.core.store import Store

BERLIN_SUMMER = timezone(timedelta(hours=2))


def test_every_datetime_column_uses_the_utc_type() -> None:
    from sqlalchemy import DateTime

    checked = []
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, DateTime) or "datetime" in type(column.type).__name__.lower():
                assert isinstance(column.type, UTCDateTime), f"{table.name}.{column.name} is {column.type!r}: add sa_type=UTCDateTime"
                checked.append(f"{table.name}.{column.name}")
    assert "proposal.start" in checked and "audit_entry.created_at" in checked


def test_aware_values_come_back_aware_in_utc(store: Store) -> None:
    created = datetime(2024, 6, 1, 14, 30, 5, 123456, tzinfo=BERLIN_SUMMER)
    dao = store.ensure_dao("utc-dao", "UTC DAO")
    with store.session() as session:
        row = session.get(Dao, dao.id)
        row.created_at = created
        session.add(Proposal(dao_id=dao.id, external_id="p-1", origin="snapshot", title="t",
                             start=created, end=created + timedelta(days=3)))
    with store.session() as session:
        back = session.get(Dao, dao.id).created_at
        proposal = session.exec(select(Proposal).where(Proposal.external_id == "p-1")).one()
        latest = session.exec(select(func.max(Proposal.end))).one()
        open_at_noon = session.exec(
            select(Proposal.id).where(Proposal.start <= datetime(2024, 6, 1, 12, 31, tzinfo=UTC))
        ).all()
    assert back == created and back.tzinfo == UTC and back.hour == 12
    assert proposal.start.tzinfo == UTC and proposal.end - proposal.start == timedelta(days=3)
    assert latest == created + timedelta(days=3) and latest.tzinfo == UTC
    assert open_at_noon == [proposal.id]


def test_naive_values_are_refused_with_the_fix(store: Store) -> None:
    dao = store.ensure_dao("naive-dao", "Naive DAO")
    with pytest.raises(StatementError, match=r"naive datetime 2024-06-01T12:00:00 refused.*datetime\.now\(UTC\)"):
        with store.session() as session:
            row = session.get(Dao, dao.id)
            row.created_at = datetime(2024, 6, 1, 12, 0)
    with store.session() as session:
        assert session.get(Dao, dao.id).created_at == dao.created_at  # the refused write left nothing behind


# --- the SQLite bind: one function, the string SQLAlchemy's two steps write ---------------------------------

_BIND_VALUES = [
    datetime(2024, 6, 1, 14, 30, 5, 123456, tzinfo=UTC),
    datetime(2024, 6, 1, 14, 30, 5, tzinfo=UTC),  # no microseconds: still six digits
    datetime(2024, 1, 1, 1, 0, 0, 7, tzinfo=BERLIN_SUMMER),  # crosses back to the previous day and year in UTC
    datetime(2023, 12, 31, 22, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    datetime(2024, 6, 1, 12, 0, tzinfo=timezone(timedelta(0), "Z")),  # a zero offset that is not UTC itself
    datetime(1, 1, 1, 0, 0, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(987, 3, 4, 5, 6, 7, 8, tzinfo=timezone(timedelta(hours=3))),  # a year of three digits
]


def _sqlite_processors():  # type: ignore[no-untyped-def]
    from sqlalchemy import DateTime
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    ours = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    impl = DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect)

    def stock(value):  # type: ignore[no-untyped-def]
        return impl(UTCDateTime().process_bind_param(value, dialect))

    return ours, stock


@pytest.mark.parametrize("value", _BIND_VALUES, ids=lambda v: v.isoformat())
def test_the_sqlite_bind_writes_the_string_sqlalchemy_writes(value: datetime) -> None:
    ours, stock = _sqlite_processors()
    assert ours(value) == stock(value)


class _Moment(datetime):
    """A datetime subclass: the SQLite bind leaves it to SQLAlchemy's own steps."""


@pytest.mark.parametrize(
    "value",
    [None, _Moment(2024, 6, 1, 12, 0, 0, 5, tzinfo=BERLIN_SUMMER)],
    ids=["none", "subclass"],
)
def test_the_sqlite_bind_leaves_other_values_to_sqlalchemy(value: datetime | None) -> None:
    ours, stock = _sqlite_processors()
    assert ours(value) == stock(value)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (datetime(2024, 6, 1, 12, 0), ValueError, r"naive datetime 2024-06-01T12:00:00 refused"),
        ("2024-06-01 12:00", TypeError, r"a datetime column takes a datetime, got str"),
        (datetime(2024, 6, 1).date(), TypeError, r"a datetime column takes a datetime, got date"),
    ],
    ids=["naive", "text", "date"],
)
def test_the_sqlite_bind_refuses_what_the_column_refuses(value: object, error: type[Exception], message: str) -> None:
    ours, stock = _sqlite_processors()
    with pytest.raises(error, match=message):
        stock(value)
    with pytest.raises(error, match=message):
        ours(value)


def test_the_sqlite_bind_formats_aware_values_in_one_step(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_second_step(self, value, dialect):  # type: ignore[no-untyped-def]
        raise AssertionError("aware values on SQLite are formatted without the generic two steps")

    monkeypatch.setattr(UTCDateTime, "process_bind_param", no_second_step)
    ours, _stock = _sqlite_processors()  # made after the patch: a processor keeps the method it was made with
    assert ours(datetime(2024, 6, 1, 14, 30, 5, 1, tzinfo=BERLIN_SUMMER)) == "2024-06-01 12:30:05.000001"


def test_the_sqlite_bind_stores_what_sqlalchemy_stores(sqlite_url: str) -> None:
    """Written through the driver insert and through the ORM, read back raw: SQLAlchemy's string, both ways."""
    from ingest.core.domain import Post, Thread
    from ingest.writer import _insert

    _ours, stock = _sqlite_processors()
    store = Store.open(sqlite_url)
    try:
        dao = store.ensure_dao("bind-dao", "Bind DAO")
        source = store.ensure_source(dao, "discord", "bind://x", "x")
        with store.session() as session:
            thread = Thread(source_id=source.id, external_id="t", title="t", created_at=_BIND_VALUES[2])
            session.add(thread)
            session.flush()
            _insert(session, Post, [
                {"source_id": source.id, "thread_id": thread.id, "external_id": f"p{i}", "number": i, "text": "x",
                 "content_hash": "h", "created_at": value}
                for i, value in enumerate(_BIND_VALUES)
            ])  # fmt: skip
        with store.session() as session:
            connection = session.connection()
            raw = [r[0] for r in connection.exec_driver_sql("SELECT created_at FROM post ORDER BY number").all()]
            thread_raw = connection.exec_driver_sql("SELECT created_at FROM thread").scalar_one()
            back = session.exec(select(Post.created_at).order_by(Post.number)).all()
    finally:
        store.close()
    assert raw == [stock(v) for v in _BIND_VALUES]
    assert thread_raw == stock(_BIND_VALUES[2])
    assert back == _BIND_VALUES and all(b.tzinfo == UTC for b in back)


def test_other_databases_keep_sqlalchemys_own_bind() -> None:
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect()
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    value = datetime(2024, 6, 1, 14, 30, 5, 1, tzinfo=BERLIN_SUMMER)
    bound = process(value) if process else value
    assert bound == value and bound.tzinfo == UTC  # an aware datetime for the driver, not SQLite's text
