"""The dashboard's quarantine: the page lists records that could not be stored, with their reason; the API replays one
(``POST /api/quarantine/{id}/retry``, CSRF-checked and rate-limited like every dashboard write)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from bots.web.api import get_services
from ingest.core.errors import NotFoundError
from ingest.quarantine import GIVEN_UP, OPEN, RESOLVED, list_quarantined, retry_quarantined

__all__ = ["build_quarantine_router"]

_STATUSES = (OPEN, GIVEN_UP, RESOLVED, "all")


def build_quarantine_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/quarantine", response_class=HTMLResponse)
    def quarantine_page(
        request: Request, dao: str | None = None, source: str | None = None, status: str = OPEN
    ) -> Response:
        from bots.web.pages import render_page

        chosen = status if status in _STATUSES else OPEN
        entries = list_quarantined(
            get_services(request).store,
            dao=dao or None,
            source=source or None,
            status=None if chosen == "all" else chosen,
            limit=500,
        )
        context = {"entries": entries, "dao": dao or "", "source": source or "", "status": chosen, "statuses": _STATUSES}
        return render_page(request, "quarantine.html", context)

    @router.post("/api/quarantine/{record_id}/retry")
    def retry_one(request: Request, record_id: int) -> Response:
        """Replay one quarantined record through its normaliser and writer (as `concord quarantine retry ID`)."""
        from ingest.sources.quarantine_replay import quarantine_normalisers

        try:
            summary = retry_quarantined(get_services(request).store, quarantine_normalisers(), ids=[record_id])
        except NotFoundError as missing:
            return JSONResponse({"error": str(missing)}, status_code=404)
        return JSONResponse({"resolved": summary.resolved, "failed": summary.failed, "given_up": summary.given_up,
                             "not_replayable": summary.not_replayable, "errors": summary.errors[:5]})

    return router
