"""Predict a proposal that is not stored yet (a draft): the same model and features as a stored proposal, trained
on the DAO's proposals that had closed before the draft would open."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from agent.predict.from_store import load_store_dao
from agent.predict.records import GovData, HistoryProposal
from agent.predict.service import Prediction, predict_record
from ingest.core.domain import Dao
from ingest.core.errors import InputError
from ingest.core.store import Store

__all__ = ["predict_draft"]


def predict_draft(store: Store, *, dao_slug: str, title: str, body: str, opens_at: datetime, author: str | None = None,
                  choices: tuple[str, ...] = ("For", "Against", "Abstain"), bootstrap: int = 20) -> Prediction:
    """P(pass) of a draft opening at ``opens_at``; it has no discussion yet, so its discussion features are empty."""
    with store.session() as session:
        dao = session.exec(select(Dao).where(Dao.slug == dao_slug)).first()
        if dao is None:
            raise InputError(f"Unknown DAO {dao_slug!r}; ingest it first.")
        dao_id = int(dao.id or 0)
    data = load_store_dao(store, dao_id, dao_slug)
    target = HistoryProposal(id="draft", dao=dao_slug, platform="snapshot", kind="snapshot", title=title, body=body,
                            author=author, opened_at=opens_at.timestamp(), closed_at=None, outcome=None, status="draft",
                            choices=choices)
    with_draft = GovData(proposals=[*data.proposals, target], posts_by_proposal=data.posts_by_proposal,
                         voter_power=data.voter_power, notes=data.notes, post_stats=data.post_stats)
    return predict_record(with_draft, target, bootstrap=bootstrap)
