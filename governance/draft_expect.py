"""What a draft can expect at the vote: its predicted P(pass) from the outcome model, as a callable for
:func:`governance.drafting.build_draft`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ingest.core.errors import ConcordError
from ingest.core.store import Store

__all__ = ["draft_expectation"]


def draft_expectation(store: Store, *, dao: str, opens_at: datetime, voting_delay_days: float = 1.0
                      ) -> Callable[[str, str], dict[str, Any] | None]:
    """``expect(title, body)`` -> the prediction dict of a draft opening a day after ``opens_at`` (or a dict with
    ``error`` when the DAO has no history to predict from)."""
    from agent.predict.draft import predict_draft

    def expect(title: str, body: str) -> dict[str, Any] | None:
        try:
            prediction = predict_draft(store, dao_slug=dao, title=title, body=body,
                                       opens_at=opens_at + timedelta(days=voting_delay_days))
        except ConcordError as exc:
            return {"error": str(exc)}
        view = prediction.as_dict()
        view.pop("features", None)
        return view

    return expect
