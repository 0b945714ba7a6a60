"""The dashboard's quarantine page: records that could not be stored, with their reason (read-only)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bots.web.api import get_services
from ingest.quarantine import GIVEN_UP, OPEN, RESOLVED, list_quarantined

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

    return router
