"""The forecasts page: the track record of forecasts committed before each vote (never hindsight re-scores)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bots.web import queries
from bots.web.api import get_services
from bots.web.chart import CalibrationData, render_svg

__all__ = ["build_forecast_router"]


def build_forecast_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/forecasts", response_class=HTMLResponse)
    def forecasts(request: Request, dao: str | None = None) -> Response:
        from bots.web.pages import _render
        from governance.forecasts import track_record

        services = get_services(request)
        daos = queries.list_daos(services.store)
        record = track_record(services.store, dao) if dao else None
        chart = None
        if record is not None and record.reliability:
            bins = [(b["mean_predicted"], b["observed"], int(b["n"])) for b in record.reliability]
            chart = render_svg(CalibrationData(source=f"{record.scored} committed forecasts, {dao}", bins=bins,
                                               ece=record.ece, n=record.scored))
        return _render(request, "forecasts.html", {"daos": daos, "dao": dao or "", "record": record, "chart_svg": chart})

    return router
