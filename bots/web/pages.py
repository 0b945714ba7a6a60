"""Server-rendered pages (Jinja2). Each handler reads through ``queries`` or a service, then renders."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bots.services import Services, ServiceUnavailable
from bots.web import queries
from bots.web.api import get_services, semantic_hits
from bots.web.chart import find_reliability_png, load_calibration, render_svg
from bots.web.security import CSRF_COOKIE, issue_token, token_is_valid

__all__ = ["build_pages_router"]


def _render(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
    """Render with the CSRF token (reusing a valid cookie) and the list of unavailable services."""
    services = get_services(request)
    secret = services.settings.web.session_secret.get_secret_value()
    token = request.cookies.get(CSRF_COOKIE)
    fresh = not token_is_valid(secret, token)
    if fresh:
        token = issue_token(secret)
    response = request.app.state.templates.TemplateResponse(
        request,
        template,
        {**context, "csrf_token": token, "missing": services.missing},
        status_code=status_code,
    )
    if fresh:
        response.set_cookie(CSRF_COOKIE, token or "", httponly=True, samesite="strict", path="/")
    return response


render_page = _render  # for page routers kept in their own modules (bots.web.quarantine_page)


def _script_json(value: Any) -> str:
    """JSON safe to place inside a <script> element (no ``</script>`` break-out)."""
    return json.dumps(value, default=str).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _optional(services: Services, name: str, call: Any) -> tuple[Any, str | None]:
    """Call a service if it is there; otherwise (None, why it is not)."""
    try:
        return call(services.require(name)), None
    except ServiceUnavailable as exc:
        return None, str(exc)


def build_pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def home() -> RedirectResponse:
        return RedirectResponse("/proposals", status_code=307)

    @router.get("/proposals", response_class=HTMLResponse)
    def proposals(request: Request, dao: str | None = None, status: str | None = None, page: int = 1) -> Response:
        services = get_services(request)
        page = max(1, page)
        rows, daos = request.app.state.page_data.get(("list", dao or None, status or None, page), lambda: (
            queries.list_proposals(services.store, dao=dao or None, status=status or None, limit=50, offset=(page - 1) * 50),
            queries.list_daos(services.store),
        ))
        why = None if services.predictor is not None else str(_optional(services, "predictor", lambda p: p)[1])
        return _render(request, "proposals.html", {
            "rows": rows, "daos": daos, "dao": dao or "", "status": status or "",
            "page": page, "prediction_missing": why,
        })

    @router.get("/proposals/{ref}", response_class=HTMLResponse)
    def proposal(request: Request, ref: str) -> Response:
        services = get_services(request)

        def read() -> tuple[Any, ...]:
            found = queries.get_proposal(services.store, ref)
            return (found, *_optional(services, "predictor", lambda p: p.predict(found.id)))

        found, predicted, why = request.app.state.page_data.get(("proposal", ref), read)
        # The live forecast moves with the clock (share of the voting period elapsed), so it is never kept.
        live, _ = _optional(services, "predictor", lambda p: p.live(found.id))
        return _render(request, "proposal.html", {"p": found, "prediction": predicted, "prediction_missing": why,
                                                  "live": live})

    @router.get("/proposals/{ref}/report", response_class=HTMLResponse)
    def report(request: Request, ref: str) -> Response:
        services = get_services(request)

        def read() -> tuple[Any, ...]:
            found = queries.get_proposal(services.store, ref)
            return (found, *_optional(services, "reports", lambda r: r.get_report(found.id)),
                    *_optional(services, "predictor", lambda p: p.predict(found.id)))

        found, report_data, report_why, predicted, prediction_why = request.app.state.page_data.get(("report", ref), read)
        calibration = load_calibration(request.app.state.results_dir)
        return _render(request, "report.html", {
            "p": found, "report": report_data, "report_missing": report_why,
            "prediction": predicted, "prediction_missing": prediction_why,
            "chart_svg": render_svg(calibration) if calibration else None,
            "chart_png": find_reliability_png(request.app.state.results_dir),
        })

    @router.get("/calibration.png")
    def calibration_png(request: Request) -> Response:
        from fastapi.responses import FileResponse

        from ingest.core.errors import NotFoundError

        path = find_reliability_png(request.app.state.results_dir)
        if path is None:
            raise NotFoundError("No reliability diagram yet: run `concord eval predict --data DIR --out evals/results`.")
        return FileResponse(path, media_type="image/png")

    @router.get("/search", response_class=HTMLResponse)
    def search(request: Request, q: str = "", mode: str = "text", dao: str | None = None) -> Response:
        services = get_services(request)
        hits: list[queries.PostHit] = []
        error = None
        if q.strip():
            try:
                if mode == "semantic":
                    hits = semantic_hits(services, q, dao=dao or None, limit=20)
                else:
                    hits = queries.search_posts(services.store, q, dao=dao or None, limit=20)
            except ServiceUnavailable as exc:
                error = str(exc)
        return _render(request, "search.html", {
            "q": q, "mode": mode, "dao": dao or "", "hits": hits, "error": error,
            "daos": queries.list_daos(services.store),
        })

    @router.get("/signer", response_class=HTMLResponse)
    def signer(request: Request) -> Response:
        services = get_services(request)
        pending, why = _optional(services, "governance", lambda g: g.list_pending())
        return _render(request, "signer.html", {"pending": pending or [], "governance_missing": why})

    @router.get("/signer/{action_id}", response_class=HTMLResponse)
    def signer_action(request: Request, action_id: int) -> Response:
        services = get_services(request)
        action = services.require("governance").describe(action_id)
        return _render(request, "signer_action.html", {
            "action": action, "action_id": action_id,
            "typed_data_json": _script_json(action.typed_data),
            "rejection_json": _script_json(action.rejection_message),
        })

    @router.get("/api/docs", response_class=HTMLResponse)
    def api_docs(request: Request) -> Response:
        schema = request.app.openapi()
        return _render(request, "api_docs.html", {"schema": schema})

    return router
