"""The dashboard's operations endpoints: ``/healthz`` (the store answers) and ``/metrics`` (Prometheus text)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

__all__ = ["build_ops_router"]


def build_ops_router() -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", include_in_schema=False)
    def healthz(request: Request) -> JSONResponse:
        from bots.agent_loop.metrics import health

        ok, details = health(request.app.state.services.store)
        return JSONResponse(details, status_code=200 if ok else 503)

    @router.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        from prometheus_client import generate_latest

        from bots.agent_loop.metrics import CONTENT_TYPE, store_registry

        state = request.app.state
        if getattr(state, "metrics_registry", None) is None:
            state.metrics_registry = store_registry(state.services.store)
        return Response(generate_latest(state.metrics_registry), media_type=CONTENT_TYPE)

    return router
