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
